using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reka.Gateway.Tests.Support;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Clients;

/// <summary>
/// Clients managed at runtime, on two gateway processes sharing one redis-server and one
/// simulator (which holds each job until the test completes it): keys issued, rotated and
/// revoked, allowed endpoints, quotas and usage, as every replica sees them.
/// </summary>
public sealed class ClientReplicasTests(ITestOutputHelper output) : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private WebhookSubscriber _subscriber = null!;
    private GatewayProcess _a = null!;
    private GatewayProcess _b = null!;
    private HttpClient _adminA = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:HoldJobs"] = "true",
        });
        _subscriber = await WebhookSubscriber.StartAsync();
        var settings = await GatewayHost.DefaultSettingsAsync(_simulator.BaseUrl);
        var portA = FreePort.Next();
        settings["Gateway:PublicBaseUrl"] = $"http://127.0.0.1:{portA}"; // Reka calls back replica A
        _a = GatewayProcess.Start(settings, portA);
        _b = GatewayProcess.Start(settings);
        await _a.WaitUntilLiveAsync(TimeSpan.FromSeconds(60));
        await _b.WaitUntilLiveAsync(TimeSpan.FromSeconds(60));
        _adminA = Client(_a, TestClients.Ops.Key);
    }

    public async Task DisposeAsync()
    {
        _adminA.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _subscriber.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private static HttpClient Client(GatewayProcess replica, string key)
    {
        var http = new HttpClient { BaseAddress = replica.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Api-Key", key);
        return http;
    }

    private async Task<(string Key, string WebhookSecret)> CreateClientAsync(object body)
    {
        using var response = await _adminA.PostAsJsonAsync("/clients", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create answered {(int)response.StatusCode}: {text}");
        var created = JsonDocument.Parse(text).RootElement;
        var key = created.GetProperty("key").GetProperty("key").GetString()!;
        // A new key reaches the other replica within moments (published change, version poll):
        // wait until both know it, by a call that neither reaches Reka nor counts as usage.
        var name = created.GetProperty("client").GetProperty("name").GetString()!;
        foreach (var replica in new[] { _a, _b })
        {
            using var client = Client(replica, key);
            await Eventually.ThatAsync(async () => (await client.GetAsync($"/clients/{name}/usage")).IsSuccessStatusCode, 10,
                $"the new key of {name} to work on {replica.BaseAddress}");
        }
        return (key, created.GetProperty("webhook_secret").GetString()!);
    }

    private async Task CompleteAsync(string requestId) =>
        (await _simulator.Anonymous.PostAsJsonAsync($"/_simulator/requests/{requestId}/complete", new { status = "COMPLETED" })).EnsureSuccessStatusCode();

    private async Task<long> SimulatorSubmitsAsync()
    {
        var stats = JsonDocument.Parse(await _simulator.Anonymous.GetStringAsync("/_simulator/stats")).RootElement.GetProperty("requests");
        return stats.TryGetProperty("POST /v2/inference/{model}/{capability}", out var count) ? count.GetInt64() : 0;
    }

    [Fact]
    public async Task AClientCreatedThroughTheApi_SubmitsWithItsKey_AKeyRotationNeedsNoDowntime_AndARevokedKeyIsRefusedByBothReplicasWithin2s()
    {
        var (first, _) = await CreateClientAsync(new { name = "rotating", description = "a service whose key rotates" });
        Assert.Matches("^gk_[A-Za-z0-9_-]{43}$", first);
        using var firstOnA = Client(_a, first);
        using var firstOnB = Client(_b, first);
        var requestId = await firstOnB.SubmitAsync();
        Assert.Equal(HttpStatusCode.OK, (await firstOnA.GetAsync($"/v2/inference/requests/{requestId}/status")).StatusCode);

        using var issue = await _adminA.PostAsJsonAsync("/clients/rotating/keys", new { });
        Assert.Equal(HttpStatusCode.Created, issue.StatusCode);
        var issued = JsonDocument.Parse(await issue.Content.ReadAsStringAsync()).RootElement;
        var second = issued.GetProperty("key").GetString()!;
        using var secondOnA = Client(_a, second);
        using var secondOnB = Client(_b, second);
        await Eventually.ThatAsync(async () => (await secondOnB.GetAsync("/v2/inference/models")).IsSuccessStatusCode, 10, "the second key to work on B");
        Assert.Equal(HttpStatusCode.OK, (await firstOnB.GetAsync("/v2/inference/models")).StatusCode); // side by side
        var clients = JsonDocument.Parse(await _adminA.GetStringAsync("/clients/rotating")).RootElement;
        var firstKeyId = clients.GetProperty("keys")[0].GetProperty("key_id").GetString()!;

        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.NoContent, (await _adminA.DeleteAsync($"/clients/rotating/keys/{firstKeyId}")).StatusCode);
        await Eventually.ThatAsync(async () => (await firstOnA.GetAsync("/v2/inference/models")).StatusCode == HttpStatusCode.Unauthorized
            && (await firstOnB.GetAsync("/v2/inference/models")).StatusCode == HttpStatusCode.Unauthorized, 2, "both replicas to refuse the revoked key");
        output.WriteLine($"the revoked key was refused by both replicas {clock.Elapsed.TotalMilliseconds:0} ms after the revocation");

        Assert.Equal(HttpStatusCode.OK, (await secondOnA.GetAsync("/v2/inference/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await secondOnB.GetAsync("/v2/inference/models")).StatusCode);
        var audit = await _adminA.GetStringAsync("/audit?limit=10");
        Assert.Contains("\"key.revoked\"", audit);
        Assert.DoesNotContain(first, audit);
        Assert.DoesNotContain(second, audit);
    }

    [Fact]
    public async Task ADeletedClient_AndAnExpiredKey_AreRefusedByBothReplicas()
    {
        var (key, _) = await CreateClientAsync(new { name = "short-lived" });
        using var issue = await _adminA.PostAsJsonAsync("/clients/short-lived/keys", new { expires_at = DateTimeOffset.UtcNow.AddSeconds(2) });
        var expiring = JsonDocument.Parse(await issue.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetString()!;
        using var expiringOnB = Client(_b, expiring);
        await Eventually.ThatAsync(async () => (await expiringOnB.GetAsync("/v2/inference/models")).IsSuccessStatusCode, 10, "the expiring key to work on B");

        await Eventually.ThatAsync(async () => (await expiringOnB.GetAsync("/v2/inference/models")).StatusCode == HttpStatusCode.Unauthorized, 10, "the key to expire");
        var refused = await ProblemAssert.IsProblemAsync(await expiringOnB.GetAsync("/v2/inference/models"), HttpStatusCode.Unauthorized);
        Assert.Contains("expired", refused.GetProperty("detail").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await _adminA.DeleteAsync("/clients/short-lived")).StatusCode);
        using var keyOnA = Client(_a, key);
        using var keyOnB = Client(_b, key);
        await Eventually.ThatAsync(async () => (await keyOnA.GetAsync("/v2/inference/models")).StatusCode == HttpStatusCode.Unauthorized
            && (await keyOnB.GetAsync("/v2/inference/models")).StatusCode == HttpStatusCode.Unauthorized, 2, "both replicas to refuse the deleted client's key");
    }

    [Fact]
    public async Task AnEndpointOutsideAllowedEndpoints_Is403NamingIt_AndReachesNoOne()
    {
        var (key, _) = await CreateClientAsync(new { name = "sora-only", allowed_endpoints = new[] { "sora-2-pro/image-to-video" } });
        using var onB = Client(_b, key);
        await onB.SubmitAsync(endpointId: "sora-2-pro/image-to-video");
        var before = await SimulatorSubmitsAsync();

        var response = await onB.PostAsJsonAsync("/v2/inference/kling-v3-pro/image-to-video", new { input = new { prompt = "x" } });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("kling-v3-pro/image-to-video", problem.GetProperty("detail").GetString());
        Assert.Equal(before, await SimulatorSubmitsAsync());
    }

    [Fact]
    public async Task MaxInFlightOf2_RefusesTheThirdSubmitOnEitherReplica_UntilOneFinishes()
    {
        var (key, _) = await CreateClientAsync(new { name = "capped", quotas = new { max_in_flight = 2 } });
        using var onA = Client(_a, key);
        using var onB = Client(_b, key);
        var first = await onA.SubmitAsync();
        await onB.SubmitAsync();
        var before = await SimulatorSubmitsAsync();

        var refused = await onB.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "x" } });

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Contains("max_in_flight", problem.GetProperty("detail").GetString());
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(before, await SimulatorSubmitsAsync());
        Assert.Equal(HttpStatusCode.TooManyRequests, (await onA.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "x" } })).StatusCode);

        await CompleteAsync(first); // its callback ends it, and frees a slot
        await Eventually.ThatAsync(async () =>
        {
            using var retried = await onA.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "x" } });
            return retried.StatusCode == HttpStatusCode.Accepted;
        }, 20, "a slot to free once the first inference completed");
    }

    [Fact]
    public async Task DailySubmitsOf1_RefusesTheSecondSubmit_SayingWhenItFrees()
    {
        var (key, _) = await CreateClientAsync(new { name = "daily-one", quotas = new { daily_submits = 1 } });
        using var onA = Client(_a, key);
        using var onB = Client(_b, key);
        await onA.SubmitAsync();

        var refused = await onB.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "x" } });

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Contains("daily_submits", problem.GetProperty("detail").GetString());
        var untilMidnight = DateTime.UtcNow.Date.AddDays(1) - DateTime.UtcNow;
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, untilMidnight.TotalSeconds + 5);
    }

    [Fact]
    public async Task Usage_AfterAScriptedRunOnBothReplicas_MatchesWhatWasDone_NumberForNumber()
    {
        var (key, _) = await CreateClientAsync(new { name = "metered" });
        using var onA = Client(_a, key);
        using var onB = Client(_b, key);
        var requests = new List<string>
        {
            await onA.SubmitAsync(webhookUrl: _subscriber.Url("/metered")),
            await onB.SubmitAsync(webhookUrl: _subscriber.Url("/metered")),
            await onA.SubmitAsync(),
            await onB.SubmitAsync(endpointId: "kling-v3-pro/image-to-video"),
            await onA.SubmitAsync(endpointId: "kling-v3-pro/image-to-video"),
        };
        for (var i = 0; i < 4; i++)
        {
            (await (i % 2 == 0 ? onA : onB).GetAsync("/v2/inference/requests?limit=5")).EnsureSuccessStatusCode();
        }
        var upload = Multipart("a-video.mp4", new byte[10_000]);
        (await onB.PostAsync("/v2/videos", new ByteArrayContent(upload.Body) { Headers = { ContentType = upload.Type } })).EnsureSuccessStatusCode();
        foreach (var requestId in requests)
        {
            await CompleteAsync(requestId);
        }
        await _subscriber.WaitForAsync(2, path: "/metered");

        // Each replica adds what it counted every second: wait until every count has arrived.
        JsonElement totals = default;
        bool Counted(string kind, string by, long expected) =>
            totals.GetProperty(kind).TryGetProperty(by, out var count) && count.GetInt64() == expected;
        await Eventually.ThatAsync(async () =>
        {
            totals = JsonDocument.Parse(await onB.GetStringAsync("/clients/metered/usage")).RootElement.GetProperty("totals");
            return Counted("submits", "sora-2-pro/image-to-video", 3) && Counted("submits", "kling-v3-pro/image-to-video", 2)
                && Counted("ended", "COMPLETED", 5) && Counted("calls", "submit", 5) && Counted("calls", "list", 4)
                && Counted("calls", "video-upload", 1) && Counted("deliveries", "succeeded", 2) && totals.GetProperty("upload_bytes").GetInt64() > 0;
        }, 30, "the usage of the run to be counted");

        output.WriteLine(totals.ToString());
        Assert.Equal(3, totals.GetProperty("submits").GetProperty("sora-2-pro/image-to-video").GetInt64());
        Assert.Equal(2, totals.GetProperty("submits").GetProperty("kling-v3-pro/image-to-video").GetInt64());
        Assert.Equal(5, totals.GetProperty("ended").GetProperty("COMPLETED").GetInt64());
        Assert.Equal(25, totals.GetProperty("video_seconds").GetDouble()); // the simulator's videos last 5 s
        Assert.Equal(upload.Body.Length, totals.GetProperty("upload_bytes").GetInt64());
        Assert.Equal(5, totals.GetProperty("calls").GetProperty("submit").GetInt64());
        Assert.Equal(4, totals.GetProperty("calls").GetProperty("list").GetInt64());
        Assert.Equal(1, totals.GetProperty("calls").GetProperty("video-upload").GetInt64());
        Assert.Equal(3, totals.GetProperty("calls").EnumerateObject().Count());
        Assert.Equal(2, totals.GetProperty("deliveries").GetProperty("succeeded").GetInt64());

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, "/clients/metered/usage");
        csvRequest.Headers.Accept.ParseAdd("text/csv");
        using var csv = await onA.SendAsync(csvRequest);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("date,metric,key,value", lines[0]);
        Assert.Contains(lines, line => line.EndsWith(",submits,sora-2-pro/image-to-video,3", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.EndsWith(",video_seconds,,25", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANonAdminClient_CannotReadAnotherClientsUsage_NorManageClients_ButReadsItsOwn()
    {
        using var bob = Client(_b, TestClients.Bob.Key);
        var clientsBefore = await _adminA.GetStringAsync("/clients");

        await ProblemAssert.IsProblemAsync(await bob.GetAsync("/clients/alice/usage"), HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(await bob.GetAsync("/clients"), HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(await bob.PostAsJsonAsync("/clients", new { name = "sneaky", admin = true }), HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(await bob.PatchAsync("/clients/alice", JsonContent.Create(new { admin = true })), HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(await bob.DeleteAsync("/clients/alice"), HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(await bob.GetAsync("/audit"), HttpStatusCode.Forbidden);

        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync("/clients/bob/usage")).StatusCode);
        Assert.Equal(clientsBefore, await _adminA.GetStringAsync("/clients"));
    }

    private static (byte[] Body, MediaTypeHeaderValue Type) Multipart(string fileName, byte[] file)
    {
        const string boundary = "usage-test-boundary";
        var head = Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"video_name\"\r\n\r\nmetered\r\n" +
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{fileName}\"\r\nContent-Type: video/mp4\r\n\r\n");
        var tail = Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
        return ([.. head, .. file, .. tail], MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}"));
    }
}
