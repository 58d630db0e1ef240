using System.ComponentModel.DataAnnotations;

namespace Reka.Gateway.Proxy;

/// <summary>
/// Bounded retries with exponential backoff and jitter, on connection errors and on
/// 502, 503 and 504 answers.
/// </summary>
public sealed class UpstreamRetryOptions
{
    /// <summary>Retries after the first attempt; 0 turns retrying off.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Delay before the first retry, in seconds; doubles per retry, with jitter.</summary>
    [Range(0, 60)]
    public double BaseDelaySeconds { get; set; } = 0.2;

    /// <summary>Longest wait before a retry, in seconds. An upstream <c>Retry-After</c> above it is not waited for: the answer passes through.</summary>
    [Range(0, 600)]
    public double MaxDelaySeconds { get; set; } = 2;
}
