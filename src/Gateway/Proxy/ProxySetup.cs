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

        // YARP's direct forwarding: the forwarder and the transform builder. Routes are the
        // gateway's own endpoints, so none of AddReverseProxy's config, routing, health checks or
        // load balancing (which also loaded Data Protection and CORS at start: about 1 MiB idle).
        services.AddHttpForwarder();
        services.AddSingleton<UpstreamInvoker>();
        services.AddSingleton<UpstreamForwarder>();
        services.AddSingleton<UpstreamClient>();
        services.AddSingleton<ProxyRouteFactory>();
        services.AddSingleton<UpstreamUrlRewriter>();
        services.AddSingleton<JsonResponseTransform>();
        return builder;
    }
}
