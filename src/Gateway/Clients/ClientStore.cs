using System.Text.Json;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Clients;

/// <summary>A key of an API-managed client, as stored: its id and hash, never the key.</summary>
internal sealed record StoredKey(string KeyId, string Hash, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>A client managed through <c>/clients</c>, as stored in Redis.</summary>
internal sealed record ClientRecord(
    string Name,
    bool Admin,
    RateLimitOptions? RateLimit,
    List<string>? AllowedEndpoints,
    QuotaOptions? Quotas,
    string? Description,
    string WebhookSecret,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Revision,
    List<StoredKey> Keys)
{
    /// <summary>The client as authentication hands it to the rest of the gateway.</summary>
    public GatewayClient ToClient() => new(Name, Admin, WebhookSecret, RateLimit, AllowedEndpoints, Quotas, FromSettings: false);
}

/// <summary>What a change to the clients led to.</summary>
internal enum ClientChange
{
    Done,
    Exists,
    Missing,
    Conflict,
    /// <summary>A create of a name a deleted client had.</summary>
    Retired,
}

/// <summary>
/// API-managed clients in Redis: one hash of records (name to JSON), one of the retired names of
/// deleted clients, a version counter that every change increments and publishes (so each replica
/// reloads within moments), and the audit stream, all in one hash slot (<c>{clients}</c>) so that
/// a change and its audit entry are written together by one script, confirmed by a replica.
/// </summary>
internal sealed class ClientStore(RedisStore redis, TimeProvider time)
{
    // KEYS: records, version, audit, retired names; ARGV: name, expected revision ('' to create),
    // record JSON ('' to delete), publish command, channel, audit actor, action, detail, retention
    // entries, the time of the change.
    private const string SaveScript = """
        local current = redis.call('HGET', KEYS[1], ARGV[1])
        if ARGV[2] == '' then
          if current then return 'exists' end
          if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 1 then return 'retired' end
        else
          if not current then return 'missing' end
          if tostring(cjson.decode(current).revision) ~= ARGV[2] then return 'conflict' end
        end
        if ARGV[3] == '' then
          redis.call('HDEL', KEYS[1], ARGV[1])
          redis.call('HSET', KEYS[4], ARGV[1], ARGV[10])
        else
          redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
        end
        local version = redis.call('INCR', KEYS[2])
        redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[9], '*', 'actor', ARGV[6], 'action', ARGV[7], 'client', ARGV[1], 'detail', ARGV[8])
        redis.call(ARGV[4], ARGV[5], version)
        return 'ok'
        """;

    /// <summary>Audit entries kept, at least (the stream is trimmed past it).</summary>
    public const int AuditEntries = 100_000;

    private readonly RedisKey _records = redis.Key("{clients}:records");
    private readonly RedisKey _version = redis.Key("{clients}:version");
    // Names of deleted clients (name to the time of the deletion), never taken again: requests,
    // usage and events are kept under a client's name, and a new client of the name would read them.
    private readonly RedisKey _retired = redis.Key("{clients}:retired");

    /// <summary>The audit stream.</summary>
    public RedisKey AuditKey { get; } = redis.Key("{clients}:audit");

    /// <summary>Published with the new version after each change (sharded on a cluster, in the records' slot).</summary>
    public RedisChannel ChangedChannel => redis.IsCluster ? RedisChannel.Sharded(ChangedChannelName) : RedisChannel.Literal(ChangedChannelName);

    private string ChangedChannelName => redis.Prefix + "{clients}:changed";

    /// <summary>The version of the records: any change increments it.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<long> VersionAsync() => (long?)await redis.Database.StringGetAsync(_version) ?? 0;

    /// <summary>Every API-managed client.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<IReadOnlyList<ClientRecord>> ListAsync() =>
        [.. (await redis.Database.HashGetAllAsync(_records)).Select(e => Deserialize(e.Value)).OrderBy(c => c.Name, StringComparer.Ordinal)];

    /// <summary>One API-managed client, or null.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<ClientRecord?> GetAsync(string name) =>
        await redis.Database.HashGetAsync(_records, name) is { IsNull: false } value ? Deserialize(value) : null;

    /// <summary>
    /// Saves <paramref name="record"/> (null deletes <paramref name="name"/>, whose name is then
    /// retired) if the stored one is still at <paramref name="expectedRevision"/> (null: create,
    /// and no client may have, or have had, the name), with its audit entry, confirmed by a replica.
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed in time.</exception>
    public async Task<ClientChange> SaveAsync(string name, long? expectedRevision, ClientRecord? record, AuditEntry audit)
    {
        var write = redis.Confirmations.Begin();
        var outcome = (string?)await write.Database.ScriptEvaluateAsync(SaveScript, [_records, _version, AuditKey, _retired],
        [
            name, expectedRevision?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
            record is null ? "" : JsonSerializer.Serialize(record, GatewayJson.Options),
            redis.PublishCommand, ChangedChannelName,
            audit.Actor, audit.Action, audit.Detail, AuditEntries,
            time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ]);
        await write.ConfirmAsync(_records);
        return outcome switch
        {
            "ok" => ClientChange.Done,
            "exists" => ClientChange.Exists,
            "missing" => ClientChange.Missing,
            "retired" => ClientChange.Retired,
            _ => ClientChange.Conflict,
        };
    }

    /// <summary>What <c>before</c> must be, in words, for error details.</summary>
    public const string AuditIdRule = "'before' must be an audit entry's id, as listed (<milliseconds>-<sequence>, e.g. 1764450000000-0).";

    /// <summary>
    /// Whether <paramref name="id"/> is a Redis stream id (<c>ms</c> or <c>ms-seq</c>, each 0 to
    /// 2^64-1), as <see cref="AuditAsync"/> takes it: anything else Redis refuses with an error.
    /// </summary>
    public static bool IsAuditId(string id)
    {
        var dash = id.IndexOf('-');
        return dash < 0 ? IsPart(id) : IsPart(id[..dash]) && IsPart(id[(dash + 1)..]);

        static bool IsPart(string part) => ulong.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _);
    }

    /// <summary>The newest audit entries, newest first, older than <paramref name="before"/> (an entry id, <see cref="IsAuditId"/>) when given.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<IReadOnlyList<AuditView>> AuditAsync(int limit, string? before)
    {
        // Nothing is older than the first possible id (Redis refuses an interval ending before it).
        if (before is not null && before.Trim('0', '-').Length == 0)
        {
            return [];
        }
        var entries = await redis.Database.StreamRangeAsync(AuditKey, minId: "-", maxId: before is null ? "+" : "(" + before, count: limit, messageOrder: Order.Descending);
        return [.. entries.Select(AuditView.From)];
    }

    private static ClientRecord Deserialize(RedisValue value) => JsonSerializer.Deserialize<ClientRecord>((string)value!, GatewayJson.Options)!;
}

