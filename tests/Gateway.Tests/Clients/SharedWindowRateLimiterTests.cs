using System.Threading.RateLimiting;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Tests.Clients;

public sealed class SharedWindowRateLimiterTests
{
    private static RedisStore Store(string configuration, string prefix) =>
        TestStores.New(new RedisOptions { Configuration = configuration, KeyPrefix = prefix, OperationTimeoutSeconds = 1 });

    private static async Task<int> AcquireAsync(RateLimiter limiter, int attempts)
    {
        var granted = 0;
        for (var i = 0; i < attempts; i++)
        {
            using var lease = limiter.AttemptAcquire() is { IsAcquired: true } fast ? fast : await limiter.AcquireAsync();
            granted += lease.IsAcquired ? 1 : 0;
        }
        return granted;
    }

    [Fact]
    public async Task ThreeReplicas_TogetherGrantNoMoreThanTheLimit()
    {
        var redis = await RedisServer.Shared;
        var prefix = $"test-{Guid.NewGuid():N}:";
        using var a = Store(redis.Configuration, prefix);
        using var b = Store(redis.Configuration, prefix);
        using var c = Store(redis.Configuration, prefix);
        var limit = new RateLimitOptions { PermitLimit = 500, WindowSeconds = 3600 };
        using var replicaA = new SharedWindowRateLimiter(a, "alice", limit);
        using var replicaB = new SharedWindowRateLimiter(b, "alice", limit);
        using var replicaC = new SharedWindowRateLimiter(c, "alice", limit);

        var granted = await Task.WhenAll(AcquireAsync(replicaA, 400), AcquireAsync(replicaB, 400), AcquireAsync(replicaC, 400));

        Assert.True(granted.Sum() <= 500, $"granted {granted.Sum()} of a limit of 500");
        Assert.True(granted.Sum() >= 500 - 3 * 5, $"granted only {granted.Sum()}: at most one batch (5) per replica may go unused");
        Assert.All(granted, g => Assert.True(g > 0));
    }

    [Fact]
    public async Task RefusedLease_SaysWhenTheWindowReopens()
    {
        var redis = await RedisServer.Shared;
        using var store = Store(redis.Configuration, $"test-{Guid.NewGuid():N}:");
        // 45 s into a 60 s window (windows are aligned on Unix time).
        var clock = new TestClock();
        clock.SetUtcNow(DateTimeOffset.FromUnixTimeSeconds((clock.GetUtcNow().ToUnixTimeSeconds() / 60 + 1) * 60 + 45));
        using var limiter = new SharedWindowRateLimiter(store, "bob", new RateLimitOptions { PermitLimit = 2, WindowSeconds = 60 }, clock);

        Assert.Equal(2, await AcquireAsync(limiter, 2));
        using var refused = await limiter.AcquireAsync();
        clock.Advance(TimeSpan.FromSeconds(15));
        using var reopened = await limiter.AcquireAsync();

        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(15), retryAfter);
        Assert.True(reopened.IsAcquired, "the next window lets the client through again");
    }

    [Fact]
    public async Task WithRedisUnreachable_EachReplicaStillEnforcesTheLimitOnItsOwn()
    {
        using var store = Store($"127.0.0.1:{FreePort.Next()}", "test:");
        // A clock that stands still: each failed connect can take seconds on a busy machine, and
        // a window turning between the requests would rightly let a fourth through.
        using var limiter = new SharedWindowRateLimiter(store, "carol", new RateLimitOptions { PermitLimit = 3, WindowSeconds = 60 }, new TestClock());

        Assert.Equal(3, await AcquireAsync(limiter, 5));
    }

    // A clock 10 s into a window of an hour (windows are aligned on Unix time), so that a test
    // moving it on by seconds stays in one window.
    private static TestClock EarlyInAnHourWindow()
    {
        var clock = new TestClock();
        clock.SetUtcNow(DateTimeOffset.FromUnixTimeSeconds((clock.GetUtcNow().ToUnixTimeSeconds() / 3600 + 1) * 3600 + 10));
        return clock;
    }

    // Takes permits one by one, moving the clock on by step after each: a demand of 1 / step.
    private static async Task TakeAsync(SharedWindowRateLimiter limiter, TestClock clock, int permits, TimeSpan step)
    {
        for (var i = 0; i < permits; i++)
        {
            Assert.Equal(1, await AcquireAsync(limiter, 1));
            clock.Advance(step);
        }
    }

    // 10,000 requests a second: the lease ahead, once half the first batch of 100 is spent, asks
    // for the next 100 ms of that, about 1,000 permits (the clock moves on just after each request
    // is counted, so the rate read can be a little above). 10 requests a second: 100 ms of that is
    // 1 permit, so batches stay at their least, 100.
    [Theory]
    [InlineData(0.1, 900, 1_100)]
    [InlineData(100, 100, 100)]
    public async Task LeaseAhead_AsksForTheReplicasNext100MsOfDemand(double msBetweenRequests, int leastBatch, int mostBatch)
    {
        var redis = await RedisServer.Shared;
        using var store = Store(redis.Configuration, $"test-{Guid.NewGuid():N}:");
        var clock = EarlyInAnHourWindow();
        // Batches of 100 to 10,000 permits (1% of the limit at most).
        using var limiter = new SharedWindowRateLimiter(store, "erin", new RateLimitOptions { PermitLimit = 1_000_000, WindowSeconds = 3600 }, clock);
        var counter = store.KeyFor($"ratelimit:{clock.GetUtcNow().ToUnixTimeSeconds() / 3600}", "erin");
        async Task<long> LeasedAsync() => (long)await store.Database.StringGetAsync(counter);

        await TakeAsync(limiter, clock, 60, TimeSpan.FromTicks((long)(msBetweenRequests * TimeSpan.TicksPerMillisecond)));

        // The limiter adds the permits once Redis has counted them: then both are final.
        await Eventually.ThatAsync(() => Task.FromResult(limiter.GetStatistics()!.CurrentAvailablePermits > 100 - 60), 20, "the lease ahead of a second batch");
        var secondBatch = await LeasedAsync() - 100;
        Assert.InRange(secondBatch, leastBatch, mostBatch);
        Assert.Equal(100 - 60 + secondBatch, limiter.GetStatistics()!.CurrentAvailablePermits);
    }

    /// <summary>A clock that moves on by <paramref name="step"/> every time it is read.</summary>
    private sealed class RacingClock(TimeSpan step) : TimeProvider
    {
        private DateTimeOffset _now = DateTimeOffset.UnixEpoch.AddDays(20000);

        public override DateTimeOffset GetUtcNow() => _now = _now.Add(step);
    }

    [Fact]
    public async Task WindowTurningWhileLeasing_NeverRefusesARequestUnderItsLimit()
    {
        var redis = await RedisServer.Shared;
        using var store = Store(redis.Configuration, $"test-{Guid.NewGuid():N}:");
        // Every read of the clock moves it 7 s on: windows of 10 s turn during most leases.
        using var limiter = new SharedWindowRateLimiter(store, "dave", new RateLimitOptions { PermitLimit = 1000, WindowSeconds = 10 },
            new RacingClock(TimeSpan.FromSeconds(7)));

        Assert.Equal(200, await AcquireAsync(limiter, 200));
    }
}
