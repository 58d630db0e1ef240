using System.Net;
using System.Text.Json;
using Reka.Gateway.Tests.Support;
using StackExchange.Redis;

namespace Reka.Gateway.Tests.Events;

public sealed class EventsTests : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private Dictionary<string, string?> _settings = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:HoldJobs"] = "true",
        });
        _settings = await GatewayHost.DefaultSettingsAsync(_simulator.BaseAddress.ToString().TrimEnd('/'));
    }

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    private Task CompleteAsync(string requestId) =>
        _simulator.Anonymous.PostAsJsonAsync($"/_simulator/requests/{requestId}/complete", new { status = "COMPLETED" });

    [Fact]
    public async Task Wait_IsReleasedByACallbackTakenByAnotherProcess()
    {
        // Replica B, a separate process, is where Reka's callbacks go (the shared public URL).
        var portB = FreePort.Next();
        var settingsB = new Dictionary<string, string?>(_settings) { ["Gateway:PublicBaseUrl"] = $"http://127.0.0.1:{portB}" };
        await using var replicaB = GatewayProcess.Start(settingsB, portB);
        await replicaB.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        await using var replicaA = await GatewayHost.StartAsync(_simulator.BaseAddress.ToString().TrimEnd('/'), settingsB);
        using var alice = replicaA.CreateClient(TestClients.Alice);
        var requestId = await alice.SubmitAsync();
        var started = DateTime.UtcNow;

        var waiting = alice.GetAsync($"/v2/inference/requests/{requestId}?wait=55");
        await Task.Delay(300);
        await CompleteAsync(requestId);
        var response = await waiting;

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "released by the event, not the deadline");
        Assert.Equal("HIT", response.Headers.GetValues("X-Cache").Single());
        var job = JsonDocument.Parse(await _simulator.Anonymous.GetStringAsync($"/_simulator/requests/{requestId}")).RootElement;
        Assert.StartsWith($"http://127.0.0.1:{portB}/webhooks/inference", job.GetProperty("webhook_url").GetString());
    }

    [Fact]
    public async Task EventStream_CarriesTheCallersEvents_AndNotOtherClients()
    {
        await using var gateway = await GatewayHost.StartAsync(_simulator.BaseAddress.ToString().TrimEnd('/'), _settings);
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);
        using var aliceStream = new StreamReader(await alice.GetStreamAsync("/events"));
        using var bobResponse = await bob.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var bobStream = new StreamReader(await bobResponse.Content.ReadAsStreamAsync());
        await Task.Delay(300);

        var requestId = await alice.SubmitAsync();
        await CompleteAsync(requestId);
        var lines = new List<string>();
        // Read up to the blank line that ends the inference event.
        while (!lines.Contains("event: inference.completed") || lines[^1] != "")
        {
            lines.Add((await aliceStream.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)))!);
        }
        var bobLines = new List<string>();
        using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(1.5));
        try
        {
            while (true)
            {
                bobLines.Add((await bobStream.ReadLineAsync(quiet.Token))!);
            }
        }
        catch (OperationCanceledException)
        {
        }

        Assert.Equal("text/event-stream", bobResponse.Content.Headers.ContentType?.MediaType);
        Assert.Contains("event: inference.completed", lines);
        Assert.Contains(lines, l => l.StartsWith("id: evt_"));
        var data = JsonDocument.Parse(lines.Last(l => l.StartsWith("data:"))["data:".Length..]).RootElement;
        Assert.Equal(requestId, data.GetProperty("request_id").GetString());
        Assert.Equal("alice", data.GetProperty("client").GetString());
        Assert.Equal("event: ping", bobLines[0]); // bob's stream is open...
        Assert.DoesNotContain("event: inference.completed", bobLines); // ...and carries nothing of alice's
    }

    [Fact]
    public async Task EveryEvent_IsPublishedOnTheRedisChannel()
    {
        await using var gateway = await GatewayHost.StartAsync(_simulator.BaseAddress.ToString().TrimEnd('/'), _settings);
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var listener = await ConnectionMultiplexer.ConnectAsync((await RedisServer.Shared).Configuration);
        var published = new TaskCompletionSource<string>();
        await listener.GetSubscriber().SubscribeAsync(RedisChannel.Literal(_settings["Redis:EventsChannel"]!), (_, message) => published.TrySetResult(message!));

        var requestId = await alice.SubmitAsync();
        await CompleteAsync(requestId);
        var message = JsonDocument.Parse(await published.Task.WaitAsync(TimeSpan.FromSeconds(20))).RootElement;

        Assert.Equal(requestId, message.GetProperty("request_id").GetString());
        Assert.Equal("inference.completed", message.GetProperty("type").GetString());
        Assert.Equal("COMPLETED", message.GetProperty("result").GetProperty("status").GetString());
    }

    [Fact]
    public async Task EventStream_WithoutKey_Returns401()
    {
        await using var gateway = await GatewayHost.StartAsync(_simulator.BaseAddress.ToString().TrimEnd('/'), _settings);

        await ProblemAssert.IsProblemAsync(await gateway.CreateClient().GetAsync("/events"), HttpStatusCode.Unauthorized);
    }
}
