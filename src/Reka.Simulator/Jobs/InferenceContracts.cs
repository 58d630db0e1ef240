using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reka.Simulator.Jobs;

/// <summary>The 202 answer of a submit; a reused <c>Idempotency-Key</c> gets the same body again.</summary>
public sealed record SubmitAccepted(string RequestId, string Status, string StatusUrl, string ResponseUrl, string CancelUrl);

/// <summary>A job as the list shows it without <c>expand=payloads</c>.</summary>
public class InferenceItem
{
    internal InferenceItem(Job job, JobState state)
    {
        RequestId = job.RequestId;
        Status = state.Status;
        EndpointId = job.EndpointId;
        ModelId = job.ModelId;
        Capability = job.Capability;
        CreatedAt = job.CreatedAt;
        StartedAt = state.StartedAt;
        CompletedAt = state.CompletedAt;
        Error = state.Error;
    }

    public string RequestId { get; }
    public string Status { get; }

    /// <summary><c>{model}/{capability}</c>, e.g. <c>sora-2-pro/image-to-video</c>.</summary>
    public string EndpointId { get; }
    public string ModelId { get; }
    public string Capability { get; }

    /// <summary>UTC; serialized as ISO 8601 with a <c>Z</c>.</summary>
    public DateTime CreatedAt { get; }
    public DateTime? StartedAt { get; }
    public DateTime? CompletedAt { get; }

    /// <summary>Null unless the job <c>FAILED</c>. Ordered last, after the payloads, as in Reka's docs.</summary>
    [JsonPropertyOrder(2)]
    public JobError? Error { get; }
}

/// <summary>A job with its <c>input</c> and <c>output</c>: the result, cancel and <c>expand=payloads</c> shape.</summary>
public class InferenceItemWithPayloads : InferenceItem
{
    internal InferenceItemWithPayloads(Job job, JobState state) : base(job, state)
    {
        Input = job.Input;
        Output = state.Output;
    }

    /// <summary>The submitted <c>input</c> object, unchanged.</summary>
    [JsonPropertyOrder(1)]
    public JsonElement Input { get; }

    /// <summary>Null unless the job is <c>COMPLETED</c>.</summary>
    [JsonPropertyOrder(1)]
    public VideoOutput? Output { get; }
}

/// <summary>Output of a completed job; the URL points at a host that never resolves.</summary>
public sealed record VideoOutput(string VideoUrl, DateTime VideoUrlExpiresAt, double DurationSeconds, int Width, int Height);

/// <summary>Why a job failed.</summary>
public sealed record JobError(string Type, string Message);

/// <summary>One page of <c>GET /v2/inference/requests</c>.</summary>
/// <remarks>
/// <para><c>next_offset</c>: Offset of the next page; null on the last page.</para>
/// </remarks>
public sealed record InferenceList<T>(IReadOnlyList<T> Items, int? NextOffset, bool HasMore) where T : InferenceItem;

/// <summary>Answer of <c>GET /v2/inference/requests/{request_id}/status</c>.</summary>
/// <remarks>
/// <para><c>queue_position</c>: 1-based place among queued jobs, oldest first; null unless <c>IN_QUEUE</c>.</para>
/// <para><c>logs</c>: Null unless <c>with_logs=true</c>.</para>
/// </remarks>
public sealed record InferenceStatus(
    string RequestId,
    string Status,
    int? QueuePosition,
    IReadOnlyList<JobLogEntry>? Logs,
    JobMetrics Metrics);

/// <summary>One line of a job's log.</summary>
public sealed record JobLogEntry(DateTime Timestamp, string Message);

/// <summary>Timings in seconds, each present once known; <c>{}</c> while the job is queued.</summary>
public sealed record JobMetrics(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? QueueSeconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? RunSeconds);

/// <summary>Answer of <c>GET /v2/inference/models</c>.</summary>
public sealed record ModelList(IReadOnlyList<ModelInfo> Models);

/// <summary>One inference endpoint the simulator advertises (it accepts any other too).</summary>
public sealed record ModelInfo(string EndpointId, string ModelId, string Capability, string Description);
