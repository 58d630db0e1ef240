using StackExchange.Redis;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>
/// One StackExchange.Redis multiplexer built from the <c>Redis</c> settings. Start-up never fails
/// on Redis, and waits for it at most the connect timeout: a standalone or cluster connection
/// reconnects by itself, and a Sentinel connection whose sentinels, or the primary they name,
/// cannot be reached yet is retried in the background, calls failing as "unable to connect"
/// meanwhile.
/// </summary>
internal sealed class RedisConnection : IDisposable
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);
    private readonly CancellationTokenSource _stop = new();
    private volatile ConnectionMultiplexer? _multiplexer;

    public RedisConnection(RedisOptions settings, string clientName, ILogger logger)
    {
        var configuration = Build(settings);
        configuration.ClientName = clientName;
        if (!TryConnect(configuration, clientName, logger))
        {
            _ = RetryAsync(configuration, clientName, logger);
        }
    }

    /// <summary>Raised after each lost connection, so writes made before it are known to be unconfirmable.</summary>
    public event Action? ConnectionLost;

    /// <summary>Raised once connected, and after each reconnection (the server may have changed: a restart, a failover).</summary>
    public event Action? Connected;

    /// <summary>
    /// Raised when the pub/sub connection is back after it was lost: what was published meanwhile
    /// never reached this replica. The client subscribes its channels again as it reconnects, not
    /// necessarily before this is raised.
    /// </summary>
    public event Action? SubscriptionRestored;

    /// <exception cref="RedisConnectionException">Not connected yet (Sentinel, or the primary it names, unreachable since start-up).</exception>
    public ConnectionMultiplexer Multiplexer => _multiplexer
        ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "Redis Sentinel has not been reached yet.", null, CommandStatus.Unknown);

    /// <summary>
    /// The client's settings: the configuration string, with the gateway's timeouts, background
    /// connecting (retried by this class through Sentinel), and the TLS files of the settings.
    /// </summary>
    /// <exception cref="ArgumentException">The configuration string cannot be read.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">A certificate file cannot be read.</exception>
    public static ConfigurationOptions Build(RedisOptions settings)
    {
        var configuration = ConfigurationOptions.Parse(settings.Configuration);
        var timeout = (int)(settings.OperationTimeoutSeconds * 1000);
        // A standalone or cluster connection goes on without Redis and connects in the background.
        // Through Sentinel, the first connect must find a sentinel and the primary it names, or
        // fail and be retried each second by RetryAsync (a failed try leaves no connection open).
        // Told to go on without, StackExchange.Redis 3.4 hands back a connection to the sentinels'
        // own addresses: RedisSentinelTests' start-up case took 14-19 s that way against 8-10 s,
        // though it passes either way.
        configuration.AbortOnConnectFail = !string.IsNullOrEmpty(configuration.ServiceName);
        // INFO, which RedisDurability reads, is an admin command to the client (3.x refuses it even
        // through Execute without this). The gateway sends no other; the ACL user bounds what it may.
        configuration.AllowAdmin = true;
        configuration.ConnectTimeout = Math.Min(5000, Math.Max(timeout, 1000));
        configuration.AsyncTimeout = timeout;
        configuration.SyncTimeout = timeout;
        // Timeouts are checked at each heartbeat: a short one keeps them close to what was asked.
        configuration.HeartbeatInterval = TimeSpan.FromMilliseconds(Math.Clamp(timeout / 4, 100, 1000));
        if (settings.CaCertificatePath is { Length: > 0 } ca)
        {
            configuration.TrustIssuer(ca);
        }
        if (settings.ClientCertificatePath is { Length: > 0 } certificate)
        {
            configuration.SetUserPemCertificate(certificate, settings.ClientKeyPath is { Length: > 0 } key ? key : null);
        }
        return configuration;
    }

    private bool TryConnect(ConfigurationOptions configuration, string clientName, ILogger logger)
    {
        try
        {
            var multiplexer = ConnectionMultiplexer.Connect(configuration);
            // Endpoints and failure kinds only: the configuration (and its password) is never logged.
            multiplexer.ConnectionFailed += (_, e) =>
            {
                GatewayLog.RedisConnectionFailed(logger, Describe(clientName, e.ConnectionType), e.EndPoint?.ToString(), e.FailureType.ToString());
                if (e.ConnectionType == ConnectionType.Interactive)
                {
                    ConnectionLost?.Invoke();
                }
            };
            multiplexer.ConnectionRestored += (_, e) =>
            {
                GatewayLog.RedisConnectionRestored(logger, Describe(clientName, e.ConnectionType), e.EndPoint?.ToString());
                if (e.ConnectionType == ConnectionType.Interactive)
                {
                    Connected?.Invoke();
                }
                else if (e.ConnectionType == ConnectionType.Subscription)
                {
                    SubscriptionRestored?.Invoke();
                }
            };
            _multiplexer = multiplexer;
            Connected?.Invoke();
            return true;
        }
        catch (RedisException e)
        {
            // Mostly "unable to connect"; through Sentinel, any failure to reach the primary it names.
            GatewayLog.RedisConnectionFailed(logger, clientName, null, e is RedisConnectionException lost ? lost.FailureType.ToString() : e.GetType().Name);
            return false;
        }
    }

    private static string Describe(string clientName, ConnectionType type) =>
        type == ConnectionType.Subscription ? clientName + " (pub/sub)" : clientName;

    private async Task RetryAsync(ConfigurationOptions configuration, string clientName, ILogger logger)
    {
        while (!_stop.IsCancellationRequested)
        {
            await Task.Delay(RetryInterval, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!_stop.IsCancellationRequested && await Task.Run(() => TryConnect(configuration, clientName, logger)))
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _multiplexer?.Dispose();
        _stop.Dispose();
    }
}
