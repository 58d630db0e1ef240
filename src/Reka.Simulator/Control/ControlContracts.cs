using System.Text.Json.Serialization;
using Reka.Simulator.Jobs;
using Reka.Simulator.Webhooks;

namespace Reka.Simulator.Control;

/// <summary>
/// Answer of <c>GET /_simulator/requests/{id}</c>: the job with payloads plus what a gateway test
/// needs to check what reached the upstream.
/// </summary>
public sealed class JobDetails : InferenceItemWithPayloads
{
    internal JobDetails(Job job, JobState state) : base(job, state)
    {
        WebhookUrl = job.WebhookUrl;
        IdempotencyKey = job.Idempotency?.Key;
        Headers = job.Headers;
        WebhookAttempts = job.WebhookAttempts();
        WebhookDone = job.WebhookDone;
        StatusReads = job.StatusReads;
        ResultReads = job.ResultReads;
    }

    [JsonPropertyOrder(3)]
    public string? WebhookUrl { get; }

    /// <summary>The submit's <c>Idempotency-Key</c> header, if any.</summary>
    [JsonPropertyOrder(3)]
    public string? IdempotencyKey { get; }

    /// <summary>Every header of the submit, names lower-cased, repeated values joined by commas.</summary>
    [JsonPropertyOrder(3)]
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>Webhook attempts so far, oldest first.</summary>
    [JsonPropertyOrder(3)]
    public IReadOnlyList<WebhookAttempt> WebhookAttempts { get; }

    /// <summary>True once the job has ended and no webhook will be attempted any more (see <see cref="Job.WebhookDone"/>).</summary>
    [JsonPropertyOrder(3)]
    public bool WebhookDone { get; }

    /// <summary>Status calls answered about the job (API calls, not control ones).</summary>
    [JsonPropertyOrder(3)]
    public int StatusReads { get; }

    /// <summary>Result calls answered about the job (API calls, not control ones).</summary>
    [JsonPropertyOrder(3)]
    public int ResultReads { get; }
}

/// <summary>Body of <c>POST /_simulator/requests/{id}/complete</c>; the body itself is optional.</summary>
public sealed class CompleteRequest
{
    /// <summary><c>COMPLETED</c> (the default) or <c>FAILED</c>.</summary>
    public string Status { get; set; } = JobStatus.Completed;
}

/// <summary>Answer of <c>POST /_simulator/faults</c>.</summary>
/// <remarks>
/// <para><c>pending</c>: Faulty answers still to be given, all faults together.</para>
/// </remarks>
public sealed record FaultsPending(int Pending);

/// <summary>
/// The settings <c>/_simulator/config</c> shows and changes at run time. In a change, every field
/// is optional and only the given ones change; unknown fields are rejected so typos do not pass.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class RuntimeSettings
{
    public int? LatencyMs { get; set; }
    public double? ErrorRate { get; set; }
    public double? RateLimitRate { get; set; }
    public bool? HoldJobs { get; set; }
    public double? FailureRate { get; set; }
    public double? QueueSeconds { get; set; }
    public double? RunSeconds { get; set; }
    public RuntimeWebhookSettings? Webhook { get; set; }
}

/// <summary>The webhook faults part of <see cref="RuntimeSettings"/>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class RuntimeWebhookSettings
{
    public double? DropRate { get; set; }
    public double? DuplicateRate { get; set; }
    public double? DelaySeconds { get; set; }
}
