namespace Reka.Simulator;

/// <summary>
/// Behaviour of the simulated Reka Vision API, bound from the configuration section
/// <c>Simulator</c>. Every default gives a well-behaved upstream; faults are opt-in.
/// </summary>
/// <remarks>
/// One instance lives for the whole process and <c>POST /_simulator/config</c> changes some of its
/// properties at run time, so code reads these properties per call instead of caching them.
/// </remarks>
public sealed class SimulatorOptions
{
    /// <summary>Configuration section the options bind from.</summary>
    public const string SectionName = "Simulator";

    /// <summary>The only team key the API accepts, as <c>X-Api-Key</c> or <c>Authorization: Bearer</c>.</summary>
    public string ApiKey { get; set; } = "sim-team-key";

    /// <summary>Seconds a job spends <c>IN_QUEUE</c> before it starts; 0 starts it at once.</summary>
    public double QueueSeconds { get; set; } = 1;

    /// <summary>Seconds a job spends <c>IN_PROGRESS</c> before it ends; 0 ends it at once.</summary>
    public double RunSeconds { get; set; } = 2;

    /// <summary>
    /// When true, new jobs stay <c>IN_QUEUE</c> until <c>POST /_simulator/requests/{id}/complete</c>
    /// (or a cancel) ends them. Read when a job is submitted.
    /// </summary>
    public bool HoldJobs { get; set; }

    /// <summary>Fraction (0..1) of jobs that end <c>FAILED</c> instead of <c>COMPLETED</c>.</summary>
    public double FailureRate { get; set; }

    /// <summary>Milliseconds of delay added before answering every API call.</summary>
    public int LatencyMs { get; set; }

    /// <summary>Fraction (0..1) of authenticated API calls answered 500 <c>server_error</c>.</summary>
    public double ErrorRate { get; set; }

    /// <summary>Fraction (0..1) of authenticated API calls answered 429 <c>rate_limit_error</c>.</summary>
    public double RateLimitRate { get; set; }

    /// <summary>
    /// Requests per key per 24 h reported in <c>x-ratelimit-requests-limit</c>. Informational only:
    /// reaching it does not reject calls, so long benchmarks keep running.
    /// </summary>
    public int RateLimitPerDay { get; set; } = 1000;

    /// <summary>Milliseconds between two server-sent events of a streamed chat completion.</summary>
    public int ChatChunkDelayMs { get; set; } = 50;

    /// <summary>
    /// Most jobs kept in memory. Past it the oldest half is forgotten (their ids answer 404), so a
    /// long benchmark runs in flat memory.
    /// </summary>
    public int MaxJobs { get; set; } = 100_000;

    /// <summary>Seed of the random source behind every rate above; null seeds from the clock.</summary>
    public int? Seed { get; set; }

    /// <summary>Delivery of job-finished callbacks to <c>webhook_url</c>.</summary>
    public WebhookOptions Webhook { get; set; } = new();

    /// <summary>Describes the first invalid setting, or returns null when all are valid.</summary>
    public string? FindError()
    {
        if (string.IsNullOrWhiteSpace(ApiKey)) return "Simulator:ApiKey must not be empty.";
        if (QueueSeconds < 0 || RunSeconds < 0) return "Simulator:QueueSeconds and RunSeconds must be >= 0.";
        if (!IsRate(FailureRate) || !IsRate(ErrorRate) || !IsRate(RateLimitRate))
            return "Simulator:FailureRate, ErrorRate and RateLimitRate must be within 0..1.";
        if (LatencyMs < 0 || ChatChunkDelayMs < 0) return "Simulator:LatencyMs and ChatChunkDelayMs must be >= 0.";
        if (RateLimitPerDay < 1 || MaxJobs < 1) return "Simulator:RateLimitPerDay and MaxJobs must be >= 1.";
        return Webhook.FindError();
    }

    internal static bool IsRate(double value) => value is >= 0 and <= 1;
}

/// <summary>Webhook delivery settings and faults, bound from <c>Simulator:Webhook</c>.</summary>
public sealed class WebhookOptions
{
    /// <summary>Fraction (0..1) of webhooks never sent.</summary>
    public double DropRate { get; set; }

    /// <summary>Fraction (0..1) of webhooks delivered twice.</summary>
    public double DuplicateRate { get; set; }

    /// <summary>Seconds to wait after the job ends before the first attempt.</summary>
    public double DelaySeconds { get; set; }

    /// <summary>Seconds one attempt may take before it counts as failed.</summary>
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// Seconds to wait before each retry when an attempt does not get a 2xx answer; its length is
    /// the number of retries.
    /// </summary>
    public double[] RetrySchedule { get; set; } = [1, 2, 4];

    /// <summary>Describes the first invalid setting, or returns null when all are valid.</summary>
    public string? FindError()
    {
        if (!SimulatorOptions.IsRate(DropRate) || !SimulatorOptions.IsRate(DuplicateRate))
            return "Simulator:Webhook:DropRate and DuplicateRate must be within 0..1.";
        if (DelaySeconds < 0 || TimeoutSeconds <= 0) return "Simulator:Webhook:DelaySeconds must be >= 0 and TimeoutSeconds > 0.";
        if (Array.Exists(RetrySchedule, s => s < 0)) return "Simulator:Webhook:RetrySchedule must hold seconds >= 0.";
        return null;
    }
}
