using System.Text.Json;
using Reka.Simulator.Webhooks;

namespace Reka.Simulator.Jobs;

/// <summary>The mutable part of a <see cref="Job"/>, read in one piece under the job's lock.</summary>
internal readonly record struct JobState(
    string Status,
    DateTime? StartedAt,
    DateTime? CompletedAt,
    VideoOutput? Output,
    JobError? Error);

/// <summary>
/// One inference request. What the submit carried is immutable; the lifecycle (status, timestamps,
/// output, error) changes under the job's own lock, which is never held across an await.
/// </summary>
public sealed class Job
{
    private static readonly TimeSpan OutputUrlLifetime = TimeSpan.FromHours(24);

    private readonly Lock _gate = new();
    private readonly List<WebhookAttempt> _webhookAttempts = [];

    // Volatile so that list filters and queue positions can read it without taking the lock.
    private volatile string _status = JobStatus.InQueue;
    private DateTime? _startedAt;
    private DateTime? _completedAt;
    private VideoOutput? _output;
    private JobError? _error;
    private volatile bool _webhookDone;
    private int _statusReads;
    private int _resultReads;

    /// <summary>Creates a queued job; <see cref="JobStore"/> stamps its creation time when it stores it.</summary>
    /// <param name="requestId">A new uuid.</param>
    /// <param name="baseUrl"><c>scheme://host</c> the submit arrived on; the 202 body's URLs, and their replay, use it.</param>
    /// <param name="modelId">The <c>{model}</c> path segment.</param>
    /// <param name="capability">The <c>{capability}</c> path segment.</param>
    /// <param name="input">The submitted <c>input</c> object, detached from its document.</param>
    /// <param name="webhookUrl">Where to POST when the job ends, if anywhere.</param>
    /// <param name="idempotency">The caller's API key and <c>Idempotency-Key</c>, when one was sent.</param>
    /// <param name="headers">Every header of the submit, names lower-cased, repeated values joined by commas.</param>
    public Job(
        string requestId,
        string baseUrl,
        string modelId,
        string capability,
        JsonElement input,
        string? webhookUrl,
        (string ApiKey, string Key)? idempotency,
        IReadOnlyDictionary<string, string> headers)
    {
        RequestId = requestId;
        BaseUrl = baseUrl;
        ModelId = modelId;
        Capability = capability;
        EndpointId = $"{modelId}/{capability}";
        Input = input;
        WebhookUrl = webhookUrl;
        Idempotency = idempotency;
        Headers = headers;
    }

    public string RequestId { get; }
    public string BaseUrl { get; }
    public string ModelId { get; }
    public string Capability { get; }
    public string EndpointId { get; }
    public JsonElement Input { get; }
    public string? WebhookUrl { get; }
    public (string ApiKey, string Key)? Idempotency { get; }
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>Position in submit order, unique and increasing; set once by <see cref="JobStore"/>.</summary>
    public long Sequence { get; private set; }

    /// <summary>UTC creation time, never earlier than that of a job with a lower <see cref="Sequence"/>.</summary>
    public DateTime CreatedAt { get; private set; }

    public string Status => _status;

    internal void Stamp(long sequence, DateTime createdAt)
    {
        Sequence = sequence;
        CreatedAt = createdAt;
    }

    /// <summary>Moves a queued job to <c>IN_PROGRESS</c>; false when it has left the queue already.</summary>
    public bool TryStart(DateTime now)
    {
        lock (_gate)
        {
            if (_status != JobStatus.InQueue) return false;
            _startedAt = now;
            _status = JobStatus.InProgress;
            return true;
        }
    }

    /// <summary>
    /// Ends the job with a terminal <paramref name="status"/>; false when it had ended already.
    /// A job completed or failed straight from the queue gets <c>started_at</c> = <c>completed_at</c>.
    /// </summary>
    public bool TryFinish(string status, DateTime now)
    {
        lock (_gate)
        {
            if (JobStatus.IsTerminal(_status)) return false;
            if (status != JobStatus.Cancelled) _startedAt ??= now;
            if (status == JobStatus.Completed)
                _output = new VideoOutput($"https://cdn.simulator.invalid/{RequestId}.mp4", now + OutputUrlLifetime, 5.0, 1280, 720);
            if (status == JobStatus.Failed)
                _error = new JobError("server_error", "The simulated generation failed.");
            _completedAt = now;
            _status = status;
            return true;
        }
    }

    /// <summary>
    /// True once the job has ended and nothing more will be sent to its <c>webhook_url</c>: every
    /// copy delivered or given up on, dropped by a fault, or no URL to send to.
    /// </summary>
    public bool WebhookDone => _webhookDone;

    /// <summary>Status calls answered about this job so far.</summary>
    public int StatusReads => Volatile.Read(ref _statusReads);

    /// <summary>Result calls answered about this job so far.</summary>
    public int ResultReads => Volatile.Read(ref _resultReads);

    internal void MarkWebhookDone() => _webhookDone = true;

    internal void CountStatusRead() => Interlocked.Increment(ref _statusReads);

    internal void CountResultRead() => Interlocked.Increment(ref _resultReads);

    internal void RecordWebhookAttempt(WebhookAttempt attempt)
    {
        lock (_gate) _webhookAttempts.Add(attempt);
    }

    internal IReadOnlyList<WebhookAttempt> WebhookAttempts()
    {
        lock (_gate) return [.. _webhookAttempts];
    }

    internal JobState State()
    {
        lock (_gate) return new JobState(_status, _startedAt, _completedAt, _output, _error);
    }

    /// <summary>The lifecycle so far as log lines; derived from the timestamps, so nothing is stored twice.</summary>
    internal IReadOnlyList<JobLogEntry> Logs(JobState state)
    {
        var logs = new List<JobLogEntry>(3) { new(CreatedAt, $"Request queued for {EndpointId}.") };
        if (state.StartedAt is { } started) logs.Add(new(started, "Request started."));
        if (state.CompletedAt is { } completed)
            logs.Add(new(completed, state.Status switch
            {
                JobStatus.Completed => "Request completed.",
                JobStatus.Failed => $"Request failed: {state.Error?.Message}",
                _ => "Request cancelled.",
            }));
        return logs;
    }

    /// <summary>Seconds spent queued and running, each once known.</summary>
    internal JobMetrics Metrics(JobState state)
    {
        // A job cancelled in the queue waited until it was cancelled.
        var leftQueue = state.StartedAt ?? state.CompletedAt;
        return new JobMetrics(
            leftQueue is { } left ? (left - CreatedAt).TotalSeconds : null,
            state is { StartedAt: { } s, CompletedAt: { } c } ? (c - s).TotalSeconds : null);
    }
}
