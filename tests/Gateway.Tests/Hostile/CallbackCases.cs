using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Webhooks;
using Xunit.Abstractions;
using static Reka.Gateway.Tests.Hostile.HostileCase;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// A gateway with two submits bound to their requests (A and B), whose callback tokens the cases
/// use through placeholders: <c>{token}</c>, <c>{request_id}</c> (A's), <c>{token_b}</c>,
/// <c>{request_id_b}</c>, <c>{submission}</c> (A's submission id), <c>{token_padbits}</c> (A's
/// token with bits base64url ignores changed), <c>{token_space}</c> (with a space inside its MAC),
/// <c>{token_upper}</c>, <c>{mac_b}</c> (B's MAC), <c>{token_foreign}</c> (A's submission signed
/// under another secret).
/// </summary>
public sealed class CallbackStack : HostileStack
{
    private readonly Dictionary<string, string> _placeholders = [];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        using var alice = CreateClient();
        foreach (var suffix in new[] { "", "_b" })
        {
            var requestId = await alice.SubmitAsync();
            var body = JsonDocument.Parse(Reka.Requests.Last(r => r.Method == "POST").Body).RootElement;
            var token = body.GetProperty("webhook_url").GetString()!.Split("?token=")[1];
            _placeholders["{token" + suffix + "}"] = token;
            _placeholders["{request_id" + suffix + "}"] = requestId;
        }
        var a = _placeholders["{token}"];
        var submission = a[..a.IndexOf('.')];
        _placeholders["{submission}"] = submission;
        // 16 bytes take 22 base64url characters: the last one carries 2 bits, its 4 low bits are padding.
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        _placeholders["{token_padbits}"] = a[..^1] + alphabet[alphabet.IndexOf(a[^1]) ^ 1];
        _placeholders["{token_space}"] = a.Insert(a.IndexOf('.') + 5, "%20");
        _placeholders["{token_upper}"] = a.ToUpperInvariant();
        var b = _placeholders["{token_b}"];
        _placeholders["{mac_b}"] = b[(b.IndexOf('.') + 1)..];
        var foreign = new CallbackTokens(
            Options.Create(new WebhooksOptions { CallbackSecret = "another-secret-of-at-least-32-characters" }),
            Options.Create(new GatewayOptions { PublicBaseUrl = Gateway.BaseAddress.ToString() }));
        _placeholders["{token_foreign}"] = foreign.Mint(submission);
    }

    protected override string Expand(string text)
    {
        foreach (var (placeholder, value) in _placeholders)
        {
            text = text.Replace(placeholder, value, StringComparison.Ordinal);
        }
        return text;
    }
}

/// <summary>
/// Reka's callback receiver as an attacker on the internet sees it: tokens missing, altered,
/// doubled, moved, signed under another secret; bodies that are not JSON objects, with a
/// <c>request_id</c> that is not the token's or not an id, members twice, invalid Unicode, too
/// large; the wrong media types and methods. Nothing is stored or fetched from Reka for any of them.
/// </summary>
public sealed class CallbackCases(CallbackStack stack, ITestOutputHelper output) : IClassFixture<CallbackStack>
{
    private const string Receiver = "/webhooks/inference?token=";
    private const string Genuine = """{"request_id":"{request_id}","status":"COMPLETED"}""";

