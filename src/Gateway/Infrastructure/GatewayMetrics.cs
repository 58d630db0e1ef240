using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reka.Gateway.Infrastructure;

/// <summary>
/// The gateway's own metrics (meter <c>Reka.Gateway</c>, System.Diagnostics.Metrics). Requests
/// by client, route and status are ASP.NET Core's <c>http.server.request.duration</c>, to which
/// the gateway adds a <c>gateway.client</c> tag; the cache hit ratio is
/// <c>gateway.cache.lookups{result="hit"}</c> over all lookups.
/// </summary>
internal sealed class GatewayMetrics
{
    /// <summary>Name of the meter.</summary>
    public const string MeterName = "Reka.Gateway";

    /// <summary>Tag naming the client on ASP.NET Core's request metrics.</summary>
    public const string ClientTag = "gateway.client";

    private readonly Counter<long> _callbacks;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _cacheLookups;
    private readonly Histogram<double> _upstreamDuration;
    private readonly ConcurrentDictionary<string, (long Depth, double OldestDueAgeSeconds)> _queues = new();

    /// <summary>Creates the instruments.</summary>
    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _callbacks = meter.CreateCounter<long>("gateway.callbacks", "{callback}", "Reka callbacks received, by outcome.");
        _deliveries = meter.CreateCounter<long>("gateway.deliveries", "{delivery}", "Webhook delivery attempts finished, by outcome.");
        _cacheLookups = meter.CreateCounter<long>("gateway.cache.lookups", "{lookup}", "Result cache lookups, by result (hit or miss).");
        _upstreamDuration = meter.CreateHistogram<double>("gateway.upstream.duration", "s", "Time upstream took to answer a forwarded call, by route and status.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        meter.CreateObservableGauge("gateway.queue.depth", () => _queues.Select(q => new Measurement<long>(q.Value.Depth, new KeyValuePair<string, object?>("queue", q.Key))),
            "{job}", "Jobs in a durable queue (fanout, deliveries, callbacks), shared by all replicas: due, in flight, or scheduled for later (retries, reconciliation checks).");
        meter.CreateObservableGauge("gateway.queue.oldest_due_age", () => _queues.Select(q => new Measurement<double>(q.Value.OldestDueAgeSeconds, new KeyValuePair<string, object?>("queue", q.Key))),
            "s", "How long the oldest due job of a queue has waited past its due time.");
    }

    /// <summary>Counts a callback: accepted, duplicate, unauthorized, invalid, too_large, unsupported_media_type, unavailable, mismatch.</summary>
    public void CallbackReceived(string outcome) => _callbacks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Counts a finished delivery attempt by outcome: succeeded, retrying, or the final status (dead, disabled, cancelled).</summary>
    public void DeliveryFinished(string outcome) => _deliveries.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Counts a cache lookup.</summary>
    public void CacheLookup(bool hit) => _cacheLookups.Add(1, new KeyValuePair<string, object?>("result", hit ? "hit" : "miss"));

    /// <summary>Records how long upstream took for <paramref name="route"/>.</summary>
    public void UpstreamAnswered(string route, int status, TimeSpan duration) =>
        _upstreamDuration.Record(duration.TotalSeconds, new TagList { { "route", route }, { "status", status } });

    /// <summary>Records a queue's last sampled state (see <see cref="QueueMetricsSampler"/>).</summary>
    public void QueueSampled(string queue, long depth, TimeSpan oldestDueAge) => _queues[queue] = (depth, oldestDueAge.TotalSeconds);
}
