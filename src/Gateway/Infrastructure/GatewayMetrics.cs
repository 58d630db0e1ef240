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
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<double> _jobDuration;
    private readonly Histogram<double> _attemptDuration;
    private readonly Histogram<double> _confirmationDuration;
    private readonly Counter<long> _submits;
    private readonly Counter<long> _ended;
    private readonly Counter<double> _videoSeconds;
    private readonly Counter<long> _uploadBytes;
    private readonly Counter<long> _quotaRefusals;
    private readonly Counter<long> _submissionChecks;
    private readonly ConcurrentDictionary<string, (long Depth, double OldestDueAgeSeconds)> _queues = new();

    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _callbacks = meter.CreateCounter<long>("gateway.callbacks", "{callback}", "Reka callbacks received, by outcome.");
        _deliveries = meter.CreateCounter<long>("gateway.deliveries", "{delivery}", "Webhook delivery attempts finished, by outcome.");
        _cacheLookups = meter.CreateCounter<long>("gateway.cache.lookups", "{lookup}", "Result cache lookups, by result (hit or miss).");
        _submits = meter.CreateCounter<long>("gateway.submits", "{submit}", "Inferences submitted and accepted upstream, by client and endpoint.");
        _ended = meter.CreateCounter<long>("gateway.inferences.ended", "{inference}", "Inferences that reached a terminal status, by client and status.");
        _videoSeconds = meter.CreateCounter<double>("gateway.video.duration", "s", "Seconds of video produced, by client.");
        _uploadBytes = meter.CreateCounter<long>("gateway.uploads.size", "By", "Bytes of images and videos uploaded, by client.");
        _quotaRefusals = meter.CreateCounter<long>("gateway.quota.refusals", "{submit}", "Submits refused by a quota, by client and quota (max_in_flight, daily_submits).");
        _submissionChecks = meter.CreateCounter<long>("gateway.submission_checks", "{submission}",
            "Submissions finished by their check because the submit could not finish its own steps, by outcome (recovered, unresolved, abandoned).");
        _upstreamDuration = meter.CreateHistogram<double>("gateway.upstream.duration", "s", "Time upstream took to answer a forwarded call, by client, route and status.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        // The stages of a result's way from Reka's callback to its subscribers, to find where a
        // delivery's time goes: callbacks queue wait, callback job (Reka asked, result cached,
        // fan-out queued), fanout queue wait, fan-out job (first attempts), each attempt.
        var stageAdvice = new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] };
        _queueWait = meter.CreateHistogram("gateway.queue.wait.duration", "s",
            "How long a job of a durable queue waited past its due time before a worker claimed it, by queue.", advice: stageAdvice);
        _jobDuration = meter.CreateHistogram("gateway.queue.job.duration", "s",
            "How long a worker took over a job of a durable queue, by queue (a job whose handler threw is not counted).", advice: stageAdvice);
        _attemptDuration = meter.CreateHistogram("gateway.delivery.attempt.duration", "s",
            "How long a webhook delivery attempt took, from signing to the subscriber's answer, by outcome (succeeded, failed, gone).", advice: stageAdvice);
        _confirmationDuration = meter.CreateHistogram("gateway.redis.confirmation.duration", "s",
            "How long writes the gateway was about to acknowledge waited for a replica to confirm them (WAIT 1, shared by the writes finished meanwhile), "
            + "by outcome (confirmed; not_confirmed: no replica within Redis:ReplicaAckTimeoutSeconds; failed: Redis failed). Not measured for a primary without replicas.",
            advice: stageAdvice);
        meter.CreateObservableGauge("gateway.queue.depth", () => _queues.Select(q => new Measurement<long>(q.Value.Depth, new KeyValuePair<string, object?>("queue", q.Key))),
            "{job}", "Jobs in a durable queue (fanout, deliveries, callbacks, submissions), shared by all replicas: due, in flight, or scheduled for later (retries, reconciliation checks).");
        meter.CreateObservableGauge("gateway.queue.oldest_due_age", () => _queues.Select(q => new Measurement<double>(q.Value.OldestDueAgeSeconds, new KeyValuePair<string, object?>("queue", q.Key))),
            "s", "How long the oldest due job of a queue has waited past its due time.");
    }

    /// <summary>Counts a callback: accepted, duplicate, unauthorized, invalid, too_large, unsupported_media_type, unavailable, mismatch.</summary>
    public void CallbackReceived(string outcome) => _callbacks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Counts a finished delivery attempt by outcome (succeeded, retrying, or the final status: dead, disabled, cancelled) and the client whose request it is about.</summary>
    public void DeliveryFinished(string outcome, string? client) =>
        _deliveries.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>(ClientTag, client));

    /// <summary>Counts an inference submitted and accepted upstream.</summary>
    public void Submitted(string client, string endpointId) =>
        _submits.Add(1, new KeyValuePair<string, object?>(ClientTag, client), new KeyValuePair<string, object?>("endpoint", endpointId));

    /// <summary>Counts an inference that reached a terminal status, and the seconds of video it produced.</summary>
    public void InferenceEnded(string client, string status, double videoSeconds)
    {
        _ended.Add(1, new KeyValuePair<string, object?>(ClientTag, client), new KeyValuePair<string, object?>("status", status));
        if (videoSeconds > 0)
        {
            _videoSeconds.Add(videoSeconds, new KeyValuePair<string, object?>(ClientTag, client));
        }
    }

    /// <summary>Counts the bytes of an upload.</summary>
    public void Uploaded(string client, long bytes) => _uploadBytes.Add(bytes, new KeyValuePair<string, object?>(ClientTag, client));

    /// <summary>Records how long a job of <paramref name="queue"/> waited past its due time when a worker claimed it.</summary>
    public void JobClaimed(string queue, TimeSpan waited) =>
        _queueWait.Record(Math.Max(0, waited.TotalSeconds), new KeyValuePair<string, object?>("queue", queue));

    /// <summary>Records how long a worker took over a job of <paramref name="queue"/>.</summary>
    public void JobHandled(string queue, TimeSpan duration) =>
        _jobDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("queue", queue));

    /// <summary>Records how long a delivery attempt that was sent took, and its outcome (succeeded, failed, gone).</summary>
    public void DeliveryAttempted(string outcome, TimeSpan duration) =>
        _attemptDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Records how long writes waited for a replica's confirmation, and its outcome (confirmed, not_confirmed, failed).</summary>
    public void ReplicaConfirmation(string outcome, TimeSpan duration) =>
        _confirmationDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Counts a submit refused by a quota.</summary>
    public void QuotaRefused(string client, string quota) =>
        _quotaRefusals.Add(1, new KeyValuePair<string, object?>(ClientTag, client), new KeyValuePair<string, object?>("quota", quota));

    /// <summary>Counts a submission finished by its check: recovered (its request bound), unresolved (nothing was started, or no record), abandoned.</summary>
    public void SubmissionChecked(string outcome) => _submissionChecks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Counts a cache lookup.</summary>
    public void CacheLookup(bool hit) => _cacheLookups.Add(1, new KeyValuePair<string, object?>("result", hit ? "hit" : "miss"));

    /// <summary>Records how long upstream took for <paramref name="route"/>, called by <paramref name="client"/>.</summary>
    public void UpstreamAnswered(string route, int status, TimeSpan duration, string? client) =>
        _upstreamDuration.Record(duration.TotalSeconds, new TagList { { "route", route }, { "status", status }, { ClientTag, client } });

    /// <summary>Records a queue's last sampled state (see <see cref="QueueMetricsSampler"/>).</summary>
    public void QueueSampled(string queue, long depth, TimeSpan oldestDueAge) => _queues[queue] = (depth, oldestDueAge.TotalSeconds);
}
