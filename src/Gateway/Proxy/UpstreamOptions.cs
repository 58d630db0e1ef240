using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Validation;

namespace Reka.Gateway.Proxy;

/// <summary>Where and how the gateway reaches Reka's API (section <c>Upstream</c>).</summary>
public sealed class UpstreamOptions
{
    internal const string SectionName = "Upstream";

    /// <summary>Environment variable read for the team key when <see cref="ApiKey"/> is not set.</summary>
    public const string ApiKeyEnvironmentVariable = "REKA_API_KEY";

    /// <summary>Reka's base URL, e.g. <c>https://vision-agent.api.reka.ai</c>; requests keep their path and query below it.</summary>
    [HttpUrl]
    public string BaseUrl { get; set; } = "https://vision-agent.api.reka.ai";

    /// <summary>
    /// The team's Reka API key, sent upstream as <c>X-Api-Key</c>. Never returned, logged or
    /// put in an error. Falls back to the <c>REKA_API_KEY</c> environment variable.
    /// </summary>
    [Required(ErrorMessage = $"The team's Reka key is missing: set Upstream:ApiKey or the {ApiKeyEnvironmentVariable} environment variable.")]
    public string ApiKey { get; set; } = "";

    /// <summary>Time allowed to open a connection to upstream, in seconds.</summary>
    [Range(0.01, 600)]
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Retries of idempotent calls (GETs, and submits that carry an <c>Idempotency-Key</c>).</summary>
    [ValidateObjectMembers]
    public UpstreamRetryOptions Retry { get; set; } = new();
}

[OptionsValidator]
internal sealed partial class UpstreamOptionsValidator : IValidateOptions<UpstreamOptions>;
