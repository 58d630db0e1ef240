using System.Runtime.CompilerServices;
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
            ? _partitions.GetValue(client, PartitionOf).Value
            : RateLimitPartition.GetNoLimiter("anonymous");

    // A client's record is immutable (a change replaces it), so its partition is built once, not
    // on every request.
    private readonly ConditionalWeakTable<GatewayClient, StrongBox<RateLimitPartition<string>>> _partitions = [];

    // The limit is part of the partition: a client whose limit changes gets a limiter of the new limit.
    private StrongBox<RateLimitPartition<string>> PartitionOf(GatewayClient client)
    {
        var limit = LimitOf(client);
        return new(RateLimitPartition.Get($"{client.Name}|{limit.PermitLimit}|{limit.WindowSeconds}",
            _ => new SharedWindowRateLimiter(redis, client.Name, limit, time)));
    }

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
