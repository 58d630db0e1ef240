using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Clients;

/// <summary>
/// Per-client request limits for ASP.NET Core's rate limiter: a fixed window of
/// <see cref="RateLimitOptions.PermitLimit"/> requests per <see cref="RateLimitOptions.WindowSeconds"/>,
/// from <c>Clients:&lt;name&gt;:RateLimit</c> or else <c>RateLimiting:Default</c>, shared by all
/// replicas through Redis (<see cref="SharedWindowRateLimiter"/>).
/// </summary>
public sealed class ClientRateLimits(IOptions<RateLimitingOptions> options, RedisStore redis)
{
    /// <summary>The partition (one limiter per client) for <paramref name="client"/>.</summary>
    public RateLimitPartition<string> PartitionFor(GatewayClient client) =>
        RateLimitPartition.Get(client.Name, name => new SharedWindowRateLimiter(redis, name, LimitOf(client)));

    /// <summary>The limit that applies to <paramref name="client"/>.</summary>
    public RateLimitOptions LimitOf(GatewayClient client) => client.Options.RateLimit ?? options.Value.Default;

    /// <summary>Answers a rejected request: 429 problem details with <c>Retry-After</c> (seconds).</summary>
    public static async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var client = http.Features.Get<GatewayClient>();
        var limit = client is null ? null : http.RequestServices.GetRequiredService<ClientRateLimits>().LimitOf(client);
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        await Problems.WriteAsync(http, StatusCodes.Status429TooManyRequests,
            limit is null
                ? $"Rate limit exceeded; retry after {seconds} s."
                : $"Client '{client!.Name}' exceeded its limit of {limit.PermitLimit} requests per {limit.WindowSeconds} s; retry after {seconds} s.",
            seconds);
    }
}
