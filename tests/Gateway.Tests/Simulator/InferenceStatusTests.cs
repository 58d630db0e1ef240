namespace Reka.Gateway.Tests.Simulator;

public sealed class InferenceStatusTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Status_OfQueuedJobs_GivesOneBasedQueuePositionByCreation()
    {
        await using var sim = await SimulatorHost.StartAsync(new Dictionary<string, string?> { ["Simulator:HoldJobs"] = "true" });
        var first = await sim.SubmitIdAsync();
        var second = await sim.SubmitIdAsync();
        var third = await sim.SubmitIdAsync();

        Assert.Equal(1, await QueuePositionAsync(sim, first));
        Assert.Equal(2, await QueuePositionAsync(sim, second));
        Assert.Equal(3, await QueuePositionAsync(sim, third));

        await sim.Client.PostAsync($"/v2/inference/requests/{first}/cancel", null);

        Assert.Null(await QueuePositionAsync(sim, first));
        Assert.Equal(1, await QueuePositionAsync(sim, second));
        Assert.Equal(2, await QueuePositionAsync(sim, third));
    }

    [Fact]
    public async Task Status_WithoutLogs_HasNullLogs()
    {
        var requestId = await fixture.Host.SubmitIdAsync();

        var status = await fixture.Host.GetJsonAsync($"/v2/inference/requests/{requestId}/status");

        Assert.Equal(requestId, status.GetProperty("request_id").GetString());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("logs").ValueKind);
    }

    [Fact]
    public async Task Status_WithLogs_ListsEachLifecycleStep()
    {
        var requestId = await fixture.Host.SubmitIdAsync();
        await fixture.Host.WaitForStatusAsync(requestId, "COMPLETED");

        var status = await fixture.Host.GetJsonAsync($"/v2/inference/requests/{requestId}/status?with_logs=true");

        var logs = status.GetProperty("logs").EnumerateArray().ToList();
        Assert.Equal(3, logs.Count);
        Assert.All(logs, log => Assert.Equal(JsonValueKind.String, log.GetProperty("timestamp").ValueKind));
        Assert.Contains("queued", logs[0].GetProperty("message").GetString());
        Assert.Contains("started", logs[1].GetProperty("message").GetString());
        Assert.Contains("completed", logs[2].GetProperty("message").GetString());
    }

    [Fact]
    public async Task Status_OfCompletedJob_HasNoQueuePositionAndHasMetrics()
    {
        var requestId = await fixture.Host.SubmitIdAsync();

        var status = await fixture.Host.WaitForStatusAsync(requestId, "COMPLETED");

        Assert.Equal(JsonValueKind.Null, status.GetProperty("queue_position").ValueKind);
        var metrics = status.GetProperty("metrics");
        Assert.True(metrics.GetProperty("queue_seconds").GetDouble() >= 0);
        Assert.True(metrics.GetProperty("run_seconds").GetDouble() >= 0);
    }

    [Fact]
    public async Task Status_OfQueuedJob_HasEmptyMetrics()
    {
        await using var sim = await SimulatorHost.StartAsync(new Dictionary<string, string?> { ["Simulator:HoldJobs"] = "true" });
        var requestId = await sim.SubmitIdAsync();

        var status = await sim.GetJsonAsync($"/v2/inference/requests/{requestId}/status");

        Assert.Empty(status.GetProperty("metrics").EnumerateObject());
    }

    [Fact]
    public async Task Status_WithInvalidWithLogs_Returns400()
    {
        var requestId = await fixture.Host.SubmitIdAsync();

        using var response = await fixture.Host.Client.GetAsync($"/v2/inference/requests/{requestId}/status?with_logs=maybe");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal("validation_error", error.GetProperty("type").GetString());
        Assert.Equal("with_logs", error.GetProperty("param").GetString());
    }

    private static async Task<int?> QueuePositionAsync(SimulatorHost sim, string requestId)
    {
        var position = (await sim.GetJsonAsync($"/v2/inference/requests/{requestId}/status")).GetProperty("queue_position");
        return position.ValueKind == JsonValueKind.Null ? null : position.GetInt32();
    }
}
