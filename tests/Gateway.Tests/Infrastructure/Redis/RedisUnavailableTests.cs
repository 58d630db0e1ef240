using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>
/// Which failures mean Redis is unavailable for now (503 with Retry-After, jobs put back) and
/// which are the gateway's own bugs (500), for errors a real <c>redis-server</c> returns to a
/// write made as the gateway makes them (a script).
/// </summary>
public sealed class RedisUnavailableTests
{
    private const string Write = "return redis.call('SET', KEYS[1], ARGV[1])";

    [Theory]
    // Full under noeviction: "OOM command not allowed when used memory > 'maxmemory'".
    [InlineData("maxmemory", "1")]
    // Too few replicas for min-replicas-to-write: "NOREPLICAS Not enough good replicas to write".
    [InlineData("min-replicas-to-write", "1")]
    public async Task AWriteRedisRefusesForNow_IsUnavailable(string setting, string value)
    {
        await using var redis = await RedisServer.StartAsync(arguments: ["--maxmemory-policy", "noeviction"]);
        using var store = redis.NewStore();
        await redis.CliAsync("config", "set", setting, value);

        var refused = await Assert.ThrowsAsync<RedisServerException>(() => store.Database.ScriptEvaluateAsync(Write, [store.Key("k")], ["v"]));

        Assert.True(RedisStore.IsUnavailable(refused), refused.Message);
    }

    [Fact]
    public async Task APrimaryMadeAReplica_RefusesWritesForNow()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var other = await RedisServer.StartAsync();
        using var store = primary.NewStore();
        await store.Database.PingAsync();
        await primary.CliAsync("replicaof", "127.0.0.1", other.Port.ToString());

        // READONLY from the server, or the client's own refusal once it has seen the new role.
        var refused = await Assert.ThrowsAnyAsync<RedisException>(() => store.Database.ScriptEvaluateAsync(Write, [store.Key("k")], ["v"]));

        Assert.True(RedisStore.IsUnavailable(refused), refused.Message);
    }

    [Fact]
    public async Task ASnapshotThatFailed_RefusesWritesForNow()
    {
        await using var redis = await RedisServer.StartAsync();
        using var store = redis.NewStore();
        await redis.CliAsync("config", "set", "save", "3600 1");
        // Its snapshot cannot be written where its folder was.
        Directory.Delete(redis.DataDirectory, recursive: true);
        await redis.CliAsync("bgsave");
        await Eventually.ThatAsync(async () => (await redis.CliAsync("info", "persistence")).Contains("rdb_last_bgsave_status:err"), 20, "the snapshot to fail");

        // "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."
        var refused = await Assert.ThrowsAsync<RedisServerException>(() => store.Database.ScriptEvaluateAsync(Write, [store.Key("k")], ["v"]));

        Assert.True(RedisStore.IsUnavailable(refused), refused.Message);
    }

    [Fact]
    public async Task AServerBusyWithASlowScript_IsUnavailableForNow()
    {
        await using var redis = await RedisServer.StartAsync(arguments: ["--busy-reply-threshold", "100"]);
        using var store = redis.NewStore();
        var slow = Cli.RunAsync(["-h", "127.0.0.1", "-p", redis.Port.ToString(), "eval", "while true do end", "0"]);
        // "BUSY Redis is busy running a script", once the script has run past the threshold.
        RedisServerException? busy = null;
        try
        {
            await Eventually.ThatAsync(async () =>
            {
                try
                {
                    await store.Database.PingAsync();
                    return false;
                }
                catch (RedisServerException e)
                {
                    busy = e;
                    return true;
                }
            }, 20, "Redis to answer BUSY");
        }
        finally
        {
            await redis.CliAsync("script", "kill");
        }

        Assert.True(RedisStore.IsUnavailable(busy!), busy!.Message);
        Assert.Contains("killed", await slow);
    }

    [Fact]
    public async Task AWriteRedisRefusesForGood_IsABug()
    {
        var redis = await RedisServer.Shared;
        using var store = redis.NewStore();
        await store.Database.ListLeftPushAsync(store.Key("k"), "a list");

        var refused = await Assert.ThrowsAsync<RedisServerException>(() => store.Database.ScriptEvaluateAsync("return redis.call('HSET', KEYS[1], 'f', ARGV[1])", [store.Key("k")], ["v"]));
        Assert.StartsWith("WRONGTYPE", refused.Message);
        var badArguments = await Assert.ThrowsAsync<RedisServerException>(() => store.Database.ExecuteAsync("HSET", store.Key("k")));

        Assert.False(RedisStore.IsUnavailable(refused), refused.Message);
        Assert.False(RedisStore.IsUnavailable(badArguments), badArguments.Message);
    }
}
