namespace Reka.Gateway.Tests.Simulator;

/// <summary>Webhooks sent to a real receiving Kestrel host.</summary>
public sealed class WebhookTests
{
    private static Task<SimulatorHost> StartSimulatorAsync(params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["Simulator:QueueSeconds"] = "0",
            ["Simulator:RunSeconds"] = "0.02",
            ["Simulator:Webhook:RetrySchedule:0"] = "0.05",
            ["Simulator:Webhook:RetrySchedule:1"] = "0.05",
        };
        foreach (var (key, value) in settings) all[$"Simulator:{key}"] = value;
        return SimulatorHost.StartAsync(all);
    }

    [Fact]
    public async Task Webhook_IsPostedWhenJobCompletes()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sim = await StartSimulatorAsync();

        var requestId = await sim.SubmitIdAsync(webhookUrl: receiver.Url);
        var webhook = await receiver.NextAsync();

        Assert.Equal("application/json", webhook.ContentType);
        Assert.Equal(requestId, webhook.Body.GetProperty("request_id").GetString());
        Assert.Equal("COMPLETED", webhook.Body.GetProperty("status").GetString());
        Assert.Equal(SimulatorHost.SoraEndpoint, webhook.Body.GetProperty("endpoint_id").GetString());
        var result = await sim.GetJsonAsync($"/v2/inference/requests/{requestId}");
        Assert.Equal(result.GetProperty("completed_at").GetDateTime(), webhook.Body.GetProperty("completed_at").GetDateTime());
        await sim.WaitForWebhookDoneAsync(requestId);
        receiver.AssertNoMore();
    }

    [Fact]
    public async Task Webhook_IsRetriedAfterReceiverAnswers500()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500);
        await using var sim = await StartSimulatorAsync();

        var requestId = await sim.SubmitIdAsync(webhookUrl: receiver.Url);
        var first = await receiver.NextAsync();
        var retry = await receiver.NextAsync();

        Assert.Equal(500, first.AnsweredStatus);
        Assert.Equal(200, retry.AnsweredStatus);
        Assert.Equal(requestId, retry.Body.GetProperty("request_id").GetString());
        var attempts = (await sim.WaitForWebhookDoneAsync(requestId)).GetProperty("webhook_attempts");
        receiver.AssertNoMore();
        Assert.Equal([500, 200], attempts.EnumerateArray().Select(a => a.GetProperty("status_code").GetInt32()));
        var stats = await sim.GetJsonAsync("/_simulator/stats");
        Assert.Equal(1, stats.GetProperty("webhooks_sent").GetInt64());
        Assert.Equal(1, stats.GetProperty("webhooks_failed").GetInt64());
    }

    [Fact]
    public async Task Webhook_StopsAfterTheRetrySchedule()
    {
        await using var receiver = await WebhookReceiver.StartAsync(503, 503, 503, 503);
        await using var sim = await StartSimulatorAsync();

        var requestId = await sim.SubmitIdAsync(webhookUrl: receiver.Url);
        for (var attempt = 0; attempt < 3; attempt++) Assert.Equal(503, (await receiver.NextAsync()).AnsweredStatus);

        var attempts = (await sim.WaitForWebhookDoneAsync(requestId)).GetProperty("webhook_attempts");
        receiver.AssertNoMore();
        Assert.Equal(3, attempts.GetArrayLength());
    }

    [Fact]
    public async Task Webhook_ToUnreachableReceiver_RecordsTheFailedAttempts()
    {
        await using var sim = await StartSimulatorAsync();
        var requestId = await sim.SubmitIdAsync(webhookUrl: $"http://127.0.0.1:{FreePort.Next()}/hooks");

        await Eventually.ThatAsync(async () =>
            (await sim.GetJsonAsync($"/_simulator/requests/{requestId}")).GetProperty("webhook_attempts").GetArrayLength() == 3,
            10, "three failed attempts");

        var attempt = (await sim.GetJsonAsync($"/_simulator/requests/{requestId}")).GetProperty("webhook_attempts")[0];
        Assert.Equal(JsonValueKind.Null, attempt.GetProperty("status_code").ValueKind);
        Assert.False(string.IsNullOrEmpty(attempt.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task Webhook_IsSentTwiceWhenDuplicateRateIsOne()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sim = await StartSimulatorAsync(("Webhook:DuplicateRate", "1"));

        var requestId = await sim.SubmitIdAsync(webhookUrl: receiver.Url);
        var first = await receiver.NextAsync();
        var duplicate = await receiver.NextAsync();

        Assert.Equal(first.Body.GetRawText(), duplicate.Body.GetRawText());
        Assert.Equal(requestId, duplicate.Body.GetProperty("request_id").GetString());
        await sim.WaitForWebhookDoneAsync(requestId);
        receiver.AssertNoMore();
    }

    [Fact]
    public async Task Webhook_IsNeverSentWhenDropRateIsOne()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sim = await StartSimulatorAsync(("Webhook:DropRate", "1"));

        var requestId = await sim.SubmitIdAsync(webhookUrl: receiver.Url);
        var job = await sim.WaitForWebhookDoneAsync(requestId);

        Assert.Equal("COMPLETED", job.GetProperty("status").GetString());
        Assert.Empty(job.GetProperty("webhook_attempts").EnumerateArray());
        receiver.AssertNoMore();
    }

    [Fact]
    public async Task Webhook_IsSentLateByDelaySeconds()
    {
        // The delay runs on a clock the test moves on: the webhook goes once, and only once, it has passed.
        var clock = new TestClock();
        var delay = TimeSpan.FromSeconds(0.6);
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sim = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:QueueSeconds"] = "0",
            ["Simulator:RunSeconds"] = "0",
            ["Simulator:Webhook:DelaySeconds"] = "0.6",
        }, clock);

        var requestId = await sim.SubmitIdAsync(webhookUrl: receiver.Url);
        await clock.WaitForTimersAsync(delay, 1);
        var waiting = await sim.JobAsync(requestId);
        clock.Advance(delay);
        var webhook = await receiver.NextAsync();

        Assert.Equal("COMPLETED", waiting.GetProperty("status").GetString());
        Assert.Empty(waiting.GetProperty("webhook_attempts").EnumerateArray());
        Assert.Equal(requestId, webhook.Body.GetProperty("request_id").GetString());
        var completedAt = webhook.Body.GetProperty("completed_at").GetDateTime();
        var sentAt = (await sim.WaitForWebhookDoneAsync(requestId)).GetProperty("webhook_attempts")[0].GetProperty("at").GetDateTime();
        Assert.Equal(delay, sentAt - completedAt);
    }

    [Fact]
    public async Task Webhook_IsPostedWhenJobIsCancelled()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sim = await StartSimulatorAsync(("HoldJobs", "true"));
        var requestId = await sim.SubmitIdAsync(webhookUrl: receiver.Url);

        await sim.Client.PostAsync($"/v2/inference/requests/{requestId}/cancel", null);
        var webhook = await receiver.NextAsync();

        Assert.Equal("CANCELLED", webhook.Body.GetProperty("status").GetString());
    }
}
