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

    [Fact]
    public void AnInvalidOperationOfTheGatewaysOwn_IsABug()
    {
        var thrown = Assert.Throws<InvalidOperationException>(() => new List<int>().First());

        Assert.False(RedisStore.IsUnavailable(thrown));
    }

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
