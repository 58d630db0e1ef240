namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>Where the shared state lives (section <c>Redis</c>).</summary>
public sealed class RedisOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Redis";

    /// <summary>StackExchange.Redis configuration string, e.g. <c>localhost:6379</c> or <c>redis:6379,password=...</c>.</summary>
    public string Configuration { get; set; } = "localhost:6379";

    /// <summary>Prefix of every key the gateway writes, so several gateways can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "gateway:";

    /// <summary>Pub/sub channel on which every event is published for listeners inside the cluster.</summary>
    public string EventsChannel { get; set; } = "gateway:events";

    /// <summary>Longest wait for one Redis call on a request's path, in seconds; past it the call counts as failed.</summary>
    public double OperationTimeoutSeconds { get; set; } = 2;
}
