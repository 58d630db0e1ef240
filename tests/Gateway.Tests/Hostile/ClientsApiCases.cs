using System.Text;
using Xunit.Abstractions;
using static Reka.Gateway.Tests.Hostile.HostileCase;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>A gateway with one client made through the API, <see cref="Name"/> (its key and secret learnt as secrets).</summary>
public sealed class ClientsApiStack : HostileStack
{
    /// <summary>The client made at the start.</summary>
    public const string Name = "hostile-client";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        using var ops = CreateClient(Caller.Ops);
        using var response = await ops.PostAsJsonAsync("/clients", new { name = Name, description = "made by the hostile suite" });
        var created = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        Secrets.Learn(created.GetProperty("key").GetProperty("key").GetString()!, $"{Name}'s first key");
        Secrets.Learn(created.GetProperty("webhook_secret").GetString()!, $"{Name}'s webhook secret");
    }
}

/// <summary>
/// The clients, keys, audit and usage routes with names that could break out of a Redis key or a
/// URL, settings out of range, merge patches that try to rename or escalate, expiries in the past
/// or out of range, audit cursors and usage periods Redis or the calendar cannot take. A key or
/// secret created is shown once; lists, reads, the audit and the logs never show one.
/// </summary>
public sealed class ClientsApiCases(ClientsApiStack stack, ITestOutputHelper output) : IClassFixture<ClientsApiStack>
{
    private const string Client = ClientsApiStack.Name;

