using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Subscriptions;

/// <summary>
/// Subscriptions in Redis: one hash, <c>subscriptions</c>, id to JSON (secret included, for
/// signing). Fan-out and deliveries read them all the time, so each replica keeps a copy for
/// <see cref="SnapshotLifetime"/>: a change made through another replica applies within that time.
/// A deleted subscription's id stays in the hash for <see cref="DeletedIdRetention"/>, as
/// <c>deleted:{id}</c> and the deletion's Unix time in seconds, so that a create retried under the
/// <c>Idempotency-Key</c> that made it does not make it again. It is kept in the same hash (rather
/// than a key of its own) so that the create's script reads it in the same step on a Redis Cluster.
/// </summary>
internal sealed class SubscriptionStore(RedisStore redis, TimeProvider time)
{
    /// <summary>How long a replica uses its copy of the subscriptions for fan-out.</summary>
    public static readonly TimeSpan SnapshotLifetime = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a deleted subscription's id is remembered: 24 hours, the time Stripe keeps an
    /// idempotency key, so a retry within it of the create that made it is refused.
    /// </summary>
    public static readonly TimeSpan DeletedIdRetention = TimeSpan.FromHours(24);

    private const string DeletedPrefix = "deleted:";

    // A reference, swapped whole: replicas' threads read it without locks.
    private Snapshot? _snapshot;

    private sealed record Snapshot(IReadOnlyList<Subscription> Subscriptions, long TakenAt);

    // Updates only a subscription that still exists, so disabling never resurrects a deleted one.
    private const string ReplaceIfPresentScript = """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        return 1
        """;

    // Stores a subscription unless its id is taken or was deleted since ARGV[3] (Unix seconds);
    // returns nil when stored, the deletion's time as {'deleted', time}, or the one stored under the id.
    private const string CreateScript = $$"""
        local deleted = '{{DeletedPrefix}}' .. ARGV[1]
        local deletedAt = redis.call('HGET', KEYS[1], deleted)
        if deletedAt and tonumber(deletedAt) >= tonumber(ARGV[3]) then return {'deleted', deletedAt} end
        if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
          if deletedAt then redis.call('HDEL', KEYS[1], deleted) end
          return false
        end
        return redis.call('HGET', KEYS[1], ARGV[1])
        """;

    // Deletes a subscription and remembers its id from ARGV[2] (Unix seconds); forgets the ids
    // deleted before ARGV[3]. Deletions are rare and the hash small, so it reads all its fields.
    private const string DeleteScript = $$"""
        if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], '{{DeletedPrefix}}' .. ARGV[1], ARGV[2])
        for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
          if string.find(field, '{{DeletedPrefix}}', 1, true) == 1 and tonumber(redis.call('HGET', KEYS[1], field)) < tonumber(ARGV[3]) then
            redis.call('HDEL', KEYS[1], field)
          end
        end
        return 1
        """;

    private readonly RedisKey _key = redis.Key("subscriptions");

    /// <summary>A new subscription id: <c>sub_</c> + 24 random hex characters.</summary>
    public static string NewId() => "sub_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>
    /// The id of the subscription <paramref name="client"/> creates under <paramref name="idempotencyKey"/>:
    /// <c>sub_</c> + the first 24 hex characters of the SHA-256 of both, so each client's keys are its own.
    /// </summary>
    public static string IdFor(string client, string idempotencyKey) =>
        "sub_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(client + "\n" + idempotencyKey)))[..24];

    /// <summary>
    /// Saves a new subscription unless one with its id exists or was deleted within
    /// <see cref="DeletedIdRetention"/>, confirmed by a replica either way.
    /// </summary>
    /// <returns>
    /// The subscription now stored under the id and whether it is the one given; or, when the id's
    /// subscription was deleted within <see cref="DeletedIdRetention"/>, no subscription and when it was deleted.
    /// </returns>
    /// <exception cref="RedisException">Redis failed.</exception>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed it in time: it is saved on the primary.</exception>
    public async Task<(Subscription? Stored, bool Created, DateTimeOffset? DeletedAt)> CreateAsync(Subscription subscription)
    {
        var write = redis.Confirmations.Begin();
        var since = (time.GetUtcNow() - DeletedIdRetention).ToUnixTimeSeconds();
        var outcome = await write.Database.ScriptEvaluateAsync(CreateScript, [_key], [subscription.Id, Serialize(subscription), since]);
        _snapshot = null;
        // Confirmed even when it existed: the call that stored it may have been refused unconfirmed.
        await write.ConfirmAsync(_key);
        if (outcome.IsNull)
        {
            return (subscription, true, null);
        }
        if (outcome.Resp2Type == ResultType.Array)
        {
            return (null, false, DateTimeOffset.FromUnixTimeSeconds((long)((RedisResult[])outcome!)[1]));
        }
        return (Deserialize((RedisValue)outcome), false, null);
    }

