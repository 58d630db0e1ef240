using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Reka.Gateway.Bench;

/// <summary>One stage of a result's way from Reka's callback to a subscriber, as the gateway timed it.</summary>
/// <param name="Stage">What the stage is.</param>
/// <param name="Count">Measurements in the window.</param>
/// <param name="P50Ms">Median, milliseconds.</param>
/// <param name="P99Ms">99th percentile, milliseconds.</param>
public sealed record StageTime(string Stage, long Count, double P50Ms, double P99Ms);

/// <summary>
/// Reads the gateway's own stage histograms over EventPipe while the fan-out run is measured:
/// the callback's HTTP request (<c>http.server.request.duration</c> on <c>/webhooks/inference</c>),
/// the wait and the work of each durable queue (<c>gateway.queue.wait.duration</c>,
/// <c>gateway.queue.job.duration</c>) and each delivery attempt
/// (<c>gateway.delivery.attempt.duration</c>). The runtime's MetricsEventSource (what
/// dotnet-counters reads) publishes each histogram's quantiles once per interval, computed over
/// that interval only; the interval here is the whole window, so the figures cover every
/// measurement in it, from the session's start to the end of the window.
/// </summary>
public sealed class StageTimes : IAsyncDisposable
{
    private readonly string _sessionId = Guid.NewGuid().ToString("N");
    private readonly EventPipeSession _session;
    private readonly EventPipeEventSource _source;
    private readonly Task _processing;
    private readonly TaskCompletionSource<IReadOnlyList<StageTime>> _published = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(string Instrument, string Tags, long Count, double P50, double P99)> _histograms = [];

    // The stages in the order a result goes through them; the tag picks the time series.
    private static readonly (string Stage, string Instrument, string Tag)[] Stages =
    [
        ("callback request (answered 2xx)", "http.server.request.duration", "http.route=/webhooks/inference"),
        ("callbacks queue: wait past due", "gateway.queue.wait.duration", "queue=callbacks"),
        ("callback job: Reka asked, result stored, fan-out queued", "gateway.queue.job.duration", "queue=callbacks"),
        ("fanout queue: wait past due", "gateway.queue.wait.duration", "queue=fanout"),
        ("fan-out job: first attempts to every subscription, recorded", "gateway.queue.job.duration", "queue=fanout"),
        ("delivery attempt: signed, sent, answered", "gateway.delivery.attempt.duration", "outcome=succeeded"),
        ("deliveries queue (retries): wait past due", "gateway.queue.wait.duration", "queue=deliveries"),
    ];

    private StageTimes(int pid, TimeSpan window)
    {
        var provider = new EventPipeProvider("System.Diagnostics.Metrics", EventLevel.Informational, keywords: 0x2,
            arguments: new Dictionary<string, string>
            {
                ["SessionId"] = _sessionId,
                ["Metrics"] = @"Reka.Gateway\gateway.queue.wait.duration;Reka.Gateway\gateway.queue.job.duration;Reka.Gateway\gateway.delivery.attempt.duration;"
                    + @"Microsoft.AspNetCore.Hosting\http.server.request.duration",
                ["RefreshInterval"] = window.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                ["MaxTimeSeries"] = "1000",
                ["MaxHistograms"] = "200",
            });
        _session = new DiagnosticsClient(pid).StartEventPipeSession(provider, requestRundown: false);
        _source = new EventPipeEventSource(_session.EventStream);
        _source.Dynamic.All += OnEvent;
        _processing = Task.Run(_source.Process);
    }

    /// <summary>Starts reading process <paramref name="pid"/>'s histograms for a window of <paramref name="window"/>.</summary>
    public static StageTimes Start(int pid, TimeSpan window) => new(pid, window);

    /// <summary>The stages' figures, once the window is over.</summary>
    public Task<IReadOnlyList<StageTime>> ReadAsync(TimeSpan timeout) => _published.Task.WaitAsync(timeout);

    private void OnEvent(TraceEvent e)
    {
        if (e.ProviderName != "System.Diagnostics.Metrics" || e.PayloadByName("sessionId") as string is { } id && id != _sessionId)
        {
            return;
        }
        if (e.EventName is "Error" or "MultipleSessionsNotSupportedError" or "HistogramLimitReached" or "TimeSeriesLimitReached")
        {
            _published.TrySetException(new InvalidOperationException(
                $"{e.EventName}: {string.Join(", ", e.PayloadNames.Select(n => $"{n}={e.PayloadByName(n)}"))}"));
            return;
        }
        // The end of the first interval (TraceEvent names the event by its opcode: Collection/Stop).
        if (e.EventName is "Collection/Stop" or "CollectionStop")
        {
            _published.TrySetResult(Summarize());
            return;
        }
        if (e.EventName != "HistogramValuePublished" || e.PayloadByName("quantiles") is not string quantiles || quantiles.Length == 0)
        {
            return;
        }
        var q = quantiles.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('='))
            .ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));
        _histograms.Add(((string)e.PayloadByName("instrumentName"), (string)e.PayloadByName("tags"),
            Convert.ToInt64(e.PayloadByName("count"), CultureInfo.InvariantCulture), q["0.5"], q["0.99"]));
    }

    // Several time series can make one stage (the callback request by status): the count is
    // their sum, the quantiles those of the largest one (the report's notes say so).
    private List<StageTime> Summarize() =>
    [
        .. Stages.Select(stage => (stage.Stage, Series: _histograms
                .Where(h => h.Instrument == stage.Instrument && h.Tags.Split(',').Contains(stage.Tag)
                    && (stage.Instrument != "http.server.request.duration" || h.Tags.Contains("http.response.status_code=2", StringComparison.Ordinal)))
                .ToList()))
            .Where(s => s.Series.Count > 0)
            .Select(s =>
            {
                var largest = s.Series.MaxBy(h => h.Count);
                return new StageTime(s.Stage, s.Series.Sum(h => h.Count), Math.Round(largest.P50 * 1000, 2), Math.Round(largest.P99 * 1000, 2));
            }),
    ];

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _session.StopAsync(CancellationToken.None);
        }
        catch (ServerNotAvailableException)
        {
            // The gateway is gone (it failed the run): the error that says why is already out.
        }
        await _processing;
        _source.Dispose();
        _session.Dispose();
    }
}
