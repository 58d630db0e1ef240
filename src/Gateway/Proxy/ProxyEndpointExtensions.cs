
using Microsoft.AspNetCore.Mvc;

namespace Reka.Gateway.Proxy;

/// <summary>Endpoint conventions and middleware for forwarded routes.</summary>
internal static class ProxyEndpointExtensions
{
    /// <summary>
    /// Marks the endpoint as forwarded along <paramref name="route"/>, with the route's body cap as
    /// the endpoint's request size limit (ASP.NET Core's routing applies it, and Kestrel answers
    /// 413 when a body goes past it), and documents what every forwarded call can answer:
    /// upstream errors in Reka's shape, and the gateway's own 401, 413, 429, 502 and 504 problem details.
    /// </summary>
    public static RouteHandlerBuilder ForwardedAlong(this RouteHandlerBuilder builder, ProxyRoute route) =>
        builder.WithMetadata(route, new RequestSizeLimitAttribute(route.MaxBodyBytes))
            .Produces<RekaErrorResponse>(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);
}
