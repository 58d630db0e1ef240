using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reka.Gateway.Infrastructure;

/// <summary>
/// The gateway's own metrics (meter <c>Reka.Gateway</c>, System.Diagnostics.Metrics). Requests
/// by client, route and status are ASP.NET Core's <c>http.server.request.duration</c> with a
/// <c>gateway.client</c> tag added per request.
/// </summary>
public sealed class GatewayMetrics
{
    /// <summary>Name of the meter.</summary>
    public const string MeterName = "Reka.Gateway";

    private readonly Counter<long> _callbacks;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _cacheLookups;
    private readonly Histogram<double> _upstreamDuration;

    /// <summary>Creates the instruments.</summary>
    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _callbacks = meter.CreateCounter<long>("gateway.callbacks", "{callback}", "Reka callbacks received, by outcome.");
        _deliveries = meter.CreateCounter<long>("gateway.deliveries", "{delivery}", "Webhook delivery attempts finished, by outcome.");
        _cacheLookups = meter.CreateCounter<long>("gateway.cache.lookups", "{lookup}", "Result cache lookups, by result (hit or miss).");
        _upstreamDuration = meter.CreateHistogram<double>("gateway.upstream.duration", "s", "Time upstream took to answer a forwarded call.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
    }

    /// <summary>Counts a callback: accepted, duplicate, unauthorized, invalid, too_large, unavailable, mismatch.</summary>
    public void CallbackReceived(string outcome) => _callbacks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Counts a finished delivery attempt: succeeded, retrying, dead, disabled, cancelled, lease_lost.</summary>
    public void DeliveryFinished(string outcome) => _deliveries.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Counts a cache lookup.</summary>
    public void CacheLookup(bool hit) => _cacheLookups.Add(1, new KeyValuePair<string, object?>("result", hit ? "hit" : "miss"));

    /// <summary>Records how long upstream took for <paramref name="route"/>.</summary>
    public void UpstreamAnswered(string route, int status, TimeSpan duration) =>
        _upstreamDuration.Record(duration.TotalSeconds, new TagList { { "route", route }, { "status", status } });
}
