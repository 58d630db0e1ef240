using System.Text.Json.Nodes;
using Xunit.Abstractions;
using static Reka.Gateway.Tests.Hostile.HostileCase;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// Submit bodies as an attacker writes them: not JSON, JSON of the wrong shape, members given
/// twice, strings that are not Unicode, nesting past the policy's depth, bodies over the cap, the
/// wrong media types, and <c>webhook_url</c>s aimed where deliveries must not go. Refused 400, 413
/// or 415 before anything reaches Reka; valid bodies reach it unchanged but for <c>webhook_url</c>.
/// </summary>
public sealed class BodyCases(HostileStack stack, ITestOutputHelper output) : IClassFixture<HostileStack>
{
    private const string Submit = "/v2/inference/sora-2-pro/image-to-video";
    private const string Password = "hunter2-hostile-password";

    public static TheoryData<string> Names => [.. All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Case(string name) => stack.RunAsync("bodies", All.Single(c => c.Name == name), output);

    private static HostileCase Refused(string name, string json, string? field = null) =>
        Post(name, Submit, json) with { DetailNames = field };

    private static HostileCase RefusedBytes(string name, params byte[][] parts) =>
        PostBytes(name, Submit, [.. parts.SelectMany(p => p)]);

    private static HostileCase Accepted(string name, string json) =>
        Post(name, Submit, json) with { Status = 202, ReachesReka = true, Also = SentUnchanged(json) };

    private static HostileCase AcceptedBytes(string name, byte[] body) =>
        PostBytes(name, Submit, body) with { Status = 202, ReachesReka = true };

    private static byte[] U(string text) => Encoding.UTF8.GetBytes(text);

    // Reka got the caller's body, member for member, but webhook_url (the gateway's callback URL).
    private static Action<HostileAnswer, IReadOnlyList<RecordedRequest>> SentUnchanged(string json) => (answer, reached) =>
    {
        var sent = JsonNode.Parse(Assert.Single(reached).Body)!.AsObject();
        var expected = JsonNode.Parse(json)!.AsObject();
        Assert.StartsWith("http://127.0.0.1:", sent["webhook_url"]!.GetValue<string>());
        Assert.Contains("/webhooks/inference?token=", sent["webhook_url"]!.GetValue<string>());
        sent.Remove("webhook_url");
        expected.Remove("webhook_url");
        Assert.True(JsonNode.DeepEquals(expected, sent), $"Reka got {sent.ToJsonString()}, the caller sent {expected.ToJsonString()}");
        Assert.StartsWith("http://127.0.0.1:", answer.Json.GetProperty("status_url").GetString());
    };

    private static string Nested(int depth) =>
        // The body is level 1, input level 2, then arrays down to `depth`.
        """{"input":{"p":""" + new string('[', depth - 2) + new string(']', depth - 2) + "}}";

    private static readonly HostileCase[] All =
    [
        Accepted("a valid submit", """{"input":{"prompt":"a red fox in snow"}}"""),
        Refused("an empty body", ""),
        new HostileCase("no body and no Content-Type", "POST", Submit) with { Status = 415 },
        Post("text/plain", Submit, """{"input":{}}""") with { ContentType = "text/plain", Status = 415, DetailNames = "Content-Type" },
        Post("form-urlencoded", Submit, "input=x") with { ContentType = "application/x-www-form-urlencoded", Status = 415 },
        Post("multipart", Submit, "--x--") with { ContentType = "multipart/form-data; boundary=x", Status = 415 },
        Post("application/jsonx", Submit, """{"input":{}}""") with { ContentType = "application/jsonx", Status = 415 },
        Post("a Content-Type that does not parse", Submit, """{"input":{}}""") with { ContentType = "application/json; =utf-8", Status = 415 },
        Post("a Content-Type with an empty media type", Submit, """{"input":{}}""") with { ContentType = "/json", Status = 415 },
        Accepted("a charset parameter without a value (read as UTF-8, as any charset)", """{"input":{"prompt":"x"}}""") with { ContentType = "application/json; charset" },
        Accepted("charset=utf-8", """{"input":{"prompt":"x"}}""") with { ContentType = "application/json; charset=utf-8" },
        Accepted("a +json media type", """{"input":{"prompt":"x"}}""") with { ContentType = "application/vnd.reka+json" },
        Accepted("APPLICATION/JSON in capitals", """{"input":{"prompt":"x"}}""") with { ContentType = "APPLICATION/JSON" },
        Refused("a JSON array", "[]", "body"),
        Refused("JSON null", "null", "body"),
        Refused("a JSON number", "42", "body"),
        Refused("a JSON string", "\"input\"", "body"),
        Refused("no input", "{}", "input"),
        Refused("input a string", """{"input":"a red fox"}""", "input"),
        Refused("input an array", """{"input":[{"prompt":"x"}]}""", "input"),
        Refused("input null", """{"input":null}""", "input"),
        Refused("input a number", """{"input":1}""", "input"),
        Refused("input given twice", """{"input":{"prompt":"a"},"input":{"prompt":"b"}}""", "input"),
        Refused("webhook_url given twice", """{"input":{},"webhook_url":"http://127.0.0.1:9/a","webhook_url":"http://169.254.169.254/"}""", "webhook_url"),
        Refused("a member given twice deep in input", """{"input":{"a":{"b":1,"b":2}}}""", "input.a.b"),
        Refused("a member given twice, once escaped", """{"input":{"a":1,"\u0061":2}}""", "input.a"),
        Accepted("members differing only in case", """{"input":{"a":1,"A":2}}"""),
        RefusedBytes("a lone continuation byte", U("""{"input":{"prompt":"a"""), [0x80], U("\"}}")),
        RefusedBytes("an overlong '/' (C0 AF)", U("""{"input":{"prompt":"a"""), [0xC0, 0xAF], U("\"}}")),
        RefusedBytes("a truncated 3-byte sequence", U("""{"input":{"prompt":"a"""), [0xE2, 0x82], U("\"}}")),
        RefusedBytes("a surrogate encoded in UTF-8 (ED A0 80)", U("""{"input":{"prompt":"a"""), [0xED, 0xA0, 0x80], U("\"}}")),
        RefusedBytes("byte FF in a string", U("""{"input":{"prompt":"a"""), [0xFF], U("\"}}")),
        RefusedBytes("a code point past U+10FFFF (F4 90 80 80)", U("""{"input":{"prompt":"a"""), [0xF4, 0x90, 0x80, 0x80], U("\"}}")),
        RefusedBytes("ill-formed UTF-8 in a member name", U("{\"input\":{\"p"), [0xC3], U("\":1}}")),
        RefusedBytes("byte FF after the body", U("""{"input":{}}"""), [0xFF]),
        Refused("an unpaired high surrogate escape", """{"input":{"prompt":"\ud800"}}""", "input.prompt"),
        Refused("an unpaired low surrogate escape", """{"input":{"prompt":"\udc00"}}""", "input.prompt"),
        Refused("a high surrogate escape before a letter", """{"input":{"prompt":"\ud800\u0041"}}""", "input.prompt"),
        Refused("two high surrogate escapes", """{"input":{"prompt":"\udbff\udbff"}}""", "input.prompt"),
        Refused("an unpaired surrogate in a member name", """{"input":{"\ud800":1}}"""),
        Refused("an unpaired surrogate in an array", """{"input":{"list":["ok","\udfff"]}}""", "input.list[1]"),
        Accepted("a surrogate pair escape (U+1F600)", """{"input":{"prompt":"\ud83d\ude00"}}"""),
        Accepted("raw UTF-8 beyond the BMP", """{"input":{"prompt":"🦊 in ❄️, 東京"}}"""),
        Accepted("a NUL escape", """{"input":{"prompt":"a\u0000b"}}"""),
        Accepted("the noncharacter U+FFFF", """{"input":{"prompt":"\uffff"}}"""),
        AcceptedBytes("a byte order mark before the body", [0xEF, 0xBB, 0xBF, .. U("""{"input":{"prompt":"x"}}""")]),
        RefusedBytes("a raw control character in a string", U("""{"input":{"prompt":"a"""), [0x01], U("\"}}")),
        Refused("trailing text", """{"input":{}} x""", "body"),
        Refused("two JSON values", """{"input":{}}{"input":{}}""", "body"),
        Refused("a comment", """{"input":{} /* c */}""", "body"),
        Refused("single quotes", "{'input':{}}", "body"),
        Refused("a trailing comma", """{"input":{},}""", "body"),
        Refused("NaN", """{"input":{"x":NaN}}""", "body"),
        Refused("an unquoted member name", """{input:{}}""", "body"),
        Refused("an unterminated string", """{"input":{"prompt":"x}}""", "body"),
        Accepted("regression: nesting of 32 levels, the deepest accepted", Nested(32)),
        Refused("regression: nesting of 33 levels", Nested(33), "depth"),
        Refused("nesting of 65 levels", Nested(65), "depth"),
        Refused("nesting of 10,000 levels", """{"input":""" + new string('[', 10_000) + new string(']', 10_000) + "}", "depth"),
        Accepted("a number of 400 digits", """{"input":{"seed":""" + new string('7', 400) + "}}"),
        Accepted("1e999", """{"input":{"scale":1e999}}"""),
        Accepted("a prompt of 512 KiB", """{"input":{"prompt":""" + "\"" + new string('p', 1 << 19) + "\"}}"),
        Post("a body just over the 10 MiB cap", Submit, """{"input":{"prompt":""" + "\"" + new string('p', 10 * 1024 * 1024) + "\"}}") with { Status = 413 },
        Accepted("unknown members pass to Reka", """{"input":{"prompt":"x"},"priority":"high","extra":{"a":[1,2]}}"""),
        Refused("webhook_url with a password", $$"""{"input":{},"webhook_url":"http://user:{{Password}}@127.0.0.1:9/hooks"}""", "webhook_url") with { NeverEchoed = [Password] },
        Refused("webhook_url with a user name", """{"input":{},"webhook_url":"http://user@127.0.0.1:9/hooks"}""", "webhook_url"),
        Refused("webhook_url at the cloud metadata address", """{"input":{},"webhook_url":"http://169.254.169.254/latest/meta-data/"}""", "webhook_url"),
        Refused("webhook_url at an unlisted host", """{"input":{},"webhook_url":"http://evil.example/hooks"}""", "webhook_url"),
        Refused("webhook_url ftp", """{"input":{},"webhook_url":"ftp://127.0.0.1/hooks"}""", "webhook_url"),
        Refused("webhook_url file", """{"input":{},"webhook_url":"file:///etc/passwd"}""", "webhook_url"),
        Refused("webhook_url javascript", """{"input":{},"webhook_url":"javascript:alert(1)"}""", "webhook_url"),
        Refused("webhook_url relative", """{"input":{},"webhook_url":"/hooks"}""", "webhook_url"),
        Refused("webhook_url with a leading space", """{"input":{},"webhook_url":" http://127.0.0.1:9/hooks"}""", "webhook_url"),
        Refused("webhook_url with a trailing line feed", """{"input":{},"webhook_url":"http://127.0.0.1:9/hooks\n"}""", "webhook_url"),
        Refused("webhook_url of 2084 characters", $$"""{"input":{},"webhook_url":"http://127.0.0.1:9/{{new string('h', 2084 - 19)}}"}""", "webhook_url"),
        Refused("webhook_url a number", """{"input":{},"webhook_url":80}""", "webhook_url"),
        Refused("webhook_url an object", """{"input":{},"webhook_url":{"url":"http://127.0.0.1:9/"}}""", "webhook_url"),
        Refused("webhook_url empty", """{"input":{},"webhook_url":""}""", "webhook_url"),
        Accepted("webhook_url null", """{"input":{"prompt":"x"},"webhook_url":null}"""),
        Accepted("webhook_url allowed: replaced by the gateway's", """{"input":{"prompt":"x"},"webhook_url":"http://127.0.0.1:9/hooks?x=1#f"}"""),
        Post("bob passes a webhook_url without a signing secret", Submit, """{"input":{},"webhook_url":"http://127.0.0.1:9/hooks"}""") with { Caller = Caller.Bob, DetailNames = "WebhookSecret" },
        Post("an Idempotency-Key of 1,000 characters passes, scoped to the client", Submit, """{"input":{"prompt":"x"}}""") with
        {
            Status = 202, ReachesReka = true, Headers = [new("Idempotency-Key", new string('i', 1000))],
            Also = (answer, reached) => Assert.Equal("alice:" + new string('i', 1000), Assert.Single(reached).Headers["Idempotency-Key"]),
        },
        Post("GET on the submit path", Submit, "") with { Body = null, ContentType = null } with { Method = "GET", Status = 405 },
        Post("PUT on the submit path", Submit, """{"input":{}}""") with { Method = "PUT", Status = 405 },
        Post("a model with %2F: a cancel of another's request to a server that decodes it", "/v2/inference/requests%2Freq-1/cancel", """{"input":{}}""") with { DetailNames = "model" },
        Post("a capability with %2F", "/v2/inference/sora-2-pro/image%2F..%2F..%2Frequests", """{"input":{}}""") with { DetailNames = "capability" },
        Post("a model with %25", "/v2/inference/sora%252E/image-to-video", """{"input":{}}""") with { DetailNames = "model" },
        Post("a model of 129 characters", $"/v2/inference/{new string('m', 129)}/image-to-video", """{"input":{}}""") with { DetailNames = "model" },
        Post("'.', '_' and '~' in a model", "/v2/inference/veo-3.1_fast~x/text-to-video", """{"input":{}}""") with
        {
            Status = 202, ReachesReka = true, Also = (_, reached) => Assert.Equal("/v2/inference/veo-3.1_fast~x/text-to-video", Assert.Single(reached).PathAndQuery),
        },
        Post("a chat body is Reka's to read", "/v2/inference/chat/completions", "{not json") with { Status = 200, ReachesReka = true },
    ];
}
