using StackExchange.Redis;
using Microsoft.AspNetCore.Diagnostics;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>
/// The one place where Redis being unavailable (<see cref="RedisStore.IsUnavailable"/>) becomes
/// the gateway's answer: 503 problem details with <c>Retry-After</c>. Its <c>detail</c> says what
/// was not done when Redis could not be reached (the endpoint's <see cref="RedisUnavailableDetail.Detail"/>,
/// else a general line), and what may have been done when a write reached the primary but no
/// replica confirmed it (<see cref="ReplicaNotConfirmedException"/>; the endpoint's
/// <see cref="RedisUnavailableDetail.Unconfirmed"/>, else a general line): telling that caller
/// "nothing was done" would make its retry a second write.
/// </summary>
internal sealed class RedisUnavailableHandler(ILogger<RedisUnavailableHandler> logger) : IExceptionHandler
{
    private const string NotCarriedOut = "The gateway's store (Redis) is unavailable, so this call was not carried out.";
    private const string MayBeCarriedOut = "The change was saved on the gateway's store (Redis), but may be lost in a failover. Check it before you retry a change that is not idempotent.";

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (!RedisStore.IsUnavailable(exception) || context.Response.HasStarted)
        {
            return false;
        }
        // The middleware has cleared the endpoint from the context; its feature keeps it.
        var endpoint = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint;
        var metadata = endpoint?.Metadata.GetMetadata<RedisUnavailableDetail>();
        // A server's refusal names its kind (Busy, Misconfigured, OutOfMemory...): some need an operator.
        GatewayLog.RedisUnavailable(logger, context.Request.Method, endpoint?.DisplayName,
            exception is RedisServerException server ? $"{nameof(RedisServerException)} {server.Kind}" : exception.GetType().Name);
        if (exception is ReplicaNotConfirmedException)
        {
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                $"{metadata?.Unconfirmed ?? MayBeCarriedOut} {exception.Message} Retry in {Problems.RedisRetryAfterSeconds} s.", Problems.RedisRetryAfterSeconds);
        }
        else
        {
            await WriteAsync(context, metadata?.Detail ?? NotCarriedOut);
        }
        return true;
    }

    /// <summary>Answers 503 with <paramref name="detail"/> and when to retry, for code that cannot throw (a response transform).</summary>
    public static ValueTask WriteAsync(HttpContext context, string detail) =>
        Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
            $"{detail} Redis is unavailable; retry in {Problems.RedisRetryAfterSeconds} s.", Problems.RedisRetryAfterSeconds);
}

/// <summary>Endpoint metadata: what a 503 for Redis being unavailable says of the call.</summary>
/// <param name="Detail">What was not done, Redis being unreachable: one sentence, e.g. "The submit was not sent upstream."</param>
/// <param name="Unconfirmed">
/// What may have been done, a write having reached the primary unconfirmed by a replica, and how
/// to retry it safely; null for the general line.
/// </param>
internal sealed record RedisUnavailableDetail(string Detail, string? Unconfirmed = null);

/// <summary>Endpoint conventions for Redis failures.</summary>
internal static class RedisUnavailableEndpointExtensions
{
    /// <summary>
    /// Documents the 503 and says, in its <c>detail</c>, what was not done (<paramref name="detail"/>)
    /// or, when no replica confirmed a write, what may have been (<paramref name="unconfirmed"/>).
    /// </summary>
    public static TBuilder WhenRedisIsUnavailable<TBuilder>(this TBuilder builder, string detail, string? unconfirmed = null) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RedisUnavailableDetail(detail, unconfirmed))
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status503ServiceUnavailable, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]));
}
