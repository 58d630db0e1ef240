using Microsoft.AspNetCore.Diagnostics;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>
/// The one place where Redis being unavailable (<see cref="RedisStore.IsUnavailable"/>) becomes
/// the gateway's answer: 503 problem details with <c>Retry-After</c>, whose <c>detail</c> says
/// what was not done (the endpoint's <see cref="RedisUnavailableDetail"/>, else a general line).
/// </summary>
internal sealed class RedisUnavailableHandler(ILogger<RedisUnavailableHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (!RedisStore.IsUnavailable(exception) || context.Response.HasStarted)
        {
            return false;
        }
        // The middleware has cleared the endpoint from the context; its feature keeps it.
        var endpoint = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint;
        var detail = endpoint?.Metadata.GetMetadata<RedisUnavailableDetail>()?.Detail
            ?? "The gateway's store (Redis) is unavailable, so this call was not carried out.";
        GatewayLog.RedisUnavailable(logger, context.Request.Method, endpoint?.DisplayName, exception.GetType().Name);
        await WriteAsync(context, detail);
        return true;
    }

    /// <summary>Answers 503 with <paramref name="detail"/> and when to retry, for code that cannot throw (a response transform).</summary>
    public static ValueTask WriteAsync(HttpContext context, string detail) =>
        Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
            $"{detail} Redis is unavailable; retry in {Problems.RedisRetryAfterSeconds} s.", Problems.RedisRetryAfterSeconds);
}

/// <summary>Endpoint metadata: what a 503 for Redis being unavailable says was not done.</summary>
/// <param name="Detail">One sentence, e.g. "The submit was not sent upstream."</param>
internal sealed record RedisUnavailableDetail(string Detail);

/// <summary>Endpoint conventions for Redis failures.</summary>
internal static class RedisUnavailableEndpointExtensions
{
    /// <summary>Documents the 503 and says, in its <c>detail</c>, what was not done.</summary>
    public static TBuilder WhenRedisIsUnavailable<TBuilder>(this TBuilder builder, string detail) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RedisUnavailableDetail(detail))
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status503ServiceUnavailable, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]));
}
