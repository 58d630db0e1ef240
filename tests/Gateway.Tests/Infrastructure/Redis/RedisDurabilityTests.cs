using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>
/// A Redis that would lose the gateway's writes in a restart (no append-only file, no replica) or
/// by evicting them when full (a maxmemory and a policy other than noeviction) is named in a warning and in <c>/readyz</c> (Degraded, still 200), at start and again after each
/// reconnection; one that keeps them is not.
/// </summary>
public sealed class RedisDurabilityTests
{
    private const string AtRisk = "keeps no append-only file and has no replica";
    private const string Kept = "writes kept across a restart";
    private const string Evicting = "evicts keys when it is full";

    [Fact]
    public async Task WithoutPersistenceOrReplica_ReadyzIsDegradedAndAWarningLogged_UntilAppendOnlyIsOnAndTheGatewayReconnects()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Redis:Configuration", redis.Configuration)]);
        using var anonymous = gateway.CreateClient(null);

        var degraded = await RedisCheckAsync(anonymous, "Degraded");
        Assert.Contains(AtRisk, degraded);
        Assert.Contains($"127.0.0.1:{redis.Port}", degraded);
        Assert.Contains(gateway.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(AtRisk));

        await redis.CliAsync("config", "set", "appendonly", "yes");
        await redis.CliAsync("client", "kill", "type", "normal");

        var healthy = await RedisCheckAsync(anonymous, "Healthy", Kept, reconnecting: true);
        Assert.DoesNotContain(AtRisk, healthy);
    }

    [Fact]
    public async Task AnEvictionPolicy_MakesReadyzDegradedWithAWarning_UntilNoEvictionAndTheGatewayReconnects()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: true, arguments: ["--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru"]);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Redis:Configuration", redis.Configuration)]);
        using var anonymous = gateway.CreateClient(null);

        var degraded = await RedisCheckAsync(anonymous, "Degraded", Evicting);
        Assert.Contains($"127.0.0.1:{redis.Port} (allkeys-lru)", degraded);
        Assert.DoesNotContain(AtRisk, degraded); // it keeps an append-only file
        Assert.Contains(gateway.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(Evicting));

        await redis.CliAsync("config", "set", "maxmemory-policy", "noeviction");
        await redis.CliAsync("client", "kill", "type", "normal");

        var healthy = await RedisCheckAsync(anonymous, "Healthy", Kept, reconnecting: true);
        Assert.DoesNotContain(Evicting, healthy);
    }

    [Fact]
    public async Task AFullRedisUnderNoEviction_RefusesWrites503WithRetryAfter_UntilItHasRoomAgain()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: true, arguments: ["--maxmemory-policy", "noeviction"]);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Redis:Configuration", redis.Configuration)]);
        using var ops = gateway.CreateClient(TestClients.Ops);

        // Any used memory is over a limit of 1 byte: Redis answers every write "OOM command not allowed".
        await redis.CliAsync("config", "set", "maxmemory", "1");
        using var refused = await ops.PostAsJsonAsync("/subscriptions", new { url = "http://127.0.0.1:9/full" });
        await redis.CliAsync("config", "set", "maxmemory", "0");
        using var accepted = await ops.PostAsJsonAsync("/subscriptions", new { url = "http://127.0.0.1:9/room" });

        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
    }

    [Fact]
    public async Task WithoutMaxMemory_AnEvictionPolicyPutsNothingAtRisk()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: true, arguments: ["--maxmemory-policy", "allkeys-lru"]);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Redis:Configuration", redis.Configuration)]);
        using var anonymous = gateway.CreateClient(null);

        await RedisCheckAsync(anonymous, "Healthy", Kept);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains(Evicting));
    }

    [Fact]
    public async Task WithAReplica_NothingIsAtRisk()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await primary.StartReplicaAsync();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Redis:Configuration", primary.Configuration)]);
        using var anonymous = gateway.CreateClient(null);

        await RedisCheckAsync(anonymous, "Healthy", Kept);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains(AtRisk));
    }

    // The redis check's line in /readyz once it starts with the status wanted (and holds
    // `finding`: the durability check has run); /readyz stays 200, but for the moments the gateway
    // is reconnecting after its connections were killed (`reconnecting`), when it is rightly 503.
    private static async Task<string> RedisCheckAsync(HttpClient client, string status, string finding = AtRisk, bool reconnecting = false)
    {
        string? check = null;
        await Eventually.ThatAsync(async () =>
        {
            using var response = await client.GetAsync("/readyz");
            if (reconnecting && response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                return false;
            }
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            check = body.RootElement.GetProperty("checks").GetProperty("redis").GetString();
            return check!.StartsWith(status + ":", StringComparison.Ordinal) && check.Contains(finding);
        }, 20, $"/readyz to report redis {status} with '{finding}'");
        return check!;
    }
}
