using Microsoft.AspNetCore.Http;

namespace Reka.Gateway.Tests.Proxy;

[Collection(ProxyCollection.Name)]
public sealed class UrlRewritingTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task SubmitAnswer_PointsAtTheGateway_NotAtUpstream()
    {
        var gateway = await Stack.StartGatewayAsync(("Gateway:PublicBaseUrl", "https://gateway.internal.example"));
        Upstream.Respond = async context =>
        {
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new
            {
                request_id = "r-9",
                status = "IN_QUEUE",
                status_url = $"{Upstream.BaseUrl}/v2/inference/requests/r-9/status",
                response_url = $"{Upstream.BaseUrl}/v2/inference/requests/r-9",
                cancel_url = $"{Upstream.BaseUrl}/v2/inference/requests/r-9/cancel?reason=x",
                note = $"{Upstream.BaseUrl}/left-alone",
            });
        };
        using var http = gateway.CreateClient(TestClients.Alice);

        var response = await http.PostAsync("/v2/inference/sora-2-pro/image-to-video", JsonContent.Create(new { input = new { prompt = "x" } }));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("https://gateway.internal.example/v2/inference/requests/r-9/status", body.GetProperty("status_url").GetString());
        Assert.Equal("https://gateway.internal.example/v2/inference/requests/r-9", body.GetProperty("response_url").GetString());
        Assert.Equal("https://gateway.internal.example/v2/inference/requests/r-9/cancel?reason=x", body.GetProperty("cancel_url").GetString());
        Assert.Equal($"{Upstream.BaseUrl}/left-alone", body.GetProperty("note").GetString());
        Assert.Equal("r-9", body.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task AWebhookUrlNamingTheGateway_IsAnsweredAsNull_SoTheCallbackTokenNeverReachesACaller()
    {
        var gateway = await Stack.StartGatewayAsync(("Gateway:PublicBaseUrl", "https://gateway.internal.example"));
        var requestId = $"req-{Guid.NewGuid():N}";
        Upstream.AcceptSubmitsAs(requestId);
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var ops = gateway.CreateClient(TestClients.Ops);
        await alice.SubmitAsync();
        var callback = JsonDocument.Parse(Upstream.Requests.Last(r => r.Method == "POST").Body).RootElement.GetProperty("webhook_url").GetString()!;
        Assert.StartsWith("https://gateway.internal.example/webhooks/inference?token=", callback);
        // As Reka might echo it: on the request, and on each item of a list.
        Upstream.Respond = context => context.Response.WriteAsJsonAsync(new
        {
            items = new object[]
            {
                new { request_id = requestId, status = "RUNNING", webhook_url = callback },
                new { request_id = "req-direct", status = "RUNNING", webhook_url = "https://hooks.example/theirs" },
            },
            next_offset = (int?)null,
            has_more = false,
            request_id = requestId,
            status = "RUNNING",
            webhook_url = callback,
        });

        var result = await alice.GetStringAsync($"/v2/inference/requests/{requestId}");
        var list = await ops.GetStringAsync("/v2/inference/requests");

        foreach (var body in new[] { result, list })
        {
            Assert.DoesNotContain("token=", body);
            var root = JsonDocument.Parse(body).RootElement;
            Assert.Equal(JsonValueKind.Null, root.GetProperty("webhook_url").ValueKind);
            Assert.Equal(JsonValueKind.Null, root.GetProperty("items")[0].GetProperty("webhook_url").ValueKind);
            Assert.Equal("https://hooks.example/theirs", root.GetProperty("items")[1].GetProperty("webhook_url").GetString());
        }
    }

    [Theory]
    [InlineData("application/json", null, true)]
    [InlineData("Application/JSON; charset=utf-8", null, true)]
    [InlineData("application/problem+json", null, true)]
    [InlineData("application/jsonl", null, false)]
    [InlineData("text/plain", null, false)]
    [InlineData("application/json", "br", false)]
    [InlineData("application/json", ",", true)] // a list of no encodings (RFC 9110 section 5.6.1 allows empty elements)
    public async Task UpstreamUrls_AreRewrittenInJsonAnswersOnly_OthersPassUntouched(string contentType, string? contentEncoding, bool rewritten)
    {
        var gateway = await Stack.StartGatewayAsync(("Gateway:PublicBaseUrl", "https://gateway.internal.example"));
        var body = $$"""{"status_url":"{{Upstream.BaseUrl}}/v2/inference/requests/r-9/status"}""";
        Upstream.Respond = context =>
        {
            context.Response.Headers.ContentType = contentType;
            if (contentEncoding is not null)
            {
                context.Response.Headers.Append("Content-Encoding", contentEncoding);
            }
            return context.Response.WriteAsync(body);
        };
        using var ops = gateway.CreateClient(TestClients.Ops); // an admin: any request may be cancelled

        var response = await ops.PostAsync("/v2/inference/requests/r-9/cancel", content: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = rewritten ? body.Replace(Upstream.BaseUrl, "https://gateway.internal.example") : body;
        Assert.Equal(expected, await response.Content.ReadAsStringAsync());
        Assert.Equal(contentType, response.Content.Headers.GetValues("Content-Type").Single());
    }

    [Fact]
    public async Task AnswerWithoutUpstreamUrls_IsRelayedByteForByte()
    {
        const string body = """{ "items" : [ {"request_id":"a","status":"COMPLETED"} ], "next_offset":null, "has_more":false }""";
        Upstream.Respond = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(body);
        };

        var response = await Ops.GetAsync("/v2/inference/requests"); // an admin's list is not filtered

        Assert.Equal(body, await response.Content.ReadAsStringAsync());
    }
}
