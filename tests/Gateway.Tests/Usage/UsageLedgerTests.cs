using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Usage;
using StackExchange.Redis;

namespace Reka.Gateway.Tests.Usage;

public sealed class UsageLedgerTests
{
    [Fact]
    public async Task CountsMadeWhileFlushing_AreAllAddedToRedis()
    {
        using var store = (await RedisServer.Shared).NewStore();
        var keys = new UsageKeys(store);
        var clock = new TestClock();
        var ledger = new UsageLedger(keys, store, Options.Create(new UsageOptions()), clock, TestStores.Metrics, NullLogger<UsageLedger>.Instance);
        // Two threads count while the test flushes 20 times: a count that lands while a flush
        // takes the counters must end up in Redis, in that flush or the next.
        const int Flushes = 20;
        var flushed = 0;
        using var counting = new SemaphoreSlim(0);
        // Threads of their own, so that the flushes' continuations do not wait for pool threads.
        var counters = Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(() =>
        {
            var counted = 0L;
            while (Volatile.Read(ref flushed) < Flushes)
            {
                ledger.Count("alice", UsageFields.Submits);
                if (++counted == 1)
                {
                    counting.Release();
                }
            }
            return counted;
        }, TaskCreationOptions.LongRunning)).ToArray();
        // The flushes start once both threads count (a flush of nothing returns at once).
        for (var started = 0; started < 2; started++)
        {
            Assert.True(await counting.WaitAsync(TimeSpan.FromSeconds(30)), "both threads to start counting");
        }
        while (flushed < Flushes)
        {
            await ledger.FlushAsync();
            Interlocked.Increment(ref flushed);
        }
        var counts = (await Task.WhenAll(counters)).Sum();
        await ledger.FlushAsync();

        var total = await store.Database.HashGetAsync(keys.Daily("alice", UsageKeys.Day(clock.GetUtcNow())), UsageFields.Submits);
        Assert.True(counts > 0);
        Assert.Equal(counts, (double)total);
    }

    [Fact]
    public async Task ABatchWhoseCallTimedOutAfterRedisTookIt_IsAddedOnce()
    {
        await using var server = await RedisServer.StartAsync();
        var (store, ledger, daily) = await LedgerOnAsync(server);
        using var _ = store;
        async Task<double> SubmitsAsync() => (double)await store.Database.HashGetAsync(daily, UsageFields.Submits);
        ledger.Count("alice", UsageFields.Submits);
        await ledger.FlushAsync();
        Assert.Equal(1, await SubmitsAsync());

        // Redis frozen with the flush's call in its socket: the call times out, and Redis runs it
        // once it thaws. The flush returned while Redis could answer nothing, so it could not know.
        ledger.Count("alice", UsageFields.Submits, 2);
        server.Pause();
        try
        {
            await ledger.FlushAsync();
        }
        finally
        {
            server.Resume();
        }
        await Eventually.ThatAsync(async () => await SubmitsAsync() == 3, 10, "Redis to run the call that timed out");

        // The next flush sends the timed-out batch again, which Redis already has, and what was
        // counted since.
        ledger.Count("alice", UsageFields.Submits, 4);
        await ledger.FlushAsync();
        Assert.Equal(7, await SubmitsAsync());
    }

    [Fact]
    public async Task ABatchRedisNeverGot_IsAddedOnce_WhenRedisIsBack()
    {
        await using var server = await RedisServer.StartAsync(appendOnly: true);
        var (store, ledger, daily) = await LedgerOnAsync(server);
        using var _ = store;
        ledger.Count("alice", UsageFields.Submits);
        await ledger.FlushAsync();

        // Redis gone: the flush fails, its batch is kept, and counts made meanwhile wait behind it.
        await server.StopAsync();
        ledger.Count("alice", UsageFields.Submits, 2);
        await ledger.FlushAsync();
        ledger.Count("alice", UsageFields.Submits, 4);
        await server.RestartAsync();
        await Eventually.ThatAsync(() => Task.FromResult(store.Database.Multiplexer.IsConnected), 20, "the store to reconnect");
        await ledger.FlushAsync();
        await ledger.FlushAsync();

        Assert.Equal(7, (double)await store.Database.HashGetAsync(daily, UsageFields.Submits));
    }

    // A ledger on server whose Redis calls time out after 0.5 s, connected (a call waiting for the
    // connection counts that wait against its 0.5 s), and the key of alice's usage today.
    private static async Task<(RedisStore Store, UsageLedger Ledger, RedisKey Daily)> LedgerOnAsync(RedisServer server)
    {
        var store = TestStores.New(new RedisOptions { Configuration = server.Configuration, KeyPrefix = "usage:", OperationTimeoutSeconds = 0.5 });
        var keys = new UsageKeys(store);
        var clock = new TestClock();
        var ledger = new UsageLedger(keys, store, Options.Create(new UsageOptions()), clock, TestStores.Metrics, NullLogger<UsageLedger>.Instance);
        await Eventually.ThatAsync(() => Task.FromResult(store.Database.Multiplexer.IsConnected), 20, "the store to connect");
        return (store, ledger, keys.Daily("alice", UsageKeys.Day(clock.GetUtcNow())));
    }
}
