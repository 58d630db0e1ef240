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
    public async Task FinishFanOut_KeepsFinishedForTheRetention_QueuesRetries_AndDoesNotWriteAGoneRecordAgain()
    {
        var redis = await RedisServer.Shared;
        using var store = redis.NewStore();
        var clock = new TestClock();
        var retention = TimeSpan.FromDays(3);
        using var deliveries = new Deliveries(store, Options.Create(new DeliveryOptions { Retention = retention }), clock);
        Subscription[] subscriptions = [Subscribed(clock), Subscribed(clock), Subscribed(clock)];
        var e = Completed("req-finish", clock);
        var partition = deliveries.FanOutQueue.PartitionOf(e.RequestId);
        Assert.Equal(3, await deliveries.EnqueueAsync(e, "{}"u8.ToArray(), subscriptions, null, null));
        var job = Assert.Single(await deliveries.FanOutQueue.ClaimAsync(partition, 10, TimeSpan.FromMinutes(1)));
        var targets = Deliveries.ReadTargets(job);
        string IdOf(Subscription s) => targets.Single(t => t.SubscriptionId == s.Id).DeliveryId;
        var (succeeded, retried, gone) = (IdOf(subscriptions[0]), IdOf(subscriptions[1]), IdOf(subscriptions[2]));
        // Deleted with its subscription while its first attempt was in flight.
        Assert.True(await store.Database.KeyDeleteAsync(deliveries.Queue.JobKey(partition, gone)));
        var retryAt = clock.GetUtcNow().AddSeconds(5);
        AttemptOutcome Outcome(DeliveryTarget t) =>
            t.DeliveryId == retried
                ? new(new DeliveryAttempt(1, clock.GetUtcNow(), 503, 2.0, AttemptResult.Failed, null), DeliveryStatus.Pending, retryAt, 1)
                : new(new DeliveryAttempt(1, clock.GetUtcNow(), 204, 2.0, AttemptResult.Succeeded, null), DeliveryStatus.Succeeded, null, 0);

        Assert.True(await deliveries.FinishFanOutAsync(job, targets, [.. targets.Select(Outcome)]));

        var done = await deliveries.GetAsync(succeeded);
        Assert.Equal(DeliveryStatus.Succeeded, done!.Status);
        Assert.Equal(204, Assert.Single(done.Attempts).StatusCode);
        var ttl = await store.Database.KeyTimeToLiveAsync(deliveries.Queue.JobKey(partition, succeeded));
        Assert.InRange(ttl!.Value, retention - TimeSpan.FromMinutes(1), retention);
        var pending = await deliveries.GetAsync(retried);
        Assert.Equal(DeliveryStatus.Pending, pending!.Status);
        Assert.Equal(retryAt.ToUnixTimeMilliseconds(), pending.NextAttemptAt!.Value.ToUnixTimeMilliseconds());
        Assert.Null(await store.Database.KeyTimeToLiveAsync(deliveries.Queue.JobKey(partition, retried)));
        Assert.Equal(retryAt.ToUnixTimeMilliseconds(), await store.Database.SortedSetScoreAsync(deliveries.Queue.DueKey(partition), retried));
        Assert.False(await store.Database.KeyExistsAsync(deliveries.Queue.JobKey(partition, gone)));
        Assert.Null(await store.Database.SortedSetScoreAsync(deliveries.Queue.DueKey(partition), gone));
        // The fan-out job is finished: off its queue, its record gone.
        Assert.Equal(0, await store.Database.SortedSetLengthAsync(deliveries.FanOutQueue.DueKey(partition)));
        Assert.False(await store.Database.KeyExistsAsync(deliveries.FanOutQueue.JobKey(partition, job.Id)));
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
