using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>A primary and a replica behind Debian's <c>redis-sentinel</c>, reached with <c>serviceName=</c>.</summary>
public sealed class RedisSentinelTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SentinelFailoverDuringTraffic_TheGatewayFollowsIt_AndLosesNoAcknowledgedCallback()
    {
        const int requests = 80;
        await using var redis = await RedisSentinelSet.StartAsync();
        await using var storm = await CallbackStorm.StartAsync(redis.Configuration);
        var callbacks = await storm.CompletedRequestsAsync(requests);
        using var reka = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var sender = new CallbackSender(reka);

        // 40 callbacks a second for 2 s: the primary dies half a second in, with traffic still coming.
        var sending = sender.SendAsync(callbacks, concurrency: 4, perSecond: 40);
        await Eventually.ThatAsync(() => Task.FromResult(sender.AcceptedAtOnce >= requests / 4), 30, "a quarter of the callbacks to be accepted");
        var killed = System.Diagnostics.Stopwatch.StartNew();
        await redis.Primary.StopAsync();
        await sending;
        output.WriteLine($"all callbacks accepted {killed.Elapsed.TotalSeconds:0.0} s after the primary was killed");

        // The replica took over (the sentinel names it once the promotion is confirmed).
        await Eventually.ThatAsync(async () => await redis.CurrentPrimaryPortAsync() == redis.Replica.Port, 30, "the sentinel to name the replica");
        output.WriteLine($"callbacks answered 2xx at once: {sender.AcceptedAtOnce}; answered otherwise, then accepted on retry: {sender.RefusedAtFirst}");
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        var deliveries = await storm.AssertDeliveredAndCachedAsync(callbacks);
        output.WriteLine($"every request delivered and cached {waiting.Elapsed.TotalSeconds:0.0} s later; {deliveries.Count} deliveries for {requests} requests");
    }

    [Fact]
    public async Task SentinelsNotYetUpAtStart_TheGatewayIsNotReady_ThenConnectsOnceTheyAre_AndStopsCleanlyOnceTheyAreGone()
    {
        var sentinelPort = FreePort.Next();
        await using var simulator = await SimulatorHost.StartForGatewayAsync();
        await using var gateway = await GatewayHost.StartAsync(simulator.BaseUrl,
            [new("Redis:Configuration", $"127.0.0.1:{sentinelPort},serviceName={RedisSentinelSet.ServiceName}")]);
        using var alice = gateway.CreateClient(TestClients.Alice);
        await ProblemAssert.IsProblemAsync(await alice.GetAsync("/readyz"), HttpStatusCode.ServiceUnavailable);

        // Disposed before the gateway: it stops with the sentinel and both servers gone, as when
        // the whole Redis set restarts. Its last flushes then met their server connections being
        // disposed by the client, which failed its stop (ObjectDisposedException) before they
        // counted as Redis unavailable.
        await using var redis = await RedisSentinelSet.StartAsync(sentinelPort);

        await gateway.WaitUntilReadyAsync();
        var requestId = await alice.SubmitAsync();
        await Eventually.ThatAsync(async () =>
        {
            using var result = await alice.GetAsync($"/v2/inference/requests/{requestId}");
            return result.Headers.TryGetValues("X-Cache", out var cache) && cache.Single() == "HIT";
        }, 30, "the result to be cached on the primary the sentinel named");
    }
}
