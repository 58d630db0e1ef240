namespace Reka.Gateway.Tests.Support;

/// <summary>
/// A real Redis Cluster on loopback: <c>primaries</c> <c>redis-server --cluster-enabled yes</c>
/// processes, each with one replica, joined by <c>redis-cli --cluster create</c>. Nodes time out
/// after 2 s, and a replica takes over however far it lagged (validity factor 0), so a failover
/// takes a few seconds.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly List<RedisServer> _nodes;

    private RedisCluster(List<RedisServer> nodes) => _nodes = nodes;

    /// <summary>Every node.</summary>
    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>StackExchange.Redis configuration string naming every node.</summary>
    public string Configuration => string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    /// <summary>Starts the nodes and creates the cluster; returns once every slot is served and every replica is in sync.</summary>
    public static async Task<RedisCluster> StartAsync(int primaries = 3)
    {
        var nodes = new List<RedisServer>();
        try
        {
            for (var i = 0; i < primaries * 2; i++)
            {
                nodes.Add(await RedisServer.StartAsync(port: FreePort.NextWithClusterBus(), arguments:
                [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes-{port}.conf", "--cluster-node-timeout", "2000",
                    "--cluster-replica-validity-factor", "0",
                ]));
            }
            await Cli.RunAsync(["--cluster", "create", .. nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-replicas", "1", "--cluster-yes"]);
            var cluster = new RedisCluster(nodes);
            await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30));
            return cluster;
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
            throw;
        }
    }

    /// <summary>
    /// A node's view of the cluster: each node's port, whether it is a primary, and the id of its
    /// primary. Entries with no address of one of the nodes (a node the view has lost the address
    /// of for a moment, <c>noaddr</c>) are left out.
    /// </summary>
    public async Task<IReadOnlyList<ClusterNode>> TopologyAsync(RedisServer? askedNode = null)
    {
        var asked = askedNode ?? _nodes.First(n => n.IsRunning);
        var lines = (await asked.CliAsync("cluster", "nodes")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return [.. lines.Select(line =>
        {
            var fields = line.Split(' ');
            var port = int.Parse(fields[1].Split('@')[0].Split(':')[1]);
            var flags = fields[2].Split(',');
            return _nodes.SingleOrDefault(n => n.Port == port) is { } server
                ? new ClusterNode(fields[0], server, flags.Contains("master"), fields[3] == "-" ? null : fields[3], flags.Contains("fail") || flags.Contains("fail?"))
                : null;
        }).OfType<ClusterNode>()];
    }

    /// <summary>The primaries, each with its replica, once a node's view shows each live primary with one live replica.</summary>
    public async Task<IReadOnlyList<(RedisServer Primary, RedisServer Replica)>> PairsAsync()
    {
        IReadOnlyList<(RedisServer Primary, RedisServer Replica)> pairs = [];
        await Eventually.ThatAsync(async () =>
        {
            var topology = await TopologyAsync();
            var primaries = topology.Where(n => n.IsPrimary && !n.Failed).ToList();
            var replicas = primaries.Select(p => topology.Where(r => r.PrimaryId == p.Id && !r.Failed).ToList()).ToList();
            pairs = replicas.All(r => r.Count == 1) ? [.. primaries.Zip(replicas, (p, r) => (p.Server, r[0].Server))] : [];
            return pairs.Count > 0;
        }, 30, "each live primary of the cluster to have one live replica");
        return pairs;
    }

    /// <summary>Waits until every running node says the cluster is ok and every running replica is in sync with its primary.</summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        await Eventually.ThatAsync(async () =>
        {
            foreach (var node in _nodes.Where(n => n.IsRunning))
            {
                if (!(await node.CliAsync("cluster", "info")).Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return false;
                }
                var replication = await node.CliAsync("info", "replication");
                if (replication.Contains("role:slave", StringComparison.Ordinal) && !replication.Contains("master_link_status:up", StringComparison.Ordinal))
                {
                    return false;
                }
            }
            return true;
        }, timeout.TotalSeconds, "the Redis Cluster to be ok with every replica in sync");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node.IsRunning)
            {
                node.Resume();
            }
            await node.DisposeAsync();
        }
    }
}

/// <summary>One node as <c>CLUSTER NODES</c> describes it.</summary>
public sealed record ClusterNode(string Id, RedisServer Server, bool IsPrimary, string? PrimaryId, bool Failed);
