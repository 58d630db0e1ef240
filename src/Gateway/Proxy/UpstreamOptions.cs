namespace Reka.Gateway.Proxy;

/// <summary>Where and how the gateway reaches Reka's API (section <c>Upstream</c>).</summary>
public sealed class UpstreamOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Upstream";

    /// <summary>Environment variable read for the team key when <see cref="ApiKey"/> is not set.</summary>
    public const string ApiKeyEnvironmentVariable = "REKA_API_KEY";

    /// <summary>Reka's base URL; requests keep their path and query below it.</summary>
    public string BaseUrl { get; set; } = "https://vision-agent.api.reka.ai";

    /// <summary>
    /// The team's Reka API key, sent upstream as <c>X-Api-Key</c>. Never returned, logged or
    /// put in an error. Falls back to the <c>REKA_API_KEY</c> environment variable.
    /// </summary>
    public string ApiKey { get; set; } = "";

    /// <summary>Time allowed to open a connection to upstream, in seconds.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Retries of idempotent calls (GETs, and submits that carry an <c>Idempotency-Key</c>).</summary>
    public UpstreamRetryOptions Retry { get; set; } = new();
}

/// <summary>
/// Bounded retries with exponential backoff and jitter, on connection errors and on
/// 502, 503 and 504 answers.
/// </summary>
public sealed class UpstreamRetryOptions
{
    /// <summary>Retries after the first attempt; 0 turns retrying off.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Delay before the first retry, in seconds; doubles per retry, with jitter.</summary>
    public double BaseDelaySeconds { get; set; } = 0.2;

    /// <summary>Longest wait before a retry, in seconds. An upstream <c>Retry-After</c> above it is not waited for: the answer passes through.</summary>
    public double MaxDelaySeconds { get; set; } = 2;
}
