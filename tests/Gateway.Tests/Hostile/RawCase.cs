using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// One hostile exchange over a raw TCP connection: bytes no HTTP client would send. The request
/// text is Latin-1 (a byte per character); <c>{marker}</c> in it is the case's marker, and the
/// stack's placeholders (a callback token) are replaced too. After it, a request for
/// <c>/healthz</c> asking to close the connection is sent on the same connection (when
/// <see cref="Probe"/>), so the answers read show whether the connection kept serving in order.
/// </summary>
/// <param name="Name">What the case tries.</param>
/// <param name="Request">The bytes sent, as Latin-1 text.</param>
public sealed record RawCase(string Name, string Request)
{
    /// <summary>The status of the first answer; 0 when no HTTP/1.1 answer came.</summary>
    public int Status { get; init; } = 400;

    /// <summary>Whether Kestrel refuses it before any gateway code runs: an empty body, <c>Connection: close</c>, the connection closed.</summary>
    public bool KestrelRefusal { get; init; }

    /// <summary>How many calls carrying the case's marker must reach Reka.</summary>
    public int ReachesReka { get; init; }

    /// <summary>How many answers the case's own bytes must get (more than one when requests are pipelined).</summary>
    public int Answers { get; init; } = 1;

    /// <summary>Whether to send the health probe after the request (not for requests whose body is left incomplete on purpose).</summary>
    public bool Probe { get; init; } = true;

    /// <summary>Whether bytes that are not an HTTP/1.1 answer may come back (an HTTP/2 frame, say).</summary>
    public bool OtherBytes { get; init; }

    /// <summary>Further checks, given the exchange and the calls with the marker that reached Reka.</summary>
    public Action<RawExchange, IReadOnlyList<RecordedRequest>>? Also { get; init; }

    public override string ToString() => Name;
}

public partial class HostileStack
{
    /// <summary>
    /// Sends a raw case, then checks, after recording its outcome: the first answer's status;
    /// Kestrel's refusal (empty body, connection closed) or, for the gateway's own errors, problem
    /// details with a detail; the calls that reached Reka; that no request hidden in the bytes
    /// (a path with <c>smuggled-{marker}</c>) was ever served; that no answer came beyond the
    /// case's own and the probe's; no secret in the answers or the logs; no error-level log line.
    /// </summary>
    public async Task RunRawAsync(string area, RawCase c, ITestOutputHelper output)
    {
        var marker = Guid.NewGuid().ToString("N");
        var bytes = Encoding.Latin1.GetBytes(Expand(c.Request).Replace("{marker}", marker, StringComparison.Ordinal));
        var exchange = await RawHttp.ExchangeAsync(Port, bytes, c.Probe ? RawHttp.HealthProbe : null);
        var first = exchange.Responses.FirstOrDefault();
        var status = first?.Status ?? 0;
        var mediaType = first?.Header("content-type")?.Split(';')[0].Trim();
        var problem = first is null ? null : ProblemDetailsOf(first.Status, mediaType, first.Text);
        var refusal = first is not null && status >= 400 && first.Body.Length == 0 && exchange.Closed;
        var reached = RequestsOf(marker);
        var smuggled = Reka.Requests.Where(r => r.PathAndQuery.Contains("smuggled-" + marker, StringComparison.Ordinal)).ToList();
        Secrets.LearnTokensFrom(Reka.Requests);
        var text = string.Concat(exchange.Responses.Select(r => Encoding.Latin1.GetString(r.Raw)));
        var findings = Secrets.Find(text, $"the answers to '{c.Name}'").Select(f => f.Description).ToList();
        findings.AddRange(ScanLogs());
        HostileFigures.Record(new CaseOutcome(area, c.Name, status, problem is not null, refusal, FromReka: false, findings.Count));
        output.WriteLine($"{area} / {c.Name}: {status} ({exchange.Responses.Count} answer(s): {string.Join(", ", exchange.Responses.Select(r => r.Status))}; " +
            $"closed {exchange.Closed}), Reka reached {reached.Count} time(s), {findings.Count} leak(s)");

        Assert.True(c.Status == status, $"'{c.Name}': expected {c.Status}, got {status}: {Encoding.Latin1.GetString(first?.Raw ?? exchange.Trailing)}");
        if (c.KestrelRefusal)
        {
            Assert.True(refusal, $"'{c.Name}': expected Kestrel's refusal (empty body, connection closed), got {Encoding.Latin1.GetString(first!.Raw)}");
            Assert.Equal("close", first!.Header("connection"));
        }
        else if (status >= 400 && c.ReachesReka == 0)
        {
            Assert.True(problem is not null, $"'{c.Name}': the gateway's {status} is not problem details with a detail: {Encoding.Latin1.GetString(first!.Raw)}");
        }
        Assert.True(reached.Count == c.ReachesReka, $"'{c.Name}' reached Reka {reached.Count} time(s), expected {c.ReachesReka}");
        Assert.True(smuggled.Count == 0, $"'{c.Name}': a request hidden in the bytes was served: {string.Join(", ", smuggled.Select(s => s.PathAndQuery))}");
        var beyond = exchange.Responses.Skip(c.Answers).ToList();
        Assert.True(beyond.Count == 0 || (c.Probe && beyond.Count == 1 && beyond[0].Status == 200 && beyond[0].Text.Contains("Healthy", StringComparison.Ordinal)),
            $"'{c.Name}': answers beyond the case's own and the probe's: {string.Join(" | ", beyond.Select(r => Encoding.Latin1.GetString(r.Raw)))}");
        if (!c.OtherBytes)
        {
            Assert.True(exchange.Trailing.Length == 0, $"'{c.Name}': bytes that are no answer: {Encoding.Latin1.GetString(exchange.Trailing)}");
        }
        Assert.True(findings.Count == 0, string.Join("; ", findings));
        AssertNoErrorLogs();
        c.Also?.Invoke(exchange, reached);
    }
}
