using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.OperatorConsole.Sessions;

/// <summary>A console session as stored: whose it is, which key opened it (by its hash), when it ends at the latest.</summary>
/// <param name="Client">The signed-in client.</param>
/// <param name="KeySha256">SHA-256 of the key signed in with (what the clients' records hold), never the key: revoking the key ends the session.</param>
/// <param name="ExpiresAt">The end of <c>Console:SessionLifetime</c>.</param>
internal sealed record ConsoleSession(string Client, string KeySha256, DateTimeOffset ExpiresAt);

/// <summary>
/// Console sessions in Redis, so that any replica serves any page: the cookie holds only an
/// opaque random id (32 bytes); Redis holds, under the id's SHA-256 (so that reading Redis gives
/// no usable cookie), the record above with a time to live of <c>Console:IdleTimeout</c>, renewed
/// on each use (sliding expiry). Signing out deletes it.
/// </summary>
internal sealed class ConsoleSessions(RedisStore redis, IOptions<ConsoleOptions> options, TimeProvider time)
{
    private const string ClientField = "client";
    private const string KeyField = "key_sha256";
    private const string ExpiresField = "expires_at";

    // KEYS: the session; ARGV: idle timeout ms. The record, its time to live renewed; nil when gone.
    private static readonly string TouchScript = $$"""
        local fields = redis.call('HMGET', KEYS[1], '{{ClientField}}', '{{KeyField}}', '{{ExpiresField}}')
        if not fields[1] then return nil end
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return fields
        """;

    /// <summary>Opens a session for <paramref name="client"/>, signed in with the key hashing to <paramref name="keySha256"/>; returns the cookie's id.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<string> OpenAsync(string client, string keySha256)
    {
        var id = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var expires = time.GetUtcNow() + options.Value.SessionLifetime;
        var key = Key(id);
        var db = redis.Database;
        var set = db.HashSetAsync(key,
        [
            new(ClientField, client),
            new(KeyField, keySha256),
            new(ExpiresField, expires.ToString("O", CultureInfo.InvariantCulture)),
        ]);
        var expire = db.KeyExpireAsync(key, options.Value.IdleTimeout);
        await set;
        await expire;
        return id;
    }

    /// <summary>The session of cookie id <paramref name="id"/>, renewed for another idle timeout; null when there is none or it is past its lifetime.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<ConsoleSession?> TouchAsync(string id)
    {
        if (!IsWellFormed(id))
        {
            return null;
        }
        var result = await redis.Database.ScriptEvaluateAsync(TouchScript, [Key(id)], [(long)options.Value.IdleTimeout.TotalMilliseconds]);
        if (result.IsNull)
        {
            return null;
        }
        var fields = (RedisValue[])result!;
        if (!DateTimeOffset.TryParse((string?)fields[2], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expires) || expires <= time.GetUtcNow())
        {
            await CloseAsync(id);
            return null;
        }
        return new ConsoleSession((string)fields[0]!, (string?)fields[1] ?? "", expires);
    }

    /// <summary>Ends the session of cookie id <paramref name="id"/>.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public Task CloseAsync(string id) => IsWellFormed(id) ? redis.Database.KeyDeleteAsync(Key(id)) : Task.CompletedTask;

    // 32 bytes in base64url: 43 characters.
    private static bool IsWellFormed(string id) => id.Length == 43 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private RedisKey Key(string id) => redis.KeyFor("console-session", Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(id))));
}
