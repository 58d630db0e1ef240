using StackExchange.Redis;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>
/// Warns when a Redis primary would lose what the gateway acknowledged: if it restarted, when it
/// keeps no append-only file (<c>INFO persistence</c>: <c>aof_enabled:0</c>) and has no replica
/// (<c>INFO replication</c>: <c>connected_slaves:0</c>); or when it is full, when it evicts keys
/// (<c>INFO memory</c>: a <c>maxmemory</c> and a <c>maxmemory_policy</c> other than
/// <c>noeviction</c>, which Redis' docs name for data that must not be lost, and which managed
/// services often do not default to). Checked at start and after each
/// reconnection (a restart or failover may have changed it); logged once per check, and shown by
/// <c>/readyz</c> as its <c>redis</c> check Degraded. A warning, not a failure: the gateway still
/// serves. <c>INFO</c> rather than <c>CONFIG GET</c>, which managed Redis services often refuse.
/// </summary>
internal sealed class RedisDurability(RedisStore redis, ILogger<RedisDurability> logger) : BackgroundService
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);
    private readonly WakeSignal _recheck = new();
    private volatile Finding? _finding;

    /// <summary>What the last check found (null before the first).</summary>
    /// <param name="AtRisk">Whether a primary would lose writes in a restart or by eviction.</param>
    /// <param name="Description">What was found, for <c>/readyz</c>.</param>
    public sealed record Finding(bool AtRisk, string Description);

    /// <summary>What the last check found, or null before the first.</summary>
    public Finding? Last => _finding;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.Connected += _recheck.Set;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!await TryCheckAsync())
                {
                    await Task.Delay(RetryInterval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    continue;
                }
                await _recheck.WaitAsync(Timeout.InfiniteTimeSpan, TimeProvider.System, stoppingToken);
            }
        }
        finally
        {
            redis.Connected -= _recheck.Set;
        }
    }

    // False while no primary can be asked (not connected yet): tried again shortly.
    private async Task<bool> TryCheckAsync()
    {
        try
        {
            var primaries = redis.Primaries().ToList();
            if (primaries.Count == 0)
            {
                return false;
            }
            var notPersisted = new List<string>();
            var evicting = new List<string>();
            foreach (var primary in primaries)
            {
                // INFO's default sections hold persistence, replication and memory: one round trip.
                var info = await primary.InfoAsync();
                var endPoint = primary.EndPoint.ToString() ?? "?";
                if (Field(info, "aof_enabled") == "0" && Field(info, "connected_slaves") == "0")
                {
                    notPersisted.Add(endPoint);
                }
                // Without maxmemory (0) Redis never evicts, whatever the policy.
                if (Field(info, "maxmemory") is { } max && max != "0" && Field(info, "maxmemory_policy") is { } policy && policy != "noeviction")
                {
                    evicting.Add($"{endPoint} ({policy})");
                }
            }
            var warnings = new List<string>();
            if (notPersisted.Count > 0)
            {
                warnings.Add($"Redis {string.Join(", ", notPersisted)} keeps no append-only file and has no replica: if it restarts, the requests, " +
                    "deliveries and clients it took since its last snapshot are lost. Turn on appendonly, or add a replica.");
            }
            if (evicting.Count > 0)
            {
                warnings.Add($"Redis {string.Join(", ", evicting)} evicts keys when it is full: requests, pending deliveries and their events, " +
                    "and queued jobs can then vanish without an error. Set maxmemory-policy to noeviction (writes are then refused, and answered 503, when it is full).");
            }
            if (warnings.Count > 0)
            {
                var warning = string.Join(" ", warnings);
                _finding = new Finding(true, warning);
                GatewayLog.RedisNotDurable(logger, warning);
            }
            else
            {
                _finding = new Finding(false, "writes kept across a restart (an append-only file or a replica), and never evicted");
                GatewayLog.RedisDurable(logger, string.Join(", ", primaries.Select(p => p.EndPoint.ToString())));
            }
            return true;
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            return false;
        }
        catch (Exception e) when (e is RedisException)
        {
            // Refused (an ACL without +info, say): nothing to tell, and asking again will not help.
            GatewayLog.RedisDurabilityUnknown(logger, e.Message);
            return true;
        }
    }

    private static string? Field(IGrouping<string, KeyValuePair<string, string>>[] info, string name) =>
        info.SelectMany(section => section).FirstOrDefault(field => field.Key == name).Value;
}
