using System.Net;
using System.Text;
using System.Text.Json;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Clients;

/// <summary>
/// <c>/clients</c> refuses bad input with 400 problem details naming the field and changes
/// nothing; clients of settings are not changed through it; a change is a merge patch.
/// </summary>
public sealed class ClientsApiTests : IAsyncLifetime
{
    private RecordingUpstream _upstream = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _ops = null!;

    public async Task InitializeAsync()
    {
        _upstream = await RecordingUpstream.StartAsync();
        _gateway = await GatewayHost.StartAsync(_upstream.BaseUrl);
        _ops = _gateway.CreateClient(TestClients.Ops);
    }

    public async Task DisposeAsync()
    {
        _ops.Dispose();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task<string> StateAsync() => await _ops.GetStringAsync("/clients") + await _ops.GetStringAsync("/audit");

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        _ops.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    public static TheoryData<string, string> BadCreates => new()
    {
        { """{"name":"svc","colour":"blue"}""", "colour" },
        { """{"name":"svc","quotas":{"max_in_flight":2,"burst":5}}""", "quotas.burst" },
        { """{"name":"svc","admin":"yes"}""", "admin" },
        { """{"name":"svc","rate_limit":5}""", "rate_limit" },
        { """{"name":"svc","allowed_endpoints":"sora-2-pro/image-to-video"}""", "allowed_endpoints" },
        { """{"name":"svc","quotas":{"max_in_flight":"two"}}""", "quotas.max_in_flight" },
        { """{"name":"svc/x"}""", "name" },
        { """{"name":"../admin"}""", "name" },
        { $$"""{"name":"{{new string('n', 10_240)}}"}""", "name" },
        { """{"name":""}""", "name" },
        { """{"admin":true}""", "name" },
        { """{"name":"svc","name":"other"}""", "name" },
        { """{"name":"svc","allowed_endpoints":["sora-2-pro"]}""", "allowed_endpoints" },
        { """{"name":"svc","allowed_endpoints":["a/b/c"]}""", "allowed_endpoints" },
        { """{"name":"svc","quotas":{"daily_submits":0}}""", "quotas" },
        { """{"name":"svc","rate_limit":{"permit_limit":0,"window_seconds":60}}""", "rate_limit" },
        { $$"""{"name":"svc","description":"{{new string('d', 501)}}"}""", "description" },
        { "[1,2]", "body" },
    };

    [Theory]
    [MemberData(nameof(BadCreates))]
    public async Task Create_WithBadInput_Returns400NamingTheField_AndChangesNothing(string body, string field)
    {
        var before = await StateAsync();

        var response = await PostAsync("/clients", body);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(field, problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task Create_WithANameTakenByAnotherClient_OrByAClientOfSettings_Returns409_AndChangesNothing()
    {
        Assert.Equal(HttpStatusCode.Created, (await PostAsync("/clients", """{"name":"twice"}""")).StatusCode);
        var before = await StateAsync();

        await ProblemAssert.IsProblemAsync(await PostAsync("/clients", """{"name":"twice","admin":true}"""), HttpStatusCode.Conflict);
        var settings = await ProblemAssert.IsProblemAsync(await PostAsync("/clients", """{"name":"alice"}"""), HttpStatusCode.Conflict);

        Assert.Contains("Clients:alice", settings.GetProperty("detail").GetString());
        Assert.Equal(before, await StateAsync());
    }

    public static TheoryData<string, string> BadPatches => new()
    {
        { """{"colour":"blue"}""", "colour" },
        { """{"name":"renamed"}""", "name" },
        { """{"admin":"yes"}""", "admin" },
        { """{"admin":null}""", "admin" },
        { """{"quotas":{"max_in_flight":-1}}""", "quotas" },
        { """{"quotas":{"max_in_flight":1,"unknown":2}}""", "quotas" },
        { """{"allowed_endpoints":[42]}""", "allowed_endpoints" },
        { """{"description":7}""", "description" },
        { """{"rate_limit":"fast"}""", "rate_limit" },
        { "[]", "body" },
    };

    [Theory]
    [MemberData(nameof(BadPatches))]
    public async Task Patch_WithBadInput_Returns400NamingTheField_AndChangesNothing(string body, string field)
    {
        await PostAsync("/clients", """{"name":"patched","quotas":{"max_in_flight":3}}""");
        var before = await StateAsync();

        var response = await _ops.PatchAsync("/clients/patched", new StringContent(body, Encoding.UTF8, "application/merge-patch+json"));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(field, problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task Patch_IsAMergePatch_AFieldReplaces_NullRemoves_AndTheRestStays()
    {
        await PostAsync("/clients", """{"name":"merged","description":"stays","quotas":{"max_in_flight":3},"allowed_endpoints":["sora-2-pro/image-to-video"]}""");

        using var patched = await _ops.PatchAsync("/clients/merged",
            new StringContent("""{"quotas":{"daily_submits":100},"allowed_endpoints":null,"admin":true}""", Encoding.UTF8, "application/merge-patch+json"));

        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var client = JsonDocument.Parse(await _ops.GetStringAsync("/clients/merged")).RootElement;
        Assert.Equal("stays", client.GetProperty("description").GetString());
        Assert.True(client.GetProperty("admin").GetBoolean());
        Assert.Equal(100, client.GetProperty("quotas").GetProperty("daily_submits").GetInt32());
        Assert.False(client.GetProperty("quotas").TryGetProperty("max_in_flight", out _), "the quotas were replaced whole");
        Assert.False(client.TryGetProperty("allowed_endpoints", out _), "null removed allowed_endpoints");
    }

    [Fact]
    public async Task ADeletedClientsName_IsNotTakenAgain_SinceItsRequestsAndUsageStayUnderIt()
    {
        Assert.Equal(HttpStatusCode.Created, (await PostAsync("/clients", """{"name":"short-shift"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _ops.DeleteAsync("/clients/short-shift")).StatusCode);
        var before = await StateAsync();

        var again = await PostAsync("/clients", """{"name":"short-shift","admin":true}""");

        var problem = await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Conflict);
        Assert.Contains("deleted client had the name 'short-shift'", problem.GetProperty("detail").GetString());
        Assert.Equal(before, await StateAsync());
        Assert.Equal(HttpStatusCode.Created, (await PostAsync("/clients", """{"name":"long-shift"}""")).StatusCode);
    }

    [Fact]
    public async Task AClientOfSettings_IsListed_ButNotChangedThroughTheApi()
    {
        var before = await StateAsync();

        var patch = await _ops.PatchAsync("/clients/alice", new StringContent("""{"admin":true}""", Encoding.UTF8, "application/json"));
        var delete = await _ops.DeleteAsync("/clients/alice");
        var key = await PostAsync("/clients/alice/keys", "{}");

        foreach (var response in new[] { patch, delete, key })
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
            Assert.Contains("settings", problem.GetProperty("detail").GetString());
        }
        var listed = JsonDocument.Parse(await _ops.GetStringAsync("/clients")).RootElement.EnumerateArray().Single(c => c.GetProperty("name").GetString() == "alice");
        Assert.Equal("settings", listed.GetProperty("source").GetString());
        Assert.Equal(before, await StateAsync());
    }

    [Theory]
    [InlineData("""{"expires_at":"2001-01-01T00:00:00Z"}""", "expires_at")]
    [InlineData("""{"expires_at":"tomorrow"}""", "expires_at")]
    [InlineData("""{"expires":"2099-01-01T00:00:00Z"}""", "expires")]
    public async Task IssueKey_WithBadInput_Returns400NamingTheField_AndChangesNothing(string body, string field)
    {
        await PostAsync("/clients", """{"name":"keyed"}""");
        var before = await StateAsync();

        var problem = await ProblemAssert.IsProblemAsync(await PostAsync("/clients/keyed/keys", body), HttpStatusCode.BadRequest);

        Assert.Contains(field, problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task RevokingAnUnknownKey_OrChangingAnUnknownClient_Returns404()
    {
        await PostAsync("/clients", """{"name":"known"}""");

        await ProblemAssert.IsProblemAsync(await _ops.DeleteAsync("/clients/known/keys/key_0000000000000000"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await _ops.DeleteAsync("/clients/unknown"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await _ops.PatchAsync("/clients/unknown", JsonContent.Create(new { admin = true })), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await PostAsync("/clients/unknown/keys", "{}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task EveryChange_IsAudited_WhoWhatWhen_WithoutAnyKeyOrSecret()
    {
        using var created = await PostAsync("/clients", """{"name":"audited","quotas":{"daily_submits":10}}""");
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var key = body.GetProperty("key").GetProperty("key").GetString()!;
        var secret = body.GetProperty("webhook_secret").GetString()!;
        using var issued = await PostAsync("/clients/audited/keys", "{}");
        var second = JsonDocument.Parse(await issued.Content.ReadAsStringAsync()).RootElement;
        await _ops.PatchAsync("/clients/audited", JsonContent.Create(new { description = "changed" }));
        await _ops.DeleteAsync($"/clients/audited/keys/{second.GetProperty("key_id").GetString()}");
        await _ops.DeleteAsync("/clients/audited");

        var audit = JsonDocument.Parse(await _ops.GetStringAsync("/audit?limit=5")).RootElement.EnumerateArray().ToList();

        Assert.Equal(["client.deleted", "key.revoked", "client.updated", "key.created", "client.created"], audit.Select(a => a.GetProperty("action").GetString()));
        Assert.All(audit, entry =>
        {
            Assert.Equal("ops", entry.GetProperty("actor").GetString());
            Assert.Equal("audited", entry.GetProperty("client").GetString());
            Assert.True(entry.GetProperty("at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
        });
        var text = string.Join('\n', audit.Select(a => a.ToString()));
        Assert.DoesNotContain(key, text);
        Assert.DoesNotContain(second.GetProperty("key").GetString()!, text);
        Assert.DoesNotContain(secret, text);
        Assert.Contains(second.GetProperty("key_id").GetString()!, text);
    }

    [Fact]
    public async Task WithRedisStopped_AReadSaysTheClientsCouldNotBeRead_AndACreateThatNothingWasStored()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(_upstream.BaseUrl, [new("Redis:Configuration", redis.Configuration)]);
        using var ops = gateway.CreateClient(TestClients.Ops);
        await redis.StopAsync();

        using var list = await ops.GetAsync("/clients");
        using var one = await ops.GetAsync("/clients/svc");
        using var create = await ops.PostAsync("/clients", new StringContent("""{"name":"svc"}""", Encoding.UTF8, "application/json"));

        foreach (var (read, what) in new[] { (list, "The clients could not be read."), (one, "The client could not be read.") })
        {
            var detail = (await ProblemAssert.IsProblemAsync(read, HttpStatusCode.ServiceUnavailable)).GetProperty("detail").GetString()!;
            Assert.StartsWith(what, detail, StringComparison.Ordinal);
            Assert.DoesNotContain("changed", detail, StringComparison.Ordinal);
            Assert.NotNull(read.Headers.RetryAfter);
        }
        var refused = (await ProblemAssert.IsProblemAsync(create, HttpStatusCode.ServiceUnavailable)).GetProperty("detail").GetString()!;
        Assert.StartsWith("The clients could not be changed; nothing was stored.", refused, StringComparison.Ordinal);
    }
}
