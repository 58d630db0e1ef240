
namespace Reka.Gateway.Tests.Hostile;

/// <summary>Whose key a case sends.</summary>
public enum Caller
{
    /// <summary>No key at all.</summary>
    None,
    /// <summary>An ordinary client with a webhook secret.</summary>
    Alice,
    /// <summary>An ordinary client without a webhook secret.</summary>
    Bob,
    /// <summary>An admin client.</summary>
    Ops,
}

/// <summary>
/// One hostile call over HTTP and what the gateway must make of it: the status; whether it may
/// reach Reka (exactly once) or must not reach it at all; strings it must never echo. When the
/// gateway itself answers an error, it must be problem details with a detail; every answer and
/// every log line is searched for secrets.
/// </summary>
/// <param name="Name">What the case tries, unique in its area.</param>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">Path and query, sent exactly as written (no normalization by the client).</param>
public sealed record HostileCase(string Name, string Method, string Path)
{
    /// <summary>Whose key is sent (as <c>X-Api-Key</c>, unless <see cref="Headers"/> carry a key some other way).</summary>
    public Caller Caller { get; init; } = Caller.Alice;

    /// <summary>Headers sent as they are (content headers included), no validation by the client.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>The body, if any.</summary>
    public byte[]? Body { get; init; }

    /// <summary>The body's Content-Type, if any.</summary>
    public string? ContentType { get; init; }

    /// <summary>The status the gateway must answer.</summary>
    public int Status { get; init; } = 400;

    /// <summary>
    /// Whether Kestrel refuses the call before any gateway code runs (a request line over its
    /// limit, an encoded NUL in the path): an empty body and the connection closed, not problem details.
    /// </summary>
    public bool KestrelRefusal { get; init; }

    /// <summary>
    /// Whether the answer repeats the caller's own path (a 404 naming what is no route): a secret
    /// the path itself carries is then the caller's input given back, not counted in the answer
    /// (the logs are searched for it as ever).
    /// </summary>
    public bool EchoesPath { get; init; }

    /// <summary>Whether the call must reach Reka (exactly once, and its answer is Reka's); otherwise it must not reach it at all.</summary>
    public bool ReachesReka { get; init; }

    /// <summary>Whether the answer creates and shows a secret on purpose (a client's key, a subscription's secret): learnt there, never to be seen again.</summary>
    public bool Reveals { get; init; }

    /// <summary>Strings the answer and the logs must never hold (a password in a URL, say).</summary>
    public IReadOnlyList<string> NeverEchoed { get; init; } = [];

    /// <summary>Words the problem's detail (or, for a validation problem, its errors) must hold: the field named.</summary>
    public string? DetailNames { get; init; }

    /// <summary>Further checks, given the answer and the upstream requests this case caused.</summary>
    public Action<HostileAnswer, IReadOnlyList<RecordedRequest>>? Also { get; init; }

    /// <summary>The body as UTF-8 JSON text.</summary>
    public HostileCase WithJson(string json, string contentType = "application/json") =>
        this with { Body = Encoding.UTF8.GetBytes(json), ContentType = contentType };

    /// <summary>A header sent as it is.</summary>
    public HostileCase WithHeader(string name, string value) =>
        this with { Headers = [.. Headers, new(name, value)] };

    public override string ToString() => Name;

    /// <summary>A GET expected to be refused 400 (the default) without reaching Reka.</summary>
    public static HostileCase Get(string name, string path) => new(name, "GET", path);

    /// <summary>A POST of <paramref name="json"/> expected to be refused 400 without reaching Reka.</summary>
    public static HostileCase Post(string name, string path, string json) => new HostileCase(name, "POST", path).WithJson(json);

    /// <summary>A POST of raw <paramref name="body"/> bytes as <c>application/json</c>.</summary>
    public static HostileCase PostBytes(string name, string path, byte[] body) =>
        new HostileCase(name, "POST", path) with { Body = body, ContentType = "application/json" };
}

/// <summary>An answer as a hostile case saw it.</summary>
/// <param name="Status">The status.</param>
/// <param name="ContentType">The media type, if any.</param>
/// <param name="Body">The body as text.</param>
/// <param name="Headers">Every header, as <c>name: value</c> lines.</param>
/// <param name="ConnectionClose">Whether the answer closed the connection.</param>
public sealed record HostileAnswer(int Status, string? ContentType, string Body, string Headers, bool ConnectionClose = false)
{
    /// <summary>The body as JSON (fails the test when it is not).</summary>
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}
