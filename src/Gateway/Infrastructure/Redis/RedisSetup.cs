using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>Registers the Redis connection and its readiness check.</summary>
internal static class RedisSetup
{
    /// <summary>Registers <see cref="RedisStore"/>; <c>/readyz</c> fails while Redis is unreachable.</summary>
    public static WebApplicationBuilder AddRedis(this WebApplicationBuilder builder)
    {
        builder.Services.AddSettings<RedisOptions, RedisOptionsValidator>(RedisOptions.SectionName);
        builder.Services.AddSingleton<RedisStore>();
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [HealthEndpoints.ReadyTag]);
        return builder;
    }
}

/// <summary>Pings Redis; the description never includes the connection string (it may hold a password).</summary>
internal sealed class RedisHealthCheck(RedisStore redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.Database.PingAsync();
            return HealthCheckResult.Healthy($"ping {latency.TotalMilliseconds:0.0} ms");
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            return HealthCheckResult.Unhealthy("Redis is unreachable");
        }
    }
}
