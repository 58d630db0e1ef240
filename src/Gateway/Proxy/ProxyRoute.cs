using Microsoft.Extensions.Options;
using Reka.Gateway.Usage;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Reka.Gateway.Proxy;

/// <summary>
/// A forwarded route: its name, its YARP transforms and its limits (<c>Proxy:Routes:&lt;name&gt;</c>).
/// </summary>
/// <param name="Name">Route name (<see cref="ProxyRouteNames"/>), used in configuration, logs and metrics.</param>
/// <param name="Transformer">YARP transforms applied to the upstream request and its answer.</param>
/// <param name="RequestConfig">Per-call forwarding settings; <c>ActivityTimeout</c> is the route's timeout.</param>
/// <param name="MaxBodyBytes">Largest request body accepted, in bytes.</param>
internal sealed record ProxyRoute(string Name, HttpTransformer Transformer, ForwarderRequestConfig RequestConfig, long MaxBodyBytes)
{
    /// <summary>The route's timeout.</summary>
    public TimeSpan Timeout => RequestConfig.ActivityTimeout ?? TimeSpan.FromSeconds(100);

    /// <summary>The usage counter of calls forwarded along this route, named once.</summary>
    public string CallsUsageField { get; } = UsageFields.Of(UsageFields.Calls, Name);
}

/// <summary>
/// Builds <see cref="ProxyRoute"/>s whose transforms always strip the caller's credentials
/// (<c>X-Api-Key</c>, <c>Authorization</c>, <c>Cookie</c>), method-override headers and what the
/// caller's own proxies recorded about it (<c>Forwarded</c>, RFC 7239; <c>X-Real-IP</c>; the
/// <c>X-Forwarded-</c> headers proxies commonly set, listed below, Envoy's client certificate
/// among them), and set <c>X-Api-Key</c> to the team key.
/// </summary>
internal sealed class ProxyRouteFactory(ITransformBuilder transformBuilder, IOptions<UpstreamOptions> upstream, IOptions<ProxyOptions> proxy)
{
    private static readonly string[] ForwardingHeaders =
    [
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix",
        "X-Forwarded-Scheme", "X-Forwarded-Server", "X-Forwarded-Ssl", "X-Forwarded-Uri", "X-Forwarded-Client-Cert",
        "X-Original-Forwarded-For", "X-Real-IP",
    ];

    /// <summary>Creates route <paramref name="name"/> with the credential transforms plus <paramref name="configure"/>'s.</summary>
    public ProxyRoute Create(string name, Action<TransformBuilderContext>? configure = null)
    {
        var teamKey = upstream.Value.ApiKey;
        var transformer = transformBuilder.Create(context =>
        {
            // Forwarding headers tell of internal hosts, addresses and identities: Reka needs none of it,
            // neither the gateway's (not added) nor those a caller or a proxy in front of the gateway set (removed).
            context.UseDefaultForwarders = false;
            foreach (var header in ForwardingHeaders)
            {
                context.AddRequestHeaderRemove(header);
            }
            context.AddRequestHeaderRemove("Authorization");
            context.AddRequestHeaderRemove("Proxy-Authorization");
            context.AddRequestHeaderRemove("Cookie");
            // A server that honours these would run another method than the route checked.
            context.AddRequestHeaderRemove("X-HTTP-Method-Override");
            context.AddRequestHeaderRemove("X-HTTP-Method");
            context.AddRequestHeaderRemove("X-Method-Override");
            context.AddRequestHeader("X-Api-Key", teamKey, append: false);
            configure?.Invoke(context);
        });
        var (timeout, maxBodyBytes) = proxy.Value.For(name);
        return new ProxyRoute(name, transformer, new ForwarderRequestConfig { ActivityTimeout = timeout }, maxBodyBytes);
    }
}
