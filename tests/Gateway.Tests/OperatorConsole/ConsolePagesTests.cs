using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using Reka.Gateway.Events;
using Reka.Gateway.OperatorConsole;
using Reka.Gateway.Tests.Support;
using Xunit.Abstractions;
using Xunit.Sdk;
using static Microsoft.Playwright.Assertions;

namespace Reka.Gateway.Tests.OperatorConsole;

/// <summary>
/// Every page in a real browser, as an admin and as an ordinary client: what each shows, a
/// screenshot of each, labelled controls, keyboard use, phone width, and the key nowhere in
/// the page, its storage or its URLs.
/// </summary>
[Collection(ConsoleBrowserCollection.Name)]
public sealed class ConsolePagesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ConsoleBrowser _console = null!;

    public async Task InitializeAsync() => _console = await ConsoleBrowser.StartAsync(output);

    public async Task DisposeAsync() => await _console.DisposeAsync();

    // Every visible form control has an accessible name from a label (or aria-label).
    private const string UnlabelledControls = """
        () => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(c => c.labels.length === 0 && !c.getAttribute('aria-label'))
            .map(c => c.outerHTML)
        """;

    private static async Task AssertKeyNowhereAsync(IPage page, string key)
    {
        Assert.DoesNotContain(key, await page.ContentAsync());
        Assert.DoesNotContain(key, page.Url);
        var storage = await page.EvaluateAsync<string>("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])");
        Assert.DoesNotContain(key, storage);
        foreach (var cookie in await page.Context.CookiesAsync())
        {
            Assert.DoesNotContain(key, cookie.Value);
        }
    }

    [Fact]
    public async Task AnAdmin_AddsAClient_WhoseUsageIsCharted_AndSeesHealthAndEventTypes_KeyboardAndPhoneReady()
    {
        var page = await _console.NewPageAsync();
        var visited = new List<string>();
        page.Request += (_, request) => visited.Add(request.Url);
        try
        {
            // Sign in with the keyboard alone: the key field has the focus, Enter submits.
            await page.GotoAsync(_console.Url("/console/sign-in"));
            await _console.ScreenshotAsync(page, "sign-in");
            await Expect(page.GetByLabel("Gateway key")).ToBeFocusedAsync();
            await page.Keyboard.TypeAsync(TestClients.Ops.Key);
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync("ops");
            await AssertKeyNowhereAsync(page, TestClients.Ops.Key);
            // The session cookie as the browser holds it.
            var session = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "reka-console-session");
            Assert.True(session.HttpOnly, "HttpOnly");
            Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
            Assert.Equal("/console", session.Path);
            Assert.False(session.Secure, "Secure over plain http");
            Assert.Equal(-1, session.Expires); // a browser-session cookie: the session's end is kept in Redis
            Assert.Null(await page.EvaluateAsync<string?>("() => document.cookie.match(/reka-console-session/)?.[0] ?? null"));
            // The skip link is the first stop of the keyboard.
            await page.Keyboard.PressAsync("Tab");
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" })).ToBeFocusedAsync();

            // A form whose antiforgery token was taken out is refused and changes nothing.
            await page.GetByRole(AriaRole.Link, new() { Name = "Clients" }).ClickAsync();
            await page.GetByLabel("Name", new() { Exact = true }).FillAsync("forged");
            await page.EvaluateAsync("() => document.querySelectorAll('input[name=__RequestVerificationToken]').forEach(i => i.remove())");
            var refused = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Add client" }).ClickAsync(),
                response => response.Request.Method == "POST");
            Assert.Equal(400, refused.Status);
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("nothing was changed");
            await _console.ScreenshotAsync(page, "form-refused");
            using (var admin = _console.Gateway.CreateClient(TestClients.Ops))
            {
                Assert.Equal(System.Net.HttpStatusCode.NotFound, (await admin.GetAsync("/clients/forged")).StatusCode);
            }

            // Add a client; its key is shown once, and works on the API.
            await page.GotoAsync(_console.Url("/console/clients"));
            await page.GetByLabel("Name", new() { Exact = true }).FillAsync("video-pipeline");
            await page.GetByLabel("Daily submits").FillAsync("500");
            await page.GetByRole(AriaRole.Button, new() { Name = "Add client" }).ClickAsync();
            var key = (await page.GetByTestId("issued-key").InnerTextAsync()).Trim();
            Assert.StartsWith("gk_", key);
            await Expect(page.Locator("tr[data-client=\"video-pipeline\"]")).ToContainTextAsync("500 a day");
            await _console.ScreenshotAsync(page, "clients");
            Assert.Empty(await page.EvaluateAsync<string[]>(UnlabelledControls));
            await page.ReloadAsync();
            Assert.DoesNotContain(key, await page.ContentAsync());

            using var pipeline = _console.Gateway.CreateClient(new TestClient("video-pipeline", key));
            var requestId = await pipeline.SubmitAsync();
            await _console.CompleteAsync(requestId);
            using var ops = _console.Gateway.CreateClient(TestClients.Ops);
            // The end is counted at once, the submit within Usage:FlushSeconds.
            await Eventually.ThatAsync(async () => (await ops.GetStringAsync("/clients/video-pipeline/usage")) is var usage
                && usage.Contains("\"COMPLETED\":1") && usage.Contains("\"sora-2-pro/image-to-video\":1"), 20, "the usage to count the submit and its end");

            await page.GetByRole(AriaRole.Link, new() { Name = "video-pipeline" }).ClickAsync();
            await Expect(page.GetByTestId("total-submits")).ToHaveTextAsync("1");
            await Expect(page.Locator("canvas[data-chart=\"submits\"]")).ToHaveAttributeAsync("data-drawn", "true");
            await Expect(page.Locator("canvas[data-chart]")).ToHaveCountAsync(4);
            await Expect(page.Locator("tr[data-key-id]")).ToHaveCountAsync(1);
            Assert.Empty(await page.EvaluateAsync<string[]>(UnlabelledControls));
            await _console.ScreenshotAsync(page, "client-usage");

            // Health: both dependencies reachable, the four queues, and last hour's figures once counted.
            await ops.GetStringAsync($"/v2/inference/requests/{requestId}"); // a cache hit, counted in the last hour
            await page.GetByRole(AriaRole.Link, new() { Name = "Health" }).ClickAsync();
            await Expect(page.GetByTestId("redis")).ToContainTextAsync("REACHABLE");
            await Expect(page.GetByTestId("upstream")).ToContainTextAsync("answered 200");
            await Expect(page.Locator("tr[data-queue]")).ToHaveCountAsync(4);
            // Counted on this replica, in Redis within 5 s, on the page at its next refresh (5 s).
            await Expect(page.GetByTestId("cache-hit-ratio").Locator(".figure")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+(\.\d)? %$"), new() { Timeout = 20_000 });
            await Expect(page.GetByTestId("delivery-success-rate").Locator(".figure")).ToHaveTextAsync("no data");
            await _console.ScreenshotAsync(page, "health");

            // Event types: the three samples.
            await page.GetByRole(AriaRole.Link, new() { Name = "Event types" }).ClickAsync();
            await Expect(page.Locator("[data-event-type]")).ToHaveCountAsync(3);
            await _console.ScreenshotAsync(page, "event-types");

            // A phone-width screen: nothing wider than it but the tables, which scroll in their frame.
            await page.SetViewportSizeAsync(390, 844);
            foreach (var path in (string[])["/console/requests", $"/console/requests/{requestId}", "/console/subscriptions", "/console/clients/video-pipeline", "/console/health"])
            {
                await page.GotoAsync(_console.Url(path));
                var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
                Assert.True(overflow <= 0, $"{path} is {overflow} px wider than a 390 px screen");
            }
            await _console.ScreenshotAsync(page, "health-phone");

            await AssertKeyNowhereAsync(page, TestClients.Ops.Key);
            Assert.DoesNotContain(visited, url => url.Contains(TestClients.Ops.Key, StringComparison.Ordinal));
            Assert.Empty(_console.PageErrors);
        }
        catch
        {
            await _console.SaveForDiagnosisAsync(page, "pages");
            throw;
        }
    }

    [Fact]
    public async Task AnOrdinaryClient_SeesItsOwnRequestsAndUsage_NotAnotherClientsRequest()
    {
        using var ops = _console.Gateway.CreateClient(TestClients.Ops);
        using var alice = _console.Gateway.CreateClient(TestClients.Alice);
        var theirs = await ops.SubmitAsync();
        var mine = await alice.SubmitAsync();
        var page = await _console.NewPageAsync();
        try
        {
            await _console.SignInAsync(page, TestClients.Alice);
            await Expect(page.Locator($"tr[data-request-id=\"{mine}\"]")).ToHaveCountAsync(1);
            await Expect(page.Locator($"tr[data-request-id=\"{theirs}\"]")).ToHaveCountAsync(0);
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Subscriptions" })).ToHaveCountAsync(0);

            var response = await page.GotoAsync(_console.Url($"/console/requests/{theirs}"));
            Assert.Equal(404, response!.Status);
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync($"There is no request '{theirs}' among alice's requests");
            await _console.ScreenshotAsync(page, "request-not-found");
            await ProblemAssert.IsProblemAsync(await alice.GetAsync($"/v2/inference/requests/{theirs}"), System.Net.HttpStatusCode.NotFound);

            await page.GetByRole(AriaRole.Link, new() { Name = "Usage" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(_console.Url("/console/clients/alice"));
            await Expect(page.Locator("h1")).ToContainTextAsync("alice");
            await Expect(page.Locator("tr[data-key-id]")).ToHaveCountAsync(0);

            var admin = await page.GotoAsync(_console.Url("/console/subscriptions"));
            Assert.Equal(403, admin!.Status);
            await Expect(page.Locator("h1")).ToHaveTextAsync("Not for this client");
            await AssertKeyNowhereAsync(page, TestClients.Alice.Key);
            Assert.Empty(_console.PageErrors);
        }
        catch
        {
            await _console.SaveForDiagnosisAsync(page, "ordinary-client");
            throw;
        }
    }

    [Fact]
    public async Task EventTypeSamples_AreRealEvents_SignedAsDeliveriesAre_TheLibrariesVerifyThemAsShown_AndTheDocumentHasTheirWebhooks()
    {
        Assert.Equal(["inference.completed", "inference.failed", "inference.cancelled"], WebhookSamples.All.Select(s => s.Type));
        var eventFields = typeof(InferenceEvent).GetConstructors().Single().GetParameters()
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name!)).ToArray();
        Assert.Equal(eventFields.Order(), WebhookSamples.Fields.Keys.Order());
        var key = Convert.FromBase64String(WebhookSamples.SampleSecret["whsec_".Length..]);
        foreach (var sample in WebhookSamples.All)
        {
            var e = JsonSerializer.Deserialize<InferenceEvent>(sample.Body, InferenceEvent.Json)!;
            Assert.Equal(sample.Type, e.Type);
            Assert.Equal(InferenceEvent.IdFor(e.RequestId, e.Status), e.Id);
            Assert.Equal(eventFields.Order(), JsonDocument.Parse(sample.Body).RootElement.EnumerateObject().Select(p => p.Name).Order());
            // The Standard Webhooks signature, computed here independently of the gateway's signer.
            var signed = $"{sample.Headers["webhook-id"]}.{sample.Headers["webhook-timestamp"]}.{sample.Body}";
            Assert.Equal("v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(signed))), sample.Headers["webhook-signature"]);
        }
        var completed = JsonDocument.Parse(WebhookSamples.All[0].Body).RootElement;
        Assert.StartsWith("https://", completed.GetProperty("result").GetProperty("output").GetProperty("video_url").GetString());

        var page = await _console.NewPageAsync();
        await _console.SignInAsync(page, TestClients.Bob);
        await page.GotoAsync(_console.Url("/console/event-types"));
        var shown = await page.Locator("[data-event-type=\"inference.completed\"] [data-sample-body]").InnerTextAsync();
        Assert.Equal(WebhookSamples.All[0].Body, shown.Trim());
        await Expect(page.GetByText("npm install standardwebhooks")).ToBeVisibleAsync();
        await Expect(page.GetByText("pip install standardwebhooks")).ToBeVisibleAsync();
        await Expect(page.GetByText("dotnet add package StandardWebhooks")).ToBeVisibleAsync();

        // Each sample as the page shows it (headers, body and sample secret read off the page) verifies with
        // the npm standardwebhooks and svix libraries, their clock set to the sample's webhook-timestamp.
        var secret = (await page.Locator("[data-sample-secret]").InnerTextAsync()).Trim();
        var shownSamples = new List<(Dictionary<string, string> Headers, string Body)>();
        foreach (var section in await page.Locator("section[data-event-type]").AllAsync())
        {
            var headers = (await section.Locator("[data-sample-headers]").InnerTextAsync())
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.Split(": ", 2))
                .ToDictionary(pair => pair[0], pair => pair[1]);
            var body = (await section.Locator("[data-sample-body]").InnerTextAsync()).Trim();
            var at = long.Parse(headers["webhook-timestamp"], CultureInfo.InvariantCulture);
            var (standard, svix) = await WebhookVerifier.VerifyAsync(headers, body, secret, at);
            Assert.Equal(headers["webhook-id"], standard);
            Assert.Equal(headers["webhook-id"], svix);
            shownSamples.Add((headers, body));
        }
        Assert.Equal(WebhookSamples.All.Count, shownSamples.Count);
        // The libraries do check the signature at that clock: one sample's headers over another's body fail.
        await Assert.ThrowsAnyAsync<XunitException>(() => WebhookVerifier.VerifyAsync(shownSamples[0].Headers, shownSamples[1].Body, secret,
            long.Parse(shownSamples[0].Headers["webhook-timestamp"], CultureInfo.InvariantCulture)));

        // The page points at the OpenAPI document, whose webhooks are these event types and which leaves the console out.
        var documentPath = await page.Locator("a[data-openapi-link][href$='.json']").GetAttributeAsync("href");
        var answer = await page.APIRequest.GetAsync(_console.Url(documentPath!));
        Assert.Equal(200, answer.Status);
        using var document = JsonDocument.Parse(await answer.TextAsync());
        Assert.Equal(WebhookSamples.All.Select(s => s.Type).Order(),
            document.RootElement.GetProperty("webhooks").EnumerateObject().Select(w => w.Name).Order());
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/v2/inference/requests", paths);
        Assert.DoesNotContain(paths, path => path.StartsWith("/console", StringComparison.OrdinalIgnoreCase));
        Assert.Empty(_console.PageErrors);
    }
}
