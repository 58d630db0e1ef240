using System.Collections.Concurrent;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Replicas;

/// <summary>
/// Three gateway processes on one redis-server and one simulator behave as one service:
/// deliveries once each in normal operation, at least once when a replica is killed, a rate
/// limit that holds across them, and a clean SIGTERM. The figures are printed to the test output.
/// </summary>
public sealed class ReplicasTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Subscriptions = 4;

    private SimulatorHost _simulator = null!;
    private WebhookSubscriber _subscriber = null!;
    private Dictionary<string, string?> _settings = null!;
    private readonly List<GatewayProcess> _replicas = [];

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartForGatewayAsync(("Simulator:QueueSeconds", "0.05"), ("Simulator:RunSeconds", "0.05"));
        _subscriber = await WebhookSubscriber.StartAsync();
        _settings = await GatewayHost.DefaultSettingsAsync(_simulator.BaseUrl);
        _settings["Delivery:FanOut:LeaseSeconds"] = "3";
        _settings["Delivery:FanOut:MaxConcurrency"] = "4"; // spreads the fan-outs over the three replicas
        _settings["Delivery:Worker:LeaseSeconds"] = "3";
        _settings["Delivery:AttemptTimeoutSeconds"] = "2"; // below the 3 s leases
        // The killed replica may also hold callbacks it was confirming: they come back after this
        // lease (60 s by default, which the test's 60 s wait would not cover).
        _settings["Webhooks:Processing:LeaseSeconds"] = "3";
        _settings["Clients:bob:RateLimit:PermitLimit"] = "45";
        _settings["Clients:bob:RateLimit:WindowSeconds"] = "86400";
        for (var i = 0; i < 3; i++)
        {
            _replicas.Add(StartReplica());
        }
        foreach (var replica in _replicas)
        {
            await replica.WaitUntilLiveAsync(TimeSpan.FromSeconds(60));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
            // Shown with a failed test's output: what went wrong inside a replica, with its trace id.
            foreach (var line in (replica.StandardOutput + replica.StandardError).Split('\n')
                .Where(l => l.Contains("\"LogLevel\":\"Error\"", StringComparison.Ordinal) || l.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal)))
            {
                output.WriteLine($"replica {replica.BaseAddress}: {line}");
            }
        }
        await _subscriber.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    // Each replica hands Reka its own address: there is no load balancer in front of them here.
    private GatewayProcess StartReplica(Dictionary<string, string?>? extra = null) =>
        GatewayProcess.StartAtItsOwnAddress(_settings.Where(s => extra?.ContainsKey(s.Key) != true).Concat(extra ?? []));

    private async Task<List<string>> SubscribeAllAsync()
    {
        using var ops = _replicas[0].CreateClient(TestClients.Ops);
        var paths = Enumerable.Range(1, Subscriptions).Select(i => $"/subscriber-{i}").ToList();
        foreach (var path in paths)
        {
            await ops.SubscribeAsync(_subscriber.Url(path));
        }
        return paths;
    }

    // As a caller does: a 503 (Redis unavailable for a moment) is sent again after its Retry-After,
    // under the same Idempotency-Key, so Reka starts it once whatever happened.
    private static async Task<string> SubmitAsCallersDoAsync(HttpClient client)
    {
        var key = Guid.NewGuid().ToString();
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/inference/sora-2-pro/image-to-video")
            {
                Content = JsonContent.Create(new { input = new { prompt = "a red fox in snow" } }),
            };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 3 && response.Headers.RetryAfter?.Delta is { } wait)
            {
                await Task.Delay(wait);
                continue;
            }
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"submit answered {(int)response.StatusCode}: {text}");
            return JsonDocument.Parse(text).RootElement.GetProperty("request_id").GetString()!;
        }
    }

    private async Task<List<string>> SubmitAsync(int count, IReadOnlyList<GatewayProcess> through)
    {
        var clients = through.Select(r => r.CreateClient(TestClients.Alice)).ToList();
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(i => SubmitAsCallersDoAsync(clients[i % clients.Count])));
        clients.ForEach(c => c.Dispose());
        return [.. ids];
    }

    private Dictionary<(string RequestId, string Path), int> Received() =>
        _subscriber.Received.GroupBy(d => (d.Json.GetProperty("request_id").GetString()!, d.Path)).ToDictionary(g => g.Key, g => g.Count());

    [Fact]
    public async Task NEventsToMSubscribers_AreDeliveredExactlyNTimesM_AndAtLeastOnceWhenAReplicaIsKilled()
    {
        var paths = await SubscribeAllAsync();
        const int events = 24;

        // Normal operation: three replicas, nothing crashes.
        var first = await SubmitAsync(events, _replicas);

        await _subscriber.WaitForAsync(events * Subscriptions, timeoutSeconds: 60);
        // With every queue empty, no job is left that could send a duplicate.
        await GatewayQueues.WaitUntilEmptyAsync(_settings);
        var received = Received();
        output.WriteLine($"normal: {events} events x {Subscriptions} subscribers = {events * Subscriptions} expected, " +
            $"{_subscriber.Received.Count} delivered, {received.Count} distinct, {received.Values.Count(c => c > 1)} duplicated");
        Assert.Equal(events * Subscriptions, _subscriber.Received.Count);
        Assert.All(first, id => Assert.All(paths, path => Assert.Equal(1, received.GetValueOrDefault((id, path)))));

        // A replica killed with SIGKILL mid-run: slow subscribers (1 s) keep deliveries in flight when it dies.
        _subscriber.Respond = async context => { await Task.Delay(1000); context.Response.StatusCode = 204; };
        var before = _subscriber.Received.Count;
        var victim = _replicas[1];
        var second = await SubmitAsync(events, [_replicas[0], _replicas[2]]); // Reka calls back the replica that took the submit
        // Killed as soon as deliveries arrive: each replica then holds fan-outs whose subscribers have not answered yet.
        await Eventually.ThatAsync(() => Task.FromResult(_subscriber.Received.Count > before), 30, "deliveries of the second batch to be under way");
        var inFlightAtKill = _subscriber.Received.Count - before;
        victim.Signal(9);
        await victim.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await Eventually.ThatAsync(() =>
        {
            var now = Received();
            return Task.FromResult(second.All(id => paths.All(path => now.ContainsKey((id, path)))));
        }, 60, "every event of the second batch at every subscriber");
        var after = Received();
        var secondTotal = second.Sum(id => paths.Sum(path => after.GetValueOrDefault((id, path))));
        output.WriteLine($"killed one of 3 replicas (SIGKILL) with {inFlightAtKill} of the second batch's deliveries received or in flight: " +
            $"{events} events x {Subscriptions} subscribers = {events * Subscriptions} expected at least, " +
            $"{secondTotal} delivered, every event present, {secondTotal - events * Subscriptions} duplicates (at least once)");
        Assert.True(secondTotal >= events * Subscriptions);
    }

    [Fact]
    public async Task PerClientRateLimit_HoldsAcrossTheThreeReplicas()
    {
        var bobs = _replicas.Select(r => r.CreateClient(TestClients.Bob)).ToList();
        var statuses = new ConcurrentBag<HttpStatusCode>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 90), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (i, _) =>
            statuses.Add((await bobs[i % 3].GetAsync("/v2/inference/models")).StatusCode));
        bobs.ForEach(b => b.Dispose());

        var allowed = statuses.Count(s => s == HttpStatusCode.OK);
        var limited = statuses.Count(s => s == HttpStatusCode.TooManyRequests);
        output.WriteLine($"rate limit 45 per window, 90 requests spread over 3 replicas: {allowed} allowed, {limited} answered 429 " +
            "(without sharing, each replica would have allowed 45: 90 in all)");
        Assert.Equal(45, allowed);
        Assert.Equal(45, limited);
    }

    [Fact]
    public async Task SigtermedReplica_FinishesItsInFlightDelivery_AndExitsCleanly()
    {
        var paths = await SubscribeAllAsync();
        var slowStarted = new TaskCompletionSource();
        _subscriber.Respond = async context =>
        {
            slowStarted.TrySetResult();
            await Task.Delay(1500); // a slow subscriber: the delivery is in flight when SIGTERM comes
            context.Response.StatusCode = 204;
        };
        // Only the replica to be stopped works deliveries until it gets SIGTERM.
        foreach (var other in _replicas.Skip(1))
        {
            other.Signal(9);
        }
        var stopping = _replicas[0];
        var requestId = (await SubmitAsync(1, [stopping]))[0];
        await slowStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var signalled = DateTime.UtcNow;
        stopping.Signal(15);
        var exitCode = await stopping.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var took = DateTime.UtcNow - signalled;

        output.WriteLine($"SIGTERM with a 1.5 s delivery in flight: exit code {exitCode} after {took.TotalSeconds:0.0} s; " +
            $"{_subscriber.Received.Count} of {Subscriptions} deliveries received");
        Assert.Equal(0, exitCode);
        Assert.True(took < TimeSpan.FromSeconds(25), "within Kubernetes' grace period");
        Assert.True(took > TimeSpan.FromSeconds(1), "it waited for the in-flight delivery instead of dropping it");
        // Nothing lost: a fresh replica finds every delivery finished, none left to send.
        var fresh = StartReplica();
        _replicas.Add(fresh);
        await fresh.WaitUntilLiveAsync(TimeSpan.FromSeconds(60));
        using var ops = fresh.CreateClient(TestClients.Ops);
        var subscriptions = JsonDocument.Parse(await ops.GetStringAsync("/subscriptions")).RootElement.EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToList();
        await Eventually.ThatAsync(async () =>
        {
            var statuses = new List<string>();
            foreach (var id in subscriptions)
            {
                statuses.AddRange((await ops.DeliveriesAsync(id)).EnumerateArray().Select(d => d.GetProperty("status").GetString()!));
            }
            return statuses.Count == Subscriptions && statuses.All(s => s == "succeeded");
        }, 60, "every delivery of the stopped replica to be recorded as succeeded");
        Assert.All(paths, path => Assert.Contains(_subscriber.Received, d => d.Path == path && d.Json.GetProperty("request_id").GetString() == requestId));
    }

    [Fact]
    public async Task SigtermedReplica_HandsBackADeliveryItCannotFinishInItsDrainTime_AndAnotherReplicaDeliversIt()
    {
        await SubscribeAllAsync();
        var calls = 0;
        _subscriber.Respond = async context =>
        {
            if (Interlocked.Increment(ref calls) <= Subscriptions)
            {
                await Task.Delay(TimeSpan.FromSeconds(20), context.RequestAborted).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            context.Response.StatusCode = 204;
        };
        foreach (var replica in _replicas)
        {
            replica.Signal(9);
        }
        // Leases of 60 s: a takeover within seconds can only come from the hand-back, not from a lease expiring.
        var longLease = new Dictionary<string, string?> { ["Delivery:FanOut:LeaseSeconds"] = "60", ["Delivery:Worker:LeaseSeconds"] = "60" };
        var stopping = StartReplica(new(longLease) { ["Delivery:FanOut:DrainSeconds"] = "1" });
        _replicas.Add(stopping);
        await stopping.WaitUntilLiveAsync(TimeSpan.FromSeconds(60));
        var requestId = (await SubmitAsync(1, [stopping]))[0];
        await _subscriber.WaitForAsync(Subscriptions, timeoutSeconds: 30);

        stopping.Signal(15);
        var exitCode = await stopping.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var takeover = StartReplica(longLease);
        _replicas.Add(takeover);
        await takeover.WaitUntilLiveAsync(TimeSpan.FromSeconds(60));

        var received = await _subscriber.WaitForAsync(2 * Subscriptions, timeoutSeconds: 30);
        Assert.True(received[^1].At - received[Subscriptions - 1].At < TimeSpan.FromSeconds(45), "taken over well before the 60 s lease expired");
        output.WriteLine($"SIGTERM with {Subscriptions} deliveries that outlast the 1 s drain: exit code {exitCode}; " +
            $"handed back and delivered by another replica: {received.Count - Subscriptions} of {Subscriptions}");
        Assert.Equal(0, exitCode);
        Assert.Equal(Subscriptions, received.Skip(Subscriptions).Select(d => d.Path).Distinct().Count());
        Assert.All(received, d => Assert.Equal(requestId, d.Json.GetProperty("request_id").GetString()));
    }
}
