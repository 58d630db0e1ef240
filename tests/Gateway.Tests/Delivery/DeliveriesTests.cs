using Microsoft.Extensions.Options;
using Reka.Gateway.Delivery;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Tests.Delivery;

/// <summary>What fanning an event out keeps in Redis, and a subscription's index of deliveries (what <c>GET /subscriptions/{id}/deliveries</c> lists), on a real Redis and a fake clock.</summary>
public sealed class DeliveriesTests : IAsyncLifetime
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);
    private readonly TestClock _clock = new();
    private RedisStore _store = null!;
    private Deliveries _deliveries = null!;

    public async Task InitializeAsync()
    {
        _store = (await RedisServer.Shared).NewStore();
        _deliveries = new Deliveries(_store, Options.Create(new DeliveryOptions { Retention = Retention }), _clock);
    }

    public Task DisposeAsync()
    {
        _deliveries.Dispose();
        _store.Dispose();
        return Task.CompletedTask;
    }

    private InferenceEvent Completed(string requestId) =>
        new(InferenceEvent.IdFor(requestId, "COMPLETED"), InferenceEvent.TypeFor("COMPLETED"), requestId, "COMPLETED",
            null, null, null, null, _clock.GetUtcNow(), null);

    private Subscription Subscribed() =>
        new(SubscriptionStore.NewId(), "http://127.0.0.1:9/hook", new SubscriptionFilter(), null, _clock.GetUtcNow(), true, null, "secret");

    [Fact]
    public async Task Enqueue_WithNoSubscriber_KeepsNothing()
    {
        var e = Completed("req-nobody");
        var partition = _deliveries.FanOutQueue.PartitionOf(e.RequestId);

        Assert.Equal(0, await _deliveries.EnqueueAsync(e, "{}"u8.ToArray(), [], null, null));

        Assert.False(await _store.Database.KeyExistsAsync(_deliveries.EventKey(partition, e.Id)));
        Assert.Equal(0, await _store.Database.SortedSetLengthAsync(_deliveries.FanOutQueue.DueKey(partition)));
    }

    [Fact]
    public async Task Enqueue_StoresTheEventForItsDeliveries_OnceAndForTheRetention()
    {
        var subscription = Subscribed();
        var e = Completed("req-subscribed");
        var partition = _deliveries.FanOutQueue.PartitionOf(e.RequestId);

        Assert.Equal(1, await _deliveries.EnqueueAsync(e, "{\"first\":1}"u8.ToArray(), [subscription], null, null));
        // The same event again (a repeated callback): nothing new, and the stored body stays the first.
        Assert.Equal(0, await _deliveries.EnqueueAsync(e, "{\"second\":2}"u8.ToArray(), [subscription], null, null));

        Assert.Equal("{\"first\":1}", (string?)await _store.Database.StringGetAsync(_deliveries.EventKey(partition, e.Id)));
        var ttl = await _store.Database.KeyTimeToLiveAsync(_deliveries.EventKey(partition, e.Id));
        Assert.InRange(ttl!.Value, Retention - TimeSpan.FromMinutes(1), Retention);
        Assert.Equal(1, await _store.Database.SortedSetLengthAsync(_deliveries.FanOutQueue.DueKey(partition)));
    }

    [Fact]
    public async Task FinishFanOut_KeepsFinishedForTheRetention_QueuesRetries_AndDoesNotWriteAGoneRecordAgain()
    {
        Subscription[] subscriptions = [Subscribed(), Subscribed(), Subscribed(), Subscribed()];
        var e = Completed("req-finish");
        var partition = _deliveries.FanOutQueue.PartitionOf(e.RequestId);
        Assert.Equal(4, await _deliveries.EnqueueAsync(e, "{}"u8.ToArray(), subscriptions, null, null));
        var job = Assert.Single(await _deliveries.FanOutQueue.ClaimAsync(partition, 10, TimeSpan.FromMinutes(1)));
        var targets = Deliveries.ReadTargets(job);
        string IdOf(Subscription s) => targets.Single(t => t.SubscriptionId == s.Id).DeliveryId;
        var (succeeded, retried, gone, goneRetried) = (IdOf(subscriptions[0]), IdOf(subscriptions[1]), IdOf(subscriptions[2]), IdOf(subscriptions[3]));
        // Deleted with their subscriptions while their first attempts were in flight.
        Assert.True(await _store.Database.KeyDeleteAsync(_deliveries.Queue.JobKey(partition, gone)));
        Assert.True(await _store.Database.KeyDeleteAsync(_deliveries.Queue.JobKey(partition, goneRetried)));
        var retryAt = _clock.GetUtcNow().AddSeconds(5);
        AttemptOutcome Outcome(DeliveryTarget t) =>
            t.DeliveryId == retried || t.DeliveryId == goneRetried
                ? new(new DeliveryAttempt(1, _clock.GetUtcNow(), 503, 2.0, AttemptResult.Failed, null), DeliveryStatus.Pending, retryAt, 1)
                : new(new DeliveryAttempt(1, _clock.GetUtcNow(), 204, 2.0, AttemptResult.Succeeded, null), DeliveryStatus.Succeeded, null, 0);

        Assert.True(await _deliveries.FinishFanOutAsync(job, targets, [.. targets.Select(Outcome)]));

        var done = await _deliveries.GetAsync(succeeded);
        Assert.Equal(DeliveryStatus.Succeeded, done!.Status);
        Assert.Equal(204, Assert.Single(done.Attempts).StatusCode);
        var ttl = await _store.Database.KeyTimeToLiveAsync(_deliveries.Queue.JobKey(partition, succeeded));
        Assert.InRange(ttl!.Value, Retention - TimeSpan.FromMinutes(1), Retention);
        // Kept for the retention in Redis's compact encoding (DeliveryFields: about 0.6 KB, not 1.4 KB).
        Assert.Equal("listpack", await _store.Database.KeyEncodingAsync(_deliveries.Queue.JobKey(partition, succeeded)));
        var pending = await _deliveries.GetAsync(retried);
        Assert.Equal(DeliveryStatus.Pending, pending!.Status);
        Assert.Equal(retryAt.ToUnixTimeMilliseconds(), pending.NextAttemptAt!.Value.ToUnixTimeMilliseconds());
        Assert.Null(await _store.Database.KeyTimeToLiveAsync(_deliveries.Queue.JobKey(partition, retried)));
        Assert.Equal(retryAt.ToUnixTimeMilliseconds(), await _store.Database.SortedSetScoreAsync(_deliveries.Queue.DueKey(partition), retried));
        foreach (var id in (string[])[gone, goneRetried])
        {
            Assert.False(await _store.Database.KeyExistsAsync(_deliveries.Queue.JobKey(partition, id)));
            Assert.Null(await _store.Database.SortedSetScoreAsync(_deliveries.Queue.DueKey(partition), id));
        }
        // The fan-out job is finished: off its queue, its record gone.
        Assert.Equal(0, await _store.Database.SortedSetLengthAsync(_deliveries.FanOutQueue.DueKey(partition)));
        Assert.False(await _store.Database.KeyExistsAsync(_deliveries.FanOutQueue.JobKey(partition, job.Id)));
    }

    [Fact]
    public async Task List_IsNewestFirst_AndLeavesOutDeliveriesPastTheRetention_BeforeAnyTrim()
    {
        var subscription = Subscribed();
        string[] requests = ["req-a", "req-b", "req-c"];
        foreach (var requestId in requests)
        {
            Assert.Equal(1, await _deliveries.EnqueueAsync(Completed(requestId), "{}"u8.ToArray(), [subscription], null, null));
            _clock.Advance(TimeSpan.FromSeconds(10));
        }
        async Task<string[]> ListedAsync(int limit) => [.. (await _deliveries.ListAsync(subscription.Id, limit)).Select(d => d.RequestId)];

        var newest = await ListedAsync(10);
        var newestTwo = await ListedAsync(2);
        // The first is now past the retention; no event since has trimmed the index.
        _clock.Advance(Retention - TimeSpan.FromSeconds(25));
        var withinTheRetention = await ListedAsync(10);

        Assert.Equal(["req-c", "req-b", "req-a"], newest);
        Assert.Equal(["req-c", "req-b"], newestTwo);
        Assert.Equal(["req-c", "req-b"], withinTheRetention);
    }

    [Fact]
    public async Task Index_IsTrimmedAtMostOnceAMinute_AndExpiresAMinuteAfterTheRetention()
    {
        var subscription = Subscribed();
        var index = _store.KeyFor("subscription-deliveries", subscription.Id);
        var sizes = new List<long>();
        async Task EnqueueAsync(string requestId)
        {
            Assert.Equal(1, await _deliveries.EnqueueAsync(Completed(requestId), "{}"u8.ToArray(), [subscription], null, null));
            sizes.Add(await _store.Database.SortedSetLengthAsync(index));
        }

        await EnqueueAsync("req-a");
        _clock.Advance(Retention - TimeSpan.FromSeconds(10));
        await EnqueueAsync("req-b"); // trims: a is not past the retention yet
        _clock.Advance(TimeSpan.FromSeconds(20));
        await EnqueueAsync("req-c"); // a is past it now, but the index was trimmed 20 s ago
        _clock.Advance(Deliveries.IndexTrimInterval);
        await EnqueueAsync("req-d"); // trims

        Assert.Equal([1, 2, 3, 3], sizes);
        Assert.Equal(["req-d", "req-c", "req-b"], (await _deliveries.ListAsync(subscription.Id, 10)).Select(d => d.RequestId));
        // A deleted subscription's index goes too.
        var ttl = await _store.Database.KeyTimeToLiveAsync(index);
        Assert.InRange(ttl!.Value, Retention, Retention + Deliveries.IndexTrimInterval);
    }
}
