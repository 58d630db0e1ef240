using System.Diagnostics;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// A primary and a replica watched by one Debian <c>redis-sentinel</c> (quorum 1) under the
/// service name <see cref="ServiceName"/>; the sentinel declares the primary down after 1 s and
/// promotes the replica.
/// </summary>
public sealed class RedisSentinelSet : IAsyncDisposable
{
    public const string ServiceName = "gateway-primary";

    private readonly Process _sentinel;
    private readonly string _directory;

    private RedisSentinelSet(RedisServer primary, RedisServer replica, Process sentinel, int sentinelPort, string directory)
    {
        Primary = primary;
        Replica = replica;
        _sentinel = sentinel;
        SentinelPort = sentinelPort;
        _directory = directory;
    }

    /// <summary>The primary at start.</summary>
    public RedisServer Primary { get; }

    /// <summary>The replica at start.</summary>
    public RedisServer Replica { get; }

    /// <summary>The sentinel's port.</summary>
    public int SentinelPort { get; }

    /// <summary>StackExchange.Redis configuration string: the sentinel and the service name.</summary>
    public string Configuration => $"127.0.0.1:{SentinelPort},serviceName={ServiceName}";

    /// <summary>
    /// Starts the three processes, the sentinel on <paramref name="sentinelPort"/> (a free port
    /// otherwise); returns once the replica is in sync and the sentinel knows it.
    /// </summary>
    public static async Task<RedisSentinelSet> StartAsync(int? sentinelPort = null)
    {
        var primary = await RedisServer.StartAsync();
        var replica = await RedisServer.StartAsync(arguments: ["--replicaof", "127.0.0.1", primary.Port.ToString()]);
        var directory = Directory.CreateTempSubdirectory("gateway-sentinel-").FullName;
        var port = sentinelPort ?? FreePort.Next();
        var config = Path.Combine(directory, "sentinel.conf");
        await File.WriteAllTextAsync(config, $"""
            port {port}
            bind 127.0.0.1
            dir {directory}
            sentinel monitor {ServiceName} 127.0.0.1 {primary.Port} 1
            sentinel down-after-milliseconds {ServiceName} 1000
            sentinel failover-timeout {ServiceName} 5000
            sentinel parallel-syncs {ServiceName} 1
            """);
        var sentinel = RedisServer.StartProcess("redis-sentinel", [config]);
        var set = new RedisSentinelSet(primary, replica, sentinel, port, directory);
        await Eventually.ThatAsync(async () =>
        {
            try
            {
                var replicas = await Cli.RunAsync(["-h", "127.0.0.1", "-p", port.ToString(), "sentinel", "replicas", ServiceName]);
                return replicas.Contains(replica.Port.ToString(), StringComparison.Ordinal)
                    && (await replica.CliAsync("info", "replication")).Contains("master_link_status:up", StringComparison.Ordinal);
            }
            catch (InvalidOperationException)
            {
                return false; // the sentinel is not listening yet
            }
        }, 30, "the sentinel to know the replica, in sync");
        return set;
    }

    /// <summary>The port of the primary the sentinel names now.</summary>
    public async Task<int> CurrentPrimaryPortAsync()
    {
        var answer = await Cli.RunAsync(["-h", "127.0.0.1", "-p", SentinelPort.ToString(), "sentinel", "get-master-addr-by-name", ServiceName]);
        return int.Parse(answer.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_sentinel.HasExited)
        {
            _sentinel.Kill();
            await _sentinel.WaitForExitAsync();
        }
        _sentinel.Dispose();
        await Replica.DisposeAsync();
        await Primary.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
