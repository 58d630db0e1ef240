using Xunit.Abstractions;
using static Reka.Gateway.Tests.Hostile.HostileCase;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// Host, X-Forwarded-Host, X-Forwarded-Proto, Forwarded and URL-override headers from a caller
/// who wants the gateway to write URLs naming another host: the callback URL it gives Reka and
/// the URLs it rewrites in Reka's answers stay on <c>Gateway:PublicBaseUrl</c>, and override
/// headers change neither the path nor the method that reach Reka.
/// </summary>
public sealed class SpoofedHeaderCases(HostileStack stack, ITestOutputHelper output) : IClassFixture<HostileStack>
{
    private const string Submit = "/v2/inference/sora-2-pro/image-to-video";
    private const string Evil = "evil.example";

    public static TheoryData<string> Names => [.. All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Case(string name) => stack.RunAsync("protocol", All.Single(c => c.Name == name), output);

    private static HostileCase Spoofed(string name, params (string Name, string Value)[] headers) =>
        Post($"submit with {name}", Submit, """{"input":{"prompt":"x"},"webhook_url":"http://127.0.0.1:9/own"}""") with
        {
            Status = 202, ReachesReka = true, Headers = [.. headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value))],
            Also = UrlsOnPublicBase,
        };

    // The callback URL sent to Reka and the URLs rewritten in the answer name the same base, the
    // gateway's public one (http://127.0.0.1:<gateway port>), never the spoofed host or scheme.
    private static void UrlsOnPublicBase(HostileAnswer answer, IReadOnlyList<RecordedRequest> reached)
    {
        var sent = JsonDocument.Parse(Assert.Single(reached).Body).RootElement;
        var callback = new Uri(sent.GetProperty("webhook_url").GetString()!);
        Assert.Equal("http", callback.Scheme);
        Assert.Equal("127.0.0.1", callback.Host);
        Assert.Equal("/webhooks/inference", callback.AbsolutePath);
        foreach (var field in new[] { "status_url", "response_url", "cancel_url" })
        {
            var url = new Uri(answer.Json.GetProperty(field).GetString()!);
            Assert.Equal(callback.GetLeftPart(UriPartial.Authority), url.GetLeftPart(UriPartial.Authority));
            Assert.StartsWith("/v2/inference/requests/", url.AbsolutePath);
        }
        Assert.DoesNotContain(Evil, answer.Body + answer.Headers, StringComparison.Ordinal);
    }

    private static readonly HostileCase[] All =
    [
        Spoofed("Host: evil.example", ("Host", Evil)),
        Spoofed("Host: evil.example:443", ("Host", Evil + ":443")),
        Spoofed("X-Forwarded-Host and X-Forwarded-Proto", ("X-Forwarded-Host", Evil), ("X-Forwarded-Proto", "https")),
        Spoofed("X-Forwarded-Host with a port and X-Forwarded-Port", ("X-Forwarded-Host", Evil + ":8443"), ("X-Forwarded-Port", "8443")),
        Spoofed("Forwarded: host and proto", ("Forwarded", $"for=10.0.0.1;host={Evil};proto=https")),
        Spoofed("X-Forwarded-Prefix", ("X-Forwarded-Prefix", "/evil")),
        Spoofed("X-Original-Host and X-Host", ("X-Original-Host", Evil), ("X-Host", Evil)),
        Spoofed("every one of them at once", ("Host", Evil), ("X-Forwarded-Host", Evil), ("X-Forwarded-Proto", "https"), ("Forwarded", $"host={Evil}"), ("X-Forwarded-Prefix", "/evil")),
        Get("X-Original-URL and X-Rewrite-URL change no path", "/v2/inference/models") with
        {
            Status = 200, ReachesReka = true, Headers = [new("X-Original-URL", "/clients"), new("X-Rewrite-URL", "/audit")],
            Also = (_, reached) => Assert.Equal("/v2/inference/models", Assert.Single(reached).PathAndQuery),
        },
        Get("X-HTTP-Method-Override changes no method, and does not reach Reka", "/v2/videos/v1") with
        {
            Status = 200, ReachesReka = true,
            Headers = [new("X-HTTP-Method-Override", "DELETE"), new("X-HTTP-Method", "DELETE"), new("X-Method-Override", "DELETE")],
            Also = (_, reached) =>
            {
                var seen = Assert.Single(reached);
                Assert.Equal("GET", seen.Method);
                Assert.DoesNotContain(seen.Headers.Keys, h => h.Contains("Method", StringComparison.OrdinalIgnoreCase));
            },
        },
        Get("Host: evil.example on a forwarded DELETE: Reka gets its own host", "/v2/videos/v1") with
        {
            Method = "DELETE", Status = 200, ReachesReka = true, Headers = [new("Host", Evil)],
            Also = (_, reached) => Assert.DoesNotContain(Evil, Assert.Single(reached).Headers["Host"], StringComparison.Ordinal),
        },
        Get("Host: evil.example on the gateway's own 404", "/nowhere") with
        {
            Status = 404, Headers = [new("Host", Evil)],
            Also = (answer, _) => Assert.DoesNotContain(Evil, answer.Body, StringComparison.Ordinal),
        },
        Post("Host: evil.example on a new subscription: its Location stays relative", "/subscriptions", """{"url":"http://127.0.0.1:9/spoofed"}""") with
        {
            Caller = Caller.Ops, Status = 201, Reveals = true, Headers = [new("Host", Evil), new("X-Forwarded-Host", Evil)],
            Also = (answer, _) => Assert.Contains("Location: /subscriptions/sub_", answer.Headers, StringComparison.Ordinal),
        },
    ];
}
