using System.IO.Hashing;
using System.Text;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>
/// The gateway's connection to Redis (a StackExchange.Redis multiplexer shared by every feature)
/// and the names of its keys. The same build works on one Redis, on a primary with replicas
/// behind Sentinel (it follows a failover) and on a Redis Cluster: every key that one script
/// touches shares a hash slot. Per-request keys are tagged by request (<see cref="KeyFor"/>),
/// queue keys by queue partition (<see cref="PartitionKey"/>). It connects in the background and
/// reconnects by itself: a replica starts, and keeps serving what needs no Redis, while Redis is
/// away. Calls time out by the client's own <c>AsyncTimeout</c> (<c>Redis:OperationTimeoutSeconds</c>).
/// </summary>
internal sealed class RedisStore : IDisposable
{
    private readonly RedisConnection _connection;
    private bool? _cluster;

    /// <summary>Connects with the <c>Redis</c> settings.</summary>
    public RedisStore(IOptions<RedisOptions> options, GatewayMetrics metrics, ILogger<RedisStore> logger)
    {
        var settings = options.Value;
        _connection = new RedisConnection(settings, "reka-gateway", logger);
        Prefix = settings.KeyPrefix;
        EventsChannel = RedisChannel.Literal(settings.EventsChannel);
        Partitions = settings.QueuePartitions;
        Confirmations = new ReplicaConfirmations(new RedisConnection(settings, "reka-gateway-acks", logger), settings, metrics);
    }

    /// <summary>The database. While Redis cannot be reached its calls fail with <see cref="RedisConnectionException"/>.</summary>
    public IDatabase Database => _connection.Multiplexer.GetDatabase();

    /// <summary>Raised once connected, and after each reconnection.</summary>
    public event Action? Connected
    {
        add => _connection.Connected += value;
        remove => _connection.Connected -= value;
    }

    /// <summary>Raised when the pub/sub connection is back after it was lost (what was published meanwhile never arrived; the channels are subscribed again about then).</summary>
    public event Action? SubscriptionRestored
    {
        add => _connection.SubscriptionRestored += value;
        remove => _connection.SubscriptionRestored -= value;
    }

    /// <summary>The primaries connected to now (one, or each shard's on a cluster).</summary>
    public IEnumerable<IServer> Primaries() =>
        _connection.Multiplexer.GetServers().Where(server => server.IsConnected && !server.IsReplica);

    public ISubscriber Subscriber => _connection.Multiplexer.GetSubscriber();

    /// <summary>
    /// Writes that a caller is told are safe go through <see cref="ReplicaConfirmations.Database"/>
    /// and are confirmed by a replica before the answer (<c>Redis:ReplicaAckTimeoutSeconds</c>).
    /// </summary>
    public ReplicaConfirmations Confirmations { get; }

    /// <summary>Prefix of every key.</summary>
    public string Prefix { get; }

    /// <summary>Channel of published events (plain pub/sub: on a cluster it reaches every node's subscribers).</summary>
    public RedisChannel EventsChannel { get; }

    /// <summary>Partitions of each durable queue (<c>Redis:QueuePartitions</c>).</summary>
    public int Partitions { get; }

    /// <summary>Whether the connection is to a Redis Cluster (known once connected).</summary>
    public bool IsCluster
    {
        get
        {
            if (_cluster is { } known)
            {
                return known;
            }
            var servers = _connection.Multiplexer.GetServers().Where(s => s.IsConnected).ToList();
            if (servers.Count > 0)
            {
                _cluster = servers.Any(s => s.ServerType == ServerType.Cluster);
            }
            return _cluster ?? false;
        }
    }

    /// <summary>A key of its own below the gateway's prefix: <c>{prefix}{name}</c>.</summary>
    public RedisKey Key(string name) => Prefix + name;

    /// <summary>
    /// A key in the hash slot of <paramref name="tag"/>: <c>{prefix}{name}:{tag}</c>, with the tag
    /// in braces, so that every key of one request (say) is on one node and different requests
    /// spread over the cluster. A tag never holds a brace (ids are validated).
    /// </summary>
    public RedisKey KeyFor(string name, string tag) => $"{Prefix}{name}:{{{tag}}}";

    /// <summary>
    /// A key of queue partition <paramref name="partition"/>: <c>{prefix}{q&lt;n&gt;}:{name}</c>.
    /// Everything one queue script touches lives in one partition, so in one hash slot.
    /// </summary>
    public RedisKey PartitionKey(int partition, string name) => PartitionPrefix(partition) + name;

    /// <summary>The common start of partition <paramref name="partition"/>'s keys, for scripts that build keys.</summary>
    public string PartitionPrefix(int partition) => $"{Prefix}{{q{partition}}}:";

    /// <summary>The queue partition work about <paramref name="id"/> (a request id) goes to.</summary>
    public int PartitionOf(string id) => (int)(XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(id)) % (uint)Partitions);

    /// <summary>
    /// A channel in partition <paramref name="partition"/>'s hash slot. On a cluster it is a
    /// sharded channel (<c>SPUBLISH</c>): only the node that owns the slot carries it.
    /// </summary>
    public RedisChannel PartitionChannel(int partition, string name)
    {
        var channel = $"{PartitionPrefix(partition)}{name}";
        return IsCluster ? RedisChannel.Sharded(channel) : RedisChannel.Literal(channel);
    }

    /// <summary>The command a script publishes <see cref="PartitionChannel"/> messages with.</summary>
    public string PublishCommand => IsCluster ? "SPUBLISH" : "PUBLISH";

    /// <summary>
    /// Whether <paramref name="exception"/> means Redis is unavailable for now (unreachable, too
    /// slow, failing over, loading, full, busy with a script, refusing writes since a snapshot
    /// failed, or no replica confirmed a write), as opposed to a bug: the one rule that decides
    /// when the gateway answers 503 with <c>Retry-After</c>.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        RedisConnectionException or RedisTimeoutException or ReplicaNotConfirmedException => true,
        // A primary demoted by a failover, a node still loading its data, a cluster reconfiguring,
        // too few replicas for min-replicas-to-write, full under maxmemory-policy noeviction
        // (RedisDurability's advice), busy with a slow script, or refusing writes since a
        // snapshot failed (MISCONF): each refuses for now, not for good.
        RedisServerException server => server.Kind is RedisErrorKind.ReadOnly or RedisErrorKind.Loading
            or RedisErrorKind.ClusterDown or RedisErrorKind.TryAgain or RedisErrorKind.MasterDown
            or RedisErrorKind.NoReplicas or RedisErrorKind.OutOfMemory or RedisErrorKind.Busy
            or RedisErrorKind.Misconfigured,
        // A command routed to a server connection the client is disposing as it drops that
        // server from its topology (a Sentinel reconfiguration with the servers gone): the next
        // lookup builds a new one. Seen in StackExchange.Redis 2.13 and 3.4 alike.
        ObjectDisposedException { ObjectName: "Connection is being disposed" } => true,
        _ => false,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        _connection.Dispose();
        Confirmations.Dispose();
    }
}