    /// <summary>Every subscription.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<IReadOnlyList<Subscription>> ListAsync()
    {
        var entries = await redis.Database.HashGetAllAsync(_key);
        return [.. entries.Where(e => !IsDeletion(e.Name!)).Select(e => Deserialize(e.Value)).OrderBy(s => s.CreatedAt)];
    }

    /// <summary>The subscriptions enabled and matching <paramref name="e"/>.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<IReadOnlyList<Subscription>> MatchingAsync(InferenceEvent e) =>
        [.. (await SnapshotAsync()).Where(s => s.Enabled && s.Filter.Matches(e))];

    /// <summary>
    /// One subscription for a delivery: from this replica's copy, or from Redis when the copy
    /// does not have it (created through another replica in the last seconds); null when deleted.
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<Subscription?> FindAsync(string id) =>
        (await SnapshotAsync()).FirstOrDefault(s => s.Id == id) ?? await GetAsync(id);

    private async Task<IReadOnlyList<Subscription>> SnapshotAsync()
    {
        if (_snapshot is not { } snapshot || Environment.TickCount64 - snapshot.TakenAt > SnapshotLifetime.TotalMilliseconds)
        {
            snapshot = new Snapshot(await ListAsync(), Environment.TickCount64);
            _snapshot = snapshot;
        }
        return snapshot.Subscriptions;
    }

    /// <summary>One subscription, or null.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<Subscription?> GetAsync(string id)
    {
        if (IsDeletion(id))
        {
            return null;
        }
        var value = await redis.Database.HashGetAsync(_key, id);
        return value.IsNull ? null : Deserialize(value);
    }

    /// <summary>
    /// Deletes a subscription and remembers its id for <see cref="DeletedIdRetention"/>, confirmed
    /// by a replica; false when there was none.
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed it in time.</exception>
    public async Task<bool> DeleteAsync(string id)
    {
        if (IsDeletion(id))
        {
            return false;
        }
        var now = time.GetUtcNow();
        var write = redis.Confirmations.Begin();
        var deleted = (long)await write.Database.ScriptEvaluateAsync(DeleteScript, [_key],
            [id, now.ToUnixTimeSeconds(), (now - DeletedIdRetention).ToUnixTimeSeconds()]) == 1;
        _snapshot = null;
        await write.ConfirmAsync(_key);
        return deleted;
    }

    /// <summary>
    /// Enables or disables a subscription, confirmed by a replica; null when there is none.
    /// Disabled, it gets no new deliveries and its pending ones end as disabled at their next attempt.
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed it in time.</exception>
    public async Task<Subscription?> SetEnabledAsync(string id, bool enabled, string? disabledReason)
    {
        if (await GetAsync(id) is not { } subscription)
        {
            return null;
        }
        var changed = subscription with { Enabled = enabled, DisabledReason = enabled ? null : disabledReason };
        var write = redis.Confirmations.Begin();
        var done = await write.Database.ScriptEvaluateAsync(ReplaceIfPresentScript, [_key], [id, Serialize(changed)]);
        _snapshot = null;
        await write.ConfirmAsync(_key);
        return (long)done == 1 ? changed : null;
    }

    /// <summary>Disables a subscription (its endpoint answered 410 Gone); false when it no longer exists.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<bool> DisableAsync(Subscription subscription, string reason)
    {
        var disabled = subscription with { Enabled = false, DisabledReason = reason };
        var done = await redis.Database.ScriptEvaluateAsync(ReplaceIfPresentScript, [_key], [subscription.Id, Serialize(disabled)]);
        _snapshot = null;
        return (long)done == 1;
    }

    // A field that remembers a deleted id, never a subscription (ids are sub_ + hex).
    private static bool IsDeletion(string field) => field.StartsWith(DeletedPrefix, StringComparison.Ordinal);

    private static string Serialize(Subscription subscription) => JsonSerializer.Serialize(subscription, InferenceEvent.Json);

    private static Subscription Deserialize(RedisValue value) => JsonSerializer.Deserialize<Subscription>((string)value!, InferenceEvent.Json)!;
}
