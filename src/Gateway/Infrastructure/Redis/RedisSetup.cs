using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>Registers the Redis connection and its readiness check.</summary>
internal static class RedisSetup
{
    /// <summary>
    /// Registers <see cref="RedisStore"/>; <c>/readyz</c> fails while Redis is unreachable, and
    /// reports Degraded while Redis would lose its writes in a restart or evict them (<see cref="RedisDurability"/>).
    /// </summary>
    public static WebApplicationBuilder AddRedis(this WebApplicationBuilder builder)
    {
        builder.Services.AddSettings<RedisOptions, RedisOptionsValidator>(RedisOptions.SectionName);
        builder.Services.AddSingleton<RedisStore>();
        builder.Services.AddSingleton<RedisDurability>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisDurability>());
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [HealthEndpoints.ReadyTag]);
        return builder;
    }
}

/// <summary>Pings Redis; the description never includes the connection string (it may hold a password).</summary>
internal sealed class RedisHealthCheck(RedisStore redis, RedisDurability durability) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // Both connections: a write confirmed by a replica goes through the second one.
            var confirming = redis.Confirmations.Database.PingAsync();
            var latency = await redis.Database.PingAsync();
            await confirming;
            var ping = $"ping {latency.TotalMilliseconds:0.0} ms";
            return durability.Last switch
            {
                { AtRisk: true } finding => HealthCheckResult.Degraded($"{ping}; {finding.Description}"),
                { } finding => HealthCheckResult.Healthy($"{ping}; {finding.Description}"),
                null => HealthCheckResult.Healthy(ping),
            };
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            return HealthCheckResult.Unhealthy("Redis is unreachable");
        }
    }
}
