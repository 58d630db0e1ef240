using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Usage;
using Yarp.ReverseProxy.Forwarder;

namespace Reka.Gateway.Proxy;

/// <summary>
/// Forwards a request upstream with YARP's <see cref="IHttpForwarder"/>: bodies stream both ways
/// as they arrive, upstream's status, headers and body pass through untouched, and failures the
/// gateway itself sees become RFC 9457 problem details: 413 (body over the route's cap),
/// 502 (upstream unreachable, or its answer broken off or unreadable), 504 (route timeout, also
/// while a route's transform reads the answer).
/// </summary>
internal sealed class UpstreamForwarder(
    IHttpForwarder forwarder,
    UpstreamInvoker invoker,
    IOptions<UpstreamOptions> upstream,
    GatewayMetrics metrics,
    UsageLedger usage,
    ILogger<UpstreamForwarder> logger)
{
    private readonly string _destinationPrefix = upstream.Value.BaseUrl.TrimEnd('/');

    /// <summary>Forwards the current request along <paramref name="route"/> and writes the answer.</summary>
    public async Task ForwardAsync(HttpContext context, ProxyRoute route)
    {
        var started = Stopwatch.GetTimestamp();
        var error = await forwarder.SendAsync(context, _destinationPrefix, invoker, route.RequestConfig, route.Transformer);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var client = context.Features.Get<GatewayClient>()?.Name;
        var requestId = RequestIdOf(context);
        if (client is not null)
        {
            usage.Count(client, route.CallsUsageField);
        }
        if (error == ForwarderError.None)
        {
            // Upstream's answer, as it came: an error of its without a body is not dressed as the
            // gateway's own by the status code pages (which pass over only answers that have a
            // Content-Length, and one sent chunked, or over HTTP/2, may come without).
            if (context.Features.Get<IStatusCodePagesFeature>() is { } pages)
            {
                pages.Enabled = false;
            }
            metrics.UpstreamAnswered(route.Name, context.Response.StatusCode, elapsed, client);
            GatewayLog.Forwarded(logger, client, route.Name, requestId, context.Response.StatusCode, elapsed.TotalMilliseconds);
            return;
        }

        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        var status = context.Response.StatusCode;
        if (error == ForwarderError.ResponseHeaders && exception is OperationCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            // A response transform reading the answer's body ran into the route's timeout (not a caller that left).
            status = StatusCodes.Status504GatewayTimeout;
        }
        GatewayLog.ForwardingFailed(logger, client, route.Name, requestId, error, status, elapsed.TotalMilliseconds, exception?.Message);
        if (context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
        {
            return; // The caller has part of the answer, or is gone: nothing more can be said.
        }
        var detail = (error, status) switch
        {
            (_, StatusCodes.Status413PayloadTooLarge) => TooLarge(route),
            (ForwarderError.RequestTimedOut, _) or (_, StatusCodes.Status504GatewayTimeout) =>
                $"Upstream did not answer within the '{route.Name}' route's timeout of {route.Timeout.TotalSeconds:0.###} s.",
            (ForwarderError.Request, _) => $"Could not reach upstream: {exception?.Message ?? "connection failed"}.",
            (ForwarderError.RequestBodyClient, _) => "The request body could not be read to the end.",
            (ForwarderError.RequestBodyDestination, _) => "Upstream stopped reading the request body.",
            // Thrown by JsonResponseTransform, whose message says what the route needed.
            (ForwarderError.ResponseHeaders, _) when exception is InvalidDataException => exception.Message,
            (ForwarderError.ResponseHeaders, _) when exception is IOException or HttpRequestException =>
                $"Upstream's answer broke off before its end: {exception.Message}",
            _ => $"Upstream's answer could not be relayed ({error}).",
        };
        await Problems.WriteAsync(context, status, detail);
    }

    // Read only on a route that has the parameter: the route values of one without any (the list
    // call) are made on first read, an empty dictionary per call.
    private static string? RequestIdOf(HttpContext context) =>
        context.GetEndpoint() is RouteEndpoint { RoutePattern: var pattern } && pattern.GetParameter("request_id") is not null
            ? context.Request.RouteValues["request_id"] as string
            : null;

    private static string TooLarge(ProxyRoute route) =>
        $"The request body is larger than the '{route.Name}' route's cap of {route.MaxBodyBytes} bytes (Proxy:Routes:{route.Name}:MaxBodyBytes).";
}
