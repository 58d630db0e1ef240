namespace Reka.Gateway.Tests.Simulator;

/// <summary>The /_simulator control routes, on a simulator that holds jobs, shared by the class; a test that changes its settings starts one of its own.</summary>
public sealed class ControlTests(HeldJobsSimulatorFixture fixture) : IClassFixture<HeldJobsSimulatorFixture>
{
    private readonly SimulatorHost _sim = fixture.Host;

    [Fact]
    public async Task HeldJob_StaysQueuedUntilControlCompletesIt_ThenSendsWebhook()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var requestId = await _sim.SubmitIdAsync(webhookUrl: receiver.Url);
        var held = await _sim.JobAsync(requestId);
        receiver.AssertNoMore(); // a job that has not ended has no webhook to send

        using var complete = await _sim.Anonymous.PostAsync($"/_simulator/requests/{requestId}/complete", null);

        Assert.Equal("IN_QUEUE", held.GetProperty("status").GetString());
        Assert.False(held.GetProperty("webhook_done").GetBoolean());
        Assert.Empty(held.GetProperty("webhook_attempts").EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        var result = await _sim.GetJsonAsync($"/v2/inference/requests/{requestId}");
        Assert.Equal("COMPLETED", result.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Object, result.GetProperty("output").ValueKind);
        var webhook = await receiver.NextAsync();
        Assert.Equal("COMPLETED", webhook.Body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ControlComplete_WithFailed_EndsTheJobFailed()
    {
        var requestId = await _sim.SubmitIdAsync();

        using var complete = await _sim.PostJsonAsync($"/_simulator/requests/{requestId}/complete", """{"status": "FAILED"}""");

        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        var result = await _sim.GetJsonAsync($"/v2/inference/requests/{requestId}");
        Assert.Equal("FAILED", result.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Object, result.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task ControlComplete_OfEndedJob_Returns409()
    {
        var requestId = await _sim.SubmitIdAsync();
        await _sim.Client.PostAsync($"/v2/inference/requests/{requestId}/cancel", null);

        using var complete = await _sim.Anonymous.PostAsync($"/_simulator/requests/{requestId}/complete", null);

        Assert.Equal(HttpStatusCode.Conflict, complete.StatusCode);
    }

    [Fact]
    public async Task ControlComplete_WithUnknownStatus_Returns400()
    {
        var requestId = await _sim.SubmitIdAsync();

        using var complete = await _sim.PostJsonAsync($"/_simulator/requests/{requestId}/complete", """{"status": "DONE"}""");

        Assert.Equal(HttpStatusCode.BadRequest, complete.StatusCode);
    }

    [Fact]
    public async Task ControlRequest_ShowsWebhookUrlIdempotencyKeyAndEverySubmitHeader()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/inference/sora-2-pro/image-to-video")
        {
            Content = new StringContent("""{"input": {"prompt": "p"}, "webhook_url": "https://gateway.test/hooks?token=t1"}""",
                System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", "key-1");
        request.Headers.Add("X-Custom-Trace", "trace-7");
        using var submitted = await _sim.Client.SendAsync(request);
        var requestId = (await SimulatorHost.ReadJsonAsync(submitted)).GetProperty("request_id").GetString();

        using var response = await _sim.Anonymous.GetAsync($"/_simulator/requests/{requestId}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var job = await SimulatorHost.ReadJsonAsync(response);
        Assert.Equal("https://gateway.test/hooks?token=t1", job.GetProperty("webhook_url").GetString());
        Assert.Equal("key-1", job.GetProperty("idempotency_key").GetString());
        var headers = job.GetProperty("headers");
        Assert.Equal(SimulatorHost.ApiKey, headers.GetProperty("x-api-key").GetString());
        Assert.Equal("key-1", headers.GetProperty("idempotency-key").GetString());
        Assert.Equal("trace-7", headers.GetProperty("x-custom-trace").GetString());
        Assert.StartsWith("application/json", headers.GetProperty("content-type").GetString());
        Assert.Equal("p", job.GetProperty("input").GetProperty("prompt").GetString());
    }

    [Fact]
    public async Task ControlRequest_OfUnknownId_Returns404()
    {
        using var response = await _sim.Anonymous.GetAsync($"/_simulator/requests/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Stats_CountApiCallsPerRoutePattern_AndResetToZero()
    {
        await _sim.Anonymous.PostAsync("/_simulator/stats/reset", null);
        await _sim.SubmitIdAsync();
        var requestId = await _sim.SubmitIdAsync();
        await _sim.GetJsonAsync($"/v2/inference/requests/{requestId}/status");
        await _sim.Anonymous.GetAsync("/v2/inference/models");

        var stats = await _sim.GetJsonAsync("/_simulator/stats");
        using var reset = await _sim.Anonymous.PostAsync("/_simulator/stats/reset", null);
        var afterReset = await _sim.GetJsonAsync("/_simulator/stats");

        var requests = stats.GetProperty("requests");
        Assert.Equal(2, requests.GetProperty("POST /v2/inference/{model}/{capability}").GetInt64());
        Assert.Equal(1, requests.GetProperty("GET /v2/inference/requests/{request_id}/status").GetInt64());
        Assert.Equal(1, requests.GetProperty("GET /v2/inference/models").GetInt64());
        Assert.Equal(4, stats.GetProperty("total").GetInt64());
        Assert.Equal(0, afterReset.GetProperty("total").GetInt64());
        Assert.Empty(afterReset.GetProperty("requests").EnumerateObject());
    }

    [Fact]
    public async Task Config_ChangesOnlyTheGivenSettings()
    {
        await using var sim = await SimulatorHost.StartAsync(fixture.Settings);

        using var response = await sim.PostJsonAsync("/_simulator/config", """{"failure_rate": 0.25, "webhook": {"duplicate_rate": 0.5}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var settings = await sim.GetJsonAsync("/_simulator/config");
        Assert.Equal(0.25, settings.GetProperty("failure_rate").GetDouble());
        Assert.Equal(0.5, settings.GetProperty("webhook").GetProperty("duplicate_rate").GetDouble());
        Assert.True(settings.GetProperty("hold_jobs").GetBoolean());
        Assert.Equal(0, settings.GetProperty("webhook").GetProperty("drop_rate").GetDouble());
    }

    [Theory]
    [InlineData("""{"error_rate": 1.5}""")]
    [InlineData("""{"latency_ms": -1}""")]
    [InlineData("""{"webhook": {"drop_rate": -0.1}}""")]
    [InlineData("""{"latencyMs": 10}""")]
    public async Task Config_WithInvalidOrUnknownSetting_Returns400(string json)
    {
        using var response = await _sim.PostJsonAsync("/_simulator/config", json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Config_HoldJobsOff_LetsNewJobsRunOnTheirTimers()
    {
        await using var sim = await SimulatorHost.StartAsync(fixture.Settings);
        await sim.ConfigureAsync("""{"hold_jobs": false, "queue_seconds": 0, "run_seconds": 0}""");

        var requestId = await sim.SubmitIdAsync();

        await sim.WaitForStatusAsync(requestId, "COMPLETED");
    }
}
