using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
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
public sealed record OwnSubscriber(string Client, string Url);

/// <summary>
/// The delivery queue (<see cref="DurableQueue"/> <c>deliveries</c>) and its records: each event is
/// stored once (<c>event:{id}</c>) and one delivery is queued per subscriber. Delivery ids are
/// derived from the event and the subscriber, so fanning the same event out twice (a repeated
/// callback, a replica retaking the work) queues nothing new.
/// </summary>
public sealed class Deliveries(RedisStore redis, IOptions<DeliveryOptions> options) : IDisposable
{
    // Every subscriber's delivery of an event carries the same body: a replica fetches it once.
    private readonly MemoryCache _events = new(new MemoryCacheOptions { SizeLimit = 16L << 20 });
    private readonly ConcurrentDictionary<string, long> _indexTrimmedAt = new();

    /// <summary>The queue.</summary>
    public DurableQueue Queue { get; } = new(redis, "deliveries");

    private TimeSpan Retention => options.Value.Retention;

    /// <summary>Key of a stored event.</summary>
    public RedisKey EventKey(string eventId) => redis.Key("event:" + eventId);

    private RedisKey IndexKey(string subscriptionId) => redis.Key("subscription:" + subscriptionId + ":deliveries");

    /// <summary>The delivery id of an event to a subscriber.</summary>
    public static string DeliveryId(string eventId, string subscriber) =>
        "dlv_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(eventId + "\n" + subscriber)))[..24];

    /// <summary>
    /// Stores the event and queues a delivery to each subscription and to the request's own
    /// subscriber; returns how many deliveries were new.
    /// </summary>
    /// <exception cref="RedisUnavailableException">Redis failed; nothing is lost, the caller retries.</exception>
    public async Task<int> EnqueueAsync(InferenceEvent e, byte[] json, IReadOnlyList<Subscription> subscriptions, OwnSubscriber? own, string? traceParent)
    {
        var now = DateTimeOffset.UtcNow;
        var added = await redis.CallAsync(async db =>
        {
            var stored = db.StringSetAsync(EventKey(e.Id), json, Retention, When.NotExists);
            var enqueued = subscriptions.Select(s => Queue.EnqueueAsync(db, DeliveryId(e.Id, s.Id), now,
                    Fields(e, now, s.Url, traceParent, subscriptionId: s.Id, client: null),
                    IndexKey(s.Id), now.ToUnixTimeMilliseconds()))
                .ToList();
            if (own is not null)
            {
                enqueued.Add(Queue.EnqueueAsync(db, DeliveryId(e.Id, "client:" + own.Client), now,
                    Fields(e, now, own.Url, traceParent, subscriptionId: null, client: own.Client)));
            }
            foreach (var subscription in subscriptions)
            {
                TrimIndex(db, subscription.Id, now);
            }
            await stored;
            return (await Task.WhenAll(enqueued)).Count(added => added);
        });
        RememberEvent(e.Id, json);
        if (added > 0)
        {
            await Queue.WakeAsync();
        }
        return added;
    }

    // Each subscription's index drops entries past Delivery:Retention, once a minute per replica.
    private void TrimIndex(IDatabaseAsync db, string subscriptionId, DateTimeOffset now)
    {
        if (_indexTrimmedAt.TryGetValue(subscriptionId, out var last) && Environment.TickCount64 - last < 60_000)
        {
            return;
        }
        _indexTrimmedAt[subscriptionId] = Environment.TickCount64; // a race trims twice: harmless
        _ = db.SortedSetRemoveRangeByScoreAsync(IndexKey(subscriptionId), double.NegativeInfinity,
            (now - Retention).ToUnixTimeMilliseconds(), flags: CommandFlags.FireAndForget);
    }

    private void RememberEvent(string eventId, byte[] json) =>
        _events.Set(eventId, json, new MemoryCacheEntryOptions { Size = json.Length, AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) });

    /// <summary>A stored event's JSON, or null once it expired.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public async Task<byte[]?> GetEventAsync(string eventId)
    {
        if (_events.TryGetValue(eventId, out byte[]? json))
        {
            return json;
        }
        json = await redis.CallAsync(db => db.StringGetAsync(EventKey(eventId)));
        if (json is not null)
        {
            RememberEvent(eventId, json);
        }
        return json;
    }

    /// <inheritdoc />
    public void Dispose() => _events.Dispose();

    /// <summary>The newest <paramref name="limit"/> deliveries of a subscription, newest first.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public async Task<IReadOnlyList<DeliveryView>> ListAsync(string subscriptionId, int limit)
    {
        var ids = await redis.CallAsync(db => db.SortedSetRangeByRankAsync(IndexKey(subscriptionId), 0, limit - 1, Order.Descending));
        var views = await Task.WhenAll(ids.Select(id => GetAsync((string)id!)));
        return [.. views.OfType<DeliveryView>()];
    }

    /// <summary>One delivery, or null.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public async Task<DeliveryView?> GetAsync(string deliveryId)
    {
        var entries = await redis.CallAsync(db => db.HashGetAllAsync(Queue.JobKey(deliveryId)));
        return entries.Length == 0 ? null
            : DeliveryView.FromFields(deliveryId, entries.ToDictionary(e => (string)e.Name!, e => (string)e.Value!));
    }

    /// <summary>Sends a delivery again from the start of the retry schedule, whatever its state; null when it no longer exists.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public async Task<DeliveryView?> ReplayAsync(string deliveryId)
    {
        var now = DateTimeOffset.UtcNow;
        var requeued = await redis.CallAsync(db => Queue.RequeueAsync(db, deliveryId,
        [
            new(DeliveryFields.Status, DeliveryStatus.Pending),
            new(DeliveryFields.Retries, "0"),
            new(DeliveryFields.NextAttemptAt, now.ToString("O", CultureInfo.InvariantCulture)),
        ]));
        if (!requeued)
        {
            return null;
        }
        await Queue.WakeAsync();
        return await GetAsync(deliveryId);
    }

    /// <summary>Replays every dead letter of a subscription; returns how many.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public async Task<int> ReplayDeadLettersAsync(string subscriptionId)
    {
        var all = await ListAsync(subscriptionId, int.MaxValue);
        var dead = all.Where(d => d.Status == DeliveryStatus.Dead).ToList();
        foreach (var delivery in dead)
        {
            await ReplayAsync(delivery.Id);
        }
        return dead.Count;
    }

    private static IEnumerable<KeyValuePair<string, string>> Fields(InferenceEvent e, DateTimeOffset now, string url, string? traceParent,
        string? subscriptionId, string? client)
    {
        var at = now.ToString("O", CultureInfo.InvariantCulture);
        yield return new(DeliveryFields.EventId, e.Id);
        yield return new(DeliveryFields.EventType, e.Type);
        yield return new(DeliveryFields.RequestId, e.RequestId);
        yield return new(DeliveryFields.SubscriptionId, subscriptionId ?? "");
        yield return new(DeliveryFields.Client, client ?? "");
        yield return new(DeliveryFields.Url, url);
        yield return new(DeliveryFields.Status, DeliveryStatus.Pending);
        yield return new(DeliveryFields.CreatedAt, at);
        yield return new(DeliveryFields.NextAttemptAt, at);
        yield return new(DeliveryFields.Retries, "0");
        yield return new(DeliveryFields.Attempts, "[]");
        yield return new(DeliveryFields.TraceParent, traceParent ?? "");
    }
}
