using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Usage;

/// <summary>
/// Counts each client's usage per UTC day as it happens (submits by endpoint, forwarded calls by
/// route, upload bytes, deliveries by outcome) in memory, and adds it to Redis every
/// <c>Usage:FlushSeconds</c> (and when the replica stops), so that counting costs a request no
/// Redis call. Counts that Redis could not take are kept and added at the next flush.
/// </summary>
internal sealed class UsageLedger(UsageKeys keys, RedisStore redis, IOptions<UsageOptions> options, TimeProvider time, GatewayMetrics metrics,
    ILogger<UsageLedger> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<(string Client, string Day, string Field), double> _pending = new();

    /// <summary>Counts <paramref name="amount"/> of <paramref name="field"/> (<see cref="UsageFields"/>) for <paramref name="client"/>, today.</summary>
    public void Count(string client, string field, double amount = 1) =>
        _pending.AddOrUpdate((client, Today(), field), static (_, amount) => amount, static (_, total, amount) => total + amount, amount);

    /// <summary>Counts a submit that started an inference, in usage and in the <c>gateway.submits</c> metric.</summary>
    public void CountSubmit(string client, string endpointId)
    {
        Count(client, UsageFields.Of(UsageFields.Submits, endpointId));
        metrics.Submitted(client, endpointId);
    }

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

    // KEYS: the day's usage, the id of this replica's last batch added to it; ARGV: TTL seconds,
    // the batch's id, the id's TTL seconds, then field/amount pairs. One call per client and day:
    // its counters are added together or not at all, and a batch already added (its first try
    // timed out after Redis ran it, or ran late on a connection the client had dropped) is not
    // added again: a replica's ids only grow.
    private const string AddScript = """
        if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then return 0 end
        for i = 4, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1]) end
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
        return 1
        """;

    // How long a batch id is remembered: far longer than Redis stays away while a replica keeps
    // retrying, and short enough that a replica's restarts and scale-outs leave few ids behind.
    private static readonly TimeSpan BatchIdTtl = TimeSpan.FromDays(2);

    // One client's counts of one day, sent as one script call. A batch whose call failed may have
    // been added all the same (a timeout tells nothing), so it is sent again as it is, with its id,
    // before anything newer of its client and day.
    private sealed record Batch(string Client, string Day, long Id, (string Field, double Amount)[] Counts);

    private readonly List<Batch> _unconfirmed = [];
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly string _replica = Guid.NewGuid().ToString("N");
    private long _lastBatchId;

    /// <summary>Adds what was counted since the last flush to Redis; what Redis did not take is kept for the next flush.</summary>
    public async Task FlushAsync()
    {
        await _flushing.WaitAsync();
        try
        {
            if (_unconfirmed.Count > 0)
            {
                var retried = _unconfirmed.ToArray();
                _unconfirmed.Clear();
                await WriteAsync(retried);
            }
            if (_pending.IsEmpty)
            {
                return;
            }
            // Each counter is taken out whole. A count racing the flush lands either before its
            // counter is taken (and is in it) or after (and starts a new counter for the next flush).
            // Swapping the whole dictionary instead lost a count made on the old one after the flush
            // had read it. A client's day with a batch still unconfirmed waits for it.
            List<KeyValuePair<(string Client, string Day, string Field), double>> counted = [];
            foreach (var (key, _) in _pending)
            {
                if (!_unconfirmed.Exists(b => b.Client == key.Client && b.Day == key.Day) && _pending.TryRemove(key, out var amount))
                {
                    counted.Add(new(key, amount));
                }
            }
            await WriteAsync(counted.GroupBy(c => (c.Key.Client, c.Key.Day))
                .Select(day => new Batch(day.Key.Client, day.Key.Day, ++_lastBatchId, [.. day.Select(c => (c.Key.Field, c.Value))])).ToArray());
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task WriteAsync(Batch[] batches)
    {
        var db = redis.Database;
        // Sent together, then awaited one by one; a send can also fail at once (the connection
        // closing at shut-down), so each is started inside its own try.
        var writes = batches.Select(batch => WriteAsync(db, batch)).ToArray();
        for (var i = 0; i < batches.Length; i++)
        {
            try
            {
                await writes[i];
            }
            catch (Exception e) when (e is RedisException or RedisTimeoutException or ObjectDisposedException)
            {
                // Any Redis error, not only "unavailable": the counts are kept, and the flush loop
                // (a background service, which an exception would stop) goes on.
                _unconfirmed.Add(batches[i]);
                GatewayLog.UsageNotFlushed(logger, batches[i].Counts.Length, e.GetType().Name);
            }
        }
    }

    private async Task WriteAsync(IDatabase db, Batch batch) =>
        await db.ScriptEvaluateAsync(AddScript, [keys.Daily(batch.Client, batch.Day), keys.Flushed(batch.Client, batch.Day, _replica)],
            [(long)options.Value.Retention.TotalSeconds, batch.Id, (long)BatchIdTtl.TotalSeconds, .. batch.Counts.SelectMany(c => new RedisValue[] { c.Field, c.Amount })]);
}
