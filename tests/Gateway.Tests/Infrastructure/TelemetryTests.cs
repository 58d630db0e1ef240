using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Reka.Gateway.Tests.Infrastructure;

/// <summary>Metrics, OTLP export and logs, on the flows stack (the last two with gateway processes of their own).</summary>
[Collection(FlowsCollection.Name)]
public sealed class TelemetryTests(SimulatorStack stack) : SimulatorStackTests(stack)
{
    [Fact]
    public async Task Metrics_CountRequestsByClient_UpstreamLatency_Callbacks_Deliveries_Cache_AndQueues()
    {
        var recorder = Stack.Metrics;
        await Ops.SubscribeAsync(Subscriber.Url());

        var requestId = await Alice.SubmitAsync();
        await Subscriber.WaitForAsync(1);
        await Alice.GetAsync($"/v2/inference/requests/{requestId}");
        await Eventually.ThatAsync(() =>
        {
            recorder.Observe();
            return Task.FromResult(recorder.Has("gateway.queue.depth", "queue", "deliveries")
                && recorder.Has("gateway.deliveries", "outcome", "succeeded"));
        }, 15, "the queue gauges to be sampled and the delivery counted");

        Assert.True(recorder.Has("http.server.request.duration", "gateway.client", "alice"), "requests carry the client");
        Assert.True(recorder.Has("http.server.request.duration", "http.route", "/v2/inference/{model}/{capability}"));
        Assert.True(recorder.Has("gateway.upstream.duration", "route", "submit"));
        Assert.True(recorder.Has("gateway.callbacks", "outcome", "accepted"));
        Assert.True(recorder.Has("gateway.cache.lookups", "result", "hit"));
        Assert.True(recorder.Has("gateway.queue.oldest_due_age", "queue", "callbacks"));
    }

    [Fact]
    public async Task StagesFromCallbackToDelivery_AreTimed()
    {
        var recorder = Stack.Metrics;
        var subscriber = Subscriber;
        await Ops.SubscribeAsync(subscriber.Url("/stages"));
        var before = recorder.Measurements.Count;

        await Alice.SubmitAsync();
        await subscriber.WaitForAsync(1);

        // The delivery was received: its attempt is recorded; the fan-out job ends after it.
        List<(string Instrument, double Value, Dictionary<string, object?> Tags)> measured = [];
        double[] Values(string instrument, string tag, string value) =>
            [.. measured.Where(m => m.Instrument == instrument && Equals(m.Tags.GetValueOrDefault(tag), value)).Select(m => m.Value)];
        await Eventually.ThatAsync(() =>
        {
            measured = [.. recorder.Measurements.Skip(before)];
            return Task.FromResult(Values("gateway.queue.job.duration", "queue", "fanout").Length > 0);
        }, 20, "the fan-out job to be timed");
        Assert.NotEmpty(Values("gateway.queue.wait.duration", "queue", "callbacks"));
        Assert.NotEmpty(Values("gateway.queue.job.duration", "queue", "callbacks"));
        Assert.NotEmpty(Values("gateway.queue.wait.duration", "queue", "fanout"));
        var attempts = Values("gateway.delivery.attempt.duration", "outcome", "succeeded");
        Assert.NotEmpty(attempts);
        Assert.All(measured.Where(m => m.Instrument.StartsWith("gateway.queue.", StringComparison.Ordinal) && m.Instrument != "gateway.queue.depth"
            && m.Instrument != "gateway.queue.oldest_due_age"), m => Assert.InRange(m.Value, 0, 30));
        // A fan-out job makes its attempts: it lasts at least as long as the shortest of them.
        Assert.True(Values("gateway.queue.job.duration", "queue", "fanout").Max() >= attempts.Min(),
            $"fan-out jobs {string.Join(", ", Values("gateway.queue.job.duration", "queue", "fanout"))} s; attempts {string.Join(", ", attempts)} s");
    }

    [Fact]
    public async Task WithOtlpEndpointSet_TracesAndMetricsAreExported()
    {
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var collector = builder.Build();
        collector.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path, body.ToArray()));
        });
        await collector.StartAsync();
        await using var gateway = GatewayProcess.StartAtItsOwnAddress(await Stack.GatewaySettingsAsync(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.Urls.First()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "500"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200")));
        await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        using var alice = gateway.CreateClient(TestClients.Alice);

        await alice.SubmitAsync();

        static bool Carries(IEnumerable<(string Path, byte[] Body)> posts, string path, string text) =>
            posts.Any(p => p.Path == path && Encoding.UTF8.GetString(p.Body).Contains(text));
        await Eventually.ThatAsync(() => Task.FromResult(
            Carries(received, "/v1/traces", "callback.process") && Carries(received, "/v1/metrics", "gateway.upstream.duration")),
            60, "OTLP traces with the callback's span and metrics with the upstream latency");
        Assert.True(Carries(received, "/v1/traces", "reka-gateway"), "the service name is exported");
    }

    [Fact]
    public async Task Logs_AreStructuredJson_AndNeverCarryAKeyATokenOrASignature()
    {
        var subscriber = Subscriber;
        await using var gateway = GatewayProcess.StartAtItsOwnAddress(await Stack.GatewaySettingsAsync(
            ("Logging:LogLevel:Default", "Debug"),
            // Even an operator who turns ASP.NET Core's logs up must not get the callback URLs' tokens.
            ("Logging:LogLevel:Microsoft.AspNetCore", "Debug"),
            ("Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "Debug")));
        await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var ops = gateway.CreateClient(TestClients.Ops);
        var (_, subscriptionSecret) = await ops.SubscribeAsync(subscriber.Url("/all"));

        var requestId = await alice.SubmitAsync(webhookUrl: subscriber.Url("/alice"));
        var deliveries = await subscriber.WaitForAsync(2);
        await alice.GetAsync($"/v2/inference/requests/{requestId}/status?with_logs=true"); // not cached: forwarded
        await alice.GetAsync("/v2/inference/requests?limit=5");
        // The console logger writes in the background: the last call's line is the sign that the others are out.
        List<JsonElement> entries = [];
        await Eventually.ThatAsync(() =>
        {
            entries = [.. gateway.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)];
            return Task.FromResult(entries.Any(e => IsForwarded(e, "list")));
        }, 20, "the log line of the list call");
        var job = await Simulator.JobAsync(requestId);
        var token = new Uri(job.GetProperty("webhook_url").GetString()!).Query["?token=".Length..];
        var logs = gateway.StandardOutput;

        var forwarded = entries.First(e => IsForwarded(e, "status"));
        Assert.Equal("alice", forwarded.GetProperty("State").GetProperty("Client").GetString());
        Assert.Equal(requestId, forwarded.GetProperty("State").GetProperty("RequestId").GetString());
        Assert.Equal("200", forwarded.GetProperty("State").GetProperty("UpstreamStatus").ToString().Trim('"'));
        Assert.True(forwarded.GetProperty("State").TryGetProperty("DurationMs", out _));
        string[] secrets =
        [
            TestClients.TeamKey, TestClients.Alice.Key, TestClients.Ops.Key, TestClients.CallbackSecret, token,
            subscriptionSecret, TestClients.Alice.WebhookSecret!, .. deliveries.Select(d => d.Header("webhook-signature")[3..]),
        ];
        Assert.All(secrets, secret => Assert.DoesNotContain(secret, logs));
    }

    private static bool IsForwarded(JsonElement entry, string route) =>
        entry.GetProperty("Category").GetString() == "Reka.Gateway.Proxy.UpstreamForwarder"
        && entry.GetProperty("State").TryGetProperty("Route", out var name) && name.GetString() == route;
}
