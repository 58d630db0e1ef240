using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Subscriptions;
using StackExchange.Redis;

namespace Reka.Gateway.Delivery;

/// <summary>A request's own subscriber: the caller's <c>webhook_url</c>, signed with its client's secret.</summary>
/// <param name="Client">The owning client.</param>
/// <param name="Url">The caller's <c>webhook_url</c>.</param>
internal sealed record OwnSubscriber(string Client, string Url);

/// <summary>
/// Deliveries and their queues. Fanning an event out to its subscribers stores it once
/// (<c>event:{id}</c>, for <c>Delivery:Retention</c>; an event nobody subscribes to is not kept), creates a
/// record per subscriber (a hash listed by <c>GET /subscriptions/{id}/deliveries</c>) and queues
/// ONE fan-out job (queue <c>fanout</c>) that makes all their first attempts, all in one Lua
/// script; a delivery whose first attempt fails moves to the queue of single deliveries
/// (<c>deliveries</c>, job = record) for its retries, as does a replay. Everything of one event
/// lives in the queue partition of its request, so each script touches one hash slot; a
/// delivery's id names its partition. Delivery ids are derived from the event and the
/// subscriber, so fanning the same event out twice (a repeated callback, a replica retaking the
/// work) creates nothing new.
/// </summary>
internal sealed class Deliveries(RedisStore redis, IOptions<DeliveryOptions> options, TimeProvider time) : IDisposable
{
    // Fields of a fan-out job's record.
    private const string TargetsField = "targets";
    private const string EventIdField = "event_id";
    private const string TraceParentField = "traceparent";
    private const string OwnerField = "owner";

    // KEYS: event, fan-out due, fan-out job. ARGV: event JSON, retention s, now ms, delivery
    // record prefix, publish command, fan-out wake channel, event id, event type, request id,
    // created at, traceparent, fan-out job id, pending status, owner, then 4 per subscriber:
    // delivery id, subscription id, client, url. Each call that finds new deliveries makes a job of its
    // own: a job already leased by a worker is never added to (it would finish without the new ones).
    private const string FanOutScript = $$"""
        local targets = {}
        for i = 15, #ARGV, 4 do
          local key = ARGV[4] .. ARGV[i]
          if redis.call('EXISTS', key) == 0 then
            redis.call('HSET', key, '{{DeliveryFields.EventId}}', ARGV[7], '{{DeliveryFields.EventType}}', ARGV[8], '{{DeliveryFields.RequestId}}', ARGV[9],
              '{{DeliveryFields.SubscriptionId}}', ARGV[i + 1], '{{DeliveryFields.Client}}', ARGV[i + 2], '{{DeliveryFields.Url}}', ARGV[i + 3],
              '{{DeliveryFields.Status}}', ARGV[13], '{{DeliveryFields.CreatedAt}}', ARGV[10], '{{DeliveryFields.NextAttemptAt}}', ARGV[10],
              '{{DeliveryFields.Retries}}', '0', '{{DeliveryFields.Attempts}}', '[]', '{{DeliveryFields.TraceParent}}', ARGV[11],
              '{{DeliveryFields.Owner}}', ARGV[14])
            targets[#targets + 1] = { ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3] }
          end
        end
        if #targets == 0 then return 0 end
        -- Stored for the deliveries that read it, and only for them.
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX')
        redis.call('HSET', KEYS[3], '{{TargetsField}}', cjson.encode(targets), '{{EventIdField}}', ARGV[7], '{{TraceParentField}}', ARGV[11], '{{OwnerField}}', ARGV[14])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[12])
        redis.call(ARGV[5], ARGV[6], '1')
        return #targets
        """;

    // KEYS: fan-out due, fan-out job, deliveries due. ARGV: job id, lease token, retention s,
    // delivery record prefix, publish command, deliveries wake channel, then 6 per delivery: id,
    // status, attempts, next attempt at, due ms ('' when finished), retries. A record gone
    // meanwhile (deleted with its subscription, expired) is not written again. A finished one's
    // EXPIRE doubles as that check (0 when the key is gone): two commands per delivery, not three.
    private const string FinishFanOutScript = $$"""
        if redis.call('HGET', KEYS[2], '{{DurableQueue.LeaseField}}') ~= ARGV[2] then return 0 end
        local retry = false
        for i = 7, #ARGV, 6 do
          local key = ARGV[4] .. ARGV[i]
          local finished = ARGV[i + 4] == ''
          local exists
          if finished then exists = redis.call('EXPIRE', key, ARGV[3]) == 1 else exists = redis.call('EXISTS', key) == 1 end
          if exists then
            redis.call('HSET', key, '{{DeliveryFields.Status}}', ARGV[i + 1], '{{DeliveryFields.Attempts}}', ARGV[i + 2],
              '{{DeliveryFields.NextAttemptAt}}', ARGV[i + 3], '{{DeliveryFields.Retries}}', ARGV[i + 5])
            if not finished then
              redis.call('ZADD', KEYS[3], ARGV[i + 4], ARGV[i])
              retry = true
            end
          end
        end
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('DEL', KEYS[2])
        if retry then redis.call(ARGV[5], ARGV[6], '1') end
        return 1
        """;

