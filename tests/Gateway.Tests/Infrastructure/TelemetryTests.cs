using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Infrastructure;

public sealed class TelemetryTests
{
    private static async Task<SimulatorHost> SimulatorAsync() => await SimulatorHost.StartAsync(new Dictionary<string, string?>
    {
        ["Simulator:ApiKey"] = TestClients.TeamKey,
        ["Simulator:QueueSeconds"] = "0.02",
        ["Simulator:RunSeconds"] = "0.02",
    });

    [Fact]
    public async Task Metrics_CountRequestsByClient_UpstreamLatency_Callbacks_Deliveries_Cache_AndQueues()
    {
        await using var simulator = await SimulatorAsync();
        await using var subscriber = await WebhookSubscriber.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(simulator.BaseAddress.ToString().TrimEnd('/'));
        using var recorder = gateway.RecordMetrics();
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var ops = gateway.CreateClient(TestClients.Ops);
        await ops.SubscribeAsync(subscriber.Url());

        var requestId = await alice.SubmitAsync();
        await subscriber.WaitForAsync(1);
        await alice.GetAsync($"/v2/inference/requests/{requestId}");
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
        await using var simulator = await SimulatorAsync();
        var settings = await GatewayHost.DefaultSettingsAsync(simulator.BaseAddress.ToString().TrimEnd('/'));
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Urls.First();
        settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        settings["OTEL_METRIC_EXPORT_INTERVAL"] = "500";
        settings["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        var port = FreePort.Next();
        settings["Gateway:PublicBaseUrl"] = $"http://127.0.0.1:{port}";
        await using var gateway = GatewayProcess.Start(settings, port);
        await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        using var alice = new HttpClient { BaseAddress = gateway.BaseAddress };
        alice.DefaultRequestHeaders.Add("X-Api-Key", TestClients.Alice.Key);

        await alice.SubmitAsync();

        static bool Carries(IEnumerable<(string Path, byte[] Body)> posts, string path, string text) =>
            posts.Any(p => p.Path == path && Encoding.UTF8.GetString(p.Body).Contains(text));
        await Eventually.ThatAsync(() => Task.FromResult(
            Carries(received, "/v1/traces", "callback.process") && Carries(received, "/v1/metrics", "gateway.upstream.duration")),
            20, "OTLP traces with the callback's span and metrics with the upstream latency");
        Assert.True(Carries(received, "/v1/traces", "reka-gateway"), "the service name is exported");
    }

    [Fact]
    public async Task Logs_AreStructuredJson_AndNeverCarryAKeyATokenOrASignature()
    {
        await using var simulator = await SimulatorAsync();
        await using var subscriber = await WebhookSubscriber.StartAsync();
        var settings = await GatewayHost.DefaultSettingsAsync(simulator.BaseAddress.ToString().TrimEnd('/'));
        settings["Logging:LogLevel:Default"] = "Debug";
        // Even an operator who turns ASP.NET Core's logs up must not get the callback URLs' tokens.
        settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug";
        settings["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Debug";
        var port = FreePort.Next();
        settings["Gateway:PublicBaseUrl"] = $"http://127.0.0.1:{port}";
        await using var gateway = GatewayProcess.Start(settings, port);
        await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        using var alice = new HttpClient { BaseAddress = gateway.BaseAddress };
        alice.DefaultRequestHeaders.Add("X-Api-Key", TestClients.Alice.Key);
        using var ops = new HttpClient { BaseAddress = gateway.BaseAddress };
        ops.DefaultRequestHeaders.Add("X-Api-Key", TestClients.Ops.Key);
        var (_, subscriptionSecret) = await ops.SubscribeAsync(subscriber.Url("/all"));

        var requestId = await alice.SubmitAsync(webhookUrl: subscriber.Url("/alice"));
        var deliveries = await subscriber.WaitForAsync(2);
        await alice.GetAsync($"/v2/inference/requests/{requestId}/status?with_logs=true"); // not cached: forwarded
        await alice.GetAsync("/v2/inference/requests?limit=5");
        await Task.Delay(500);
        var job = JsonDocument.Parse(await simulator.Anonymous.GetStringAsync($"/_simulator/requests/{requestId}")).RootElement;
        var token = new Uri(job.GetProperty("webhook_url").GetString()!).Query["?token=".Length..];
        var logs = gateway.StandardOutput;

        var entries = logs.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var forwarded = entries.First(e => e.GetProperty("Category").GetString() == "Reka.Gateway.Proxy.UpstreamForwarder"
            && e.GetProperty("State").TryGetProperty("Route", out var route) && route.GetString() == "status");
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
}
