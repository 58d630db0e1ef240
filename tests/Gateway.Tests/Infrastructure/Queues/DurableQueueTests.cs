using Reka.Gateway.Infrastructure.Queues;

namespace Reka.Gateway.Tests.Infrastructure.Queues;

public sealed class DurableQueueTests
{
    [Fact]
    public async Task ClaimedJob_TellsWhenItWasDue_AndWhenItWasClaimed_AlsoAfterALeaseExpired()
    {
        using var store = (await RedisServer.Shared).NewStore();
        var clock = new TestClock();
        // Redis keeps due times in whole milliseconds.
        clock.SetUtcNow(DateTimeOffset.FromUnixTimeMilliseconds(clock.GetUtcNow().ToUnixTimeMilliseconds() + 1));
        var queue = new DurableQueue(store, "jobs", clock);
        var due = clock.GetUtcNow().AddSeconds(2);
        Assert.True(await queue.AddAsync(store.Database, "job-1", due, [new("field", "value")]));
        var partition = queue.PartitionOf("job-1");

        Assert.Empty(await queue.ClaimAsync(partition, 10, TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(5));
        var first = Assert.Single(await queue.ClaimAsync(partition, 10, TimeSpan.FromSeconds(30)));
        Assert.Equal(due, first.Due);
        Assert.Equal(clock.GetUtcNow(), first.ClaimedAt);
        Assert.Equal("value", first["field"]);

        // The worker that held it died: it is due again when its lease expires, not before.
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(await queue.ClaimAsync(partition, 10, TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(4));
        var retaken = Assert.Single(await queue.ClaimAsync(partition, 10, TimeSpan.FromSeconds(30)));
        Assert.Equal(first.ClaimedAt + TimeSpan.FromSeconds(30), retaken.Due);
        Assert.Equal(TimeSpan.FromSeconds(3), retaken.ClaimedAt - retaken.Due);
        Assert.NotEqual(first.LeaseToken, retaken.LeaseToken);
    }

    [Fact]
    public async Task AbandonedJob_IsDeleted_UnlessAProducerMarkedIt_ThenItRunsAgainAtOnce()
    {
        using var store = (await RedisServer.Shared).NewStore();
        var clock = new TestClock();
        clock.SetUtcNow(DateTimeOffset.FromUnixTimeMilliseconds(clock.GetUtcNow().ToUnixTimeMilliseconds() + 1)); // whole ms, as Redis keeps them
        var queue = new DurableQueue(store, "jobs", clock);
        await queue.AddAsync(store.Database, "quiet", clock.GetUtcNow(), [new("field", "value")]);
        await queue.AddAsync(store.Database, "news", clock.GetUtcNow(), [new("field", "value")]);
        var claimed = new List<LeasedJob>();
        foreach (var partition in new[] { queue.PartitionOf("quiet"), queue.PartitionOf("news") }.Distinct())
        {
            claimed.AddRange(await queue.ClaimAsync(partition, 10, TimeSpan.FromSeconds(30)));
        }
        var quiet = Assert.Single(claimed, j => j.Id == "quiet");
        var news = Assert.Single(claimed, j => j.Id == "news");
        // What a producer does for a leased job it has news for (the callback receiver, for one).
        await store.Database.HashSetAsync(queue.JobKey(news.Partition, "news"), DurableQueue.DueNowField, "1");

        Assert.True(await queue.AbandonAsync(quiet));
        Assert.False(await queue.AbandonAsync(news));

        Assert.False(await store.Database.KeyExistsAsync(queue.JobKey(quiet.Partition, "quiet")));
        var again = Assert.Single(await queue.ClaimAsync(news.Partition, 10, TimeSpan.FromSeconds(30)), j => j.Id == "news");
        Assert.Equal(clock.GetUtcNow(), again.Due);
        Assert.Equal("value", again["field"]);
    }
}
