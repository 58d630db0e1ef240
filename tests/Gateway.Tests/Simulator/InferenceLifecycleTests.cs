namespace Reka.Gateway.Tests.Simulator;

public sealed class InferenceLifecycleTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private SimulatorHost Sim => fixture.Host;

    [Fact]
    public async Task Job_GoesFromQueueThroughProgressToCompleted_OnItsTimers()
    {
        // The job's timers run on a clock the test moves on: each step happens when, and only when, its time has come.
        var clock = new TestClock();
        var step = TimeSpan.FromSeconds(0.4);
        await using var sim = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:QueueSeconds"] = "0.4",
            ["Simulator:RunSeconds"] = "0.4",
        }, clock);
        var requestId = await sim.SubmitIdAsync();

        var queued = await sim.GetJsonAsync($"/v2/inference/requests/{requestId}/status");
        clock.Advance(step);
        var running = await sim.WaitForStatusAsync(requestId, "IN_PROGRESS");
        clock.Advance(step);
        await sim.WaitForStatusAsync(requestId, "COMPLETED");

        Assert.Equal("IN_QUEUE", queued.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, running.GetProperty("queue_position").ValueKind);
        var result = await sim.GetJsonAsync($"/v2/inference/requests/{requestId}");
        var created = result.GetProperty("created_at").GetDateTime();
        var started = result.GetProperty("started_at").GetDateTime();
        var completed = result.GetProperty("completed_at").GetDateTime();
        Assert.Equal(DateTimeKind.Utc, created.Kind);
        Assert.Equal(step, started - created);
        Assert.Equal(step, completed - started);
    }

    [Fact]
    public async Task Result_OfCompletedJob_HasInputAndVideoOutput()
    {
        var requestId = await Sim.SubmitIdAsync();
        await Sim.WaitForStatusAsync(requestId, "COMPLETED");

        var result = await Sim.GetJsonAsync($"/v2/inference/requests/{requestId}");

        Assert.Equal(requestId, result.GetProperty("request_id").GetString());
        Assert.Equal("sora-2-pro/image-to-video", result.GetProperty("endpoint_id").GetString());
        Assert.Equal("sora-2-pro", result.GetProperty("model_id").GetString());
        Assert.Equal("image-to-video", result.GetProperty("capability").GetString());
        Assert.Equal("a cat surfing", result.GetProperty("input").GetProperty("prompt").GetString());
        var output = result.GetProperty("output");
        Assert.Equal($"https://cdn.simulator.invalid/{requestId}.mp4", output.GetProperty("video_url").GetString());
        Assert.True(output.GetProperty("video_url_expires_at").GetDateTime() > DateTime.UtcNow);
        Assert.True(output.GetProperty("duration_seconds").GetDouble() > 0);
        Assert.True(output.GetProperty("width").GetInt32() > 0);
        Assert.True(output.GetProperty("height").GetInt32() > 0);
        Assert.Equal(JsonValueKind.Null, result.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task Job_WithFailureRateOne_EndsFailedWithError()
    {
        await using var sim = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:QueueSeconds"] = "0",
            ["Simulator:RunSeconds"] = "0",
            ["Simulator:FailureRate"] = "1",
        });
        var requestId = await sim.SubmitIdAsync();

        await sim.WaitForStatusAsync(requestId, "FAILED");
        var result = await sim.GetJsonAsync($"/v2/inference/requests/{requestId}");

        Assert.Equal("server_error", result.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(result.GetProperty("error").GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.Null, result.GetProperty("output").ValueKind);
    }

    [Fact]
    public async Task Cancel_OfQueuedJob_AnswersCancelledItem()
    {
        await using var sim = await SimulatorHost.StartAsync(new Dictionary<string, string?> { ["Simulator:HoldJobs"] = "true" });
        var requestId = await sim.SubmitIdAsync();

        using var response = await sim.Client.PostAsync($"/v2/inference/requests/{requestId}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var item = await SimulatorHost.ReadJsonAsync(response);
        Assert.Equal("CANCELLED", item.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, item.GetProperty("completed_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, item.GetProperty("started_at").ValueKind);
        var status = await sim.GetJsonAsync($"/v2/inference/requests/{requestId}/status");
        Assert.Equal("CANCELLED", status.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Cancel_OfEndedJob_Returns409Conflict()
    {
        var requestId = await Sim.SubmitIdAsync();
        await Sim.WaitForStatusAsync(requestId, "COMPLETED");

        using var response = await Sim.Client.PostAsync($"/v2/inference/requests/{requestId}/cancel", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var error = (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal("conflict_error", error.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("GET", "/v2/inference/requests/{0}")]
    [InlineData("GET", "/v2/inference/requests/{0}/status")]
    [InlineData("POST", "/v2/inference/requests/{0}/cancel")]
    public async Task UnknownRequestId_Returns404NotFound(string method, string pathFormat)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), string.Format(pathFormat, Guid.NewGuid()));

        using var response = await Sim.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal("not_found_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task OldestJobs_AreForgottenPastMaxJobs()
    {
        await using var sim = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:HoldJobs"] = "true",
            ["Simulator:MaxJobs"] = "4",
        });
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add(await sim.SubmitIdAsync());

        using var oldest = await sim.Client.GetAsync($"/v2/inference/requests/{ids[0]}");
        var listed = (await sim.GetJsonAsync("/v2/inference/requests")).GetProperty("items");

        Assert.Equal(HttpStatusCode.NotFound, oldest.StatusCode);
        Assert.InRange(listed.GetArrayLength(), 1, 4);
        Assert.Equal(ids[^1], listed[0].GetProperty("request_id").GetString());
        // Every remembered job is held in the queue, the newest last.
        var newest = await sim.GetJsonAsync($"/v2/inference/requests/{ids[^1]}/status");
        Assert.Equal(listed.GetArrayLength(), newest.GetProperty("queue_position").GetInt32());
    }

    [Fact]
    public async Task Models_ListsTheDocumentedEndpoints()
    {
        var models = await Sim.GetJsonAsync("/v2/inference/models");

        var items = models.GetProperty("models").EnumerateArray().ToList();
        var endpointIds = items.Select(m => m.GetProperty("endpoint_id").GetString()).ToList();
        Assert.Contains("sora-2-pro/image-to-video", endpointIds);
        Assert.Contains("kling-v3-pro/image-to-video", endpointIds);
        Assert.Contains("sam3/image-to-bbox", endpointIds);
        Assert.All(items, model =>
        {
            Assert.Equal(
                $"{model.GetProperty("model_id").GetString()}/{model.GetProperty("capability").GetString()}",
                model.GetProperty("endpoint_id").GetString());
            Assert.False(string.IsNullOrEmpty(model.GetProperty("description").GetString()));
        });
    }
}
