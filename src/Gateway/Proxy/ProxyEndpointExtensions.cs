
namespace Reka.Gateway.Proxy;

/// <summary>Endpoint conventions and middleware for forwarded routes.</summary>
public static class ProxyEndpointExtensions
{
    /// <summary>
    /// Marks the endpoint as forwarded along <paramref name="route"/> (its body cap applies before
    /// the body is read) and documents what every forwarded call can answer: upstream errors in
    /// Reka's shape, and the gateway's own 401, 413, 429, 502 and 504 problem details.
    /// </summary>
    public static RouteHandlerBuilder ForwardedAlong(this RouteHandlerBuilder builder, ProxyRoute route) =>
        builder.WithMetadata(route)
            .Produces<RekaErrorResponse>(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

    /// <summary>
    /// Applies the body cap of the matched <see cref="ProxyRoute"/> before anything reads the
    /// body: 413 problem details when <c>Content-Length</c> exceeds it, a read limit otherwise.
    /// </summary>
    public static IApplicationBuilder UseProxyRouteBodyLimits(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<ProxyRoute>() is { } route
                && !await context.RequestServices.GetRequiredService<UpstreamForwarder>().AdmitBodyAsync(context, route))
            {
                return;
            }
            await next(context);
        });
}
