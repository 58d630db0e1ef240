using System.Diagnostics;
using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Reka.Gateway.Tests.Proxy;

[Collection(ProxyCollection.Name)]
public sealed class ForwardingTests(RecordingStack stack) : RecordingStackTests(stack)
{
    public static TheoryData<string, string, string?> Routes => new()
    {
        { "POST", "/v2/inference/sora-2-pro/image-to-video", """{"input":{"prompt":"a cat"}}""" },
        { "GET", "/v2/inference/requests?limit=10&offset=5&status=COMPLETED&expand=payloads", null },
        { "GET", "/v2/inference/requests/req-123/status?with_logs=true", null },
        { "GET", "/v2/inference/requests/req-123", null },
        { "POST", "/v2/inference/requests/req-123/cancel", null },
        { "GET", "/v2/inference/models", null },
        { "POST", "/v2/inference/chat/completions", """{"model":"qwen","messages":[{"role":"user","content":"hi"}]}""" },
        { "GET", "/v2/videos?limit=3", null },
        { "DELETE", "/v2/videos/vid-1", null },
        { "PATCH", "/v2/videos/vid-1", """{"title":"t"}""" },
        { "POST", "/v2/search", """{"query":"dogs"}""" },
        { "GET", "/v1/images/img-1", null },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Route_IsForwardedOnTheSamePath_WithTheTeamKeyAndNoneOfTheCallersCredentials(string method, string pathAndQuery, string? body)
    {
        // An admin client: status, result and cancel here name a request the gateway has no record of.
        using var request = new HttpRequestMessage(new HttpMethod(method), pathAndQuery);
        request.Headers.Add("Cookie", "session=caller-cookie");
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        var response = await Ops.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(Upstream.Requests);
        Assert.Equal(method, seen.Method);
        Assert.Equal(pathAndQuery, seen.PathAndQuery);
        Assert.Equal(TestClients.TeamKey, seen.Headers["X-Api-Key"]);
        Assert.False(seen.Headers.ContainsKey("Authorization"));
        Assert.False(seen.Headers.ContainsKey("Cookie"));
        Assert.DoesNotContain(seen.Headers.Keys, h => h.StartsWith("X-Forwarded", StringComparison.OrdinalIgnoreCase));
        if (body is null)
        {
            return;
        }
        var sent = JsonNode.Parse(seen.Body)!.AsObject();
        var original = JsonNode.Parse(body)!.AsObject();
        if (method == "POST" && pathAndQuery.StartsWith("/v2/inference/sora"))
        {
            // A submit leaves with the gateway's callback URL in place of any webhook_url.
            Assert.StartsWith($"{Gateway.BaseAddress.ToString().TrimEnd('/')}/webhooks/inference?token=", sent["webhook_url"]!.GetValue<string>());
            sent.Remove("webhook_url");
        }
        Assert.True(JsonNode.DeepEquals(original, sent), Encoding.UTF8.GetString(seen.Body));
    }

    [Fact]
    public async Task BearerCredentials_AreStripped_AndReplacedByTheTeamKey()
    {
        using var http = Gateway.CreateBearerClient(TestClients.Alice);

        await http.GetAsync("/v2/inference/requests");

        var seen = Assert.Single(Upstream.Requests);
        Assert.Equal(TestClients.TeamKey, seen.Headers["X-Api-Key"]);
        Assert.False(seen.Headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task WhatProxiesRecordedAboutTheCaller_DoesNotReachUpstream()
    {
        string[] names = ["Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix",
            "X-Forwarded-Scheme", "X-Forwarded-Server", "X-Forwarded-Ssl", "X-Forwarded-Uri", "X-Forwarded-Client-Cert", "X-Original-Forwarded-For", "X-Real-IP"];
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/inference/models");
        foreach (var name in names)
        {
            request.Headers.TryAddWithoutValidation(name, name == "Forwarded" ? "for=10.1.2.3;proto=https" : "10.1.2.3");
        }
        request.Headers.Add("X-Caller-Note", "kept");

        (await Alice.SendAsync(request)).EnsureSuccessStatusCode();

        var seen = Assert.Single(Upstream.Requests);
        Assert.Equal("kept", seen.Headers["X-Caller-Note"]);
        Assert.DoesNotContain(seen.Headers.Keys, h => names.Contains(h, StringComparer.OrdinalIgnoreCase));
        Assert.DoesNotContain("10.1.2.3", string.Concat(seen.Headers.Values), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("01")] // sampled
    [InlineData("00")] // not sampled
    public async Task CallersTraceParent_IsCarriedToUpstream_InTheSameTrace_WithTheCallersSamplingDecision(string flags)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/inference/models");
        request.Headers.Add("traceparent", $"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{flags}");

        await Alice.SendAsync(request);

        var sent = Assert.Single(Upstream.Requests).Headers["traceparent"].Split('-');
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", sent[1]);
        Assert.NotEqual("b7ad6b7169203331", sent[2]); // the gateway's own span is the parent now
        Assert.Equal(flags, sent[3]);
    }

    [Fact]
    public async Task UpstreamSpan_InATraceTheCallerDidNotSample_OnlyPropagates_InOneItSampled_HasItsTags()
    {
        const string NotSampled = "5bf92f3577b34da6a3ce929d0e0e4736", Sampled = "6bf92f3577b34da6a3ce929d0e0e4736";
        var stopped = new ConcurrentDictionary<string, (bool AllData, object? Url)>();
        // Asks for nothing itself (the source takes the most any listener asks): it only watches.
        using var watcher = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
            ActivityStopped = activity => stopped[activity.TraceId.ToHexString()] = (activity.IsAllDataRequested, activity.GetTagItem("url.full")),
        };
        ActivitySource.AddActivityListener(watcher);

        foreach (var (traceId, flags) in new[] { (NotSampled, "00"), (Sampled, "01") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/inference/models");
            request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-{flags}");
            (await Alice.SendAsync(request)).EnsureSuccessStatusCode();
        }
        await Eventually.ThatAsync(() => Task.FromResult(stopped.ContainsKey(NotSampled) && stopped.ContainsKey(Sampled)), 10,
            "HttpClient's spans of both upstream calls");

        Assert.Equal((false, null), stopped[NotSampled]);
        Assert.True(stopped[Sampled].AllData);
        Assert.NotNull(stopped[Sampled].Url);
    }

    [Fact]
    public async Task WithoutATraceParent_UpstreamGetsTheGatewaysOwnTrace()
    {
        await Alice.GetAsync("/v2/inference/models");

        var sent = Assert.Single(Upstream.Requests).Headers["traceparent"].Split('-');
        Assert.Equal(4, sent.Length);
        Assert.Matches("^[0-9a-f]{32}$", sent[1]);
        Assert.NotEqual(new string('0', 32), sent[1]);
    }

    [Fact]
    public async Task WaitOnResult_IsNotSentUpstream()
    {
        // An admin client: the gateway has no record of the request, so once the wait is over it asks upstream.
        var response = await Ops.GetAsync("/v2/inference/requests/req-123?wait=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/v2/inference/requests/req-123", Assert.Single(Upstream.Requests).PathAndQuery);
    }

    [Theory]
    [InlineData("GET", "/v2/inference/requests/req-123")]
    [InlineData("GET", "/v2/inference/requests/req-123/status")]
    [InlineData("POST", "/v2/inference/requests/req-123/cancel")]
    public async Task RequestTheGatewayHasNoRecordOf_Is404ForANonAdminClient_AndUpstreamIsNotCalled(string method, string path)
    {
        var response = await Alice.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Empty(Upstream.Requests);
    }
}
