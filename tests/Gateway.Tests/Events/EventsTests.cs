using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Reka.Gateway.Tests.Events;

/// <summary>The event stream, waits released by events, and the Redis event channel; jobs are held until the test completes them.</summary>
[Collection(FlowsCollection.Name)]
public sealed class EventsTests(SimulatorStack stack) : SimulatorStackTests(stack)
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Simulator.ConfigureAsync("""{"hold_jobs": true}""");
    }

    /// <summary>Reads server-sent events up to and including the first whose data is about <paramref name="requestId"/>; returns every line read.</summary>
    private static async Task<List<string>> ReadEventsUntilAsync(StreamReader stream, string requestId)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = (await stream.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)))!;
            lines.Add(line);
            if (line.StartsWith("data:") && line.Contains(requestId))
            {
                lines.Add((await stream.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)))!); // the blank line that ends it
                return lines;
            }
        }
    }

    [Fact]
    public async Task Wait_IsReleasedByACallbackTakenByAnotherProcess()
    {
        // Replica B, a separate process, is where Reka's callbacks go (the shared public URL).
        var portB = FreePort.Next();
        var settingsB = await Stack.GatewaySettingsAsync(("Gateway:PublicBaseUrl", $"http://127.0.0.1:{portB}"));
        var replicaB = Stack.OwnedByTest(GatewayProcess.Start(settingsB, portB));
        await replicaB.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        var replicaA = await Stack.StartGatewayAsync(settingsB);
        using var alice = replicaA.CreateClient(TestClients.Alice);
        using var metrics = replicaA.RecordMetrics();
        var requestId = await alice.SubmitAsync();
        var started = DateTime.UtcNow;

        var waiting = alice.GetAsync($"/v2/inference/requests/{requestId}?wait=55");
        // The wait looks in the cache once it is registered for the request's event: it is waiting.
        await metrics.WaitForAsync("gateway.cache.lookups", "result", "miss");
        await Simulator.CompleteAsync(requestId);
        var response = await waiting;

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "released by the event, not the deadline");
        Assert.Equal("HIT", response.Headers.GetValues("X-Cache").Single());
        var job = await Simulator.JobAsync(requestId);
        Assert.StartsWith($"http://127.0.0.1:{portB}/webhooks/inference", job.GetProperty("webhook_url").GetString());
    }

    [Fact]
    public async Task Wait_WhoseEventWasPublishedWhileTheReplicaWasNotSubscribed_IsReleasedWhenItSubscribesAgain()
    {
        // A Redis of its own: the test drops the pub/sub connections of everyone on it.
        await using var redis = await RedisServer.StartAsync();
        var gateway = await Stack.StartGatewayAsync(("Redis:Configuration", redis.Configuration));
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var metrics = gateway.RecordMetrics();
        var requestId = await alice.SubmitAsync();
        var started = DateTime.UtcNow;
        var waiting = alice.GetAsync($"/v2/inference/requests/{requestId}?wait=55");
        await metrics.WaitForAsync("gateway.cache.lookups", "result", "miss");
        // A subscription lost and back while the result is not cached yet: the wait looks at the
        // cache again and goes on (else the response would be Reka's, not the cache's below).
        Assert.True(int.Parse(await redis.CliAsync("client", "kill", "type", "pubsub")) >= 1, "a pub/sub connection to drop");
        await metrics.WaitForAsync("gateway.cache.lookups", "result", "miss", count: 2);

        // The result is cached and its event never reaches the replica, as when it is published
        // while the replica's subscription is down; then the subscription comes back.
        var records = gateway.Services.GetRequiredService<Reka.Gateway.Requests.RequestRecords>();
        var result = JsonSerializer.SerializeToUtf8Bytes(new { request_id = requestId, status = "COMPLETED", output = new { video_url = "https://x/v.mp4" } });
        await records.StoreAnswersAsync(requestId, [new(Reka.Gateway.Requests.RequestRecords.Answers.Result, result)]);
        Assert.True(int.Parse(await redis.CliAsync("client", "kill", "type", "pubsub")) >= 1, "a pub/sub connection to drop");
        var response = await waiting;

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "released when the subscription came back, not at the deadline");
        Assert.Equal("HIT", response.Headers.GetValues("X-Cache").Single());
        Assert.Equal(result, await response.Content.ReadAsByteArrayAsync());
        // The loss is on-call's to see (a warning), not only the client's.
        Assert.Contains(gateway.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("reka-gateway (pub/sub)") && e.Message.Contains("failed"));
    }

    [Fact]
    public async Task EventStream_CarriesTheCallersEvents_AndNotOtherClients()
    {
        using var aliceStream = new StreamReader(await Alice.GetStreamAsync("/events"));
        using var bobResponse = await Bob.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var bobStream = new StreamReader(await bobResponse.Content.ReadAsStreamAsync());
        // A stream's first event, a ping, comes once it listens.
        var aliceOpened = await aliceStream.ReadLineAsync();
        var bobOpened = await bobStream.ReadLineAsync();

        var requestId = await Alice.SubmitAsync();
        await Simulator.CompleteAsync(requestId);
        var lines = await ReadEventsUntilAsync(aliceStream, requestId);
        // Bob's own event, published after alice's: anything of alice's on his stream would come before it.
        var bobsRequest = await Bob.SubmitAsync();
        await Simulator.CompleteAsync(bobsRequest);
        var bobLines = await ReadEventsUntilAsync(bobStream, bobsRequest);

        Assert.Equal("text/event-stream", bobResponse.Content.Headers.ContentType?.MediaType);
        Assert.Equal("event: ping", aliceOpened);
        Assert.Equal("event: ping", bobOpened); // bob's stream is open...
        Assert.Contains("event: inference.completed", lines);
        Assert.Contains(lines, l => l.StartsWith("id: evt_"));
        var data = JsonDocument.Parse(lines.Last(l => l.StartsWith("data:"))["data:".Length..]).RootElement;
        Assert.Equal(requestId, data.GetProperty("request_id").GetString());
        Assert.Equal("alice", data.GetProperty("client").GetString());
        Assert.DoesNotContain(bobLines, l => l.Contains(requestId)); // ...and carries nothing of alice's
        Assert.All(bobLines.Where(l => l.StartsWith("data:") && l.Contains("request_id")),
            l => Assert.Equal("bob", JsonDocument.Parse(l["data:".Length..]).RootElement.GetProperty("client").GetString()));
    }

    [Fact]
    public async Task EventStreams_PastMaxStreamsPerClient_Are429_ForThatClientOnly_UntilOneCloses()
    {
        var gateway = await Stack.StartGatewayAsync(("Gateway:MaxStreamsPerClient", "2"));
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);
        Task<HttpResponseMessage> OpenAsync(HttpClient client) => client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var first = await OpenAsync(alice);
        using var second = await OpenAsync(alice);

        using var third = await OpenAsync(alice);
        using var bobs = await OpenAsync(bob);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode); // before reading it: a stream never ends
        var problem = await ProblemAssert.IsProblemAsync(third, HttpStatusCode.TooManyRequests);
        Assert.Contains("'alice' already holds 2 event streams open", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, bobs.StatusCode);
        first.Dispose(); // now: the connection closes, the gateway ends that stream and frees its place
        HttpResponseMessage? reopened = null;
        await Eventually.ThatAsync(async () =>
        {
            var attempt = await OpenAsync(alice);
            if (attempt.StatusCode == HttpStatusCode.OK)
            {
                reopened = attempt;
                return true;
            }
            attempt.Dispose();
            await Task.Delay(100);
            return false;
        }, 20, "a stream to open in the place of the closed one");
        reopened!.Dispose();
    }

    [Fact]
    public async Task EveryEvent_IsPublishedOnTheRedisChannel()
    {
        var requestId = await Alice.SubmitAsync();
        using var listener = await ConnectionMultiplexer.ConnectAsync((await RedisServer.Shared).Configuration);
        var published = new TaskCompletionSource<JsonElement>();
        var redis = (Reka.Gateway.Infrastructure.Redis.RedisStore)Gateway.Services.GetService(typeof(Reka.Gateway.Infrastructure.Redis.RedisStore))!;
        await listener.GetSubscriber().SubscribeAsync(redis.EventsChannel, (_, message) =>
        {
            var parsed = JsonDocument.Parse((string)message!).RootElement;
            if (parsed.GetProperty("request_id").GetString() == requestId)
            {
                published.TrySetResult(parsed.Clone());
            }
        });

        await Simulator.CompleteAsync(requestId);
        var message = await published.Task.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(requestId, message.GetProperty("request_id").GetString());
        Assert.Equal("inference.completed", message.GetProperty("type").GetString());
        Assert.Equal("COMPLETED", message.GetProperty("result").GetProperty("status").GetString());
    }

    [Fact]
    public async Task EventStream_EndsOnceTheKeyItWasOpenedWithIsRevoked_CarryingNoLaterEvent()
    {
        var name = "streamer-" + Guid.NewGuid().ToString("N")[..8];
        using var created = await Ops.PostAsJsonAsync("/clients", new { name });
        var first = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("key");
        using var issued = await Ops.PostAsJsonAsync($"/clients/{name}/keys", new { });
        var second = JsonDocument.Parse(await issued.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetString()!;
        using var revokedKey = Gateway.CreateClient(new TestClient(name, first.GetProperty("key").GetString()!));
        using var keptKey = Gateway.CreateClient(new TestClient(name, second));
        using var revokedStream = new StreamReader(await revokedKey.GetStreamAsync("/events"));
        using var keptStream = new StreamReader(await keptKey.GetStreamAsync("/events"));
        Assert.Equal("event: ping", await revokedStream.ReadLineAsync());
        Assert.Equal("event: ping", await keptStream.ReadLineAsync());

        using var revoked = await Ops.DeleteAsync($"/clients/{name}/keys/{first.GetProperty("key_id").GetString()}");
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        await Eventually.ThatAsync(async () =>
        {
            using var refused = await revokedKey.GetAsync("/v2/inference/models");
            return refused.StatusCode == HttpStatusCode.Unauthorized;
        }, 20, "the revoked key to be refused");
        var requestId = await keptKey.SubmitAsync();
        await Simulator.CompleteAsync(requestId);

        // The event reached the client's other stream, and the revoked key's stream ended without it.
        Assert.Contains("event: inference.completed", await ReadEventsUntilAsync(keptStream, requestId));
        var rest = await revokedStream.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.DoesNotContain(requestId, rest);
    }

    [Fact]
    public async Task EventStream_WithoutKey_Returns401()
    {
        using var anonymous = Gateway.CreateClient();

        await ProblemAssert.IsProblemAsync(await anonymous.GetAsync("/events"), HttpStatusCode.Unauthorized);
    }
}