/// <summary>A change to record in the audit stream: who, what, about which client, never a key.</summary>
internal sealed record AuditEntry(string Actor, string Action, string Detail);

/// <summary>One audit entry, as <c>GET /audit</c> lists it.</summary>
/// <param name="Id">The entry's id (a Redis stream id); pass it as <c>before</c> for the next page.</param>
/// <param name="At">When the change was made.</param>
/// <param name="Actor">The admin client that made it.</param>
/// <param name="Action">What it did: <c>client.created</c>, <c>client.updated</c>, <c>client.deleted</c>, <c>key.created</c>, <c>key.revoked</c>.</param>
/// <param name="Client">The client changed.</param>
/// <param name="Detail">What changed, as JSON (settings, key ids; never a key).</param>
public sealed record AuditView(string Id, DateTimeOffset At, string Actor, string Action, string Client, string Detail)
{
    internal static AuditView From(StreamEntry entry)
    {
        var milliseconds = long.Parse(((string)entry.Id!).Split('-')[0], System.Globalization.CultureInfo.InvariantCulture);
        return new AuditView((string)entry.Id!, DateTimeOffset.FromUnixTimeMilliseconds(milliseconds),
            (string?)entry["actor"] ?? "", (string?)entry["action"] ?? "", (string?)entry["client"] ?? "", (string?)entry["detail"] ?? "{}");
    }
}
