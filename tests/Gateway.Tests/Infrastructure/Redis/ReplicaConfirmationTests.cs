namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>
/// Writes acknowledged to a caller wait for a replica (<c>WAIT</c>): a primary whose replica
/// has stopped answering refuses them with 503 and <c>Retry-After</c>; a Redis without replicas is
/// not waited for.
/// </summary>
public sealed class ReplicaConfirmationTests
{
    [Fact]
    public async Task WithItsReplicaStopped_ASubscriptionIsRefused503WithRetryAfter_AndCreatedOnceTheReplicaIsBack()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await RedisServer.StartAsync(arguments: ["--replicaof", "127.0.0.1", primary.Port.ToString()]);
        await Eventually.ThatAsync(async () => (await replica.CliAsync("info", "replication")).Contains("master_link_status:up"), 20, "the replica to sync");
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl,
            [new("Redis:Configuration", $"127.0.0.1:{primary.Port}"), new("Redis:ReplicaAckTimeoutSeconds", "0.2")]);
        using var ops = gateway.CreateClient(TestClients.Ops);
        await ops.SubscribeAsync("http://127.0.0.1:9/before");

        replica.Pause();
        using var refused = await ops.PostAsJsonAsync("/subscriptions", new { url = "http://127.0.0.1:9/during" });
        replica.Resume();

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("retry", problem.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(refused.Headers.RetryAfter);
        await Eventually.ThatAsync(async () =>
        {
            using var retried = await ops.PostAsJsonAsync("/subscriptions", new { url = "http://127.0.0.1:9/after" });
            return retried.StatusCode == HttpStatusCode.Created;
        }, 20, "the subscription to be created once the replica is back");
    }

    [Fact]
    public async Task WithoutReplicas_NothingIsWaitedFor()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        // A timeout no write could meet if it were waited for.
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Redis:ReplicaAckTimeoutSeconds", "0.001")]);
        using var ops = gateway.CreateClient(TestClients.Ops);

        await ops.SubscribeAsync("http://127.0.0.1:9/hooks");
    }
}
