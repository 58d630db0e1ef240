using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.OperatorConsole;

/// <summary>
/// Makes the console's first Data Protection key once for all replicas. Before the host starts
/// its services (Data Protection then loads its key ring, making a key if it finds none), a
/// replica that finds the ring in Redis empty takes a lock there and makes the key, unless
/// another replica made it meanwhile. Without it, replicas starting together on an empty ring
/// could each make a key of their own and refuse each other's forms for up to a day (a replica
/// reloads its ring on meeting an unknown key only in its first 2 minutes).
/// </summary>
internal sealed class ConsoleKeyRing(IKeyManager keys, RedisStore redis, ILogger<ConsoleKeyRing> logger) : IHostedLifecycleService
{
    // Long enough for one replica to read the ring and write a key; a replica that waits longer
    // leaves the key to Data Protection, as without this service.
    private static readonly TimeSpan LockTime = TimeSpan.FromSeconds(10);

    // Data Protection's own default lifetime of a key.
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromDays(90);

    // Deletes the lock only if this replica still holds it.
    private const string ReleaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Redis unreachable at start (its connection was tried when it was made): nobody can
            // store a key now; Data Protection makes it once it can, as without this service,
            // and start-up waits out no timeout here.
            if (!redis.Database.Multiplexer.IsConnected)
            {
                GatewayLog.ConsoleKeyRingUnavailable(logger, "not connected");
                return;
            }
            if (keys.GetAllKeys().Count > 0)
            {
                return;
            }
            var lockKey = redis.Key(ConsoleSetup.DataProtectionKeysKey + ":first-key-lock");
            var token = Guid.NewGuid().ToString("N");
            // Real time, as Data Protection reads it (not the gateway's TimeProvider, which tests stop).
            var waitUntil = DateTimeOffset.UtcNow + LockTime;
            while (!await redis.Database.StringSetAsync(lockKey, token, LockTime, When.NotExists))
            {
                if (DateTimeOffset.UtcNow > waitUntil)
                {
                    return;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            }
            try
            {
                if (keys.GetAllKeys().Count == 0)
                {
                    var now = DateTimeOffset.UtcNow;
                    keys.CreateNewKey(now, now + KeyLifetime);
                }
            }
            finally
            {
                await redis.Database.ScriptEvaluateAsync(ReleaseScript, [lockKey], [token]);
            }
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            // Data Protection makes the key when it first needs one, as without this service.
            GatewayLog.ConsoleKeyRingUnavailable(logger, e.GetType().Name);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
