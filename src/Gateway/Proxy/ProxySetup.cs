using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Proxy;

/// <summary>Wires YARP's forwarder, the upstream connection pool and the route settings.</summary>
internal static class ProxySetup
{
    /// <summary>Registers the proxy's services and settings.</summary>
    public static WebApplicationBuilder AddProxy(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSettings<UpstreamOptions, UpstreamOptionsValidator>(UpstreamOptions.SectionName)
            .PostConfigure<IConfiguration>((options, configuration) =>
            {
                if (string.IsNullOrWhiteSpace(options.ApiKey))
                {
                    options.ApiKey = configuration[UpstreamOptions.ApiKeyEnvironmentVariable] ?? "";
                }
            });
        services.AddSettings<ProxyOptions, ProxyOptionsValidator>(ProxyOptions.SectionName);

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
}
