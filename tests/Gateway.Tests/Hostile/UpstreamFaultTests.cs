using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>A hostile stack whose status and submit routes time out after 1 s.</summary>
public sealed class ShortTimeoutStack : HostileStack
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Proxy:Routes:status:TimeoutSeconds", "1"),
        new("Proxy:Routes:submit:TimeoutSeconds", "1"),
    ];
}

/// <summary>
/// Reka down (nothing listens), silent past the route's timeout, and answering errors: the
/// gateway answers 502 and 504 as problem details with a detail, and passes Reka's own errors
/// through untouched (status, body, headers), never as problem details; no secret in any answer
/// or log line, no error-level log line.
/// </summary>
public sealed class UpstreamFaultTests(ShortTimeoutStack stack, ITestOutputHelper output) : IClassFixture<ShortTimeoutStack>
{
    private const string Submit = "/v2/inference/sora-2-pro/image-to-video";

    [Fact]
    public async Task RekaDown_Answers502ProblemDetails_OnEveryRoute()
    {
        var nobody = $"http://127.0.0.1:{FreePort.Next()}";
        await using var gateway = await GatewayHost.StartAsync(nobody, HostileStack.HostileSettings);
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var ops = gateway.CreateClient(TestClients.Ops);
        var calls = new (string Name, Func<Task<HttpResponseMessage>> Send)[]
        {
            ("Reka down: models", () => alice.GetAsync("/v2/inference/models")),
            ("Reka down: list", () => alice.GetAsync("/v2/inference/requests?limit=5")),
            ("Reka down: status", () => ops.GetAsync("/v2/inference/requests/req-1/status")),
            ("Reka down: submit", () => alice.PostAsJsonAsync(Submit, new { input = new { prompt = "x" } })),
            ("Reka down: forwarded GET", () => alice.GetAsync("/v2/videos")),
        };
        var secrets = new SecretScanner();
        foreach (var (name, send) in calls)
        {
            using var response = await send();
            var problem = await RecordAsync(name, response, secrets, fromReka: false);
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Contains("Could not reach upstream", problem!.Value.GetProperty("detail").GetString());
        }
        AssertQuiet(gateway, secrets);
    }

    [Fact]
    public async Task RekaSilentPastTheRouteTimeout_Answers504ProblemDetails_WhileRekaStillHoldsTheCall()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        stack.Reka.Respond = async context =>
        {
            await release.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await context.Response.WriteAsJsonAsync(new { ok = true });
        };
        try
        {
            using var ops = stack.CreateClient(Caller.Ops);
            using var alice = stack.CreateClient();
            foreach (var (name, send) in new (string, Func<Task<HttpResponseMessage>>)[]
            {
                ("Reka silent: status", () => ops.GetAsync("/v2/inference/requests/req-1/status")),
                ("Reka silent: submit", () => alice.PostAsJsonAsync(Submit, new { input = new { prompt = "x" } })),
            })
            {
                using var response = await send();
                var problem = await RecordAsync(name, response, stack.Secrets, fromReka: false);
                Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
                Assert.Contains("timeout of 1 s", problem!.Value.GetProperty("detail").GetString());
                Assert.False(release.Task.IsCompleted, "Reka was still holding the call when the gateway answered");
            }
        }
        finally
        {
            release.TrySetResult();
            stack.Reka.Respond = context => context.Response.WriteAsJsonAsync(new { ok = true });
        }
        Assert.Empty(stack.ScanLogs());
        stack.AssertNoErrorLogs();
    }

    [Theory]
    [InlineData(500, "server_error", "GET", "/v2/inference/models")]
    [InlineData(500, "server_error", "POST", Submit)]
    [InlineData(502, "bad_gateway", "GET", "/v2/videos")]
    [InlineData(503, "overloaded", "GET", "/v2/inference/requests?limit=5")]
    [InlineData(429, "rate_limit_error", "POST", Submit)]
    [InlineData(404, "not_found", "GET", "/v2/inference/requests/req-404")]
    [InlineData(409, "conflict", "POST", "/v2/inference/requests/req-409/cancel")]
    [InlineData(400, "validation_error", "POST", "/v2/inference/chat/completions")]
    public async Task RekaErrors_PassThroughUntouched(int status, string type, string method, string path)
    {
        var marker = Guid.NewGuid().ToString("N");
        var body = $$$"""{"error":{"type":"{{{type}}}","message":"Reka says no ({{{status}}})","param":null}}""";
        stack.Reka.Respond = async context =>
        {
            context.Response.StatusCode = status;
            context.Response.Headers["X-Request-ID"] = "reka-" + marker;
            context.Response.Headers["x-ratelimit-requests-remaining"] = "7";
            // A Retry-After longer than the gateway's retry delays: passed on, not waited for.
            context.Response.Headers.RetryAfter = "120";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body);
        };
        try
        {
            using var caller = stack.CreateClient(Caller.Ops);
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            request.Headers.Add(HostileStack.MarkerHeader, marker);
            if (method == "POST")
            {
                request.Content = JsonContent.Create(new { input = new { prompt = "x" }, model = "m", messages = Array.Empty<object>() });
            }
            using var response = await caller.SendAsync(request);
            await RecordAsync($"Reka answers {status} to {method} {path}", response, stack.Secrets, fromReka: true);

            Assert.Equal(status, (int)response.StatusCode);
            Assert.Equal(body, await response.Content.ReadAsStringAsync());
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("reka-" + marker, response.Headers.GetValues("X-Request-ID").Single());
            Assert.Equal("7", response.Headers.GetValues("x-ratelimit-requests-remaining").Single());
            Assert.Equal("120", response.Headers.GetValues("Retry-After").Single());
            Assert.NotEmpty(stack.RequestsOf(marker));
        }
        finally
        {
            stack.Reka.Respond = context => context.Response.WriteAsJsonAsync(new { ok = true });
        }
        Assert.Empty(stack.ScanLogs());
        stack.AssertNoErrorLogs();
    }

    // Records the answer in the figures (problem details checked for the gateway's own answers),
    // fails on a secret in it; returns the problem details, if any.
    private async Task<System.Text.Json.JsonElement?> RecordAsync(string name, HttpResponseMessage response, SecretScanner secrets, bool fromReka)
    {
        var body = await response.Content.ReadAsStringAsync();
        var text = $"{(int)response.StatusCode}\n{response.Headers}\n{response.Content.Headers}\n{body}";
        var leaks = secrets.Find(text, name);
        var problem = HostileStack.ProblemDetailsOf((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body);
        HostileFigures.Record(new CaseOutcome(HostileFigures.FaultsArea, name, (int)response.StatusCode, problem is not null, KestrelRefusal: false, fromReka, leaks.Count));
        output.WriteLine($"faults / {name}: {(int)response.StatusCode} {response.Content.Headers.ContentType?.MediaType}: {body}");
        Assert.True(leaks.Count == 0, string.Join("; ", leaks.Select(l => l.Description)));
        Assert.True(fromReka ? problem is null : problem is not null, $"{name}: {(fromReka ? "Reka's answer was rewritten as problem details" : "not problem details with a detail")}: {body}");
        return problem;
    }

    private static void AssertQuiet(GatewayHost gateway, SecretScanner secrets)
    {
        foreach (var entry in gateway.Logs.Entries)
        {
            var found = secrets.Find(entry.Message + entry.Exception, entry.Category);
            Assert.True(found.Count == 0, string.Join("; ", found.Select(f => f.Description)));
        }
        Assert.Empty(gateway.Logs.Errors);
    }
}