    // Every subscriber's delivery of an event carries the same body: a replica fetches it once.
    private readonly MemoryCache _events = new(new MemoryCacheOptions { SizeLimit = 16L << 20 });

    /// <summary>The queue of single deliveries (retries and replays); a job is a delivery's record.</summary>
    public DurableQueue Queue { get; } = new(redis, "deliveries", time);

    /// <summary>The queue of fan-outs; a job is an event's first attempts to all its subscribers.</summary>
    public DurableQueue FanOutQueue { get; } = new(redis, "fanout", time);

    private TimeSpan Retention => options.Value.Retention;

    /// <summary>How often a replica trims a subscription's index of deliveries past the retention: once a minute.</summary>
    public static readonly TimeSpan IndexTrimInterval = TimeSpan.FromMinutes(1);

    // When this replica last trimmed each subscription's index (the clock's timestamp): a busy
    // index is trimmed once a minute instead of at every event. Set once the trim is done, so a
    // failed one is tried again at the next event; two events at once may both trim, harmlessly.
    // One entry per subscription this replica fanned out to (a deleted one's stays, a few dozen bytes).
    private readonly ConcurrentDictionary<string, long> _indexTrimmedAt = new(StringComparer.Ordinal);

    private bool TrimDue(string subscriptionId) =>
        !_indexTrimmedAt.TryGetValue(subscriptionId, out var last) || time.GetElapsedTime(last) >= IndexTrimInterval;

    // A trim also gives the index a TTL a minute longer than the retention. An index written
    // without a trim was trimmed by the same replica less than a minute before, so every entry is
    // kept for the retention, and a deleted subscription's index expires.
    private async Task TrimAsync(IDatabaseAsync db, string subscriptionId)
    {
        var startedAt = time.GetTimestamp();
        var index = IndexKey(subscriptionId);
        await Task.WhenAll(
            db.SortedSetRemoveRangeByScoreAsync(index, double.NegativeInfinity, IndexCutoff()),
            db.KeyExpireAsync(index, Retention + IndexTrimInterval));
        _indexTrimmedAt[subscriptionId] = startedAt;
    }

    // The oldest creation time (ms) a listed delivery may have: an index holds older entries until its next trim.
    private long IndexCutoff() => (time.GetUtcNow() - Retention).ToUnixTimeMilliseconds();

    /// <summary>Key of a stored event.</summary>
    public RedisKey EventKey(int partition, string eventId) => redis.PartitionKey(partition, "event:" + eventId);

    private RedisKey IndexKey(string subscriptionId) => redis.KeyFor("subscription-deliveries", subscriptionId);

    /// <summary>
    /// The delivery id of an event to a subscriber: <c>dlv_</c> + 24 hex characters, the first two
    /// naming the queue partition of the event's request.
    /// </summary>
    public static string DeliveryId(int partition, string eventId, string subscriber) =>
        $"dlv_{partition:x2}{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(eventId + "\n" + subscriber)))[..22]}";

    /// <summary>The queue partition a delivery id names, or null when it is not a delivery id.</summary>
    public static int? PartitionOfDelivery(string deliveryId) =>
        deliveryId.Length == 28 && deliveryId.StartsWith("dlv_", StringComparison.Ordinal) && deliveryId.Skip(4).All(c => char.IsAsciiDigit(c) || char.IsAsciiHexDigitLower(c))
            ? Convert.ToInt32(deliveryId[4..6], 16) : null;

