using System.Net;
using System.Text.Json;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Webhooks;

/// <summary>
/// Submit through the gateway; the simulator runs the job and calls the gateway back; the
/// gateway confirms with the simulator, caches the result and delivers signed webhooks.
/// Real Kestrel hosts, a real redis-server, real HTTP.
/// </summary>
public sealed class EndToEndTests : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private WebhookSubscriber _subscriber = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _alice = null!;
    private HttpClient _ops = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:QueueSeconds"] = "0.05",
            ["Simulator:RunSeconds"] = "0.05",
        });
        _subscriber = await WebhookSubscriber.StartAsync();
        _gateway = await GatewayHost.StartAsync(_simulator.BaseAddress.ToString().TrimEnd('/'));
        _alice = _gateway.CreateClient(TestClients.Alice);
        _ops = _gateway.CreateClient(TestClients.Ops);
    }

    public async Task DisposeAsync()
    {
        _alice.Dispose();
        _ops.Dispose();
        await _gateway.DisposeAsync();
        await _subscriber.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private async Task<long> SimulatorCallsAsync(string routeKey)
    {
        var stats = JsonDocument.Parse(await _simulator.Anonymous.GetStringAsync("/_simulator/stats")).RootElement.GetProperty("requests");
        return stats.TryGetProperty(routeKey, out var count) ? count.GetInt64() : 0;
    }

    [Fact]
    public async Task CompletedRequest_IsDeliveredSigned_ToSubscriptionAndOwnWebhook_ThenServedFromTheCache()
    {
        var (subscriptionId, subscriptionSecret) = await _ops.SubscribeAsync(_subscriber.Url("/all"));

        var requestId = await _alice.SubmitAsync(webhookUrl: _subscriber.Url("/alice"));

        var toSubscription = Assert.Single(await _subscriber.WaitForAsync(1, path: "/all"));
        var toOwner = Assert.Single(await _subscriber.WaitForAsync(1, path: "/alice"));
        foreach (var (delivery, secret) in new[] { (toSubscription, subscriptionSecret), (toOwner, TestClients.Alice.WebhookSecret!) })
        {
            var (standard, svix) = await WebhookVerifier.VerifyAsync(delivery, secret);
            var body = delivery.Json;
            Assert.Equal(delivery.Header("webhook-id"), standard);
            Assert.Equal(standard, svix);
            Assert.Equal(body.GetProperty("id").GetString(), delivery.Header("webhook-id"));
            Assert.Equal("inference.completed", body.GetProperty("type").GetString());
            Assert.Equal(requestId, body.GetProperty("request_id").GetString());
            Assert.Equal("COMPLETED", body.GetProperty("status").GetString());
            Assert.Equal("sora-2-pro/image-to-video", body.GetProperty("endpoint_id").GetString());
            Assert.Equal("sora-2-pro", body.GetProperty("model_id").GetString());
            Assert.Equal("image-to-video", body.GetProperty("capability").GetString());
            Assert.Equal(requestId, body.GetProperty("result").GetProperty("request_id").GetString());
            Assert.True(body.TryGetProperty("occurred_at", out _));
        }

        var resultCalls = await SimulatorCallsAsync("GET /v2/inference/requests/{request_id}");
        var statusCalls = await SimulatorCallsAsync("GET /v2/inference/requests/{request_id}/status");
        var result = await _alice.GetAsync($"/v2/inference/requests/{requestId}");
        var status = await _alice.GetAsync($"/v2/inference/requests/{requestId}/status");

        Assert.Equal(HttpStatusCode.OK, result.StatusCode);
        Assert.Equal("HIT", result.Headers.GetValues("X-Cache").Single());
        Assert.Equal("COMPLETED", JsonDocument.Parse(await result.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Equal("HIT", status.Headers.GetValues("X-Cache").Single());
        Assert.Equal(resultCalls, await SimulatorCallsAsync("GET /v2/inference/requests/{request_id}"));
        Assert.Equal(statusCalls, await SimulatorCallsAsync("GET /v2/inference/requests/{request_id}/status"));

        var listed = await _ops.DeliveriesAsync(subscriptionId);
        var only = Assert.Single(listed.EnumerateArray());
        Assert.Equal("succeeded", only.GetProperty("status").GetString());
        Assert.Equal(204, only.GetProperty("attempts")[0].GetProperty("status_code").GetInt32());
    }

    [Fact]
    public async Task DuplicateCallbacks_ProduceOneDeliveryPerSubscriber()
    {
        await _simulator.ConfigureAsync("""{"webhook": {"duplicate_rate": 1}}""");
        await _ops.SubscribeAsync(_subscriber.Url("/all"));

        var requestId = await _alice.SubmitAsync();
        await _subscriber.WaitForAsync(1);
        // Reka repeats itself once more, by hand this time.
        var job = JsonDocument.Parse(await _simulator.Anonymous.GetStringAsync($"/_simulator/requests/{requestId}")).RootElement;
        var callback = new Uri(job.GetProperty("webhook_url").GetString()!);
        using var reka = new HttpClient();
        var repeat = await reka.PostAsJsonAsync(callback, new { request_id = requestId, status = "COMPLETED" });
        await Task.Delay(1500);

        Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
        Assert.Single(_subscriber.Received);
    }

    [Fact]
    public async Task TerminalStatusFetchedFromUpstream_IsCachedToo()
    {
        await _simulator.ConfigureAsync("""{"webhook": {"drop_rate": 1}}""");
        var requestId = await _alice.SubmitAsync();
        await _simulator.WaitForStatusAsync(requestId, "COMPLETED");

        var first = await _alice.GetAsync($"/v2/inference/requests/{requestId}");
        var calls = await SimulatorCallsAsync("GET /v2/inference/requests/{request_id}");
        var second = await _alice.GetAsync($"/v2/inference/requests/{requestId}");

        Assert.Equal("MISS", first.Headers.GetValues("X-Cache").Single());
        Assert.Equal("HIT", second.Headers.GetValues("X-Cache").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(calls, await SimulatorCallsAsync("GET /v2/inference/requests/{request_id}"));
    }

    [Fact]
    public async Task AnotherClientsRequest_Is404_ForStatusResultAndCancel()
    {
        await _simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var requestId = await _alice.SubmitAsync();
        using var bob = _gateway.CreateClient(TestClients.Bob);

        await ProblemAssert.IsProblemAsync(await bob.GetAsync($"/v2/inference/requests/{requestId}"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await bob.GetAsync($"/v2/inference/requests/{requestId}/status"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await bob.PostAsync($"/v2/inference/requests/{requestId}/cancel", null), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await _alice.GetAsync($"/v2/inference/requests/{requestId}/status")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _alice.PostAsync($"/v2/inference/requests/{requestId}/cancel", null)).StatusCode);
    }

    [Fact]
    public async Task List_ShowsANonAdminClientOnlyItsOwnRequests_AndAnAdminAll()
    {
        await _simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var alices = await _alice.SubmitAsync();
        using var bob = _gateway.CreateClient(TestClients.Bob);
        var bobs = await bob.SubmitAsync();

        async Task<string[]> ListedAsync(HttpClient client) =>
            [.. JsonDocument.Parse(await client.GetStringAsync("/v2/inference/requests?limit=10")).RootElement
                .GetProperty("items").EnumerateArray().Select(item => item.GetProperty("request_id").GetString()!)];

        Assert.Equal([alices], await ListedAsync(_alice));
        Assert.Equal([bobs], await ListedAsync(bob));
        Assert.Equal([bobs, alices], await ListedAsync(_ops)); // newest first, as upstream pages them
    }

    [Fact]
    public async Task Submit_WithAnotherClientsIdempotencyKey_Is409_AndTheRequestStaysItsOwners()
    {
        await _simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var requestId = await _alice.SubmitAsync(configure: r => r.Headers.Add("Idempotency-Key", "shared-key-1"));
        using var bob = _gateway.CreateClient(TestClients.Bob);

        using var again = new HttpRequestMessage(HttpMethod.Post, "/v2/inference/sora-2-pro/image-to-video")
        {
            Content = JsonContent.Create(new { input = new { prompt = "a red fox in snow" } }),
        };
        again.Headers.Add("Idempotency-Key", "shared-key-1");
        var response = await bob.SendAsync(again);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Contains("Idempotency-Key", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(requestId, await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/v2/inference/requests/{requestId}/status")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _alice.GetAsync($"/v2/inference/requests/{requestId}/status")).StatusCode);
    }

    [Fact]
    public async Task CallbackThatNeverComes_IsReconciled_ByAskingUpstream_AndTheEventIsDelivered()
    {
        await _simulator.ConfigureAsync("""{"webhook": {"drop_rate": 1}}""");
        await using var gateway = await GatewayHost.StartAsync(_simulator.BaseAddress.ToString().TrimEnd('/'),
            [new("Webhooks:ReconcileAfterSeconds", "1")]);
        using var alice = gateway.CreateClient(TestClients.Alice);

        var requestId = await alice.SubmitAsync(webhookUrl: _subscriber.Url("/alice"));
        var delivery = Assert.Single(await _subscriber.WaitForAsync(1, path: "/alice"));

        Assert.Equal(requestId, delivery.Json.GetProperty("request_id").GetString());
        Assert.Equal("COMPLETED", delivery.Json.GetProperty("status").GetString());
        var stats = JsonDocument.Parse(await _simulator.Anonymous.GetStringAsync("/_simulator/stats")).RootElement;
        // No callback was ever attempted: the delivery came from the gateway asking upstream.
        Assert.Equal(0, stats.GetProperty("webhooks_sent").GetInt64() + stats.GetProperty("webhooks_failed").GetInt64());
    }

    [Fact]
    public async Task WaitOnResult_AnswersAsSoonAsTheRequestIsTerminal()
    {
        await _simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var requestId = await _alice.SubmitAsync();
        var started = DateTime.UtcNow;

        var waiting = _alice.GetAsync($"/v2/inference/requests/{requestId}?wait=50");
        await Task.Delay(500);
        Assert.False(waiting.IsCompleted);
        await _simulator.Anonymous.PostAsJsonAsync($"/_simulator/requests/{requestId}/complete", new { status = "COMPLETED" });
        var response = await waiting;

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "released by the callback, not the deadline");
        Assert.Equal("HIT", response.Headers.GetValues("X-Cache").Single());
        Assert.Equal("COMPLETED", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task WaitOnResult_AtTheDeadline_AnswersTheCurrentState_AndWaitIsNotSentUpstream()
    {
        await _simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var requestId = await _alice.SubmitAsync();

        var response = await _alice.GetAsync($"/v2/inference/requests/{requestId}?wait=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("MISS", response.Headers.GetValues("X-Cache").Single());
        Assert.Equal("IN_QUEUE", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("61")]
    [InlineData("-1")]
    [InlineData("soon")]
    public async Task WaitOverSixtySecondsOrNotANumber_Returns400(string wait)
    {
        var response = await _alice.GetAsync($"/v2/inference/requests/any-id?wait={wait}");

        await ProblemAssert.IsValidationProblemAsync(response, "wait");
    }

    [Fact]
    public async Task Submit_WithWebhookUrlOnAHostNotAllowed_Returns400_AndReachesNoOne()
    {
        var response = await _alice.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video",
            new { input = new { prompt = "x" }, webhook_url = "https://evil.example/steal" });

        var problem = await ProblemAssert.IsValidationProblemAsync(response, "webhook_url");
        Assert.Contains("AllowedSubscriberHosts", problem.GetProperty("detail").GetString());
        Assert.Equal(0, await SimulatorCallsAsync("POST /v2/inference/{model}/{capability}"));
    }

    [Fact]
    public async Task Submit_WithWebhookUrl_ByAClientWithoutWebhookSecret_Returns400()
    {
        using var bob = _gateway.CreateClient(TestClients.Bob);

        var response = await bob.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video",
            new { input = new { prompt = "x" }, webhook_url = _subscriber.Url() });

        var problem = await ProblemAssert.IsValidationProblemAsync(response, "webhook_url");
        Assert.Contains("WebhookSecret", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task SubscriptionFilter_KeepsOtherEventsAway()
    {
        await _ops.SubscribeAsync(_subscriber.Url("/kling"), new { model_id = new[] { "kling-v3-pro" } });
        await _ops.SubscribeAsync(_subscriber.Url("/failed"), new { status = new[] { "failed" } });
        await _ops.SubscribeAsync(_subscriber.Url("/sora"), new { endpoint_id = new[] { "sora-2-pro/image-to-video" }, status = new[] { "COMPLETED" } });

        await _alice.SubmitAsync();
        await _subscriber.WaitForAsync(1, path: "/sora");
        await Task.Delay(1000);

        Assert.All(_subscriber.Received, d => Assert.Equal("/sora", d.Path));
    }

    [Fact]
    public async Task TraceParentOfTheSubmit_FollowsThroughTheCallbackToTheSubscriber()
    {
        await _ops.SubscribeAsync(_subscriber.Url("/all"));
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

        await _alice.SubmitAsync(configure: r => r.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01"));
        var delivery = Assert.Single(await _subscriber.WaitForAsync(1));

        Assert.Equal(traceId, delivery.Header("traceparent").Split('-')[1]);
    }
}
