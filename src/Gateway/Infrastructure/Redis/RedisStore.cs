using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>
/// The gateway's one connection to Redis (a StackExchange.Redis multiplexer shared by every
/// feature) and the names of its keys. It connects in the background and reconnects by itself:
/// a replica starts, and keeps serving what needs no Redis, while Redis is away.
/// </summary>
public sealed class RedisStore : IDisposable
{
    private readonly ConnectionMultiplexer _multiplexer;

    /// <summary>Connects with the <c>Redis</c> settings.</summary>
    public RedisStore(IOptions<RedisOptions> options)
    {
        var settings = options.Value;
        var configuration = ConfigurationOptions.Parse(settings.Configuration);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = 2000;
        configuration.SyncTimeout = (int)(settings.OperationTimeoutSeconds * 1000);
        configuration.ClientName = "reka-gateway";
        _multiplexer = ConnectionMultiplexer.Connect(configuration);
        Prefix = settings.KeyPrefix;
        EventsChannel = settings.EventsChannel;
        OperationTimeout = TimeSpan.FromSeconds(settings.OperationTimeoutSeconds);
    }

    /// <summary>The database.</summary>
    public IDatabase Database => _multiplexer.GetDatabase();

    /// <summary>Pub/sub.</summary>
    public ISubscriber Subscriber => _multiplexer.GetSubscriber();

    /// <summary>Prefix of every key.</summary>
    public string Prefix { get; }

    /// <summary>Channel of published events.</summary>
    public string EventsChannel { get; }

    /// <summary>Longest wait for one call on a request's path.</summary>
    public TimeSpan OperationTimeout { get; }

    /// <summary>A key below the gateway's prefix.</summary>
    public RedisKey Key(string name) => Prefix + name;

    /// <summary>
    /// Runs a Redis call with <see cref="OperationTimeout"/> (StackExchange.Redis 1.x does not
    /// time async calls out by itself).
    /// </summary>
    /// <exception cref="RedisUnavailableException">Redis failed or did not answer in time.</exception>
    public async Task<T> CallAsync<T>(Func<IDatabase, Task<T>> call)
    {
        try
        {
            return await call(Database).WaitAsync(OperationTimeout);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or TimeoutException)
        {
            // Only unreachability: a RedisServerException (a script error, say) is a bug and stays one.
            throw new RedisUnavailableException(e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _multiplexer.Dispose();
}

/// <summary>Redis could not be reached or did not answer in time.</summary>
public sealed class RedisUnavailableException(Exception inner)
    : Exception("Redis is unavailable: " + inner.GetType().Name, inner);
