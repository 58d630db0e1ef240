using Microsoft.Extensions.Options;

namespace Reka.Gateway.Clients;

/// <summary>Settings of section <c>RateLimiting</c>.</summary>
public sealed class RateLimitingOptions
{
    internal const string SectionName = "RateLimiting";

    /// <summary>Limit for clients without their own <c>Clients:&lt;name&gt;:RateLimit</c>.</summary>
    [ValidateObjectMembers]
    public RateLimitOptions Default { get; set; } = new();
}

[OptionsValidator]
internal sealed partial class RateLimitingOptionsValidator : IValidateOptions<RateLimitingOptions>;
