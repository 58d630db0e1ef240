using Xunit.Abstractions;
using static Reka.Gateway.Tests.Hostile.HostileCase;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// A gateway whose subscribers may be, besides loopback: <c>hooks.internal.example</c> (ports 80
/// and 443 only), <c>*.svc.example:8080</c> and <c>[::1]:9000</c>.
/// </summary>
public sealed class SubscriptionStack : HostileStack
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Webhooks:AllowedSubscriberHosts:2", "hooks.internal.example"),
        new("Webhooks:AllowedSubscriberHosts:3", "*.svc.example:8080"),
        new("Webhooks:AllowedSubscriberHosts:4", "[::1]:9000"),
    ];
}

/// <summary>
/// Subscriptions aimed where deliveries must not go (other hosts, other ports of an allowed
/// host, metadata addresses, look-alike names, other schemes), carrying credentials, or with
/// bodies that break the JSON policy or the limits; the subscription and delivery routes with
/// ids that name nothing. A created subscription's secret is shown once, and never again.
/// </summary>
public sealed class SubscriptionCases(SubscriptionStack stack, ITestOutputHelper output) : IClassFixture<SubscriptionStack>
{
    private const string Password = "s3cr3t-subscriber-password";

    public static TheoryData<string> Names => [.. All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Case(string name) => stack.RunAsync("subscriptions", All.Single(c => c.Name == name), output);

    private static HostileCase Url(string name, string url, int status = 400) =>
        Post(name, "/subscriptions", $$"""{"url":"{{url}}","description":"hostile"}""") with
        {
            Caller = Caller.Ops, Status = status, Reveals = status == 201, DetailNames = status == 400 ? "url" : null,
            Also = status == 201 ? Created(url) : null,
        };

    private static HostileCase Body(string name, string json, int status = 400, string? field = null) =>
        Post(name, "/subscriptions", json) with { Caller = Caller.Ops, Status = status, Reveals = status == 201, DetailNames = field };

    // The answer shows the URL as given and a new signing secret, once.
    private static Action<HostileAnswer, IReadOnlyList<RecordedRequest>> Created(string url) => (answer, _) =>
    {
        Assert.Equal(url, answer.Json.GetProperty("url").GetString());
        Assert.StartsWith("whsec_", answer.Json.GetProperty("secret").GetString());
        Assert.StartsWith("/subscriptions/sub_", answer.Headers.Split('\n').Single(h => h.StartsWith("Location:", StringComparison.Ordinal))["Location: ".Length..]);
    };

    private static readonly HostileCase[] All =
    [
        Url("an allowed host on port 80", "http://hooks.internal.example/hooks", 201),
        Url("an allowed host on port 80, said", "http://hooks.internal.example:80/hooks", 201),
        Url("an allowed host over https", "https://hooks.internal.example/hooks", 201),
        Url("an allowed host in capitals", "http://HOOKS.INTERNAL.EXAMPLE/hooks", 201),
        Url("a name under an allowed suffix, on its port", "http://a.svc.example:8080/hooks", 201),
        Url("a name two levels under an allowed suffix", "http://a.b.svc.example:8080/hooks", 201),
        Url("an allowed IPv6 address and port", "http://[::1]:9000/hooks", 201),
        Url("an allowed IPv6 address written longer", "http://[0:0::1]:9000/hooks", 201),
        Url("an allowed host on Redis' port", "http://hooks.internal.example:6379/"),
        Url("an allowed host on 8443", "https://hooks.internal.example:8443/"),
        Url("an allowed host on port 0", "http://hooks.internal.example:0/"),
        Url("an allowed host on port 65536", "http://hooks.internal.example:65536/"),
        Url("the suffix itself", "http://svc.example:8080/"),
        Url("a name under the suffix on port 80", "http://a.svc.example/"),
        Url("a name under the suffix on another port", "http://a.svc.example:8081/"),
        Url("an allowed IPv6 address on another port", "http://[::1]:9001/"),
        Url("IPv4 mapped into IPv6", "http://[::ffff:169.254.169.254]/"),
        Url("user and password", $"http://admin:{Password}@hooks.internal.example/hooks") with { NeverEchoed = [Password] },
        Url("a user name", "http://admin@hooks.internal.example/hooks"),
        Url("credentials to an allowed host ahead of another host", $"http://hooks.internal.example:{Password}@evil.example/") with { NeverEchoed = [Password] },
        Url("a backslash before an allowed host", @"http://evil.example\\@hooks.internal.example/"),
        Url("an allowed name as a prefix of another host", "http://hooks.internal.example.evil.example/"),
        Url("an allowed name as a suffix without a dot", "http://evilhooks.internal.example/"),
        Url("an allowed name with a trailing dot", "http://hooks.internal.example./"),
        Url("the cloud metadata address", "http://169.254.169.254/latest/meta-data/"),
        Url("a cloud metadata name", "http://metadata.google.internal/"),
        Url("an internal name", "http://redis.internal:6379/"),
        Url("gopher", "gopher://hooks.internal.example/"),
        Url("ws", "ws://hooks.internal.example/"),
        Url("file", "file:///etc/passwd"),
        Url("javascript", "javascript:alert(1)"),
        Url("mailto", "mailto:ops@hooks.internal.example"),
        Url("a relative URL", "/hooks"),
        Url("an empty URL", ""),
        Url("a leading space", " http://hooks.internal.example/"),
        Url("a trailing line feed", "http://hooks.internal.example/\\n"),
        Url("a URL of 2084 characters", "http://hooks.internal.example/" + new string('h', 2084 - 30)),
        Body("no url", """{"description":"hostile"}""", field: "url"),
        Body("url a number", """{"url":80}""", field: "url"),
        Body("url null", """{"url":null}""", field: "url"),
        Body("url given twice", """{"url":"http://hooks.internal.example/","url":"http://169.254.169.254/"}""", field: "url"),
        Body("an unpaired surrogate in the description", """{"url":"http://hooks.internal.example/","description":"\ud800"}""", field: "description"),
        Body("a description of 501 characters", $$"""{"url":"http://hooks.internal.example/","description":"{{new string('d', 501)}}"}""", field: "description"),
        Body("a filter of 51 statuses", """{"url":"http://hooks.internal.example/","filter":{"status":[""" + string.Join(",", Enumerable.Range(0, 51).Select(i => $"\"S{i}\"")) + "]}}", field: "filter"),
        Body("a filter with an empty status", """{"url":"http://hooks.internal.example/","filter":{"status":[""]}}""", field: "filter"),
        Body("a filter value of 258 characters", """{"url":"http://hooks.internal.example/","filter":{"endpoint_id":["m/""" + new string('c', 256) + "\"]}}", field: "filter"),
        Body("a filter that is a list", """{"url":"http://hooks.internal.example/","filter":[]}""", field: "filter"),
        Body("nesting of 33 levels in an unknown member", """{"url":"http://hooks.internal.example/","x":""" + new string('[', 32) + new string(']', 32) + "}", field: "depth"),
        Body("a JSON array", """[{"url":"http://hooks.internal.example/"}]"""),
        Body("unknown members are ignored", """{"url":"http://hooks.internal.example/unknown","owner":"x","secret":"whsec_mine"}""", 201),
        PostBytes("ill-formed UTF-8 in the url", "/subscriptions", [.. "{\"url\":\"http://hooks.internal.example/"u8, 0xC0, 0x80, .. "\"}"u8]) with { Caller = Caller.Ops },
        Body("text/plain", """{"url":"http://hooks.internal.example/"}""", 415) with { ContentType = "text/plain", DetailNames = "Content-Type" },
        // Regression: both were 400 with minimal APIs' "Implicit body inferred for parameter..." ("Did you mean to use a Service instead?").
        new HostileCase("regression: no body, no Content-Type", "POST", "/subscriptions") with { Caller = Caller.Ops, Status = 415, DetailNames = "Content-Type" },
        new HostileCase("regression: application/json without a body", "POST", "/subscriptions") with
        {
            Caller = Caller.Ops, Body = [], ContentType = "application/json", DetailNames = "none was sent",
        },
        new HostileCase("PATCH without a body", "PATCH", "/subscriptions/sub_000000000000000000000000") with { Caller = Caller.Ops, Status = 415, DetailNames = "Content-Type" },
        new HostileCase("no body, no Content-Type, without a key: 401 first", "POST", "/subscriptions") with { Caller = Caller.None, Status = 401 },
        Get("a subscription that does not exist", "/subscriptions/sub_000000000000000000000000") with { Caller = Caller.Ops, Status = 404 },
        Get("a subscription id with a line feed", "/subscriptions/sub_x%0A") with { Caller = Caller.Ops, Status = 404 },
        Get("a subscription id with braces", "/subscriptions/%7Bsubscriptions%7D") with { Caller = Caller.Ops, Status = 404 },
        Get("delete a subscription that does not exist", "/subscriptions/sub_000000000000000000000000") with { Method = "DELETE", Caller = Caller.Ops, Status = 404 },
        Get("deliveries of a subscription that does not exist", "/subscriptions/sub_nothing/deliveries") with { Caller = Caller.Ops, Status = 404 },
        Get("deliveries with limit=abc", "/subscriptions/sub_nothing/deliveries?limit=abc") with { Caller = Caller.Ops, DetailNames = "limit" },
        new HostileCase("replay the dead letters of a subscription that does not exist", "POST", "/subscriptions/sub_nothing/deliveries/replay") with { Caller = Caller.Ops, Status = 404 },
        new HostileCase("replay a delivery that does not exist", "POST", "/deliveries/dlv_nothing/replay") with { Caller = Caller.Ops, Status = 404 },
        new HostileCase("replay a delivery id with braces", "POST", "/deliveries/%7Bq1%7D/replay") with { Caller = Caller.Ops, Status = 404 },
        Get("the list shows no secret", "/subscriptions") with { Caller = Caller.Ops, Status = 200 },
    ];
}
