using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// HTTP/1.1 framing abuse over raw sockets against the gateway's Kestrel port: request smuggling
/// (Content-Length with Transfer-Encoding, two Content-Lengths, bad and overflowing chunk sizes),
/// malformed request lines and headers, absolute-form and asterisk-form targets, oversized request
/// lines, headers (431) and bodies (413), pipelining. No request hidden in the bytes is ever
/// served, Kestrel refuses what HTTP forbids before any gateway code runs, and what reaches the
/// gateway is answered with problem details.
/// </summary>
public sealed class ProtocolAbuseCases(CallbackStack stack, ITestOutputHelper output) : IClassFixture<CallbackStack>
{
    private const string Submit = "POST /v2/inference/sora-2-pro/image-to-video HTTP/1.1";
    private const string Json = "Content-Type: application/json\r\n";

    // A whole request for Reka, hidden where a parser that disagreed about the framing would see a second request.
    private static readonly string Smuggled = $"GET /v1/smuggled-{{marker}} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {TestClients.Alice.Key}\r\n\r\n";

    // The bytes of Smuggled as sent: {marker} (8 characters) becomes a 32-character marker.
    private static readonly int SmuggledLength = Smuggled.Length - "{marker}".Length + 32;

    public static TheoryData<string> Names => [.. All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Case(string name) => stack.RunRawAsync("protocol", All.Single(c => c.Name == name), output);

    /// <summary>A request: its line, Host, alice's key (unless <paramref name="key"/> is false), the marker, <paramref name="headers"/> (lines ending CRLF), a blank line, the body.</summary>
    private static string Http(string line, string headers = "", string body = "", bool key = true, string host = "Host: 127.0.0.1\r\n") =>
        line + "\r\n" + host + (key ? $"X-Api-Key: {TestClients.Alice.Key}\r\n" : "") + "X-Hostile-Case: {marker}\r\n" + headers + "\r\n" + body;

    // The first answer's detail names the header.
    private static Action<RawExchange, IReadOnlyList<RecordedRequest>> NamesHeader(string header) =>
        (exchange, _) => Assert.Contains($"'{header}'", exchange.Responses[0].Text, StringComparison.Ordinal);

    private static RawCase Refused(string name, string request, int status = 400) =>
        new(name, request) { Status = status, KestrelRefusal = true };

    private static string Chunked(int totalBytes)
    {
        var chunk = "1000\r\n" + new string('x', 4096) + "\r\n";
        return string.Concat(Enumerable.Repeat(chunk, totalBytes / 4096 + 1)) + "0\r\n\r\n";
    }

    private static readonly RawCase[] All =
    [
        new("a valid call, as a baseline", Http("GET /v2/inference/models HTTP/1.1")) { Status = 200, ReachesReka = 1 },
        new("Content-Length and Transfer-Encoding, a request smuggled after the last chunk",
            Http(Submit, Json + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + Smuggled)),
        new("Transfer-Encoding before Content-Length, a request smuggled",
            Http(Submit, Json + "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n", "0\r\n\r\n" + Smuggled)),
        new("Content-Length spanning the smuggled request, Transfer-Encoding chunked",
            Http(Submit, Json + $"Content-Length: {5 + SmuggledLength}\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + Smuggled)),
        new("Content-Length and Transfer-Encoding on the callback receiver",
            Http("POST /webhooks/inference?token={token} HTTP/1.1", Json + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + Smuggled, key: false)),
        new("a GET whose Content-Length body holds a request: it stays a body",
            Http("GET /v2/inference/models HTTP/1.1", $"Content-Length: {SmuggledLength}\r\n", Smuggled)) { Status = 200, ReachesReka = 1 },
        Refused("two different Content-Lengths", Http(Submit, Json + "Content-Length: 2\r\nContent-Length: 40\r\n", "{}" + Smuggled)),
        Refused("two equal Content-Lengths", Http(Submit, Json + "Content-Length: 2\r\nContent-Length: 2\r\n", "{}")),
        Refused("a Content-Length list", Http(Submit, Json + "Content-Length: 2, 2\r\n", "{}")),
        Refused("a negative Content-Length", Http(Submit, Json + "Content-Length: -1\r\n", "{}")),
        Refused("a hexadecimal Content-Length", Http(Submit, Json + "Content-Length: 0x2\r\n", "{}")),
        Refused("a Content-Length of 20 digits", Http(Submit, Json + "Content-Length: 99999999999999999999\r\n", "{}")),
        new("a Content-Length with a plus sign (read as 2 by Kestrel)", Http(Submit, Json + "Content-Length: +2\r\n", "{}")),
        new("a Content-Length with leading zeros", Http(Submit, Json + "Content-Length: 002\r\n", "{}")),
        Refused("Transfer-Encoding gzip", Http(Submit, Json + "Transfer-Encoding: gzip\r\n", "{}")),
        Refused("Transfer-Encoding chunked, then gzip", Http(Submit, Json + "Transfer-Encoding: chunked, gzip\r\n", "2\r\n{}\r\n0\r\n\r\n")),
        Refused("Transfer-Encoding xchunked", Http(Submit, Json + "Transfer-Encoding: xchunked\r\n", "2\r\n{}\r\n0\r\n\r\n")),
        Refused("a space before the colon of Transfer-Encoding", Http(Submit, Json + "Transfer-Encoding : chunked\r\n", "0\r\n\r\n")),
        new("Transfer-Encoding chunked, chunked", Http(Submit, Json + "Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n")),
        new("a chunk size that is not hexadecimal", Http(Submit, Json + "Transfer-Encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n")),
        new("regression: a chunk size past 2^31 on a submit", Http(Submit, Json + "Transfer-Encoding: chunked\r\n", "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n")),
        new("regression: a chunk size past 2^31 on the callback receiver",
            Http("POST /webhooks/inference?token={token} HTTP/1.1", Json + "Transfer-Encoding: chunked\r\n", "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n", key: false)),
        new("a chunk size past 2^31 on a subscription", Http("POST /subscriptions HTTP/1.1", Json + "Transfer-Encoding: chunked\r\n", "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n", key: false)
            .Replace("X-Hostile-Case", $"X-Api-Key: {TestClients.Ops.Key}\r\nX-Hostile-Case")),
        new("a chunk size past 2^31 on a forwarded path", Http("POST /v1/things HTTP/1.1", Json + "Transfer-Encoding: chunked\r\n", "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n")),
        new("a negative chunk size", Http(Submit, Json + "Transfer-Encoding: chunked\r\n", "-2\r\n{}\r\n0\r\n\r\n")),
        new("a chunk without its CRLF", Http(Submit, Json + "Transfer-Encoding: chunked\r\n", "2\r\n{}XX0\r\n\r\n")),
        new("a chunk extension", Http(Submit, Json + "Transfer-Encoding: chunked\r\n", "2;name=value\r\n{}\r\n0\r\n\r\n")),
        Refused("a folded header (obs-fold)", Http("GET /v2/inference/models HTTP/1.1", "X-Folded: a\r\n b\r\n")),
        Refused("a NUL in a header value", Http("GET /v2/inference/models HTTP/1.1", "X-Nul: a\0b\r\n")),
        Refused("a bare CR in a header value", Http("GET /v2/inference/models HTTP/1.1", "X-Cr: a\rb\r\n")),
        Refused("a space in a header name", Http("GET /v2/inference/models HTTP/1.1", "X Space: a\r\n")),
        Refused("a header line without a colon", Http("GET /v2/inference/models HTTP/1.1", "NoColonHere\r\n")),
        Refused("a space before the colon of X-Api-Key", Http("GET /v2/inference/models HTTP/1.1", $"X-Api-Key : {TestClients.Bob.Key}\r\n", key: false)),
        Refused("a Latin-1 byte in X-Api-Key", Http("GET /v2/inference/models HTTP/1.1", "X-Api-Key: caf\u00e9\r\n", key: false)),
        // Regression: Kestrel reads valid UTF-8 in a header value, which HttpClient cannot send on: it was a 502.
        new("regression: UTF-8 in a header value", Http("GET /v2/inference/models HTTP/1.1", "X-Note: caf\u00c3\u00a9\r\n")) { Also = NamesHeader("X-Note") },
        new("UTF-8 in the Idempotency-Key of a submit", Http(Submit, Json + "Idempotency-Key: cl\u00c3\u00a9\r\nContent-Length: 12\r\n", "{\"input\":{}}")) { Also = NamesHeader("Idempotency-Key") },
        new("UTF-8 in X-Api-Key", Http("GET /v2/inference/models HTTP/1.1", "X-Api-Key: gk_caf\u00c3\u00a9\r\n", key: false)) { Also = NamesHeader("X-Api-Key") },
        new("UTF-8 in a header of the callback receiver", Http("POST /webhooks/inference?token={token} HTTP/1.1", Json + "X-Note: \u00e2\u0082\u00ac\r\nContent-Length: 2\r\n", "{}", key: false)) { Also = NamesHeader("X-Note") },
        new("bare LF line endings (RFC 9112 lets a server accept them)",
            Http("GET /v2/inference/models HTTP/1.1", "").Replace("\r\n", "\n")) { Status = 200, ReachesReka = 1 },
        Refused("no Host in HTTP/1.1", Http("GET /v2/inference/models HTTP/1.1", host: "")),
        Refused("two Hosts", Http("GET /v2/inference/models HTTP/1.1", "Host: evil.example\r\n")),
        Refused("a Host with a space", Http("GET /v2/inference/models HTTP/1.1", host: "Host: evil example\r\n")),
        new("HTTP/1.0 without Host", Http("GET /v2/inference/models HTTP/1.0", host: "")) { Status = 200, ReachesReka = 1 },
        Refused("an HTTP/0.9 request", "GET /v2/inference/models\r\n\r\n"),
        Refused("HTTP/1.2", Http("GET /v2/inference/models HTTP/1.2"), 505),
        new("the HTTP/2 preface on the HTTP/1.1 port", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") { Status = 0, Probe = false, OtherBytes = true },
        // Kestrel and routing take methods case-insensitively: the call is the GET it spells, and Reka gets a GET.
        new("a method in lower case", Http("get /v2/inference/models HTTP/1.1"))
        {
            Status = 200, ReachesReka = 1, Also = (_, reached) => Assert.Equal("GET", Assert.Single(reached).Method),
        },
        new("an unknown method on a forwarded path", Http("FOO /v2/videos HTTP/1.1")) { Status = 405 },
        new("CONNECT to another host", Http("CONNECT evil.example:443 HTTP/1.1", host: "Host: evil.example:443\r\n")) { Status = 404 },
        new("OPTIONS *", Http("OPTIONS * HTTP/1.1")) { Status = 404 },
        Refused("an absolute-form target for another host than Host", Http("GET http://evil.example/v2/inference/models HTTP/1.1")),
        new("an absolute-form target and a Host that agree: Reka still gets its own host",
            Http("GET http://evil.example/v2/inference/models HTTP/1.1", host: "Host: evil.example\r\n"))
        {
            Status = 200, ReachesReka = 1,
            Also = (_, reached) => Assert.DoesNotContain("evil.example", Assert.Single(reached).Headers["Host"], StringComparison.Ordinal),
        },
        Refused("an asterisk-form target for GET", Http("GET * HTTP/1.1"), 405),
        Refused("a target without its leading slash", Http("GET v2/inference/models HTTP/1.1")),
        // Kestrel takes '#' as part of the path (/v2/inference/models%23f), which is no route.
        new("a fragment in the target", Http("GET /v2/inference/models#f HTTP/1.1")) { Status = 404 },
        Refused("a raw space in the target", Http("GET /v2/video s HTTP/1.1")),
        Refused("a tab between method and target", Http("GET\t/v2/inference/models HTTP/1.1")),
        Refused("a request line of 9 KB", Http($"GET /v2/{new string('a', 9000)} HTTP/1.1"), 414),
        Refused("a header of 40 KB", Http("GET /v2/inference/models HTTP/1.1", $"X-Big: {new string('b', 40_000)}\r\n"), 431),
        Refused("101 headers", Http("GET /v2/inference/models HTTP/1.1", string.Concat(Enumerable.Range(0, 101).Select(i => $"X-H{i}: v\r\n"))), 431),
        Refused("headers of 33 KB in many lines", Http("GET /v2/inference/models HTTP/1.1", string.Concat(Enumerable.Range(0, 33).Select(i => $"X-L{i}: {new string('l', 1000)}\r\n"))), 431),
        new("a submit declaring a body over the 10 MiB cap", Http(Submit, Json + "Content-Length: 10485761\r\n", "{\"input\":")) { Status = 413, Probe = false },
        new("a callback declaring a body over the 1 MiB cap",
            Http("POST /webhooks/inference?token={token} HTTP/1.1", Json + "Content-Length: 1048577\r\n", "{\"request_id\":", key: false)) { Status = 413, Probe = false },
        new("Expect: 100-continue with a body over the cap: 413, no 100",
            Http(Submit, Json + "Expect: 100-continue\r\nContent-Length: 10485761\r\n")) { Status = 413, Probe = false },
        new("a chunked submit over the 10 MiB cap", Http(Submit, Json + "Transfer-Encoding: chunked\r\n", Chunked(10 * 1024 * 1024 + 4096))) { Status = 413, Probe = false },
        new("two pipelined calls, answered in order",
            Http("GET /v2/inference/models HTTP/1.1") + Http("GET /v2/videos HTTP/1.1")) { Status = 200, Answers = 2, ReachesReka = 2 },
        Refused("a refused request, then a pipelined call: never served",
            Http(Submit, Json + "Content-Length: 2\r\nContent-Length: 3\r\n", "{}") + Http("GET /v2/inference/models HTTP/1.1")),
    ];
}
