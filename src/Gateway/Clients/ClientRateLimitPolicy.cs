using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Clients;

/// <summary>
/// The per-client rate limit, as an ASP.NET Core rate limiter policy built once: a fixed window
/// of <see cref="RateLimitOptions.PermitLimit"/> requests per <see cref="RateLimitOptions.WindowSeconds"/>,
/// from <c>Clients:&lt;name&gt;:RateLimit</c> or else <c>RateLimiting:Default</c>, shared by all
/// replicas through Redis (<see cref="SharedWindowRateLimiter"/>). A rejected request gets 429
/// problem details with <c>Retry-After</c> (seconds).
/// </summary>
internal sealed class ClientRateLimitPolicy(IOptions<RateLimitingOptions> options, RedisStore redis, TimeProvider time) : IRateLimiterPolicy<string>
{
    /// <summary>The policy's name on endpoints.</summary>
    public const string Name = "per-client";

    public RateLimitPartition<string> GetPartition(HttpContext httpContext) =>
        httpContext.Features.Get<GatewayClient>() is { } client
            // The limit is part of the partition: a client whose limit changes gets a limiter of the new limit.
            ? RateLimitPartition.Get($"{client.Name}|{LimitOf(client).PermitLimit}|{LimitOf(client).WindowSeconds}",
                _ => new SharedWindowRateLimiter(redis, client.Name, LimitOf(client), time))
            : RateLimitPartition.GetNoLimiter("anonymous");

    public Func<OnRejectedContext, CancellationToken, ValueTask> OnRejected => async (context, cancellationToken) =>
    {
        var http = context.HttpContext;
        var client = http.Features.Get<GatewayClient>();
        var limit = client is null ? null : LimitOf(client);
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        await Problems.WriteAsync(http, StatusCodes.Status429TooManyRequests,
            limit is null
                ? $"Rate limit exceeded; retry after {seconds} s."
                : $"Client '{client!.Name}' exceeded its limit of {limit.PermitLimit} requests per {limit.WindowSeconds} s; retry after {seconds} s.",
            seconds);
    };

    private RateLimitOptions LimitOf(GatewayClient client) => client.RateLimit ?? options.Value.Default;
}
