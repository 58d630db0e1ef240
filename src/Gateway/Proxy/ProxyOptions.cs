using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Reka.Gateway.Proxy;

/// <summary>Routing settings of the proxy (section <c>Proxy</c>).</summary>
public sealed class ProxyOptions : IValidatableObject
{
    internal const string SectionName = "Proxy";

    /// <summary>
    /// Path prefixes of Reka's Vision API forwarded as they are, beyond the routes the gateway
    /// defines itself (e.g. <c>/v1/</c>, <c>/v2/videos</c>). Empty means <c>/v1/</c> and <c>/v2/</c>.
    /// <c>/v2/inference/</c> is never forwarded this way: only its documented routes are.
    /// </summary>
    public List<string> ForwardedPrefixes { get; set; } = [];

    /// <summary>Per-route settings, by route name (<see cref="ProxyRouteNames"/>).</summary>
    public Dictionary<string, ProxyRouteOptions> Routes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Timeout of routes without their own, in seconds.</summary>
    [Range(0.01, 86_400)]
    public double DefaultTimeoutSeconds { get; set; } = 100;

    /// <summary>Request body cap of routes without their own, in bytes (30 MB, Kestrel's default).</summary>
    [Range(1, long.MaxValue)]
    public long DefaultMaxBodyBytes { get; set; } = 30_000_000;

    /// <summary>The settings of route <paramref name="name"/>, defaults filled in.</summary>
    public (TimeSpan Timeout, long MaxBodyBytes) For(string name)
    {
        Routes.TryGetValue(name, out var route);
        return (TimeSpan.FromSeconds(route?.TimeoutSeconds ?? DefaultTimeoutSeconds), route?.MaxBodyBytes ?? DefaultMaxBodyBytes);
    }

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        foreach (var (name, route) in Routes)
        {
            if (route.TimeoutSeconds <= 0 || route.MaxBodyBytes <= 0)
            {
                yield return new($"Proxy:Routes:{name}: TimeoutSeconds and MaxBodyBytes must be above 0.");
            }
        }
        foreach (var prefix in ForwardedPrefixes)
        {
            if (!prefix.StartsWith('/') || prefix.StartsWith("/v2/inference", StringComparison.OrdinalIgnoreCase) || prefix.Trim('/').Length == 0)
            {
                yield return new($"Proxy:ForwardedPrefixes: '{prefix}' must be a path like /v1/ or /v2/videos, and not under /v2/inference.");
            }
        }
    }
}

[OptionsValidator]
internal sealed partial class ProxyOptionsValidator : IValidateOptions<ProxyOptions>;
