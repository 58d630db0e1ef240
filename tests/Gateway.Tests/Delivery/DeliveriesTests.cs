using Microsoft.Extensions.Options;
using Reka.Gateway.Delivery;
using Reka.Gateway.Events;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Tests.Delivery;

/// <summary>What fanning an event out keeps in Redis, and a subscription's index of deliveries (what <c>GET /subscriptions/{id}/deliveries</c> lists), on a real Redis and a fake clock.</summary>
public sealed class DeliveriesTests
{
    private static InferenceEvent Completed(string requestId, TimeProvider clock) =>
        new(InferenceEvent.IdFor(requestId, "COMPLETED"), InferenceEvent.TypeFor("COMPLETED"), requestId, "COMPLETED",
            null, null, null, null, clock.GetUtcNow(), null);

    private static Subscription Subscribed(TimeProvider clock) =>
        new(SubscriptionStore.NewId(), "http://127.0.0.1:9/hook", new SubscriptionFilter(), null, clock.GetUtcNow(), true, null, "secret");

    [Fact]
    public async Task Enqueue_WithNoSubscriber_KeepsNothing()
    {
        var redis = await RedisServer.Shared;
        using var store = redis.NewStore();
        var clock = new TestClock();
        using var deliveries = new Deliveries(store, Options.Create(new DeliveryOptions()), clock);
        var e = Completed("req-nobody", clock);
        var partition = deliveries.FanOutQueue.PartitionOf(e.RequestId);

        Assert.Equal(0, await deliveries.EnqueueAsync(e, "{}"u8.ToArray(), [], null, null));

        Assert.False(await store.Database.KeyExistsAsync(deliveries.EventKey(partition, e.Id)));
        Assert.Equal(0, await store.Database.SortedSetLengthAsync(deliveries.FanOutQueue.DueKey(partition)));
    }

    [Fact]
    public async Task Enqueue_StoresTheEventForItsDeliveries_OnceAndForTheRetention()
    {
        var redis = await RedisServer.Shared;
        using var store = redis.NewStore();
        var clock = new TestClock();
        var retention = TimeSpan.FromDays(3);
        using var deliveries = new Deliveries(store, Options.Create(new DeliveryOptions { Retention = retention }), clock);
        var subscription = Subscribed(clock);
        var e = Completed("req-subscribed", clock);
        var partition = deliveries.FanOutQueue.PartitionOf(e.RequestId);

        Assert.Equal(1, await deliveries.EnqueueAsync(e, "{\"first\":1}"u8.ToArray(), [subscription], null, null));
        // The same event again (a repeated callback): nothing new, and the stored body stays the first.
        Assert.Equal(0, await deliveries.EnqueueAsync(e, "{\"second\":2}"u8.ToArray(), [subscription], null, null));

        Assert.Equal("{\"first\":1}", (string?)await store.Database.StringGetAsync(deliveries.EventKey(partition, e.Id)));
        var ttl = await store.Database.KeyTimeToLiveAsync(deliveries.EventKey(partition, e.Id));
        Assert.InRange(ttl!.Value, retention - TimeSpan.FromMinutes(1), retention);
        Assert.Equal(1, await store.Database.SortedSetLengthAsync(deliveries.FanOutQueue.DueKey(partition)));
    }

    [Fact]
    public async Task List_IsNewestFirst_AndLeavesOutDeliveriesPastTheRetention_BeforeAnyTrim()
    {
        var redis = await RedisServer.Shared;
        using var store = redis.NewStore();
        var clock = new TestClock();
        var retention = TimeSpan.FromDays(7);
        using var deliveries = new Deliveries(store, Options.Create(new DeliveryOptions { Retention = retention }), clock);
        var subscription = Subscribed(clock);
        string[] requests = ["req-a", "req-b", "req-c"];
        foreach (var requestId in requests)
        {
            Assert.Equal(1, await deliveries.EnqueueAsync(Completed(requestId, clock), "{}"u8.ToArray(), [subscription], null, null));
            clock.Advance(TimeSpan.FromSeconds(10));
        }
        async Task<string[]> ListedAsync(int limit) => [.. (await deliveries.ListAsync(subscription.Id, limit)).Select(d => d.RequestId)];

        var newest = await ListedAsync(10);
        var newestTwo = await ListedAsync(2);
        // The first is now past the retention; no event since has trimmed the index.
        clock.Advance(retention - TimeSpan.FromSeconds(25));
        var withinTheRetention = await ListedAsync(10);

        Assert.Equal(["req-c", "req-b", "req-a"], newest);
        Assert.Equal(["req-c", "req-b"], newestTwo);
        Assert.Equal(["req-c", "req-b"], withinTheRetention);
    }

    [Fact]
    public async Task Index_IsTrimmedAtMostOnceAMinute_AndExpiresAMinuteAfterTheRetention()
    {
        var redis = await RedisServer.Shared;
        using var store = redis.NewStore();
        var clock = new TestClock();
        var retention = TimeSpan.FromDays(7);
        using var deliveries = new Deliveries(store, Options.Create(new DeliveryOptions { Retention = retention }), clock);
        var subscription = Subscribed(clock);
        var index = store.KeyFor("subscription-deliveries", subscription.Id);
        var sizes = new List<long>();
        async Task EnqueueAsync(string requestId)
        {
            Assert.Equal(1, await deliveries.EnqueueAsync(Completed(requestId, clock), "{}"u8.ToArray(), [subscription], null, null));
            sizes.Add(await store.Database.SortedSetLengthAsync(index));
        }

        await EnqueueAsync("req-a");
        clock.Advance(retention - TimeSpan.FromSeconds(10));
        await EnqueueAsync("req-b"); // trims: a is not past the retention yet
        clock.Advance(TimeSpan.FromSeconds(20));
        await EnqueueAsync("req-c"); // a is past it now, but the index was trimmed 20 s ago
        clock.Advance(Deliveries.IndexTrimInterval);
        await EnqueueAsync("req-d"); // trims

        Assert.Equal([1, 2, 3, 3], sizes);
        Assert.Equal(["req-d", "req-c", "req-b"], (await deliveries.ListAsync(subscription.Id, 10)).Select(d => d.RequestId));
        // A deleted subscription's index goes too.
        var ttl = await store.Database.KeyTimeToLiveAsync(index);
        Assert.InRange(ttl!.Value, retention, retention + Deliveries.IndexTrimInterval);
    }
}