    /// <summary>
    /// Creates a delivery to each subscription and to the request's own subscriber, stores the
    /// event for them (when at least one is new) and queues their fan-out; returns how many
    /// deliveries were new. An event with no subscriber is not stored.
    /// </summary>
    /// <exception cref="RedisException">Redis failed; nothing is lost, the caller retries.</exception>
    public async Task<int> EnqueueAsync(InferenceEvent e, byte[] json, IReadOnlyList<Subscription> subscriptions, OwnSubscriber? own, string? traceParent)
    {
        if (subscriptions.Count == 0 && own is null)
        {
            // Nobody to deliver to: no call to Redis, and no copy of the event kept for the retention.
            return 0;
        }
        var now = time.GetUtcNow();
        var partition = FanOutQueue.PartitionOf(e.RequestId);
        var jobId = $"{e.Id}.{Guid.NewGuid():N}";
        var arguments = new List<RedisValue>(14 + 4 * (subscriptions.Count + 1))
        {
            json, (long)Retention.TotalSeconds, now.ToUnixTimeMilliseconds(), Queue.JobPrefix(partition), redis.PublishCommand,
            (string)FanOutQueue.WakeChannel(partition)!, e.Id, e.Type, e.RequestId, now.ToString("O", CultureInfo.InvariantCulture), traceParent ?? "", jobId,
            DeliveryFields.Wire(DeliveryStatus.Pending), e.Client ?? "",
        };
        var db = redis.Database;
        var indexed = new List<Task>(subscriptions.Count + 1);
        foreach (var subscription in subscriptions)
        {
            var id = DeliveryId(partition, e.Id, subscription.Id);
            arguments.AddRange([id, subscription.Id, "", subscription.Url]);
            // Each subscription's index is a key of its own (another hash slot), written with the
            // records, not before them: listed before its record exists, a delivery is skipped, and
            // should an index write fail, the caller retries and writes it again (NX). The index
            // drops entries past the retention as it grows.
            indexed.Add(db.SortedSetAddAsync(IndexKey(subscription.Id), id, now.ToUnixTimeMilliseconds(), SortedSetWhen.NotExists));
            if (TrimDue(subscription.Id))
            {
                indexed.Add(TrimAsync(db, subscription.Id));
            }
        }
        if (own is not null)
        {
            arguments.AddRange([DeliveryId(partition, e.Id, "client:" + own.Client), "", own.Client, own.Url]);
        }
        var created = db.ScriptEvaluateAsync(FanOutScript,
            [EventKey(partition, e.Id), FanOutQueue.DueKey(partition), FanOutQueue.JobKey(partition, jobId)], [.. arguments]);
        await Task.WhenAll([.. indexed, created]);
        var count = (int)(long)await created;
        if (count > 0)
        {
            // Kept for the first attempts about to read it; without deliveries nothing will soon.
            RememberEvent(e.Id, json);
        }
        return count;
    }

    /// <summary>The deliveries a fan-out job makes.</summary>
    public static IReadOnlyList<DeliveryTarget> ReadTargets(LeasedJob job)
    {
        static string? Text(string value) => value.Length == 0 ? null : value;
        var targets = JsonSerializer.Deserialize<string[][]>(job[TargetsField] ?? "[]") ?? [];
        return [.. targets.Select(t => new DeliveryTarget(t[0], job[EventIdField]!, Text(t[1]), Text(t[2]), t[3], Text(job[TraceParentField] ?? ""), Text(job[OwnerField] ?? "")))];
    }

