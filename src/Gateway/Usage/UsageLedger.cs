using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Usage;

/// <summary>
/// Counts each client's usage per UTC day as it happens (submits by endpoint, forwarded calls by
/// route, upload bytes, deliveries by outcome) in memory, and adds it to Redis every
/// <c>Usage:FlushSeconds</c> (and when the replica stops), so that counting costs a request no
/// Redis call. Counts that Redis could not take are kept and added at the next flush.
/// </summary>
internal sealed class UsageLedger(UsageKeys keys, RedisStore redis, IOptions<UsageOptions> options, TimeProvider time, ILogger<UsageLedger> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<(string Client, string Day, string Field), double> _pending = new();

    /// <summary>Counts <paramref name="amount"/> of <paramref name="field"/> (<see cref="UsageFields"/>) for <paramref name="client"/>, today.</summary>
    public void Count(string client, string field, double amount = 1) =>
        _pending.AddOrUpdate((client, Today(), field), static (_, amount) => amount, static (_, total, amount) => total + amount, amount);

    // The day's key part, formatted once a day rather than on every count (a reference, so that
    // threads swap it whole).
    private sealed record FormattedDay(int Number, string Text);

    private FormattedDay _today = new(-1, "");

    private string Today()
    {
        var now = time.GetUtcNow();
        var number = DateOnly.FromDateTime(now.UtcDateTime).DayNumber;
        var today = _today;
        if (today.Number != number)
        {
            _today = today = new(number, UsageKeys.Day(now));
        }
        return today.Text;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.FlushSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(interval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await FlushAsync();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync();
    }

    // KEYS: the day's usage; ARGV: TTL seconds, then field/amount pairs. One call per client and
    // day: its counters are added together or not at all.
    private const string AddScript = """
        for i = 2, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1]) end
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        return 1
        """;

    /// <summary>Adds what was counted since the last flush to Redis.</summary>
    public async Task FlushAsync()
    {
        if (_pending.IsEmpty)
        {
            return;
        }
        // Each counter is taken out whole. A count racing the flush lands either before its counter
        // is taken (and is in it) or after (and starts a new counter for the next flush). Swapping
        // the whole dictionary instead lost a count made on the old one after the flush had read it.
        List<KeyValuePair<(string Client, string Day, string Field), double>> counted = [];
        foreach (var (key, _) in _pending)
        {
            if (_pending.TryRemove(key, out var amount))
            {
                counted.Add(new(key, amount));
            }
        }
        var db = redis.Database;
        var days = counted.GroupBy(c => (c.Key.Client, c.Key.Day)).ToList();
        // Sent together, then awaited one by one; a send can also fail at once (the connection
        // closing at shut-down), so each is started inside its own try.
        var writes = days.Select(day => WriteAsync(db, day.Key.Client, day.Key.Day, day)).ToList();
        for (var i = 0; i < days.Count; i++)
        {
            try
            {
                await writes[i];
            }
            catch (Exception e) when (RedisStore.IsUnavailable(e) || e is ObjectDisposedException)
            {
                // Kept for the next flush, added to what has been counted meanwhile.
                foreach (var (key, amount) in days[i])
                {
                    _pending.AddOrUpdate(key, amount, (_, total) => total + amount);
                }
                GatewayLog.UsageNotFlushed(logger, days[i].Count(), e.GetType().Name);
            }
        }
    }

    private async Task WriteAsync(IDatabase db, string client, string day, IEnumerable<KeyValuePair<(string Client, string Day, string Field), double>> counts) =>
        await db.ScriptEvaluateAsync(AddScript, [keys.Daily(client, day)],
            [(long)options.Value.Retention.TotalSeconds, .. counts.SelectMany(d => new RedisValue[] { d.Key.Field, d.Value })]);
}
