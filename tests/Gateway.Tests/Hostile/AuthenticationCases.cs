using Xunit.Abstractions;
using static Reka.Gateway.Tests.Hostile.HostileCase;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// Keys sent wrong, or not sent, on every kind of route; other clients' and the team's secrets
/// offered as keys; ordinary clients on admin routes. Refused 401 or 403 before anything reaches Reka.
/// </summary>
public sealed class AuthenticationCases(HostileStack stack, ITestOutputHelper output) : IClassFixture<HostileStack>
{
    private const string Models = "/v2/inference/models";
    private static readonly string AliceKey = TestClients.Alice.Key;

    public static TheoryData<string> Names => [.. All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Case(string name) => stack.RunAsync("auth", All.Single(c => c.Name == name), output);

    private static HostileCase NoKey(string name, string method, string path) =>
        new HostileCase(name, method, path) with { Caller = Caller.None, Status = 401 };

    private static HostileCase Key(string name, string key, int status = 401) =>
        Get(name, Models) with { Caller = Caller.None, Status = status, ReachesReka = status == 200, Headers = [new("X-Api-Key", key)] };

    private static HostileCase Authorization(string name, string value, int status = 401) =>
        Get(name, Models) with { Caller = Caller.None, Status = status, ReachesReka = status == 200, Headers = [new("Authorization", value)] };

    // What reached Reka carries the team's key, never the caller's credentials.
    private static void TeamKeyOnly(HostileAnswer answer, IReadOnlyList<RecordedRequest> reached)
    {
        var forwarded = Assert.Single(reached);
        Assert.Equal(TestClients.TeamKey, forwarded.Headers["X-Api-Key"]);
        Assert.False(forwarded.Headers.ContainsKey("Authorization"), "the caller's Authorization reached Reka");
        Assert.False(forwarded.Headers.ContainsKey("Cookie"), "the caller's Cookie reached Reka");
    }

    private static readonly HostileCase[] All =
    [
        NoKey("no key: models", "GET", Models),
        NoKey("no key: list", "GET", "/v2/inference/requests"),
        NoKey("no key: status", "GET", "/v2/inference/requests/abc/status"),
        NoKey("no key: status of an invalid id", "GET", "/v2/inference/requests/abc%0A/status"),
        NoKey("no key: result", "GET", "/v2/inference/requests/abc"),
        NoKey("no key: cancel", "POST", "/v2/inference/requests/abc/cancel"),
        NoKey("no key: submit", "POST", "/v2/inference/sora-2-pro/image-to-video").WithJson("""{"input":{"prompt":"x"}}"""),
        NoKey("no key: chat", "POST", "/v2/inference/chat/completions").WithJson("""{"model":"m","messages":[]}"""),
        NoKey("no key: image upload", "POST", "/v1/images/upload") with { ContentType = "multipart/form-data; boundary=x", Body = "--x--\r\n"u8.ToArray() },
        NoKey("no key: video upload", "POST", "/v2/videos") with { ContentType = "multipart/form-data; boundary=x", Body = "--x--\r\n"u8.ToArray() },
        NoKey("no key: passthrough GET", "GET", "/v2/videos"),
        NoKey("no key: passthrough DELETE", "DELETE", "/v1/images/abc"),
        NoKey("no key: events", "GET", "/events"),
        NoKey("no key: subscriptions", "GET", "/subscriptions"),
        NoKey("no key: create a subscription", "POST", "/subscriptions").WithJson("""{"url":"http://127.0.0.1:9/x"}"""),
        NoKey("no key: deliveries", "GET", "/subscriptions/sub_x/deliveries"),
        NoKey("no key: replay a delivery", "POST", "/deliveries/dlv_x/replay"),
        NoKey("no key: clients", "GET", "/clients"),
        NoKey("no key: create a client", "POST", "/clients").WithJson("""{"name":"intruder","admin":true}"""),
        NoKey("no key: issue a key for alice", "POST", "/clients/alice/keys").WithJson("{}"),
        NoKey("no key: audit", "GET", "/audit"),
        NoKey("no key: usage", "GET", "/clients/alice/usage"),
        Key("empty X-Api-Key", ""),
        Key("blank X-Api-Key", "   "),
        Key("unknown key", "not-a-key-of-this-gateway"),
        Key("alice's key with a character added", AliceKey + "0"),
        Key("alice's key less its last character", AliceKey[..^1]),
        Key("alice's key in upper case", AliceKey.ToUpperInvariant()),
        Key("alice's key with a tab inside", AliceKey[..5] + "\t" + AliceKey[5..]),
        Key("alice's key with surrounding blanks (HTTP trims them)", " " + AliceKey + " ", 200) with { Also = TeamKeyOnly },
        Key("alice's and bob's keys in one X-Api-Key", AliceKey + ", " + TestClients.Bob.Key),
        Key("a gk_-shaped key never issued", "gk_" + new string('A', 43)),
        Key("a whsec_-shaped key", "whsec_" + Convert.ToBase64String(new byte[32])),
        Key("the team's Reka key offered as a client key", TestClients.TeamKey),
        Key("the callback secret offered as a client key", TestClients.CallbackSecret),
        Key("alice's webhook secret offered as a key", TestClients.Alice.WebhookSecret!),
        Key("a key of 8 KB", new string('k', 8000)),
        Get("alice's key in the query (api_key)", Models + "?api_key=" + AliceKey) with { Caller = Caller.None, Status = 401 },
        Get("alice's key in the query (key)", Models + "?key=" + AliceKey) with { Caller = Caller.None, Status = 401 },
        Get("alice's key as a cookie", Models) with { Caller = Caller.None, Status = 401, Headers = [new("Cookie", "X-Api-Key=" + AliceKey)] },
        Get("alice's key as Proxy-Authorization", Models) with { Caller = Caller.None, Status = 401, Headers = [new("Proxy-Authorization", "Bearer " + AliceKey)] },
        Authorization("Bearer alice's key", "Bearer " + AliceKey, 200) with { Also = TeamKeyOnly },
        Authorization("bearer in lower case", "bearer " + AliceKey, 200) with { Also = TeamKeyOnly },
        Authorization("Bearer with two spaces", "Bearer  " + AliceKey, 200) with { Also = TeamKeyOnly },
        Authorization("Bearer without a key", "Bearer "),
        Authorization("Bearer of an unknown key", "Bearer nobody-knows-this-key"),
        Authorization("Basic with alice's key as user", "Basic " + Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(AliceKey + ":"))),
        Authorization("Token scheme", "Token " + AliceKey),
        Authorization("alice's key with no scheme", AliceKey),
        Get("unknown X-Api-Key beside a good Bearer: X-Api-Key decides", Models) with
        {
            Caller = Caller.None, Status = 401, Headers = [new("X-Api-Key", "unknown-key-000"), new("Authorization", "Bearer " + AliceKey)],
        },
        Get("good X-Api-Key beside a bad Bearer: X-Api-Key decides", Models) with
        {
            Caller = Caller.None, Status = 200, ReachesReka = true, Headers = [new("X-Api-Key", AliceKey), new("Authorization", "Bearer unknown-key-000")],
            Also = TeamKeyOnly,
        },
        Get("alice's call with a cookie: the cookie stays here", Models) with { Status = 200, ReachesReka = true, Headers = [new("Cookie", "session=abc")], Also = TeamKeyOnly },
        Get("bob lists subscriptions", "/subscriptions") with { Caller = Caller.Bob, Status = 403 },
        Post("bob creates a subscription", "/subscriptions", """{"url":"http://127.0.0.1:9/x"}""") with { Caller = Caller.Bob, Status = 403 },
        Get("bob reads deliveries", "/subscriptions/sub_x/deliveries") with { Caller = Caller.Bob, Status = 403 },
        new HostileCase("bob replays a delivery", "POST", "/deliveries/dlv_x/replay") with { Caller = Caller.Bob, Status = 403 },
        Get("bob lists clients", "/clients") with { Caller = Caller.Bob, Status = 403 },
        Post("bob creates an admin client", "/clients", """{"name":"bobs-admin","admin":true}""") with { Caller = Caller.Bob, Status = 403 },
        Post("bob issues himself a key", "/clients/bob/keys", "{}") with { Caller = Caller.Bob, Status = 403 },
        new HostileCase("bob patches himself to admin", "PATCH", "/clients/bob").WithJson("""{"admin":true}""", "application/merge-patch+json") with { Caller = Caller.Bob, Status = 403 },
        Get("bob reads the audit", "/audit") with { Caller = Caller.Bob, Status = 403 },
        Get("bob reads alice's client", "/clients/alice") with { Caller = Caller.Bob, Status = 403 },
        Get("bob reads alice's usage", "/clients/alice/usage") with { Caller = Caller.Bob, Status = 403 },
        Get("bob reads his own client", "/clients/bob") with { Caller = Caller.Bob, Status = 200 },
        Get("bob reads his own usage", "/clients/bob/usage") with { Caller = Caller.Bob, Status = 200 },
        Get("bob reads the status of a request he did not submit", "/v2/inference/requests/req-not-bobs/status") with { Caller = Caller.Bob, Status = 404 },
        Get("bob waits on a request he did not submit", "/v2/inference/requests/req-not-bobs?wait=1") with { Caller = Caller.Bob, Status = 404 },
        new HostileCase("bob cancels a request he did not submit", "POST", "/v2/inference/requests/req-not-bobs/cancel") with { Caller = Caller.Bob, Status = 404 },
    ];
}