    public static TheoryData<string> Names => [.. All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Case(string name) => stack.RunAsync("callbacks", All.Single(c => c.Name == name), output);

    private static HostileCase Token(string name, string token, string body = Genuine) =>
        Post(name, Receiver + token, body) with { Caller = Caller.None, Status = 401 };

    private static HostileCase Body(string name, string json, int status = 400) =>
        Post(name, Receiver + "{token}", json) with { Caller = Caller.None, Status = status };

    private static HostileCase BodyBytes(string name, params byte[][] parts) =>
        PostBytes(name, Receiver + "{token}", [.. parts.SelectMany(p => p)]) with { Caller = Caller.None };

    private static byte[] U(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    private static readonly HostileCase[] All =
    [
        Body("a genuine callback", Genuine, 202),
        Body("the same callback again", Genuine, 202),
        Body("a genuine callback with a status that is an object", """{"request_id":"{request_id}","status":{"x":1}}""", 202),
        Body("a genuine callback declared as UTF-16 (read as UTF-8, as documented)", Genuine, 202) with { ContentType = "application/json; charset=utf-16" },
        Body("a genuine callback declared +json", Genuine, 202) with { ContentType = "application/cloudevents+json" },
        new HostileCase("no token", "POST", "/webhooks/inference").WithJson(Genuine) with { Caller = Caller.None, Status = 401 },
        Token("an empty token", ""),
        Token("a submission id without a MAC", "{submission}."),
        Token("a MAC without a submission id", ".{submission}"),
        Token("A's submission with B's MAC", "{submission}.{mac_b}"),
        Token("regression: the token with a line feed added", "{token}%0A"),
        Token("regression: the token with a space inside its MAC", "{token_space}"),
        Token("regression: the token with bits base64url ignores changed", "{token_padbits}"),
        Token("the token with '=' padding", "{token}%3D%3D"),
        Token("the token in upper case", "{token_upper}"),
        Body("the parameter named TOKEN (query names are case-insensitive)", Genuine, 202) with { Path = "/webhooks/inference?TOKEN={token}" },
        Token("the token signed under another secret", "{token_foreign}"),
        Token("the token twice", "{token}&token={token}"),
        Token("regression: the token and an empty one (read as the token alone)", "{token}&token="),
        Token("an empty token, then the token", "&token={token}"),
        Token("the token with a NUL", "{token}%00"),
        Token("a token of 129 characters", new string('t', 64) + "." + new string('m', 64)),
        Token("a token of 10 KB (past Kestrel's 8 KiB request line)", new string('t', 5000) + "." + new string('m', 5000)) with { Status = 414, KestrelRefusal = true },
        Token("a token of dots", "...."),
        Token("a token with a multi-byte character", "%E2%82%AC.{token}"),
        Post("the token in a header, not the query", "/webhooks/inference", Genuine) with
        {
            Caller = Caller.None, Status = 401, Headers = [new("Authorization", "Bearer {token}"), new("X-Token", "{token}")],
        },
        Post("the token in the path (no route; the 404 names the caller's own path)", "/webhooks/inference/{token}", Genuine) with { Caller = Caller.None, Status = 404, EchoesPath = true },
        Post("alice's key instead of a token", "/webhooks/inference", Genuine) with { Caller = Caller.Alice, Status = 401 },
        Token("the token as a form field of the query", "x&token%3D{token}"),
        Get("GET on the receiver", Receiver + "{token}") with { Caller = Caller.None, Status = 405 },
        Body("text/plain", Genuine, 415) with { ContentType = "text/plain" },
        Body("form-urlencoded", "request_id={request_id}", 415) with { ContentType = "application/x-www-form-urlencoded" },
        new HostileCase("no body, no Content-Type", "POST", Receiver + "{token}") with { Caller = Caller.None, Status = 415 },
        Body("an empty body", ""),
        Body("not JSON", "request_id={request_id}"),
        Body("a JSON array", """[{"request_id":"{request_id}"}]"""),
        Body("JSON null", "null"),
        Body("a JSON string", "\"{request_id}\""),
        Body("no request_id", """{"status":"COMPLETED"}"""),
        Body("request_id a number", """{"request_id":123}"""),
        Body("request_id null", """{"request_id":null}"""),
        Body("request_id an object", """{"request_id":{"id":"{request_id}"}}"""),
        Body("request_id with a trailing line feed", """{"request_id":"{request_id}\n"}"""),
        Body("request_id '..'", """{"request_id":".."}"""),
        Body("request_id with a slash", """{"request_id":"{request_id}/../x"}"""),
        Body("request_id with braces", """{"request_id":"{x}"}"""),
        Body("request_id of 129 characters", $$"""{"request_id":"{{new string('r', 129)}}"}"""),
        Body("request_id of another request (B's)", """{"request_id":"{request_id_b}","status":"COMPLETED"}""") with { DetailNames = "not the request" },
        Body("request_id given twice", """{"request_id":"{request_id}","request_id":"{request_id}","status":"COMPLETED"}""") with { DetailNames = "request_id" },
        Body("request_id given twice, the second B's", """{"request_id":"{request_id}","request_id":"{request_id_b}"}"""),
        Body("an unpaired surrogate in status", """{"request_id":"{request_id}","status":"\ud800"}""") with { DetailNames = "status" },
        Body("an unpaired surrogate in request_id", """{"request_id":"\udc00"}"""),
        BodyBytes("ill-formed UTF-8 in status", U("""{"request_id":"{request_id}","status":"C"""), [0xC3, 0x28], U("\"}")),
        BodyBytes("ill-formed UTF-8 in a member name", U("{\"request_id\":\"{request_id}\",\""), [0xFE], U("\":1}")),
        Body("nesting of 33 levels", """{"request_id":"{request_id}","x":""" + new string('[', 32) + new string(']', 32) + "}") with { DetailNames = "depth" },
        Body("a body over the 1 MiB cap", $$"""{"request_id":"{request_id}","pad":"{{new string('p', 1 << 20)}}"}""", 413),
        Body("trailing text after the object", Genuine + " trailing"),
    ];
}
