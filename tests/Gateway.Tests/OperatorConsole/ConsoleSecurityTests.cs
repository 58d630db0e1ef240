using System.Net;
using System.Text.Json;
using Reka.Gateway.OperatorConsole;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.OperatorConsole;

/// <summary>
/// The console's security properties over HTTP: the session cookie's flags, antiforgery on forms
/// that change something, the Content-Security-Policy, sessions that end (sign-out, a revoked
/// key), ownership of requests, admin pages, and the key never in a page.
/// </summary>
public sealed class ConsoleSecurityTests : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _ops = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:QueueSeconds"] = "0",
            ["Simulator:RunSeconds"] = "0",
        });
        _gateway = await GatewayHost.StartAsync(_simulator.BaseUrl);
        _ops = _gateway.CreateClient(TestClients.Ops);
    }

    public async Task DisposeAsync()
    {
        _ops.Dispose();
        await _gateway.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private async Task<ConsoleHttp> SignedInAsync(TestClient client)
    {
        var console = new ConsoleHttp(_gateway);
        using var signedIn = await console.SignInAsync(client.Key);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        return console;
    }

    [Fact]
    public async Task SignIn_SetsAnHttpOnlySameSiteStrictCookie_ScopedToTheConsole_HoldingNoKey()
    {
        using var console = new ConsoleHttp(_gateway);

        using var signedIn = await console.SignInAsync(TestClients.Ops.Key);

        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/console/requests", signedIn.Headers.Location?.ToString());
        var setCookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("reka-console-session=", StringComparison.Ordinal));
        var attributes = setCookie.Split(';', StringSplitOptions.TrimEntries).Skip(1).Select(a => a.ToLowerInvariant()).ToArray();
        Assert.Contains("httponly", attributes);
        Assert.Contains("samesite=strict", attributes);
        Assert.Contains("path=/console", attributes);
        Assert.DoesNotContain("secure", attributes); // plain http here; see the Always test
        Assert.DoesNotContain(attributes, a => a.StartsWith("expires", StringComparison.Ordinal) || a.StartsWith("max-age", StringComparison.Ordinal));
        var id = console.Session!.Value;
        Assert.Matches("^[A-Za-z0-9_-]{43}$", id);
        Assert.DoesNotContain(TestClients.Ops.Key, setCookie);
        // The session in Redis holds the client and the key's hash, never the key; its key is not the cookie's id.
        var keys = await _gateway.RedisKeysAsync();
        var session = Assert.Single(keys, k => k.Contains("console-session", StringComparison.Ordinal));
        Assert.DoesNotContain(id, session);
        var redis = (Reka.Gateway.Infrastructure.Redis.RedisStore)_gateway.Services.GetService(typeof(Reka.Gateway.Infrastructure.Redis.RedisStore))!;
        var stored = await redis.Database.HashGetAllAsync(session);
        Assert.Equal(["client", "expires_at", "key_sha256"], stored.Select(e => (string)e.Name!).Order());
        Assert.DoesNotContain(stored, e => ((string)e.Value!).Contains(TestClients.Ops.Key, StringComparison.Ordinal));
        var ttl = await redis.Database.KeyTimeToLiveAsync(session);
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
    }

    [Fact]
    public async Task SecureCookieAlways_MarksTheSessionCookieSecure()
    {
        await using var gateway = await GatewayHost.StartAsync(_simulator.BaseUrl, [new("Console:SecureCookie", "Always")]);
        using var console = new ConsoleHttp(gateway);

        using var signedIn = await console.SignInAsync(TestClients.Ops.Key);

        var setCookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("reka-console-session=", StringComparison.Ordinal));
        Assert.Contains("secure", setCookie.Split(';', StringSplitOptions.TrimEntries).Select(a => a.ToLowerInvariant()));
    }

    [Fact]
    public async Task AWrongKey_IsRefusedWithoutASession_AndWithoutEchoingIt()
    {
        using var console = new ConsoleHttp(_gateway);

        using var refused = await console.SignInAsync("gk_not-a-key-of-this-gateway");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var html = await refused.Content.ReadAsStringAsync();
        Assert.Contains("not a valid gateway key", html);
        Assert.DoesNotContain("gk_not-a-key-of-this-gateway", html);
        Assert.Null(console.Session);
    }

    [Fact]
    public async Task Pages_WithoutASession_RedirectToSignIn_AndTheApiKeyDoesNotOpenThem()
    {
        using var console = new ConsoleHttp(_gateway);
        using var anonymous = await console.GetAsync("/console/requests?status=COMPLETED");
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.Equal("/console/sign-in?returnUrl=%2Fconsole%2Frequests%3Fstatus%3DCOMPLETED", anonymous.Headers.Location?.ToString());

        // The console has its own scheme: a gateway key in a header is no session.
        using var withKey = await console.GetWithKeyAsync("/console/requests", TestClients.Ops.Key);
        Assert.Equal(HttpStatusCode.Redirect, withKey.StatusCode);
        using var live = await console.GetWithKeyAsync("/console/live", TestClients.Ops.Key);
        Assert.Equal(HttpStatusCode.Unauthorized, live.StatusCode);
    }

    [Fact]
    public async Task APostWithoutItsAntiforgeryToken_ChangesNothing()
    {
        using var console = await SignedInAsync(TestClients.Ops);
        var form = new Dictionary<string, string> { ["url"] = "http://127.0.0.1:9/forged", ["description"] = "forged" };

        using var forged = await console.PostAsync("/console/subscriptions?handler=Create", form, tokenFrom: null);
        using var signOutForged = await console.PostAsync("/console/sign-out", [], tokenFrom: null);

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, signOutForged.StatusCode);
        Assert.Equal(0, JsonDocument.Parse(await _ops.GetStringAsync("/subscriptions")).RootElement.GetArrayLength());
        await console.PageAsync("/console/requests"); // still signed in
        // The same form with its token does what it says: the token is all that was missing.
        using var genuine = await console.PostAsync("/console/subscriptions?handler=Create", form, tokenFrom: "/console/subscriptions");
        Assert.Equal(HttpStatusCode.OK, genuine.StatusCode);
        Assert.Equal(1, JsonDocument.Parse(await _ops.GetStringAsync("/subscriptions")).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task EveryConsoleAnswer_CarriesTheContentSecurityPolicy_WithoutUnsafeInline()
    {
        using var console = await SignedInAsync(TestClients.Ops);

        foreach (var path in (string[])["/console/sign-in", "/console/requests", "/console/assets/console.js", "/console/no-such-page"])
        {
            using var response = await console.GetAsync(path);
            var policy = string.Join(",", response.Headers.GetValues("Content-Security-Policy"));
            var directives = policy.Split(';', StringSplitOptions.TrimEntries).ToDictionary(d => d.Split(' ')[0], d => d);
            Assert.Equal("script-src 'self'", directives["script-src"]);
            Assert.Equal("style-src 'self'", directives["style-src"]);
            Assert.Equal("frame-ancestors 'none'", directives["frame-ancestors"]);
            Assert.Equal("base-uri 'none'", directives["base-uri"]);
            Assert.Equal("form-action 'self'", directives["form-action"]);
            Assert.Contains("https:", directives["media-src"]);
            Assert.Contains("https:", directives["img-src"]);
            Assert.DoesNotContain("unsafe", policy);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        }
        using var notFound = await console.GetAsync("/console/no-such-page");
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("text/html", notFound.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task SignOut_EndsTheSession_TheOldCookieNoLongerWorks()
    {
        using var console = await SignedInAsync(TestClients.Ops);
        var cookie = console.Session!.Value;

        using var signedOut = await console.PostAsync("/console/sign-out", [], tokenFrom: "/console/requests");

        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.DoesNotContain(await _gateway.RedisKeysAsync(), k => k.Contains("console-session", StringComparison.Ordinal));
        using var replayed = new ConsoleHttp(_gateway);
        replayed.Cookies.Add(new Cookie("reka-console-session", cookie, "/console", _gateway.BaseAddress.Host));
        using var again = await replayed.GetAsync("/console/requests");
        Assert.Equal(HttpStatusCode.Redirect, again.StatusCode);
        Assert.StartsWith("/console/sign-in", again.Headers.Location?.ToString());
    }

    [Fact]
    public async Task RevokingTheKeyASessionWasOpenedWith_EndsTheSession()
    {
        using var created = await _ops.PostAsJsonAsync("/clients", new { name = "night-shift" });
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var key = body.GetProperty("key").GetProperty("key").GetString()!;
        var keyId = body.GetProperty("key").GetProperty("key_id").GetString()!;
        using var console = new ConsoleHttp(_gateway);
        using var signedIn = await console.SignInAsync(key);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        await console.PageAsync("/console/requests");

        Assert.Equal(HttpStatusCode.NoContent, (await _ops.DeleteAsync($"/clients/night-shift/keys/{keyId}")).StatusCode);

        using var after = await console.GetAsync("/console/requests");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Contains("reason=revoked", after.Headers.Location?.ToString());
    }

    [Fact]
    public async Task AnAdminMadeOrdinary_HasItsLiveStreamEnded_CarryingNoLaterEventOfAnotherClient()
    {
        using var created = await _ops.PostAsJsonAsync("/clients", new { name = "demoted-admin", admin = true });
        var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetProperty("key").GetString()!;
        using var demoted = await SignedInAsync(new TestClient("demoted-admin", key));
        using var ops = await SignedInAsync(TestClients.Ops);
        using var demotedLive = await demoted.GetStreamingAsync(ConsoleSetup.LivePath);
        using var opsLive = await ops.GetStreamingAsync(ConsoleSetup.LivePath);
        using var demotedStream = new StreamReader(await demotedLive.Content.ReadAsStreamAsync());
        using var opsStream = new StreamReader(await opsLive.Content.ReadAsStreamAsync());
        Assert.Equal("event: ping", await demotedStream.ReadLineAsync());
        Assert.Equal("event: ping", await opsStream.ReadLineAsync());

        using var patched = await _ops.PatchAsJsonAsync("/clients/demoted-admin", new { admin = false });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        using var alice = _gateway.CreateClient(TestClients.Alice);
        var requestId = await alice.SubmitAsync();

        // Another admin's stream carried alice's request; the demoted one's ended without it.
        string? line;
        do
        {
            line = await opsStream.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        while (line is not null && !line.Contains(requestId));
        Assert.NotNull(line);
        var rest = await demotedStream.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.DoesNotContain(requestId, rest);
    }

    [Fact]
    public async Task AnOrdinaryClient_SeesNeitherAnotherClientsRequest_NorAdminPages()
    {
        var theirs = await _ops.SubmitAsync();
        using var alice = _gateway.CreateClient(TestClients.Alice);
        var mine = await alice.SubmitAsync();
        using var console = await SignedInAsync(TestClients.Alice);

        using var page = await console.GetAsync($"/console/requests/{theirs}");
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains($"There is no request &#x27;{theirs}&#x27; among alice&#x27;s requests", html);
        Assert.DoesNotContain("a red fox in snow", html);
        await ProblemAssert.IsProblemAsync(await alice.GetAsync($"/v2/inference/requests/{theirs}"), HttpStatusCode.NotFound);
        var list = await console.PageAsync("/console/requests");
        Assert.Contains(mine, list);
        Assert.DoesNotContain(theirs, list);
        Assert.Contains(mine, await console.PageAsync($"/console/requests/{mine}"));

        foreach (var admin in (string[])["/console/subscriptions", "/console/clients", "/console/health", "/console/clients/ops"])
        {
            using var refused = await console.GetAsync(admin);
            Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
            Assert.StartsWith("/console/forbidden", refused.Headers.Location?.ToString());
        }
        using var forbidden = await console.GetAsync("/console/forbidden?path=/console/clients");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("alice", await console.PageAsync("/console/clients/alice"));
    }

    [Fact]
    public async Task AnOrdinaryClient_PostingTheClientPagesForms_ChangesNeitherItselfNorAnotherClient()
    {
        async Task<(string Key, string KeyId)> CreateAsync(string name)
        {
            using var created = await _ops.PostAsJsonAsync("/clients", new { name, quotas = new { max_in_flight = 2 } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("key");
            return (key.GetProperty("key").GetString()!, key.GetProperty("key_id").GetString()!);
        }
        Task<string> ReadAsync(string name) => _ops.GetStringAsync($"/clients/{name}");
        var (owlKey, owlKeyId) = await CreateAsync("night-owl");
        var (_, birdKeyId) = await CreateAsync("day-bird");
        var before = (Owl: await ReadAsync("night-owl"), Bird: await ReadAsync("day-bird"));
        using var console = new ConsoleHttp(_gateway);
        Assert.Equal(HttpStatusCode.Redirect, (await console.SignInAsync(owlKey)).StatusCode);

        static (string Handler, KeyValuePair<string, string>[] Fields)[] Forms(string keyId) =>
            [("Quotas", [new("maxInFlight", "1")]), ("Revoke", [new("keyId", keyId)]), ("Issue", []), ("Delete", [])];

        // The forms are not shown to it; posted anyway, each with a genuine antiforgery token.
        foreach (var (handler, fields) in Forms(owlKeyId))
        {
            using var own = await console.PostAsync($"/console/clients/night-owl?handler={handler}", fields, tokenFrom: "/console/clients/night-owl");
            Assert.Equal(HttpStatusCode.Forbidden, own.StatusCode);
            var html = await own.Content.ReadAsStringAsync();
            Assert.Contains("may not manage clients", html);
            Assert.DoesNotContain("gk_", html); // no key issued, so none shown
        }
        foreach (var (handler, fields) in Forms(birdKeyId))
        {
            using var others = await console.PostAsync($"/console/clients/day-bird?handler={handler}", fields, tokenFrom: "/console/clients/night-owl");
            Assert.Equal(HttpStatusCode.Redirect, others.StatusCode);
            Assert.StartsWith("/console/forbidden", others.Headers.Location?.ToString());
        }

        Assert.Equal(before, (await ReadAsync("night-owl"), await ReadAsync("day-bird")));
        var audit = JsonDocument.Parse(await _ops.GetStringAsync("/audit")).RootElement.EnumerateArray();
        Assert.DoesNotContain(audit, entry => entry.GetProperty("actor").GetString() == "night-owl");
    }

    [Fact]
    public async Task ConsolePages_CountAgainstTheClientsRateLimit_AsItsApiCallsDo()
    {
        using var created = await _ops.PostAsJsonAsync("/clients", new { name = "page-turner", rate_limit = new { permit_limit = 3, window_seconds = 3600 } });
        var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetProperty("key").GetString()!;
        using var console = new ConsoleHttp(_gateway);
        Assert.Equal(HttpStatusCode.Redirect, (await console.SignInAsync(key)).StatusCode); // the sign-in page is not limited

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var page = await console.GetAsync($"/console/requests?offset={i}");
            statuses.Add(page.StatusCode);
            if (page.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var problem = await ProblemAssert.IsProblemAsync(page, HttpStatusCode.TooManyRequests);
                Assert.Contains("'page-turner' exceeded its limit of 3 requests per 3600 s", problem.GetProperty("detail").GetString());
            }
        }

        // 3 a window: at least 2 of the 8 refused even if a window ended between them.
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.TooManyRequests), 2, 5);
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"answered {(int)s}"));
    }

    [Fact]
    public async Task NoPage_HoldsTheKey()
    {
        var requestId = await _ops.SubmitAsync();
        var (subscription, _) = await _ops.SubscribeAsync("http://127.0.0.1:9/hooks");
        using var console = await SignedInAsync(TestClients.Ops);

        foreach (var path in (string[])["/console/requests", $"/console/requests/{requestId}", "/console/subscriptions", $"/console/subscriptions/{subscription}",
            "/console/clients", "/console/clients/ops", "/console/health", "/console/event-types", "/console/assets/console.js"])
        {
            var html = await console.PageAsync(path);
            Assert.DoesNotContain(TestClients.Ops.Key, html);
            Assert.DoesNotContain(Reka.Gateway.Clients.ClientKeys.Hash(TestClients.Ops.Key), html);
        }
    }
}
