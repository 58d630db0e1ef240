using Microsoft.Extensions.DependencyInjection;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Requests;
using Reka.Gateway.Webhooks;

namespace Reka.Gateway.Tests.Webhooks;

/// <summary>
/// Submit through the gateway; the simulator runs the job and calls the gateway back; the
/// gateway confirms with the simulator, caches the result and delivers signed webhooks.
/// Real Kestrel hosts, a real redis-server, real HTTP, shared by the flows collection.
/// </summary>
[Collection(FlowsCollection.Name)]
public sealed class EndToEndTests(SimulatorStack stack) : SimulatorStackTests(stack)
{
    private async Task<long> SimulatorCallsAsync(string routeKey)
    {
        var stats = (await Simulator.GetJsonAsync("/_simulator/stats")).GetProperty("requests");
        return stats.TryGetProperty(routeKey, out var count) ? count.GetInt64() : 0;
    }

    /// <summary>How often the simulator was asked for the request's result and status (by anyone).</summary>
    private async Task<(int Result, int Status)> ReadsAsync(string requestId)
    {
        var job = await Simulator.JobAsync(requestId);
        return (job.GetProperty("result_reads").GetInt32(), job.GetProperty("status_reads").GetInt32());
    }

    [Fact]
    public async Task ASubscriberNamedLocalhost_IsDelivered_ThroughTheConnectionThatChecksWhereANameLeads()
    {
        var url = Subscriber.Url("/named").Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        Assert.StartsWith("http://localhost:", url);
        await Ops.SubscribeAsync(url);

        var requestId = await Alice.SubmitAsync();

        var delivery = Assert.Single(await Subscriber.WaitForAsync(1, path: "/named"));
        Assert.Equal(requestId, delivery.Json.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task CompletedRequest_IsDeliveredSigned_ToSubscriptionAndOwnWebhook_ThenServedFromTheCache()
    {
        var (subscriptionId, subscriptionSecret) = await Ops.SubscribeAsync(Subscriber.Url("/all"));

        var requestId = await Alice.SubmitAsync(webhookUrl: Subscriber.Url("/alice"));

        var toSubscription = Assert.Single(await Subscriber.WaitForAsync(1, path: "/all"));
        var toOwner = Assert.Single(await Subscriber.WaitForAsync(1, path: "/alice"));
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

        var readsBefore = await ReadsAsync(requestId);
        var result = await Alice.GetAsync($"/v2/inference/requests/{requestId}");
        var status = await Alice.GetAsync($"/v2/inference/requests/{requestId}/status");

        Assert.Equal(HttpStatusCode.OK, result.StatusCode);
        Assert.Equal("HIT", result.Headers.GetValues("X-Cache").Single());
        Assert.Equal("COMPLETED", JsonDocument.Parse(await result.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Equal("HIT", status.Headers.GetValues("X-Cache").Single());
        Assert.Equal(readsBefore, await ReadsAsync(requestId));

        var only = await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "succeeded");
        Assert.Equal(204, only.GetProperty("attempts")[0].GetProperty("status_code").GetInt32());
    }

    [Fact]
    public async Task DuplicateCallbacks_ProduceOneDeliveryPerSubscriber()
    {
        // A gateway of the test's own: its callback counts are this test's alone.
        var gateway = await Stack.StartGatewayAsync();
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var ops = gateway.CreateClient(TestClients.Ops);
        using var metrics = gateway.RecordMetrics();
        await Simulator.ConfigureAsync("""{"webhook": {"duplicate_rate": 1}}""");
        var (subscriptionId, _) = await ops.SubscribeAsync(Subscriber.Url("/all"));

        var requestId = await alice.SubmitAsync();
        await Subscriber.WaitForAsync(1);
        var job = await Simulator.WaitForWebhookDoneAsync(requestId); // Reka's two copies are answered
        // Reka repeats itself once more, by hand this time.
        using var reka = new HttpClient();
        var repeat = await reka.PostAsJsonAsync(job.GetProperty("webhook_url").GetString(), new { request_id = requestId, status = "COMPLETED" });
        await ops.WaitForOnlyDeliveryAsync(subscriptionId, "succeeded");

        Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
        // One callback started work; the gateway knew both repeats for what they were, so no other
        // work exists that could deliver again, and the one that did is finished.
        Assert.Equal(1, metrics.Count("gateway.callbacks", "outcome", "accepted"));
        Assert.Equal(2, metrics.Count("gateway.callbacks", "outcome", "duplicate"));
        Assert.Single(Subscriber.Received);
    }

    [Fact]
    public async Task TerminalStatusFetchedFromUpstream_IsCachedToo()
    {
        await Simulator.ConfigureAsync("""{"webhook": {"drop_rate": 1}}""");
        var requestId = await Alice.SubmitAsync();
        await Simulator.WaitForStatusAsync(requestId, "COMPLETED");

        var first = await Alice.GetAsync($"/v2/inference/requests/{requestId}");
        var reads = await ReadsAsync(requestId);
        var second = await Alice.GetAsync($"/v2/inference/requests/{requestId}");

        Assert.Equal("MISS", first.Headers.GetValues("X-Cache").Single());
        Assert.Equal("HIT", second.Headers.GetValues("X-Cache").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(reads, await ReadsAsync(requestId));
    }

    [Fact]
    public async Task AnotherClientsRequest_Is404_ForStatusResultAndCancel()
    {
        await Simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var requestId = await Alice.SubmitAsync();

        await ProblemAssert.IsProblemAsync(await Bob.GetAsync($"/v2/inference/requests/{requestId}"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await Bob.GetAsync($"/v2/inference/requests/{requestId}/status"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await Bob.PostAsync($"/v2/inference/requests/{requestId}/cancel", null), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await Alice.GetAsync($"/v2/inference/requests/{requestId}/status")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Alice.PostAsync($"/v2/inference/requests/{requestId}/cancel", null)).StatusCode);
    }

    [Fact]
    public async Task List_ShowsANonAdminClientOnlyItsOwnRequests_AndAnAdminAll()
    {
        // A gateway of the test's own, so that alice and bob own no requests of earlier tests.
        var gateway = await Stack.StartGatewayAsync();
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);
        using var ops = gateway.CreateClient(TestClients.Ops);
        await Simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var alices = await alice.SubmitAsync();
        var bobs = await bob.SubmitAsync();

        async Task<string[]> ListedAsync(HttpClient client) =>
            [.. JsonDocument.Parse(await client.GetStringAsync("/v2/inference/requests?limit=10")).RootElement
                .GetProperty("items").EnumerateArray().Select(item => item.GetProperty("request_id").GetString()!)];

        Assert.Equal([alices], await ListedAsync(alice));
        Assert.Equal([bobs], await ListedAsync(bob));
        // Newest first, as upstream pages them; the simulator also holds earlier tests' requests, older.
        Assert.Equal([bobs, alices], (await ListedAsync(ops)).Take(2));
    }

    [Fact]
    public async Task Submit_WithAnotherClientsIdempotencyKey_StartsARequestOfItsOwn_AndEachClientsRetryReplaysItsOwn()
    {
        await Simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var key = $"order-{Guid.NewGuid():N}";
        void UnderTheKey(HttpRequestMessage request) => request.Headers.Add("Idempotency-Key", key);

        var alices = await Alice.SubmitAsync(configure: UnderTheKey);
        var bobs = await Bob.SubmitAsync(configure: UnderTheKey);

        Assert.NotEqual(alices, bobs);
        Assert.Equal(alices, await Alice.SubmitAsync(configure: UnderTheKey));
        Assert.Equal(bobs, await Bob.SubmitAsync(configure: UnderTheKey));
        Assert.Equal(HttpStatusCode.NotFound, (await Bob.GetAsync($"/v2/inference/requests/{alices}/status")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Alice.GetAsync($"/v2/inference/requests/{bobs}/status")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Alice.GetAsync($"/v2/inference/requests/{alices}/status")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Bob.GetAsync($"/v2/inference/requests/{bobs}/status")).StatusCode);
    }

    [Fact]
    public async Task CallbackThatNeverComes_IsReconciled_ByAskingUpstream_AndTheEventIsDelivered()
    {
        await Simulator.ConfigureAsync("""{"webhook": {"drop_rate": 1}}""");
        var gateway = await Stack.StartGatewayAsync(("Webhooks:ReconcileAfterSeconds", "1"));
        using var alice = gateway.CreateClient(TestClients.Alice);

        var requestId = await alice.SubmitAsync(webhookUrl: Subscriber.Url("/alice"));
        var job = await Simulator.WaitForWebhookDoneAsync(requestId); // completed, its callback dropped
        await Stack.PassTimeAsync(TimeSpan.FromSeconds(1), gateway);
        var delivery = Assert.Single(await Subscriber.WaitForAsync(1, path: "/alice"));

        Assert.Equal(requestId, delivery.Json.GetProperty("request_id").GetString());
        Assert.Equal("COMPLETED", delivery.Json.GetProperty("status").GetString());
        // No callback was ever attempted: the delivery came from the gateway asking upstream.
        Assert.Empty(job.GetProperty("webhook_attempts").EnumerateArray());
    }

    [Fact]
    public async Task WaitOnResult_AnswersAsSoonAsTheRequestIsTerminal()
    {
        await Simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var requestId = await Alice.SubmitAsync();
        var started = DateTime.UtcNow;

        var waiting = Alice.GetAsync($"/v2/inference/requests/{requestId}?wait=50");
        // The wait looks in the cache once it is registered for the request's event: it is waiting.
        await Stack.Metrics.WaitForAsync("gateway.cache.lookups", "result", "miss");
        Assert.False(waiting.IsCompleted);
        await Simulator.CompleteAsync(requestId);
        var response = await waiting;

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "released by the callback, not the deadline");
        Assert.Equal("HIT", response.Headers.GetValues("X-Cache").Single());
        Assert.Equal("COMPLETED", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task WaitOnResult_AtTheDeadline_AnswersTheCurrentState()
    {
        await Simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var requestId = await Alice.SubmitAsync();

        var response = await Alice.GetAsync($"/v2/inference/requests/{requestId}?wait=1");

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
        var response = await Alice.GetAsync($"/v2/inference/requests/any-id?wait={wait}");

        await ProblemAssert.IsValidationProblemAsync(response, "wait");
    }

    [Fact]
    public async Task Submit_WithWebhookUrlOnAHostNotAllowed_Returns400_AndReachesNoOne()
    {
        var response = await Alice.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video",
            new { input = new { prompt = "x" }, webhook_url = "https://evil.example/steal" });

        var problem = await ProblemAssert.IsValidationProblemAsync(response, "webhook_url");
        Assert.Contains("AllowedSubscriberHosts", problem.GetProperty("detail").GetString());
        Assert.Equal(0, await SimulatorCallsAsync("POST /v2/inference/{model}/{capability}"));
    }

    [Fact]
    public async Task Submit_WithWebhookUrl_ByAClientWithoutWebhookSecret_Returns400()
    {
        var response = await Bob.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video",
            new { input = new { prompt = "x" }, webhook_url = Subscriber.Url() });

        var problem = await ProblemAssert.IsValidationProblemAsync(response, "webhook_url");
        Assert.Contains("WebhookSecret", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task SubscriptionFilter_KeepsOtherEventsAway()
    {
        await Ops.SubscribeAsync(Subscriber.Url("/kling"), new { model_id = new[] { "kling-v3-pro" } });
        await Ops.SubscribeAsync(Subscriber.Url("/failed"), new { status = new[] { "failed" } });
        var (sora, _) = await Ops.SubscribeAsync(Subscriber.Url("/sora"), new { endpoint_id = new[] { "sora-2-pro/image-to-video" }, status = new[] { "COMPLETED" } });

        await Alice.SubmitAsync();
        await Subscriber.WaitForAsync(1, path: "/sora");
        // An event's first attempts to all its subscribers are recorded together, once all are made.
        await Ops.WaitForOnlyDeliveryAsync(sora, "succeeded");

        Assert.All(Subscriber.Received, d => Assert.Equal("/sora", d.Path));
    }

    [Fact]
    public async Task TraceParentOfTheSubmit_FollowsThroughTheCallbackToTheSubscriber()
    {
        await Ops.SubscribeAsync(Subscriber.Url("/all"));
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

        await Alice.SubmitAsync(configure: r => r.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01"));
        var delivery = Assert.Single(await Subscriber.WaitForAsync(1));

        Assert.Equal(traceId, delivery.Header("traceparent").Split('-')[1]);
    }

    [Fact]
    public async Task TraceParentOfTheSubmit_RidesTheCallbackJobPlannedAtTheSubmit_ToTheSubscriber()
    {
        // Reconciliation on, as by default: the submit plans the callback job, which carries the
        // submit's traceparent, so processing asks Reka without waiting for the request's record.
        await Simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var gateway = await Stack.StartGatewayAsync(("Webhooks:ReconcileAfterSeconds", "600"));
        using var alice = gateway.CreateClient(TestClients.Alice);
        const string traceId = "0af7651916cd43dd8448eb211c80319c";

        var requestId = await alice.SubmitAsync(webhookUrl: Subscriber.Url("/planned"),
            configure: r => r.Headers.Add("traceparent", $"00-{traceId}-b7ad6b7169203331-01"));
        var queue = gateway.Services.GetRequiredService<CallbackInbox>().Queue;
        var planned = await gateway.Services.GetRequiredService<RedisStore>().Database
            .HashGetAsync(queue.JobKey(queue.PartitionOf(requestId), requestId), CallbackInbox.JobFields.TraceParent);
        await Simulator.CompleteAsync(requestId);
        var delivery = Assert.Single(await Subscriber.WaitForAsync(1, path: "/planned"));

        Assert.Equal(traceId, ((string?)planned)?.Split('-')[1]);
        Assert.Equal(traceId, delivery.Header("traceparent").Split('-')[1]);
    }

    [Fact]
    public async Task RequestRecordLostAfterTheSubmit_IsRebuiltFromItsSubmission_SoItsOwnerIsServedAndItsOwnWebhookDelivered()
    {
        // The callback takes the job planned at the submit as the proof of the bind and does not
        // read the request's record; a failover may have lost that record since the submit.
        await Simulator.ConfigureAsync("""{"hold_jobs": true}""");
        var gateway = await Stack.StartGatewayAsync(("Webhooks:ReconcileAfterSeconds", "600"));
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);
        var requestId = await alice.SubmitAsync(webhookUrl: Subscriber.Url("/rebuilt"));
        var record = gateway.Services.GetRequiredService<RequestRecords>().RequestKey(requestId);
        Assert.True(await gateway.Services.GetRequiredService<RedisStore>().Database.KeyDeleteAsync(record), "the submit bound the request");

        await Simulator.CompleteAsync(requestId);
        var delivery = Assert.Single(await Subscriber.WaitForAsync(1, path: "/rebuilt"));

        Assert.Equal(requestId, delivery.Json.GetProperty("request_id").GetString());
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/v2/inference/requests/{requestId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/v2/inference/requests/{requestId}")).StatusCode);
    }
}
