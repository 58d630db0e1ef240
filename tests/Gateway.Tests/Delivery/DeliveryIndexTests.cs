using Microsoft.Extensions.Options;
using Reka.Gateway.Delivery;
using Reka.Gateway.Events;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Tests.Delivery;

/// <summary>A subscription's index of deliveries (what <c>GET /subscriptions/{id}/deliveries</c> lists), on a real Redis and a fake clock.</summary>
public sealed class DeliveryIndexTests
{
    [Fact]
    public async Task Index_DropsDeliveriesPastTheRetention_TrimmedAtMostOnceAMinute()
    {
        var redis = await RedisServer.Shared;
        using var store = redis.NewStore();
        var clock = new TestClock();
        var retention = TimeSpan.FromDays(7);
        using var deliveries = new Deliveries(store, Options.Create(new DeliveryOptions { Retention = retention }), clock);
        var subscription = new Subscription(SubscriptionStore.NewId(), "http://127.0.0.1:9/hook", new SubscriptionFilter(), null, clock.GetUtcNow(), true, null, "secret");
        async Task EnqueueAsync(string requestId)
        {
            var e = new InferenceEvent(InferenceEvent.IdFor(requestId, "COMPLETED"), InferenceEvent.TypeFor("COMPLETED"), requestId, "COMPLETED",
                null, null, null, null, clock.GetUtcNow(), null);
            Assert.Equal(1, await deliveries.EnqueueAsync(e, "{}"u8.ToArray(), [subscription], null, null));
        }
        async Task<string[]> ListedAsync() => [.. (await deliveries.ListAsync(subscription.Id, 10)).Select(d => d.RequestId)];

        await EnqueueAsync("req-a");
        clock.Advance(retention - TimeSpan.FromSeconds(10));
        await EnqueueAsync("req-b"); // trims: a is not past the retention yet
        clock.Advance(TimeSpan.FromSeconds(20));
        await EnqueueAsync("req-c"); // a is past it now, but the index was trimmed 20 s ago
        var withinTheMinute = await ListedAsync();
        clock.Advance(TimeSpan.FromMinutes(1));
        await EnqueueAsync("req-d");

        Assert.Equal(["req-c", "req-b", "req-a"], withinTheMinute);
        Assert.Equal(["req-d", "req-c", "req-b"], await ListedAsync());
    }
}
