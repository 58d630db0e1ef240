using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.OperatorConsole;

/// <summary>
/// Makes the console's first Data Protection key once for all replicas, at a replica's first
/// console request, before its pages use Data Protection (which loads its key ring then, making a
/// key if it finds none): a replica that finds the ring in Redis empty takes a lock there and
/// makes the key, unless another replica made it meanwhile. Without it, replicas whose consoles
/// are first used together on an empty ring could each make a key of their own and refuse each
/// other's forms for up to a day (a replica reloads its ring on meeting an unknown key only in
/// its first 2 minutes). Not at start: the key ring's XML stack costs an idle replica about
/// 4 MiB, and most replicas never serve the console.
/// </summary>
internal sealed class ConsoleKeyRing(IKeyManager keys, RedisStore redis, ILogger<ConsoleKeyRing> logger) : IDisposable
{
    // Long enough for one replica to read the ring and write a key; a replica that waits longer
    // leaves the key to Data Protection, as without this service.
    private static readonly TimeSpan LockTime = TimeSpan.FromSeconds(10);

    // Data Protection's own default lifetime of a key.
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromDays(90);

    // Deletes the lock only if this replica still holds it.
    private const string ReleaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _done;

    /// <summary>
    /// Makes sure the ring has its first key (see the class), once: until it has, each call looks
    /// again, one at a time; afterwards it returns at once.
    /// </summary>
    public async Task EnsureFirstKeyAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            return;
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _done = _done || await TryFirstKeyAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    // True once there is nothing left to do: the ring has a key, or another replica held the lock
    // too long (the key is left to Data Protection); false while Redis is unreachable.
    private async Task<bool> TryFirstKeyAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Redis unreachable (its connection was tried when it was made): nobody can store a
            // key now, and the page waits out no timeout here; the next console request looks again.
            if (!redis.Database.Multiplexer.IsConnected)
            {
                GatewayLog.ConsoleKeyRingUnavailable(logger, "not connected");
                return false;
            }
            if (keys.GetAllKeys().Count > 0)
            {
                return true;
            }
            var lockKey = redis.Key(ConsoleSetup.DataProtectionKeysKey + ":first-key-lock");
            var token = Guid.NewGuid().ToString("N");
            // Real time, as Data Protection reads it (not the gateway's TimeProvider, which tests stop).
            var waitUntil = DateTimeOffset.UtcNow + LockTime;
            while (!await redis.Database.StringSetAsync(lockKey, token, LockTime, When.NotExists))
            {
                if (DateTimeOffset.UtcNow > waitUntil)
                {
                    return true;
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
            return true;
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            // The next console request looks again.
            GatewayLog.ConsoleKeyRingUnavailable(logger, e.GetType().Name);
            return false;
        }
    }

    public void Dispose() => _gate.Dispose();
}
