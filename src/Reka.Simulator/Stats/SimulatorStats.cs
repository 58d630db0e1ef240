using System.Collections.Concurrent;

namespace Reka.Simulator.Stats;

/// <summary>Answer of <c>GET /_simulator/stats</c>.</summary>
/// <remarks>
/// <para><c>requests</c>: API calls per <c>"METHOD route-pattern"</c>, e.g. <c>"GET /v2/inference/models"</c>.</para>
/// <para><c>total</c>: All API calls (control calls are not counted).</para>
/// <para><c>upload_bytes</c>: File bytes received by the upload routes.</para>
/// <para><c>webhooks_sent</c>: Webhook attempts answered 2xx.</para>
/// <para><c>webhooks_failed</c>: Webhook attempts not answered 2xx (status, error or timeout).</para>
/// </remarks>
public sealed record StatsSnapshot(
    IReadOnlyDictionary<string, long> Requests,
    long Total,
    long UploadBytes,
    long WebhooksSent,
    long WebhooksFailed);

/// <summary>Lock-free counters of what the simulator has seen since start or the last reset.</summary>
public sealed class SimulatorStats
{
    // Keyed by the (interned) method and route pattern so counting a call allocates nothing.
    private readonly ConcurrentDictionary<(string Method, string Route), Counter> _requests = new();
    private long _total;
    private long _uploadBytes;
    private long _webhooksSent;
    private long _webhooksFailed;

    /// <summary>Counts one API call against its route pattern (<c>(unmatched)</c> when none).</summary>
    public void CountRequest(string method, Endpoint? endpoint)
    {
        var route = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)";
        var counter = _requests.GetOrAdd((method, route), static _ => new Counter());
        Interlocked.Increment(ref counter.Value);
        Interlocked.Increment(ref _total);
    }

    /// <summary>Adds received upload file bytes.</summary>
    public void AddUploadBytes(long bytes) => Interlocked.Add(ref _uploadBytes, bytes);

    /// <summary>Counts one webhook attempt by its outcome.</summary>
    public void CountWebhook(bool delivered)
    {
        if (delivered) Interlocked.Increment(ref _webhooksSent);
        else Interlocked.Increment(ref _webhooksFailed);
    }

    /// <summary>The counters as they are now.</summary>
    public StatsSnapshot Snapshot() => new(
        _requests.ToDictionary(p => $"{p.Key.Method} {p.Key.Route}", p => Interlocked.Read(ref p.Value.Value)),
        Interlocked.Read(ref _total),
        Interlocked.Read(ref _uploadBytes),
        Interlocked.Read(ref _webhooksSent),
        Interlocked.Read(ref _webhooksFailed));

    /// <summary>Sets every counter back to zero.</summary>
    public void Reset()
    {
        _requests.Clear();
        Interlocked.Exchange(ref _total, 0);
        Interlocked.Exchange(ref _uploadBytes, 0);
        Interlocked.Exchange(ref _webhooksSent, 0);
        Interlocked.Exchange(ref _webhooksFailed, 0);
    }

    private sealed class Counter
    {
        public long Value;
    }
}
