using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Clients;

/// <summary>
/// Every client the gateway knows, by key and by name: the bootstrap clients of settings
/// (<c>Clients:&lt;name&gt;</c>) and those created through <c>/clients</c>. API clients are read
/// from Redis into a snapshot that each replica reloads as soon as a change is published, and
/// at the latest when the version it polls every half second moves, so a revoked key, an expired
/// key or a deleted client is refused everywhere within moments (an expiry at the instant it
/// passes). While Redis is away the last snapshot stays in force. Keys are compared by their
/// SHA-256, so nothing stored is a secret and a lookup leaks nothing useful through timing.
/// </summary>
internal sealed class ClientRegistry : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    private readonly FrozenDictionary<string, GatewayClient> _settingsByName;
    private readonly FrozenDictionary<string, GatewayClient> _settingsByKeyHash;
    private readonly ClientStore _store;
    private readonly RedisStore _redis;
    private readonly TimeProvider _time;
    private readonly ILogger<ClientRegistry> _logger;
    private readonly WakeSignal _changed = new();
    private volatile Snapshot _api = Snapshot.Empty;

    private sealed record Snapshot(long Version, FrozenDictionary<string, GatewayClient> ByName, FrozenDictionary<string, (GatewayClient Client, DateTimeOffset? ExpiresAt)> ByKeyHash)
    {
        public static readonly Snapshot Empty = new(-1, FrozenDictionary<string, GatewayClient>.Empty, FrozenDictionary<string, (GatewayClient, DateTimeOffset?)>.Empty);
    }

    public ClientRegistry(IOptions<ClientsOptions> settings, ClientStore store, RedisStore redis, TimeProvider time, ILogger<ClientRegistry> logger)
    {
        _settingsByName = settings.Value.ToFrozenDictionary(c => c.Key, c => new GatewayClient(c.Key, c.Value.Admin, c.Value.WebhookSecret,
            c.Value.RateLimit, c.Value.AllowedEndpoints, c.Value.Quotas, FromSettings: true), StringComparer.Ordinal);
        _settingsByKeyHash = settings.Value.ToFrozenDictionary(c => c.Value.KeySha256, c => _settingsByName[c.Key], StringComparer.Ordinal);
        (_store, _redis, _time, _logger) = (store, redis, time, logger);
    }

    /// <summary>The clients of settings, by name.</summary>
    public IReadOnlyDictionary<string, GatewayClient> Settings => _settingsByName;

    /// <summary>
    /// The client whose key is <paramref name="key"/>, or null; <paramref name="expiredAt"/> says
    /// when the key expired, when it is a known key past its expiry.
    /// </summary>
    public GatewayClient? FindByKey(ReadOnlySpan<char> key, out DateTimeOffset? expiredAt)
    {
        Span<char> hash = stackalloc char[ClientKeys.HashLength];
        ClientKeys.Hash(key, hash);
        return FindByKeyHash(hash, out expiredAt);
    }

    /// <summary>
    /// The client whose key hashes to <paramref name="hash"/> (<see cref="ClientKeys.Hash(ReadOnlySpan{char})"/>), as
    /// <see cref="FindByKey"/>; for what remembers a key by its hash (a console session), so that
    /// revoking the key, or its expiry, ends what was opened with it.
    /// </summary>
    public GatewayClient? FindByKeyHash(string hash, out DateTimeOffset? expiredAt) => FindByKeyHash(hash.AsSpan(), out expiredAt);

    // Looked up by characters (both dictionaries compare ordinally): no string per request.
    private GatewayClient? FindByKeyHash(ReadOnlySpan<char> hash, out DateTimeOffset? expiredAt)
    {
        expiredAt = null;
        if (_settingsByKeyHash.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(hash, out var client))
        {
            return client;
        }
        if (!_api.ByKeyHash.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(hash, out var entry))
        {
            return null;
        }
        if (entry.ExpiresAt is { } expires && expires <= _time.GetUtcNow())
        {
            expiredAt = expires;
            return null;
        }
        return entry.Client;
    }

    /// <summary>The client named <paramref name="name"/> (settings first), or null.</summary>
    public GatewayClient? FindByName(string name) =>
        _settingsByName.GetValueOrDefault(name) ?? _api.ByName.GetValueOrDefault(name);

    /// <summary>Lowercase hex SHA-256 of a key, the form <c>KeySha256</c> takes.</summary>
    public static string HashKey(string key) => ClientKeys.Hash(key);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // API clients are known before the first request when Redis answers at once.
        try
        {
            await ReloadAsync().WaitAsync(TimeSpan.FromSeconds(2), _time, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException || RedisStore.IsUnavailable(e))
        {
            GatewayLog.ClientsNotLoaded(_logger, e.GetType().Name);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscribed = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!subscribed)
                {
                    await _redis.Subscriber.SubscribeAsync(_store.ChangedChannel, (_, _) => _changed.Set()).WaitAsync(stoppingToken);
                    subscribed = true;
                }
                if (await _store.VersionAsync().WaitAsync(stoppingToken) != _api.Version)
                {
                    await ReloadAsync();
                }
            }
            catch (Exception e) when (RedisStore.IsUnavailable(e))
            {
                GatewayLog.ClientsNotLoaded(_logger, e.GetType().Name);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            await _changed.WaitAsync(PollInterval, _time, stoppingToken);
        }
    }

    /// <summary>Reads the API clients again now (after a change made through this replica, say).</summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis failed; the last snapshot stays.</exception>
    public async Task ReloadAsync()
    {
        // The version first: a change made while the records are read is seen at the next look.
        var version = await _store.VersionAsync();
        var records = await _store.ListAsync();
        var byName = records.ToFrozenDictionary(r => r.Name, r => r.ToClient(), StringComparer.Ordinal);
        var byKeyHash = records.SelectMany(r => r.Keys.Select(k => (k.Hash, Entry: (byName[r.Name], k.ExpiresAt))))
            .ToFrozenDictionary(k => k.Hash, k => k.Entry, StringComparer.Ordinal);
        _api = new Snapshot(version, byName, byKeyHash);
    }
}
