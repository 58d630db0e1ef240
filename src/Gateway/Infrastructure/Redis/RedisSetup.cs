using System.Text.RegularExpressions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>Registers the Redis connection and its readiness check.</summary>
public static class RedisSetup
{
    /// <summary>Registers <see cref="RedisStore"/>; <c>/readyz</c> fails while Redis is unreachable.</summary>
    public static WebApplicationBuilder AddRedis(this WebApplicationBuilder builder)
    {
        builder.Services.AddCheckedOptions<RedisOptions, RedisOptionsValidator>(RedisOptions.SectionName);
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

internal sealed partial class RedisOptionsValidator : SettingsValidator<RedisOptions>
{
    protected override IEnumerable<string> Check(RedisOptions settings)
    {
        if (string.IsNullOrWhiteSpace(settings.Configuration) || string.IsNullOrWhiteSpace(settings.EventsChannel) || settings.OperationTimeoutSeconds <= 0)
        {
            yield return "Redis needs a Configuration (e.g. localhost:6379), an EventsChannel and OperationTimeoutSeconds above 0.";
            yield break;
        }
        if (settings.KeyPrefix.Contains('{') || settings.KeyPrefix.Contains('}'))
        {
            yield return "Redis:KeyPrefix must not contain '{' or '}' (the gateway puts hash tags after it).";
        }
        if (settings.QueuePartitions is < 1 or > 256)
        {
            yield return "Redis:QueuePartitions must be from 1 to 256.";
        }
        if (settings.ReplicaAckTimeoutSeconds < 0 || settings.ReplicaAckTimeoutSeconds >= settings.OperationTimeoutSeconds)
        {
            yield return "Redis:ReplicaAckTimeoutSeconds must be at least 0 (0: off) and below Redis:OperationTimeoutSeconds.";
        }
        foreach (var (path, setting) in new[] { (settings.CaCertificatePath, "CaCertificatePath"), (settings.ClientCertificatePath, "ClientCertificatePath"), (settings.ClientKeyPath, "ClientKeyPath") })
        {
            if (!string.IsNullOrEmpty(path) && !File.Exists(path))
            {
                yield return $"Redis:{setting}: no file at {path}.";
            }
        }
        if (!string.IsNullOrEmpty(settings.ClientKeyPath) && string.IsNullOrEmpty(settings.ClientCertificatePath))
        {
            yield return "Redis:ClientKeyPath needs Redis:ClientCertificatePath.";
        }
        string? failure = null;
        try
        {
            var configuration = StackExchange.Redis.ConfigurationOptions.Parse(settings.Configuration);
            if (configuration.EndPoints.Count == 0)
            {
                failure = "Redis:Configuration names no host (e.g. localhost:6379).";
            }
            else if (!configuration.Ssl && (!string.IsNullOrEmpty(settings.CaCertificatePath) || !string.IsNullOrEmpty(settings.ClientCertificatePath)))
            {
                failure = "Redis:CaCertificatePath and Redis:ClientCertificatePath apply to TLS: add ssl=true to Redis:Configuration.";
            }
            else
            {
                RedisConnection.Build(settings); // reads the certificate files
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException or System.Security.Cryptography.CryptographicException or IOException)
        {
            // The client's message may quote the configuration string: its password never goes out.
            failure = $"Redis settings cannot be used: {Redact(e.Message, settings.Configuration)}";
        }
        if (failure is not null)
        {
            yield return failure;
        }
    }

    // Any value of a password= entry, and the whole configuration string, are cut from a message.
    private static string Redact(string message, string configuration)
    {
        foreach (Match secret in PasswordPattern().Matches(configuration))
        {
            if (secret.Groups[1].Value.Length > 0)
            {
                message = message.Replace(secret.Groups[1].Value, "***", StringComparison.Ordinal);
            }
        }
        return message.Replace(configuration, "(Redis:Configuration)", StringComparison.Ordinal);
    }

    [GeneratedRegex("password=([^,]*)", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPattern();
}
