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
}
