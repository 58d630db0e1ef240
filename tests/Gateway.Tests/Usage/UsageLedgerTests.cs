using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Usage;

namespace Reka.Gateway.Tests.Usage;

public sealed class UsageLedgerTests
{
    [Fact]
    public async Task CountsMadeWhileFlushing_AreAllAddedToRedis()
    {
        var redis = await RedisServer.Shared;
        using var store = new RedisStore(
            Options.Create(new RedisOptions { Configuration = redis.Configuration, KeyPrefix = $"test-{Guid.NewGuid():N}:" }),
            NullLogger<RedisStore>.Instance);
        var keys = new UsageKeys(store);
        var clock = new TestClock();
        var ledger = new UsageLedger(keys, store, Options.Create(new UsageOptions()), clock, NullLogger<UsageLedger>.Instance);
        const int countsPerThread = 200_000;

        // Two threads count while a third flushes over and over: a count that lands while a flush
        // takes the counters must end up in Redis, in that flush or the next.
        using var counting = new CountdownEvent(2);
        var counters = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            try
            {
                for (var i = 0; i < countsPerThread; i++)
                {
                    ledger.Count("alice", UsageFields.Submits);
                }
            }
            finally
            {
                counting.Signal();
            }
        })).ToArray();
        var flushes = 0;
        while (!counting.IsSet)
        {
            await ledger.FlushAsync();
            flushes++;
        }
        await Task.WhenAll(counters);
        await ledger.FlushAsync();

        var total = await store.Database.HashGetAsync(keys.Daily("alice", UsageKeys.Day(clock.GetUtcNow())), UsageFields.Submits);
        Assert.True(flushes > 1, "the counts raced at least one flush");
        Assert.Equal(2 * countsPerThread, (double)total);
    }
}
