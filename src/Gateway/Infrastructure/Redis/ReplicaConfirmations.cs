using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using StackExchange.Redis;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>
/// Confirms with a replica the writes a caller is about to be told are safe, so that a primary
/// dying before its replicas caught up (replication is asynchronous) loses nothing acknowledged.
/// After the writes, each primary they went to is sent <c>WAIT 1 &lt;timeout&gt;</c>
/// (https://redis.io/docs/latest/commands/wait/); when no replica confirms within
/// <c>Redis:ReplicaAckTimeoutSeconds</c>, <see cref="ReplicaNotConfirmedException"/> makes the
/// answer 503 and the caller retries. A primary without replicas is not asked, so a single Redis
/// keeps working as it always did, unless <c>Redis:RequireReplica</c> says every primary must
/// have one.
/// </summary>
/// <remarks>
/// <c>WAIT</c> covers the writes made earlier on the same connection, and blocks that connection
/// while it waits: these writes therefore have a connection of their own (<see cref="Database"/>),
/// and one <c>WAIT</c> at a time per primary covers every write finished before it was sent
/// (group commit), so confirming costs one round trip to a replica, shared by concurrent callers.
/// </remarks>
internal sealed class ReplicaConfirmations : IDisposable
{
    private static readonly TimeSpan RoleLifetime = TimeSpan.FromSeconds(1);
    private readonly RedisConnection _connection;
    private readonly GatewayMetrics _metrics;
    private readonly int _timeoutMilliseconds;
    private readonly bool _requireReplica;
    private readonly ConcurrentDictionary<EndPoint, Primary> _primaries = new();
    private long _losses;

    internal ReplicaConfirmations(RedisConnection connection, RedisOptions settings, GatewayMetrics metrics)
    {
        _connection = connection;
        _metrics = metrics;
        _timeoutMilliseconds = (int)(settings.ReplicaAckTimeoutSeconds * 1000);
        _requireReplica = settings.RequireReplica;
        connection.ConnectionLost += () => Interlocked.Increment(ref _losses);
    }

    /// <summary>Whether writes are confirmed at all (<c>Redis:ReplicaAckTimeoutSeconds</c> above 0).</summary>
    public bool Enabled => _timeoutMilliseconds > 0;

    /// <summary>Starts writes to confirm: make them through <see cref="ConfirmedWrite.Database"/>, then call <see cref="ConfirmedWrite.ConfirmAsync"/>.</summary>
    public ConfirmedWrite Begin() => new(this, Interlocked.Read(ref _losses));

    /// <summary>The connection confirmed writes go through.</summary>
    public IDatabase Database => _connection.Multiplexer.GetDatabase();

    internal Task ConfirmAsync(long lossesBefore, RedisKey[] keys)
    {
        if (!Enabled)
        {
            return Task.CompletedTask;
        }
        var multiplexer = _connection.Multiplexer;
        var primaries = new List<Primary>(1);
        var waits = false;
        foreach (var key in keys)
        {
            var server = multiplexer.GetServer(key, null, CommandFlags.DemandMaster);
            var primary = _primaries.GetOrAdd(server.EndPoint, static (_, state) => new Primary(state.server, state.timeout, state.require),
                (server, timeout: _timeoutMilliseconds, require: _requireReplica));
            // The client's server for the address now: the client retires a server dropped from the
            // topology (StackExchange.Redis 3.2+), and one back at the same address is a new one,
            // which the writes go to. A WAIT sent through the retired one would not cover them.
            primary.Server = server;
            if (!primaries.Contains(primary))
            {
                primaries.Add(primary);
                waits |= !primary.KnownWithoutReplicas;
            }
        }
        // Usually a primary without replicas (a single Redis): nothing to wait for, and no task to make.
        return waits ? ConfirmWithReplicasAsync(lossesBefore, primaries) : CheckConnection(lossesBefore);
    }

    private async Task ConfirmWithReplicasAsync(long lossesBefore, List<Primary> primaries)
    {
        var started = Stopwatch.GetTimestamp();
        bool?[] confirmed;
        try
        {
            confirmed = await Task.WhenAll(primaries.Select(primary => primary.ConfirmAsync()));
        }
        catch
        {
            _metrics.ReplicaConfirmation("failed", Stopwatch.GetElapsedTime(started));
            throw;
        }
        var refused = confirmed.Any(ok => ok == false);
        if (confirmed.Any(ok => ok is not null))
        {
            _metrics.ReplicaConfirmation(refused ? "not_confirmed" : "confirmed", Stopwatch.GetElapsedTime(started));
        }
        if (refused)
        {
            throw new ReplicaNotConfirmedException(
                $"No replica confirmed the write within Redis:ReplicaAckTimeoutSeconds ({_timeoutMilliseconds / 1000.0:0.###} s).");
        }
        await CheckConnection(lossesBefore);
    }

