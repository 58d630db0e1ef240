using FluentValidation;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Passthrough;

namespace Reka.Gateway.Proxy;

/// <summary>Wires YARP's forwarder, the upstream connection pool and the route settings.</summary>
public static class ProxySetup
{
    /// <summary>Registers the proxy's services and settings.</summary>
    public static WebApplicationBuilder AddProxy(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<UpstreamOptions>()
            .BindConfiguration(UpstreamOptions.SectionName)
            .PostConfigure<IConfiguration>((options, configuration) =>
            {
                if (string.IsNullOrWhiteSpace(options.ApiKey))
                {
                    options.ApiKey = configuration[UpstreamOptions.ApiKeyEnvironmentVariable] ?? "";
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<UpstreamOptions>, UpstreamOptionsValidator>();
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddOptions<ProxyOptions>().BindConfiguration(ProxyOptions.SectionName);

        // AddReverseProxy registers the forwarder and the transform builder; no proxy config is
        // loaded: routes are the gateway's own endpoints.
        services.AddReverseProxy();
        services.AddSingleton<UpstreamInvoker>();
        services.AddSingleton<UpstreamForwarder>();
        services.AddSingleton<UpstreamClient>();
        services.AddSingleton<ProxyRouteFactory>();
        services.AddSingleton<UpstreamUrlRewriter>();
        services.AddSingleton<JsonResponseTransform>();
        services.AddSingleton<IValidator<PassthroughPath>, PassthroughPathValidator>();
        return builder;
    }

    /// <summary>An absolute http(s) URL.</summary>
    internal static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

internal sealed class UpstreamOptionsValidator : IValidateOptions<UpstreamOptions>
{
    public ValidateOptionsResult Validate(string? name, UpstreamOptions options)
    {
        var failures = new List<string>();
        if (!ProxySetup.IsHttpUrl(options.BaseUrl))
        {
            failures.Add("Upstream:BaseUrl must be an absolute http(s) URL, e.g. https://vision-agent.api.reka.ai.");
        }
        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            failures.Add($"The team's Reka key is missing: set Upstream:ApiKey or the {UpstreamOptions.ApiKeyEnvironmentVariable} environment variable.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options) =>
        ProxySetup.IsHttpUrl(options.PublicBaseUrl)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Gateway:PublicBaseUrl must be the gateway's absolute http(s) base URL, e.g. https://reka-gateway.internal.example.");
}
