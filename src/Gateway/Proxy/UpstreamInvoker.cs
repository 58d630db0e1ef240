using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Reka.Gateway.Proxy;

/// <summary>
/// The one connection pool to upstream, shared by forwarded calls and the gateway's own calls:
/// a <see cref="SocketsHttpHandler"/> set up as YARP recommends (no proxy, redirects, cookies or
/// decompression; W3C <c>traceparent</c> propagated), behind <see cref="UpstreamRetryHandler"/>.
/// </summary>
internal sealed class UpstreamInvoker : HttpMessageInvoker
{
    /// <summary>Creates the invoker from <c>Upstream</c> settings.</summary>
    public UpstreamInvoker(IOptions<UpstreamOptions> options, ILogger<UpstreamRetryHandler> logger)
        : base(CreateHandler(options.Value, logger), disposeHandler: true)
    {
    }

    private static HttpMessageHandler CreateHandler(UpstreamOptions options, ILogger<UpstreamRetryHandler> logger) =>
        new UpstreamRetryHandler(options.Retry, logger)
        {
            InnerHandler = new SocketsHttpHandler
            {
                UseProxy = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = TimeSpan.FromSeconds(options.ConnectTimeoutSeconds),
                // Re-resolve DNS now and then: Reka's addresses can change under a long-lived pool.
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
            },
        };
}