    public static TheoryData<string> Names => [.. All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Case(string name) => stack.RunAsync("clients API", All.Single(c => c.Name == name), output);

    private static HostileCase Create(string name, string json, int status = 400, string? field = null) =>
        Post(name, "/clients", json) with { Caller = Caller.Ops, Status = status, Reveals = status == 201, DetailNames = field };

    private static HostileCase Patch(string name, string client, string json, int status = 400, string? field = null) =>
        new HostileCase(name, "PATCH", $"/clients/{client}").WithJson(json, "application/merge-patch+json") with { Caller = Caller.Ops, Status = status, DetailNames = field };

    // Bytes that are not UTF-8 around a JSON text, in a patch.
    private static HostileCase PatchBytes(string name, string client, string before, string after, string field) =>
        new HostileCase(name, "PATCH", $"/clients/{client}") with
        {
            Body = [.. Encoding.UTF8.GetBytes(before), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes(after)],
            ContentType = "application/merge-patch+json", Caller = Caller.Ops, Status = 400, DetailNames = field,
        };

    private static HostileCase Admin(string name, string path, int status = 400, string? field = null) =>
        Get(name, path) with { Caller = Caller.Ops, Status = status, DetailNames = field };

    private static readonly HostileCase[] All =
    [
        Create("create a client", """{"name":"hostile-client-2","description":"made by the hostile suite"}""", 201) with
        {
            Also = (answer, _) =>
            {
                Assert.StartsWith("gk_", answer.Json.GetProperty("key").GetProperty("key").GetString());
                Assert.StartsWith("whsec_", answer.Json.GetProperty("webhook_secret").GetString());
            },
        },
        Create("create it again", $$"""{"name":"{{Client}}"}""", 409),
        new HostileCase("regression: create without a body or Content-Type", "POST", "/clients") with { Caller = Caller.Ops, Status = 415, DetailNames = "Content-Type" },
        new HostileCase("regression: create with application/json and no body", "POST", "/clients") with
        {
            Caller = Caller.Ops, Body = [], ContentType = "application/json", DetailNames = "none was sent",
        },
        Create("create a client named as one of settings", """{"name":"alice"}""", 409),
        Create("an empty name", """{"name":""}""", field: "name"),
        Create("no name", """{"admin":true}""", field: "name"),
        Create("a name that is a number", """{"name":42}""", field: "name"),
        Create("a name with a slash", """{"name":"a/b"}""", field: "name"),
        Create("a name with braces (a Redis hash tag)", """{"name":"{clients}"}""", field: "name"),
        Create("a name starting with a dot", """{"name":".hidden"}""", field: "name"),
        Create("a name starting with a dash", """{"name":"-x"}""", field: "name"),
        Create("a name with a space", """{"name":"a b"}""", field: "name"),
        Create("a name with a line feed", """{"name":"a\n"}""", field: "name"),
        Create("a name with é", """{"name":"café"}""", field: "name"),
        Create("a name of 65 characters", $$"""{"name":"{{new string('n', 65)}}"}""", field: "name"),
        Create("a name of 10 KB", $$"""{"name":"{{new string('n', 10_000)}}"}""", field: "name"),
        Create("the name given twice", """{"name":"first-name","name":"alice"}""", field: "name"),
        Create("an unknown field", """{"name":"unknown-field","role":"root"}""", field: "role"),
        Create("admin a string", """{"name":"admin-string","admin":"yes"}""", field: "admin"),
        Create("a permit limit of 0", """{"name":"rl","rate_limit":{"permit_limit":0,"window_seconds":60}}""", field: "rate_limit"),
        Create("a negative window", """{"name":"rl","rate_limit":{"permit_limit":10,"window_seconds":-1}}""", field: "rate_limit"),
        Create("a permit limit past int", """{"name":"rl","rate_limit":{"permit_limit":1e20,"window_seconds":60}}""", field: "rate_limit"),
        Create("max_in_flight of 0", """{"name":"q","quotas":{"max_in_flight":0}}""", field: "quotas"),
        Create("an endpoint without a capability", """{"name":"ep","allowed_endpoints":["sora-2-pro"]}""", field: "allowed_endpoints"),
        Create("an endpoint of three segments", """{"name":"ep","allowed_endpoints":["a/b/c"]}""", field: "allowed_endpoints"),
        Create("a null endpoint", """{"name":"ep","allowed_endpoints":[null]}""", field: "allowed_endpoints"),
        Create("101 endpoints", $$"""{"name":"ep","allowed_endpoints":[{{string.Join(",", Enumerable.Range(0, 101).Select(i => $"\"m{i}/c\""))}}]}""", field: "allowed_endpoints"),
        Create("a description of 501 characters", $$"""{"name":"d","description":"{{new string('d', 501)}}"}""", field: "description"),
        Create("an unpaired surrogate in the description", """{"name":"d","description":"\udfff"}""", field: "description"),
        PostBytes("ill-formed UTF-8 in the name", "/clients", [.. "{\"name\":\"a"u8, 0xFF, .. "\"}"u8]) with { Caller = Caller.Ops },
        Create("a JSON array", """[{"name":"x"}]"""),
        Create("nesting of 33 levels", """{"name":"deep","description":""" + new string('[', 32) + new string(']', 32) + "}", field: "description"),
        Create("text/plain", """{"name":"plain"}""", 415) with { ContentType = "text/plain" },
        Patch("rename by patch", Client, """{"name":"other"}""", field: "name"),
        Patch("patch an unknown field", Client, """{"keys":[]}""", field: "keys"),
        Patch("patch admin to a string", Client, """{"admin":"true"}""", field: "admin"),
        Patch("patch with a JSON array", Client, """[{"admin":true}]""", field: "body"),
        Patch("patch a member twice", Client, """{"admin":false,"admin":true}""", field: "admin"),
        Patch("patch a description with an unpaired surrogate escape", Client, """{"description":"\ud800"}""", field: "description"),
        PatchBytes("patch a description of bytes that are not UTF-8", Client, "{\"description\":\"x", "\"}", "description"),
        PatchBytes("patch a member name of bytes that are not UTF-8", Client, "{\"", "\":1}", "body"),
        Patch("patch quotas of 0", Client, """{"quotas":{"daily_submits":0}}""", field: "quotas"),
        Patch("patch a client of settings", "alice", """{"admin":true}""", 409),
        Patch("patch a client that does not exist", "nobody-at-all", """{"admin":true}""", 404),
        Patch("patch the description", Client, """{"description":"changed"}""", 200),
        Post("a key for a client that does not exist", "/clients/nobody-at-all/keys", "{}") with { Caller = Caller.Ops, Status = 404 },
        Post("a key for a client of settings", "/clients/ops/keys", "{}") with { Caller = Caller.Ops, Status = 409 },
        Post("a key that expired already", $"/clients/{Client}/keys", """{"expires_at":"2000-01-01T00:00:00Z"}""") with { Caller = Caller.Ops, DetailNames = "expires_at" },
        Post("a key expiring at a date that is none", $"/clients/{Client}/keys", """{"expires_at":"2030-02-30T00:00:00Z"}""") with { Caller = Caller.Ops, DetailNames = "expires_at" },
        Post("a key expiring before year 1 in UTC", $"/clients/{Client}/keys", """{"expires_at":"0001-01-01T00:00:00+14:00"}""") with { Caller = Caller.Ops, DetailNames = "expires_at" },
        Post("a key expiring at a Unix time", $"/clients/{Client}/keys", """{"expires_at":1900000000}""") with { Caller = Caller.Ops, DetailNames = "expires_at" },
        Post("a key with an unknown field", $"/clients/{Client}/keys", """{"key":"gk_mine"}""") with { Caller = Caller.Ops, DetailNames = "key" },
        Post("a further key", $"/clients/{Client}/keys", """{"expires_at":"2099-01-01T00:00:00Z"}""") with { Caller = Caller.Ops, Status = 201, Reveals = true },
        Get("revoke a key that does not exist", $"/clients/{Client}/keys/key_0000000000000000") with { Method = "DELETE", Caller = Caller.Ops, Status = 404 },
        Get("delete a client of settings", "/clients/alice") with { Method = "DELETE", Caller = Caller.Ops, Status = 409 },
        Get("delete a client that does not exist", "/clients/nobody-at-all") with { Method = "DELETE", Caller = Caller.Ops, Status = 404 },
        Admin("read a client name with braces", "/clients/%7Bclients%7D:records", 404),
        Admin("read the client created: no key, no secret", $"/clients/{Client}", 200),
        Admin("the list: no key, no secret", "/clients", 200),
        Admin("the audit: no key, no secret", "/audit", 200),
        Admin("regression: audit before a cursor that is not a stream id", "/audit?before=garbage", field: "before"),
        Admin("audit before a negative cursor", "/audit?before=-1", field: "before"),
        Admin("audit before a cursor of three parts", "/audit?before=1-2-3", field: "before"),
        Admin("audit before a cursor past 2^64", "/audit?before=18446744073709551616-0", field: "before"),
        Admin("audit before a cursor with a line feed", "/audit?before=1-0%0A", field: "before"),
        Admin("audit before a valid cursor", "/audit?before=1-0", 200),
        Admin("regression: audit before the first possible cursor, 0-0 (Redis refuses the interval)", "/audit?before=0-0", 200) with
        {
            Also = (answer, _) => Assert.Equal(0, answer.Json.GetArrayLength()),
        },
        Admin("audit before 0", "/audit?before=0", 200),
        Admin("audit limit=abc", "/audit?limit=abc", field: "limit"),
        Admin("audit limit=0 (raised to 1)", "/audit?limit=0", 200),
        Admin("regression: usage from and to 0001-01-01", "/clients/alice/usage?from=0001-01-01&to=0001-01-01", 200),
        Admin("regression: usage to 0001-01-05, from left to its default", "/clients/alice/usage?to=0001-01-05", 200),
        Admin("usage to 9999-12-31", "/clients/alice/usage?from=9999-12-30&to=9999-12-31", 200),
        Admin("usage from after to", "/clients/alice/usage?from=2026-02-01&to=2026-01-01", field: "from"),
        Admin("usage over 400 days", "/clients/alice/usage?from=2020-01-01&to=2026-01-01", field: "from"),
        Admin("usage from a date that is none", "/clients/alice/usage?from=2026-02-30", field: "from"),
        Admin("usage from in another format", "/clients/alice/usage?from=01/02/2026", field: "from"),
        Admin("usage to with a line feed", "/clients/alice/usage?to=2026-01-01%0A", field: "to"),
        Admin("usage of an invalid client name", "/clients/a%20b/usage", field: "name"),
        Admin("usage as CSV", "/clients/alice/usage?from=2026-01-01&to=2026-01-02", 200) with { Headers = [new("Accept", "text/csv")] },
    ];
}
