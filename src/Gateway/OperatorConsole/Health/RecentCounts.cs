using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.OperatorConsole.Health;

/// <summary>Counts of the last hour, all replicas together.</summary>
/// <param name="CacheHits">Result cache lookups that hit.</param>
/// <param name="CacheMisses">Result cache lookups that missed.</param>
/// <param name="DeliveriesSucceeded">Delivery attempts answered 2xx.</param>
/// <param name="DeliveryAttempts">Delivery attempts finished, however they ended.</param>
internal sealed record LastHour(long CacheHits, long CacheMisses, long DeliveriesSucceeded, long DeliveryAttempts)
{
    public double? CacheHitRatio => CacheHits + CacheMisses == 0 ? null : (double)CacheHits / (CacheHits + CacheMisses);

    public double? DeliverySuccessRate => DeliveryAttempts == 0 ? null : (double)DeliveriesSucceeded / DeliveryAttempts;
}

/// <summary>
/// The health page's last-hour figures for all replicas: each replica listens to its own
/// <c>gateway.cache.lookups</c> and <c>gateway.deliveries</c> instruments (the metrics the gateway
/// exports anyway, so nothing is counted twice in code), sums them per minute, and adds them to a
/// per-minute hash in Redis every <see cref="FlushInterval"/>; the page adds up the last 60
/// minutes. Minutes are kept two hours.
/// </summary>
internal sealed class RecentCounts : BackgroundService
{
    /// <summary>How often each replica adds its counts to Redis: the figures are this much behind at most.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);

    private const string CacheHit = "cache_hit";
    private const string CacheMiss = "cache_miss";
    private const string DeliverySucceeded = "delivery_succeeded";
    private const string DeliveryOther = "delivery_other";

    private readonly RedisStore _redis;
    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private ConcurrentDictionary<(long Minute, string Field), long> _pending = new();

    public RecentCounts(IMeterFactory meters, RedisStore redis, TimeProvider time)
    {
        (_redis, _time) = (redis, time);
        // Only this host's meter: a test process hosts several gateways, each with its own factory.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == GatewayMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meters)
                && instrument.Name is "gateway.cache.lookups" or "gateway.deliveries")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, amount, tags, _) =>
        {
            var field = instrument.Name == "gateway.cache.lookups"
                ? Tag(tags, "result") == "hit" ? CacheHit : CacheMiss
                : Tag(tags, "outcome") == "succeeded" ? DeliverySucceeded : DeliveryOther;
            _pending.AddOrUpdate((_time.GetUtcNow().ToUnixTimeSeconds() / 60, field), amount, (_, total) => total + amount);
        });
        _listener.Start();
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return tag.Value as string;
            }
        }
        return null;
    }

    private RedisKey MinuteKey(long minute) => _redis.KeyFor("console-minute", minute.ToString(CultureInfo.InvariantCulture));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(FlushInterval, _time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await FlushAsync();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync();
    }

    /// <summary>Adds what this replica counted since the last flush to Redis (kept for the next one when Redis fails).</summary>
    public async Task FlushAsync()
    {
        if (_pending.IsEmpty)
        {
            return;
        }
        var counted = Interlocked.Exchange(ref _pending, new());
        var db = _redis.Database;
        foreach (var minute in counted.GroupBy(c => c.Key.Minute))
        {
            try
            {
                var key = MinuteKey(minute.Key);
                var writes = minute.Select(c => (Task)db.HashIncrementAsync(key, c.Key.Field, c.Value)).Append(db.KeyExpireAsync(key, TimeSpan.FromHours(2)));
                await Task.WhenAll(writes);
            }
            catch (Exception e) when (RedisStore.IsUnavailable(e))
            {
                foreach (var (key, amount) in minute)
                {
                    _pending.AddOrUpdate(key, amount, (_, total) => total + amount);
                }
            }
        }
    }

    /// <summary>The last 60 minutes (the current one included), all replicas, as flushed so far.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<LastHour> LastHourAsync()
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds() / 60;
        var db = _redis.Database;
        var minutes = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => db.HashGetAllAsync(MinuteKey(now - i))));
        long Sum(string field) => minutes.SelectMany(m => m).Where(e => e.Name == field).Sum(e => (long)e.Value);
        var succeeded = Sum(DeliverySucceeded);
        return new LastHour(Sum(CacheHit), Sum(CacheMiss), succeeded, succeeded + Sum(DeliveryOther));
    }

    public override void Dispose()
    {
        _listener.Dispose();
        base.Dispose();
    }
}
