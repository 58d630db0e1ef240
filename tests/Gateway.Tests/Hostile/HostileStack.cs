using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// One gateway in front of a recording stand-in for Reka, shared by the cases of an area (a class
/// fixture): cases run one after the other and tell their calls apart by a marker header
/// (<see cref="MarkerHeader"/>), which the gateway forwards like any other. The gateway logs at
/// the levels of production (appsettings.json) with its own categories at Trace, so that every
/// line it could write is searched for secrets. Disposing it searches the last lines and fails
/// the fixture if any holds a secret or is an error.
/// </summary>
public partial class HostileStack : IAsyncLifetime
{
    /// <summary>Header naming the case a call belongs to; forwarded to Reka as any header.</summary>
    public const string MarkerHeader = "X-Hostile-Case";

    // Bodies over 64 KiB are sent after 100 Continue only: a 413 answered before the body is read
    // must not become a broken pipe on the client's side.
    private readonly HttpClient _http = new(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(60) }) { Timeout = TimeSpan.FromSeconds(60) };
    private int _requestIds;
    private int _linesScanned;
    private int _secretsScanned;
    private readonly List<string> _lateFindings = [];

    /// <summary>The stand-in for Reka: records every call, answers as Reka would (submits 202 with a request id, the rest 200).</summary>
    public RecordingUpstream Reka { get; private set; } = null!;

    /// <summary>The gateway.</summary>
    public GatewayHost Gateway { get; private set; } = null!;

    /// <summary>The secrets looked for.</summary>
    public SecretScanner Secrets { get; } = new();

    /// <summary>The gateway's port on 127.0.0.1.</summary>
    public int Port => Gateway.BaseAddress.Port;

    /// <summary>Settings of this area's gateway on top of <see cref="HostileSettings"/>.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    /// <summary>
    /// Log levels as in production (appsettings.json: Information, ASP.NET Core and YARP at
    /// Warning), the gateway's own categories at Trace: at least every line production writes.
    /// </summary>
    public static readonly KeyValuePair<string, string?>[] HostileSettings =
    [
        new("Logging:LogLevel:Default", "Information"),
        new("Logging:LogLevel:Microsoft.AspNetCore", "Warning"),
        new("Logging:LogLevel:Yarp", "Warning"),
        new("Logging:LogLevel:Reka", "Trace"),
    ];

    public virtual async Task InitializeAsync()
    {
        Reka = await RecordingUpstream.StartAsync();
        Reka.Respond = AnswerAsRekaAsync;
        Gateway = await GatewayHost.StartAsync(Reka.BaseUrl, [.. HostileSettings, .. Settings]);
    }

    public virtual async Task DisposeAsync()
    {
        // Lines written after the last case's answer (a forwarded call's log line, a background job).
        var findings = ScanLogs();
        var errors = Gateway.Logs.Errors;
        _http.Dispose();
        await Gateway.DisposeAsync();
        await Reka.DisposeAsync();
        Assert.True(findings.Count == 0 && _lateFindings.Count == 0, "secrets in log lines: " + string.Join("; ", findings.Concat(_lateFindings)));
        Assert.True(errors.Count == 0, "error-level log lines: " + string.Join(" | ", errors.Select(e => e.Message)));
    }

    /// <summary>A client of the gateway sending <paramref name="caller"/>'s key.</summary>
    public HttpClient CreateClient(Caller caller = Caller.Alice) =>
        Gateway.CreateClient(ClientOf(caller));

    /// <summary>The test client behind <paramref name="caller"/>.</summary>
    public static TestClient? ClientOf(Caller caller) => caller switch
    {
        Caller.Alice => TestClients.Alice,
        Caller.Bob => TestClients.Bob,
        Caller.Ops => TestClients.Ops,
        _ => null,
    };

    /// <summary>
    /// Sends the case's call, then checks, after recording the outcome in <see cref="HostileFigures"/>:
    /// the status; that it reached Reka exactly once, or not at all; problem details with a detail
    /// when the gateway answered an error itself; no secret in the answer or any log line; no
    /// error-level log line; the case's own checks.
    /// </summary>
    public async Task RunAsync(string area, HostileCase c, ITestOutputHelper output)
    {
        var marker = Guid.NewGuid().ToString("N");
        var uri = new Uri($"http://127.0.0.1:{Port}{Expand(c.Path)}", new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), uri);
        if (c.Body is not null)
        {
            // Latin-1 maps bytes to chars one to one: placeholders are replaced, every other byte kept.
            request.Content = new ByteArrayContent(Encoding.Latin1.GetBytes(Expand(Encoding.Latin1.GetString(c.Body))));
            if (c.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
            }
            request.Headers.ExpectContinue = c.Body.Length > 64 * 1024;
        }
        if (ClientOf(c.Caller) is { } client)
        {
            request.Headers.TryAddWithoutValidation("X-Api-Key", client.Key);
        }
        foreach (var (name, raw) in c.Headers)
        {
            var value = Expand(raw);
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }
        request.Headers.TryAddWithoutValidation(MarkerHeader, marker);

        using var response = await _http.SendAsync(request);
        var body = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());
        var headers = string.Join("\n", response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(", ", h.Value)}"));
        var answer = new HostileAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body, headers, response.Headers.ConnectionClose == true);
        var reached = RequestsOf(marker);
        Secrets.LearnTokensFrom(Reka.Requests);
        var text = $"HTTP {answer.Status}\n{answer.Headers}\n\n{answer.Body}";
        var revealed = c.Reveals ? Secrets.Unknown(text) : [];
        var path = Expand(c.Path);
        var findings = Secrets.Find(text, $"the answer to '{c.Name}'")
            .Where(f => !revealed.Contains(f.Value) && !(c.EchoesPath && path.Contains(f.Value, StringComparison.Ordinal)))
            .Select(f => f.Description).ToList();
        foreach (var secret in revealed)
        {
            Secrets.Learn(secret, $"the secret revealed by '{c.Name}'");
        }
        findings.AddRange(ScanLogs());
        findings.AddRange(c.NeverEchoed.Where(s => text.Contains(s, StringComparison.Ordinal)).Select(s => $"'{s}' echoed in the answer"));
        findings.AddRange(c.NeverEchoed.Where(s => Gateway.Logs.Entries.Any(e => e.Message.Contains(s, StringComparison.Ordinal))).Select(s => $"'{s}' in a log line"));
        var problem = ProblemDetailsOf(answer);
        var refusal = answer.Status >= 400 && answer.Body.Length == 0 && answer.ConnectionClose;
        HostileFigures.Record(new CaseOutcome(area, c.Name, answer.Status, problem is not null, refusal, FromReka: c.ReachesReka, findings.Count));
        output.WriteLine($"{area} / {c.Name}: {answer.Status} {answer.ContentType}, Reka reached {reached.Count} time(s), {findings.Count} leak(s)");

        Assert.True(c.Status == answer.Status, $"'{c.Name}': expected {c.Status}, got {answer.Status}: {body}");
        Assert.True(reached.Count == (c.ReachesReka ? 1 : 0), $"'{c.Name}' reached Reka {reached.Count} time(s), expected {(c.ReachesReka ? 1 : 0)}");
        if (c.KestrelRefusal)
        {
            Assert.True(refusal, $"'{c.Name}': expected Kestrel's refusal (an empty body, the connection closed), got {answer.ContentType} {body}");
        }
        else if (answer.Status >= 400 && !c.ReachesReka)
        {
            Assert.True(problem is not null, $"'{c.Name}': the gateway's {answer.Status} is not problem details with a detail: {answer.ContentType} {body}");
        }
        if (c.DetailNames is { } named)
        {
            Assert.Contains(named, body, StringComparison.Ordinal);
        }
        Assert.True(findings.Count == 0, string.Join("; ", findings));
        AssertNoErrorLogs();
        c.Also?.Invoke(answer, reached);
    }

    /// <summary>Replaces the placeholders of an area (a callback token, say) in a case's path, headers and body.</summary>
    protected virtual string Expand(string text) => text;

    /// <summary>Fails when the gateway has logged at Error or above.</summary>
    public void AssertNoErrorLogs()
    {
        var errors = Gateway.Logs.Errors;
        Assert.True(errors.Count == 0, "error-level log lines: " + string.Join(" | ", errors.Select(e => $"{e.Category}: {e.Message} {e.Exception?.GetType().Name}")));
    }

    /// <summary>The problem details of <paramref name="answer"/> when it is RFC 9457 problem details whose status matches and whose detail is not empty; otherwise null.</summary>
    public static JsonElement? ProblemDetailsOf(HostileAnswer answer) => ProblemDetailsOf(answer.Status, answer.ContentType, answer.Body);

    /// <summary>As <see cref="ProblemDetailsOf(HostileAnswer)"/>, from the parts of an answer.</summary>
    public static JsonElement? ProblemDetailsOf(int status, string? mediaType, string body)
    {
        if (mediaType != "application/problem+json")
        {
            return null;
        }
        try
        {
            var problem = JsonDocument.Parse(body).RootElement;
            return problem.ValueKind == JsonValueKind.Object
                && problem.TryGetProperty("status", out var code) && code.ValueKind == JsonValueKind.Number && code.GetInt32() == status
                && problem.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(detail.GetString())
                ? problem : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The calls Reka received carrying <paramref name="marker"/>.</summary>
    public IReadOnlyList<RecordedRequest> RequestsOf(string marker) =>
        [.. Reka.Requests.Where(r => r.Headers.TryGetValue(MarkerHeader, out var value) && value == marker)];

    /// <summary>
    /// Searches the log lines written since the last search for every secret, and the earlier
    /// lines for the secrets learnt since: what it finds, described (never the secret).
    /// </summary>
    public IReadOnlyList<string> ScanLogs()
    {
        lock (_lateFindings)
        {
            var entries = Gateway.Logs.Entries;
            var known = Secrets.Count;
            var findings = new List<string>();
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                var line = entry.Message + (entry.Exception is { } e ? "\n" + e : "");
                var where = $"a log line of {entry.Category}";
                findings.AddRange((i >= _linesScanned ? Secrets.Find(line, where) : Secrets.FindLearntSince(_secretsScanned, line, where)).Select(f => f.Description));
            }
            _linesScanned = entries.Count;
            _secretsScanned = known;
            return findings;
        }
    }

    /// <summary>
    /// Reka as the gateway sees it: submits answered 202 with a new request id and URLs on
    /// Reka's host (which the gateway rewrites), status and result of any request IN_PROGRESS,
    /// cancel CANCELLED, the list empty, anything else 200 <c>{"ok":true}</c>. Each answer has an
    /// <c>X-Request-ID</c>, as Reka's do.
    /// </summary>
    protected virtual async Task AnswerAsRekaAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        var reka = $"{request.Scheme}://{request.Host}";
        context.Response.Headers["X-Request-ID"] = Guid.NewGuid().ToString();
        if (HttpMethods.IsPost(request.Method) && SubmitPath().IsMatch(path))
        {
            var id = $"req-{Interlocked.Increment(ref _requestIds)}-{Guid.NewGuid():N}";
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            await context.Response.WriteAsJsonAsync(new Dictionary<string, string>
            {
                ["request_id"] = id,
                ["status"] = "IN_QUEUE",
                ["status_url"] = $"{reka}/v2/inference/requests/{id}/status",
                ["response_url"] = $"{reka}/v2/inference/requests/{id}",
                ["cancel_url"] = $"{reka}/v2/inference/requests/{id}/cancel",
            });
            return;
        }
        if (RequestPath().Match(path) is { Success: true } one)
        {
            var cancel = one.Groups["cancel"].Success;
            await context.Response.WriteAsJsonAsync(new Dictionary<string, string>
            {
                ["request_id"] = one.Groups["id"].Value,
                ["status"] = cancel ? "CANCELLED" : "IN_PROGRESS",
            });
            return;
        }
        if (path == "/v2/inference/requests")
        {
            await context.Response.WriteAsJsonAsync(new { items = Array.Empty<object>(), total = 0 });
            return;
        }
        await context.Response.WriteAsJsonAsync(new { ok = true });
    }

    [GeneratedRegex(@"^/v2/inference/(?!requests/|chat/)[^/]+/[^/]+$")]
    private static partial Regex SubmitPath();

    [GeneratedRegex(@"^/v2/inference/requests/(?<id>[^/]+)(/status|(?<cancel>/cancel))?$")]
    private static partial Regex RequestPath();
}