    /// <summary>
    /// Records a fan-out's first attempts in one call: finished deliveries are kept for
    /// <c>Delivery:Retention</c>, those to retry join the queue of single deliveries. False when
    /// the fan-out's lease was lost (another replica redoes it).
    /// </summary>
    /// <exception cref="RedisException">Redis failed; the lease expires and the fan-out is redone.</exception>
    public async Task<bool> FinishFanOutAsync(LeasedJob job, IReadOnlyList<DeliveryTarget> targets, IReadOnlyList<AttemptOutcome> outcomes)
    {
        var partition = job.Partition;
        // Sized once: a fan-out to many subscribers has hundreds of arguments.
        var arguments = new RedisValue[6 + 6 * targets.Count];
        arguments[0] = job.Id;
        arguments[1] = job.LeaseToken;
        arguments[2] = (long)Retention.TotalSeconds;
        arguments[3] = Queue.JobPrefix(partition);
        arguments[4] = redis.PublishCommand;
        arguments[5] = (string)Queue.WakeChannel(partition)!;
        for (var i = 0; i < targets.Count; i++)
        {
            var outcome = outcomes[i];
            var at = 6 + 6 * i;
            arguments[at] = targets[i].DeliveryId;
            arguments[at + 1] = DeliveryFields.Wire(outcome.Status);
            arguments[at + 2] = DeliveryFields.AttemptsAfter(null, outcome);
            arguments[at + 3] = DeliveryFields.NextAttemptAtText(outcome);
            arguments[at + 4] = outcome.NextAttemptAt?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) ?? "";
            arguments[at + 5] = outcome.Retries;
        }
        var done = await redis.Database.ScriptEvaluateAsync(FinishFanOutScript,
            [FanOutQueue.DueKey(partition), FanOutQueue.JobKey(partition, job.Id), Queue.DueKey(partition)], arguments);
        return (long)done == 1;
    }

    private void RememberEvent(string eventId, byte[] json) =>
        _events.Set(eventId, json, new MemoryCacheEntryOptions { Size = json.Length, AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) });

    /// <summary>A stored event's JSON (stored in <paramref name="partition"/>), or null once it expired.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<byte[]?> GetEventAsync(int partition, string eventId)
    {
        if (_events.TryGetValue(eventId, out byte[]? json))
        {
            return json;
        }
        json = await redis.Database.StringGetAsync(EventKey(partition, eventId));
        if (json is not null)
        {
            RememberEvent(eventId, json);
        }
        return json;
    }

    /// <inheritdoc />
    public void Dispose() => _events.Dispose();

    /// <summary>The newest <paramref name="limit"/> deliveries of a subscription within <c>Delivery:Retention</c>, newest first.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<IReadOnlyList<DeliveryView>> ListAsync(string subscriptionId, int limit)
    {
        var ids = await redis.Database.SortedSetRangeByScoreAsync(IndexKey(subscriptionId), IndexCutoff(), double.PositiveInfinity, order: Order.Descending, take: limit);
        var views = await Task.WhenAll(ids.Select(id => GetAsync((string)id!)));
        return [.. views.OfType<DeliveryView>()];
    }

    /// <summary>One delivery, or null.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<DeliveryView?> GetAsync(string deliveryId)
    {
        if (PartitionOfDelivery(deliveryId) is not { } partition)
        {
            return null;
        }
        var entries = await redis.Database.HashGetAllAsync(Queue.JobKey(partition, deliveryId));
        return entries.Length == 0 ? null
            : DeliveryView.FromFields(deliveryId, entries.ToDictionary(e => (string)e.Name!, e => (string)e.Value!));
    }

    /// <summary>
    /// Sends a delivery again from the start of the retry schedule, whatever its state; null when
    /// it no longer exists. The event is kept for <c>Delivery:Retention</c> from now again, so that
    /// it outlives the new schedule (an event already expired makes the replay a dead letter).
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<DeliveryView?> ReplayAsync(string deliveryId)
    {
        if (PartitionOfDelivery(deliveryId) is not { } partition)
        {
            return null;
        }
        var now = time.GetUtcNow();
        var write = redis.Confirmations.Begin();
        var db = write.Database;
        if (!await Queue.RequeueAsync(db, partition, deliveryId,
            [
                new(DeliveryFields.Status, DeliveryFields.Wire(DeliveryStatus.Pending)),
                new(DeliveryFields.Retries, "0"),
                new(DeliveryFields.NextAttemptAt, now.ToString("O", CultureInfo.InvariantCulture)),
            ]))
        {
            return null;
        }
        var eventId = await db.HashGetAsync(Queue.JobKey(partition, deliveryId), DeliveryFields.EventId);
        if (!eventId.IsNullOrEmpty)
        {
            await db.KeyExpireAsync(EventKey(partition, eventId!), Retention);
        }
        await write.ConfirmAsync(Queue.DueKey(partition));
        await Queue.WakeAsync(partition);
        return await GetAsync(deliveryId);
    }

    /// <summary>
    /// Replays every dead letter of a subscription within <c>Delivery:Retention</c>, reading its
    /// deliveries <paramref name="page"/> at a time, newest first; returns how many. Deliveries
    /// added meanwhile shift the pages down: some are looked at twice, none is skipped, and one
    /// replayed is no longer dead the second time.
    /// </summary>
    /// <exception cref="RedisException">Redis failed; the dead letters found before it were replayed.</exception>
    public async Task<int> ReplayDeadLettersAsync(string subscriptionId, int page = 500)
    {
        var replayed = 0;
        var cutoff = IndexCutoff();
        for (long skip = 0; ; skip += page)
        {
            var ids = await redis.Database.SortedSetRangeByScoreAsync(IndexKey(subscriptionId), cutoff, double.PositiveInfinity, order: Order.Descending, skip: skip, take: page);
            var views = await Task.WhenAll(ids.Select(id => GetAsync((string)id!)));
            foreach (var dead in views.Where(d => d?.Status == DeliveryStatus.Dead))
            {
                if (await ReplayAsync(dead!.Id) is not null)
                {
                    replayed++;
                }
            }
            if (ids.Length < page)
            {
                return replayed;
            }
        }
    }
}
