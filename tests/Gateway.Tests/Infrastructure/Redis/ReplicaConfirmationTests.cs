namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>
/// Writes acknowledged to a caller wait for a replica (<c>WAIT</c>): a primary whose replica
/// has stopped answering refuses them with 503 and <c>Retry-After</c>, saying the write was saved
/// unconfirmed (so a retry must not make it twice); a Redis without replicas is not waited for.
/// Each wait is timed in <c>gateway.redis.confirmation.duration</c>, by outcome.
/// </summary>
public sealed class ReplicaConfirmationTests
{
    private const string Confirmation = "gateway.redis.confirmation.duration";

    [Fact]
    public async Task WithItsReplicaStopped_ASubscriptionIs503SayingItWasSaved_AndARetryUnderTheSameKeyAnswersThatOneOnceTheReplicaIsBack()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await primary.StartReplicaAsync();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl,
            [new("Redis:Configuration", primary.Configuration), new("Redis:ReplicaAckTimeoutSeconds", "0.2")]);
        using var ops = gateway.CreateClient(TestClients.Ops);
        using var metrics = gateway.RecordMetrics();
        await ops.SubscribeAsync("http://127.0.0.1:9/before");
        Assert.True(metrics.Has(Confirmation, "outcome", "confirmed"), "the confirmed create's wait is timed");
        var key = Guid.NewGuid().ToString();

        replica.Pause();
        using var refused = await ops.PostSubscriptionAsync(new { url = "http://127.0.0.1:9/during" }, key);
        replica.Resume();
        // Timed before the 503 is written; the wait lasted the whole Redis:ReplicaAckTimeoutSeconds.
        var unconfirmed = metrics.Measurements.Where(m => m.Instrument == Confirmation && Equals(m.Tags["outcome"], "not_confirmed")).Select(m => m.Value).ToList();
        Assert.True(unconfirmed.Count > 0 && unconfirmed.Max() >= 0.19, $"the refused write's wait is timed at 0.2 s or more: [{string.Join(", ", unconfirmed)}] s");

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        var detail = problem.GetProperty("detail").GetString()!;
        // Not "not created": it was saved on the primary, and a retry without the key would make a second.
        Assert.Contains("was saved", detail, StringComparison.Ordinal);
        Assert.Contains("Idempotency-Key", detail, StringComparison.Ordinal);
        Assert.Contains("No replica confirmed the write within", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("not created", detail, StringComparison.Ordinal);
        Assert.NotNull(refused.Headers.RetryAfter);
        HttpResponseMessage? retried = null;
        await Eventually.ThatAsync(async () =>
        {
            retried?.Dispose();
            retried = await ops.PostSubscriptionAsync(new { url = "http://127.0.0.1:9/during" }, key);
            return retried.StatusCode == HttpStatusCode.Created;
        }, 20, "the retry to be confirmed once the replica is back");
        using (retried)
        {
            Assert.Equal("true", Assert.Single(retried!.Headers.GetValues("Idempotent-Replayed")));
            var id = JsonDocument.Parse(await retried.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
            var during = JsonDocument.Parse(await ops.GetStringAsync("/subscriptions")).RootElement.EnumerateArray()
                .Where(s => s.GetProperty("url").GetString() == "http://127.0.0.1:9/during").ToList();
            Assert.Equal(id, Assert.Single(during).GetProperty("id").GetString());
        }
    }

    [Fact]
    public async Task WithRequireReplica_APrimaryWhoseRoleListsNoReplica_RefusesTheWrite503()
    {
        // ROLE lists only the replicas connected now: one down looks like none at all.
        await using var primary = await RedisServer.StartAsync();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl,
            [new("Redis:Configuration", primary.Configuration), new("Redis:ReplicaAckTimeoutSeconds", "0.2"), new("Redis:RequireReplica", "true")]);
        using var ops = gateway.CreateClient(TestClients.Ops);

        using var refused = await ops.PostSubscriptionAsync(new { url = "http://127.0.0.1:9/hooks" }, Guid.NewGuid().ToString());

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("No replica confirmed the write within", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.NotNull(refused.Headers.RetryAfter);
    }

    [Fact]
    public async Task WithoutReplicas_NothingIsWaitedFor()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        // A timeout no write could meet if it were waited for.
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Redis:ReplicaAckTimeoutSeconds", "0.001")]);
        using var ops = gateway.CreateClient(TestClients.Ops);
        using var metrics = gateway.RecordMetrics();

        await ops.SubscribeAsync("http://127.0.0.1:9/hooks");
        Assert.DoesNotContain(metrics.Measurements, m => m.Instrument == Confirmation);
    }
}