    // WAIT on a new connection knows nothing of the writes made on the lost one.
    private Task CheckConnection(long lossesBefore) => Interlocked.Read(ref _losses) == lossesBefore
        ? Task.CompletedTask
        : Task.FromException(new ReplicaNotConfirmedException("The connection to Redis was lost before a replica confirmed the write."));

    /// <inheritdoc />
    public void Dispose() => _connection.Dispose();

    // One primary: its replica count (from ROLE, re-read each second) and the WAIT in flight.
    private sealed class Primary(IServer server, int timeoutMilliseconds, bool requireReplica)
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource<bool>? _next;
        private bool _pumping;
        private Task<int>? _replicas;
        private long _replicasReadAt;

        /// <summary>The client's server for this primary's address, as of the last write to confirm.</summary>
        public IServer Server { get; set; } = server;

        /// <summary>Its ROLE, read less than a second ago, lists no replica: a write to it has nothing to wait for.</summary>
        public bool KnownWithoutReplicas
        {
            get
            {
                if (requireReplica)
                {
                    return false;
                }
                var replicas = ReplicasAsync();
                return replicas.IsCompletedSuccessfully && replicas.Result == 0;
            }
        }

        // Whether a replica confirmed; null when the primary has none (nothing was waited for).
        public async Task<bool?> ConfirmAsync()
        {
            if (!requireReplica && await ReplicasAsync() == 0)
            {
                return null;
            }
            Task<bool> confirmed;
            var start = false;
            lock (_lock)
            {
                _next ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                confirmed = _next.Task;
                if (!_pumping)
                {
                    _pumping = start = true;
                }
            }
            if (start)
            {
                _ = PumpAsync();
            }
            return await confirmed;
        }

        // Sends one WAIT at a time; callers that arrive meanwhile share the next one, which is
        // sent after their writes finished, so it covers them.
        private async Task PumpAsync()
        {
            while (true)
            {
                TaskCompletionSource<bool> batch;
                lock (_lock)
                {
                    if (_next is null)
                    {
                        _pumping = false;
                        return;
                    }
                    batch = _next;
                    _next = null;
                }
                try
                {
                    var acknowledged = (long)await Server.ExecuteAsync("WAIT", 1, timeoutMilliseconds);
                    batch.SetResult(acknowledged >= 1);
                }
                catch (Exception e)
                {
                    batch.SetException(e);
                }
            }
        }

        private Task<int> ReplicasAsync()
        {
            lock (_lock)
            {
                if (_replicas is null || (_replicas.IsCompleted && Environment.TickCount64 - _replicasReadAt > RoleLifetime.TotalMilliseconds))
                {
                    _replicasReadAt = Environment.TickCount64;
                    _replicas = ReadReplicasAsync();
                }
                return _replicas;
            }
        }

        private async Task<int> ReadReplicasAsync() =>
            await Server.RoleAsync() is Role.Master primary ? primary.Replicas.Count : 0;
    }
}

/// <summary>Writes to be confirmed by a replica; see <see cref="ReplicaConfirmations"/>.</summary>
internal readonly struct ConfirmedWrite
{
    private readonly ReplicaConfirmations _confirmations;
    private readonly long _lossesBefore;

    internal ConfirmedWrite(ReplicaConfirmations confirmations, long lossesBefore)
    {
        _confirmations = confirmations;
        _lossesBefore = lossesBefore;
    }

    /// <summary>The connection to make the writes on.</summary>
    public IDatabase Database => _confirmations.Database;

    /// <summary>Waits until a replica of each primary holding one of <paramref name="keys"/> has the writes.</summary>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed in time; the caller must be told to retry.</exception>
    public Task ConfirmAsync(params RedisKey[] keys) => _confirmations.ConfirmAsync(_lossesBefore, keys);
}

/// <summary>A write was made but no replica confirmed it in time: the caller should retry (503).</summary>
internal sealed class ReplicaNotConfirmedException(string message) : Exception(message);
