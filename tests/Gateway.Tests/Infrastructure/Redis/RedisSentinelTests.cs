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
        await using var simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:HoldJobs"] = "true",
            ["Simulator:Webhook:DropRate"] = "1", // the test sends the callbacks itself
        });
        await using var subscriber = await WebhookSubscriber.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(simulator.BaseAddress.ToString().TrimEnd('/'),
        [
            new("Redis:Configuration", redis.Configuration),
            new("Redis:ReplicaAckTimeoutSeconds", "0.3"),
            new("Webhooks:ReconcileAfterSeconds", "0"),
            new("Webhooks:ProcessingRetrySchedule:0", "00:00:01"),
        ]);
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var ops = gateway.CreateClient(TestClients.Ops);
        await ops.SubscribeAsync(subscriber.Url());
        var callbacks = new List<(string Url, string RequestId)>();
        for (var i = 0; i < requests; i++)
        {
            var requestId = await alice.SubmitAsync();
            var job = JsonDocument.Parse(await simulator.Anonymous.GetStringAsync($"/_simulator/requests/{requestId}")).RootElement;
            callbacks.Add((job.GetProperty("webhook_url").GetString()!, requestId));
            (await simulator.Anonymous.PostAsJsonAsync($"/_simulator/requests/{requestId}/complete", new { status = "COMPLETED" })).EnsureSuccessStatusCode();
        }
        using var reka = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var sender = new CallbackSender(reka);

        // 40 callbacks a second for 2 s: the primary dies half a second in, with traffic still coming.
        var storm = sender.SendAsync(callbacks, concurrency: 4, perSecond: 40);
        await Eventually.ThatAsync(() => Task.FromResult(sender.AcceptedAtOnce >= requests / 4), 30, "a quarter of the callbacks to be accepted");
        var killed = System.Diagnostics.Stopwatch.StartNew();
        await redis.Primary.StopAsync();
        await storm;
        output.WriteLine($"all callbacks accepted {killed.Elapsed.TotalSeconds:0.0} s after the primary was killed");

        // The replica took over (the sentinel names it once the promotion is confirmed).
        await Eventually.ThatAsync(async () => await redis.CurrentPrimaryPortAsync() == redis.Replica.Port, 30, "the sentinel to name the replica");
        output.WriteLine($"callbacks answered 2xx at once: {sender.AcceptedAtOnce}; answered otherwise, then accepted on retry: {sender.RefusedAtFirst}");
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        var deliveries = await subscriber.WaitForRequestsAsync(callbacks.Select(c => c.RequestId), timeoutSeconds: 90);
        output.WriteLine($"every request delivered {waiting.Elapsed.TotalSeconds:0.0} s later; {deliveries.Count} deliveries for {requests} requests");
        foreach (var (_, requestId) in callbacks)
        {
            using var result = await alice.GetAsync($"/v2/inference/requests/{requestId}");
            Assert.Equal(HttpStatusCode.OK, result.StatusCode);
            Assert.Equal("HIT", result.Headers.GetValues("X-Cache").Single());
        }
    }
}
