namespace Reka.Gateway.Tests.Webhooks;

public sealed class RedisOutageTests
{
    [Fact]
    public async Task WithRedisStopped_TheReceiverAnswers503_AndTheRepeatedCallbackIsDeliveredOnceRedisIsBack()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: true);
        await using var simulator = await SimulatorHost.StartForGatewayAsync(("Simulator:HoldJobs", "true"), ("Simulator:Webhook:DropRate", "1"));
        await using var subscriber = await WebhookSubscriber.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(simulator.BaseUrl, [new("Redis:Configuration", redis.Configuration)]);
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var ops = gateway.CreateClient(TestClients.Ops);
        using var reka = new HttpClient();
        await ops.SubscribeAsync(subscriber.Url());
        var requestId = await alice.SubmitAsync();
        var callbackUrl = (await simulator.JobAsync(requestId)).GetProperty("webhook_url").GetString()!;
        await simulator.CompleteAsync(requestId);

        await redis.StopAsync();
        var refused = await reka.PostAsJsonAsync(callbackUrl, new { request_id = requestId, status = "COMPLETED" });
        var notReady = await gateway.CreateClient().GetAsync("/readyz");

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("Retry", problem.GetProperty("detail").GetString());
        Assert.NotNull(refused.Headers.RetryAfter);
        var readiness = await ProblemAssert.IsProblemAsync(notReady, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("redis", readiness.GetProperty("detail").GetString());
        Assert.Empty(subscriber.Received);

        await redis.RestartAsync();
        await gateway.WaitUntilReadyAsync();
        var accepted = await reka.PostAsJsonAsync(callbackUrl, new { request_id = requestId, status = "COMPLETED" });

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var delivery = Assert.Single(await subscriber.WaitForAsync(1));
        Assert.Equal(requestId, delivery.Json.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task WithRedisStopped_ASubmitIsRefusedWith503_AndNeverReachesUpstream()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Redis:Configuration", redis.Configuration)]);
        using var alice = gateway.CreateClient(TestClients.Alice);
        await redis.StopAsync();

        var response = await alice.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "x" } });
        var models = await alice.GetAsync("/v2/inference/models");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("not sent upstream", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, models.StatusCode); // what needs no Redis keeps working
        Assert.Single(upstream.Requests);
    }
}
