using Microsoft.Extensions.Options;
using Reka.Gateway.Delivery;
using Reka.Gateway.Events;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Tests.Delivery;

/// <summary>What fanning an event out keeps in Redis, on a real Redis.</summary>
public sealed class DeliveriesTests
{
    private static InferenceEvent Completed(string requestId, TimeProvider clock) =>
        new(InferenceEvent.IdFor(requestId, "COMPLETED"), InferenceEvent.TypeFor("COMPLETED"), requestId, "COMPLETED",
            null, null, null, null, clock.GetUtcNow(), null);

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
        var subscription = new Subscription(SubscriptionStore.NewId(), "http://127.0.0.1:9/hook", new SubscriptionFilter(), null, clock.GetUtcNow(), true, null, "secret");
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
}
