using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>
/// The gateway on a real 3-primary Redis Cluster (one replica each), chosen by
/// <c>Redis:Configuration</c> alone, and the same cluster losing a primary whose replica lags.
/// </summary>
public sealed class RedisClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task OnAThreePrimaryCluster_SubmitCallbackCacheDeliveryAndRateLimitsWork_WithKeysOnEveryPrimary()
    {
        await using var cluster = await RedisCluster.StartAsync();
        await using var simulator = await SimulatorHost.StartForGatewayAsync();
        await using var subscriber = await WebhookSubscriber.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(simulator.BaseUrl,
        [
            new("Redis:Configuration", cluster.Configuration),
            new("Clients:bob:RateLimit:PermitLimit", "5"),
            new("Clients:bob:RateLimit:WindowSeconds", "3600"),
        ]);
        await gateway.WaitUntilReadyAsync();
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);
        using var ops = gateway.CreateClient(TestClients.Ops);
        var (subscriptionId, _) = await ops.SubscribeAsync(subscriber.Url("/all"));
        // Events reach listeners on the cluster's plain pub/sub channel.
        using var listener = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster.Configuration);
        var events = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var store = gateway.Services.GetRequiredService<Reka.Gateway.Infrastructure.Redis.RedisStore>();
        await listener.GetSubscriber().SubscribeAsync(store.EventsChannel, (_, message) => events.Enqueue(message!));

        var requestIds = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            requestIds.Add(await alice.SubmitAsync(webhookUrl: i % 3 == 0 ? subscriber.Url("/alice") : null));
        }

        var delivered = await subscriber.WaitForAsync(30, timeoutSeconds: 60, path: "/all");
        Assert.Equal(requestIds.Order(), delivered.Select(d => d.Json.GetProperty("request_id").GetString()!).Distinct().Order());
        Assert.Equal(10, (await subscriber.WaitForAsync(10, path: "/alice")).Count);
        foreach (var requestId in requestIds)
        {
            using var result = await alice.GetAsync($"/v2/inference/requests/{requestId}");
            Assert.Equal(HttpStatusCode.OK, result.StatusCode);
            Assert.Equal("HIT", result.Headers.GetValues("X-Cache").Single());
        }
        Assert.Equal(30, (await ops.DeliveriesAsync(subscriptionId)).GetArrayLength());
        await Eventually.ThatAsync(() => Task.FromResult(events.Count >= 30), 20, "30 events on the Redis channel");

        // Every queue partition's wake-up channel is a sharded channel with this gateway subscribed,
        // on the primary that owns its slot.
        var pairs = await cluster.PairsAsync();
        for (var partition = 0; partition < store.Partitions; partition++)
        {
            var channel = (string)store.PartitionChannel(partition, "fanout:wake")!;
            var subscribers = 0;
            foreach (var (primary, _) in pairs)
            {
                var answer = (await primary.CliAsync("pubsub", "shardnumsub", channel)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                subscribers += int.Parse(answer[1]);
            }
            Assert.True(subscribers >= 1, $"{channel} has no sharded subscriber");
        }

        var bobs = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var response = await bob.GetAsync("/v2/inference/models");
            bobs.Add(response.StatusCode);
        }
        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, 5), HttpStatusCode.TooManyRequests], bobs);

        // The gateway's keys spread over every primary.
        foreach (var (primary, _) in pairs)
        {
            var keys = (await primary.CliAsync("--scan", "--pattern", store.Prefix + "*")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            output.WriteLine($"primary :{primary.Port} holds {keys.Length} of the gateway's keys");
            Assert.NotEmpty(keys);
        }
    }

    [Fact]
    public async Task PrimaryLostWhileItsReplicaLags_EveryCallbackAnswered2xxEndsCachedAndDelivered_AndTheOthersAreAcceptedOnRetry()
    {
        const int requests = 120;
        await using var cluster = await RedisCluster.StartAsync();
        await using var storm = await CallbackStorm.StartAsync(cluster.Configuration);
        var callbacks = await storm.CompletedRequestsAsync(requests);
        using var reka = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var sender = new CallbackSender(reka);

        // A healthy cluster takes the first third; then one primary's replica stops taking its
        // writes, the primary dies with writes its replica never got, and the replica takes over.
        await sender.SendAsync(callbacks.Take(40), concurrency: 4);
        Assert.Equal(40, sender.AcceptedAtOnce);
        var (victim, lagging) = (await cluster.PairsAsync())[0];
        lagging.Pause();
        var rest = sender.SendAsync(callbacks.Skip(40), concurrency: 4, perSecond: 40);
        // Those touching the victim wait for its replica's confirmation in vain and are refused;
        // those that do not are acknowledged. Both are waited for: with 4 callbacks in flight,
        // all 4 can be ones waiting on the victim, so the first 8 refusals may come before any
        // acknowledgement (about one run in twenty).
        await sender.WaitForRefusalsAsync(8, timeoutSeconds: 30);
        await Eventually.ThatAsync(() => Task.FromResult(sender.AcceptedAtOnce > 40), 30,
            "a callback that did not touch the lagging primary, acknowledged meanwhile");
        var (acceptedWhileLagging, refusedWhileLagging) = (sender.AcceptedAtOnce - 40, sender.RefusedAtFirst);
        await victim.StopAsync();
        lagging.Resume();
        await rest;
        await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30));

        output.WriteLine($"callbacks answered 2xx at once: {sender.AcceptedAtOnce}; answered otherwise, then accepted on retry: {sender.RefusedAtFirst} "
            + $"(while the replica lagged: {acceptedWhileLagging} answered 2xx, {refusedWhileLagging} refused)");
        Assert.Equal(requests, sender.AcceptedAtOnce + sender.RefusedAtFirst);
        var deliveries = await storm.AssertDeliveredAndCachedAsync(callbacks);
        output.WriteLine($"every request delivered and cached; {deliveries.Count} deliveries for {requests} requests");
    }
}
