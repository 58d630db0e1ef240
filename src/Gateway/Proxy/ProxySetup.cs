using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Proxy;

/// <summary>Wires YARP's forwarder, the upstream connection pool and the route settings.</summary>
public static class ProxySetup
{
    /// <summary>Registers the proxy's services and settings.</summary>
    public static WebApplicationBuilder AddProxy(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCheckedOptions<UpstreamOptions, UpstreamOptionsValidator>(UpstreamOptions.SectionName)
            .PostConfigure<IConfiguration>((options, configuration) =>
            {
                if (string.IsNullOrWhiteSpace(options.ApiKey))
                {
                    options.ApiKey = configuration[UpstreamOptions.ApiKeyEnvironmentVariable] ?? "";
                }
            });
        services.AddCheckedOptions<ProxyOptions, ProxyOptionsValidator>(ProxyOptions.SectionName);

        // AddReverseProxy registers the forwarder and the transform builder; no proxy config is
        // loaded: routes are the gateway's own endpoints.
        services.AddReverseProxy();
        services.AddSingleton<UpstreamInvoker>();
        services.AddSingleton<UpstreamForwarder>();
        services.AddSingleton<UpstreamClient>();
        services.AddSingleton<ProxyRouteFactory>();
        services.AddSingleton<UpstreamUrlRewriter>();
        services.AddSingleton<JsonResponseTransform>();
        return builder;
    }

    /// <summary>An absolute http(s) URL.</summary>
    internal static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

internal sealed class UpstreamOptionsValidator : SettingsValidator<UpstreamOptions>
{
    protected override IEnumerable<string> Check(UpstreamOptions options)
    {
        if (!ProxySetup.IsHttpUrl(options.BaseUrl))
        {
            yield return "Upstream:BaseUrl must be an absolute http(s) URL, e.g. https://vision-agent.api.reka.ai.";
        }
        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            yield return $"The team's Reka key is missing: set Upstream:ApiKey or the {UpstreamOptions.ApiKeyEnvironmentVariable} environment variable.";
        }
        if (options.ConnectTimeoutSeconds <= 0 || options.Retry.MaxRetries < 0 || options.Retry.BaseDelaySeconds < 0 || options.Retry.MaxDelaySeconds < 0)
        {
            yield return "Upstream:ConnectTimeoutSeconds must be above 0, and Upstream:Retry's settings at least 0.";
        }
    }
}

internal sealed class ProxyOptionsValidator : SettingsValidator<ProxyOptions>
{
    protected override IEnumerable<string> Check(ProxyOptions settings)
    {
        if (settings.DefaultTimeoutSeconds <= 0 || settings.DefaultMaxBodyBytes <= 0)
        {
            yield return "Proxy:DefaultTimeoutSeconds and Proxy:DefaultMaxBodyBytes must be above 0.";
        }
        foreach (var (name, route) in settings.Routes)
        {
            if (route.TimeoutSeconds <= 0 || route.MaxBodyBytes <= 0)
            {
                yield return $"Proxy:Routes:{name}: TimeoutSeconds and MaxBodyBytes must be above 0.";
            }
        }
        foreach (var prefix in settings.ForwardedPrefixes)
        {
            if (!prefix.StartsWith('/') || prefix.StartsWith("/v2/inference", StringComparison.OrdinalIgnoreCase) || prefix.Trim('/').Length == 0)
            {
                yield return $"Proxy:ForwardedPrefixes: '{prefix}' must be a path like /v1/ or /v2/videos, and not under /v2/inference.";
            }
        }
    }
}
