using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Delivery;

/// <summary>Retries, Retry-After, dead letters, replays and 410 Gone, with a shortened schedule.</summary>
public sealed class RetryTests : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private WebhookSubscriber _subscriber = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _alice = null!;
    private HttpClient _ops = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:QueueSeconds"] = "0.02",
            ["Simulator:RunSeconds"] = "0.02",
        });
        _subscriber = await WebhookSubscriber.StartAsync();
        _gateway = await GatewayHost.StartAsync(_simulator.BaseAddress.ToString().TrimEnd('/'),
        [
            new("Delivery:RetrySchedule:0", "00:00:00.3"),
            new("Delivery:RetrySchedule:1", "00:00:00.3"),
            new("Delivery:JitterFraction", "0"),
        ]);
        _alice = _gateway.CreateClient(TestClients.Alice);
        _ops = _gateway.CreateClient(TestClients.Ops);
    }

    public async Task DisposeAsync()
    {
        _alice.Dispose();
        _ops.Dispose();
        await _gateway.DisposeAsync();
        await _subscriber.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private async Task<JsonElement> OnlyDeliveryAsync(string subscriptionId, string status)
    {
        JsonElement delivery = default;
        await Eventually.ThatAsync(async () =>
        {
            var list = (await _ops.DeliveriesAsync(subscriptionId)).EnumerateArray().ToList();
            delivery = list.Count == 1 ? list[0] : default;
            return list.Count == 1 && list[0].GetProperty("status").GetString() == status;
        }, 20, $"the delivery to become {status}");
        return delivery;
    }

    [Fact]
    public async Task SubscriberDownThenUp_GetsTheEventAfterARetry()
    {
        var calls = 0;
        _subscriber.Respond = context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) <= 2 ? 503 : 200;
            return Task.CompletedTask;
        };
        var (subscriptionId, secret) = await _ops.SubscribeAsync(_subscriber.Url());

        await _alice.SubmitAsync();

        var received = await _subscriber.WaitForAsync(3);
        var delivery = await OnlyDeliveryAsync(subscriptionId, "succeeded");
        Assert.Single(received.Select(r => r.Header("webhook-id")).Distinct());
        await WebhookVerifier.VerifyAsync(received[2], secret);
        var attempts = delivery.GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal([503, 503, 200], attempts.Select(a => a.GetProperty("status_code").GetInt32()));
        Assert.Equal(["failed", "failed", "succeeded"], attempts.Select(a => a.GetProperty("outcome").GetString()!));
        Assert.True(received[1].At - received[0].At >= TimeSpan.FromSeconds(0.25), "waited the schedule's 0.3 s");
    }

    [Fact]
    public async Task RetryAfterFromTheSubscriber_IsHonoured()
    {
        var calls = 0;
        _subscriber.Respond = context =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = "2";
            }
            return Task.CompletedTask;
        };
        await _ops.SubscribeAsync(_subscriber.Url());

        await _alice.SubmitAsync();

        var received = await _subscriber.WaitForAsync(2);
        Assert.True(received[1].At - received[0].At >= TimeSpan.FromSeconds(1.9), $"second attempt came after {(received[1].At - received[0].At).TotalSeconds:0.00} s");
    }

    [Fact]
    public async Task DeadLetters_AfterTheLastRetry_AreReplayedInBulk()
    {
        var up = false;
        _subscriber.Respond = context =>
        {
            context.Response.StatusCode = Volatile.Read(ref up) ? 200 : 500;
            return Task.CompletedTask;
        };
        var (subscriptionId, _) = await _ops.SubscribeAsync(_subscriber.Url());

        await _alice.SubmitAsync();
        var dead = await OnlyDeliveryAsync(subscriptionId, "dead");
        Assert.Equal(3, dead.GetProperty("attempts").GetArrayLength()); // first attempt + 2 retries
        Volatile.Write(ref up, true);
        var replay = await _ops.PostAsync($"/subscriptions/{subscriptionId}/deliveries/replay", null);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        Assert.Equal(1, JsonDocument.Parse(await replay.Content.ReadAsStringAsync()).RootElement.GetProperty("replayed").GetInt32());
        var delivered = await OnlyDeliveryAsync(subscriptionId, "succeeded");
        Assert.Equal(4, delivered.GetProperty("attempts").GetArrayLength());
        Assert.Equal(4, _subscriber.Received.Count);
    }

    [Fact]
    public async Task BulkReplay_PagesThroughTheDeliveries_AndReplaysOnlyTheDeadOnes()
    {
        var up = false;
        _subscriber.Respond = context =>
        {
            context.Response.StatusCode = Volatile.Read(ref up) ? 200 : 500;
            return Task.CompletedTask;
        };
        var (subscriptionId, _) = await _ops.SubscribeAsync(_subscriber.Url());
        for (var i = 0; i < 3; i++)
        {
            await _alice.SubmitAsync();
        }
        await Eventually.ThatAsync(async () => (await _ops.DeliveriesAsync(subscriptionId)).EnumerateArray()
            .Count(d => d.GetProperty("status").GetString() == "dead") == 3, 20, "three dead letters");
        Volatile.Write(ref up, true);
        await _alice.SubmitAsync(); // a fourth delivery, which succeeds
        await Eventually.ThatAsync(async () => (await _ops.DeliveriesAsync(subscriptionId)).EnumerateArray()
            .Count(d => d.GetProperty("status").GetString() == "succeeded") == 1, 20, "one success");
        var deliveries = (Reka.Gateway.Delivery.Deliveries)_gateway.Services.GetService(typeof(Reka.Gateway.Delivery.Deliveries))!;

        var replayed = await deliveries.ReplayDeadLettersAsync(subscriptionId, page: 2);

        Assert.Equal(3, replayed);
        await Eventually.ThatAsync(async () => (await _ops.DeliveriesAsync(subscriptionId)).EnumerateArray()
            .All(d => d.GetProperty("status").GetString() == "succeeded"), 20, "every delivery to succeed");
        Assert.Equal(4, (await _subscriber.WaitForAsync(3 * 3 + 1 + 3)).Select(d => d.Header("webhook-id")).Distinct().Count());
    }

    [Fact]
    public async Task OneDelivery_CanBeReplayed_EvenAfterSuccess()
    {
        var (subscriptionId, _) = await _ops.SubscribeAsync(_subscriber.Url());
        await _alice.SubmitAsync();
        var delivery = await OnlyDeliveryAsync(subscriptionId, "succeeded");

        var replay = await _ops.PostAsync($"/deliveries/{delivery.GetProperty("id").GetString()}/replay", null);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        var received = await _subscriber.WaitForAsync(2);
        Assert.Equal(received[0].Header("webhook-id"), received[1].Header("webhook-id"));
        Assert.Equal(received[0].Body, received[1].Body);
        await ProblemAssert.IsProblemAsync(await _ops.PostAsync("/deliveries/dlv_000000000000000000000000/replay", null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Replay_KeepsTheEventForAnotherRetentionPeriod_SoItOutlivesTheNewSchedule()
    {
        var (subscriptionId, _) = await _ops.SubscribeAsync(_subscriber.Url());
        await _alice.SubmitAsync();
        var delivery = await OnlyDeliveryAsync(subscriptionId, "succeeded");
        var redis = (RedisStore)_gateway.Services.GetService(typeof(RedisStore))!;
        var deliveryId = delivery.GetProperty("id").GetString()!;
        var eventKey = redis.PartitionKey(Reka.Gateway.Delivery.Deliveries.PartitionOfDelivery(deliveryId)!.Value, "event:" + delivery.GetProperty("event_id").GetString());
        await redis.Database.KeyExpireAsync(eventKey, TimeSpan.FromMinutes(1)); // as if near the end of its retention

        var replay = await _ops.PostAsync($"/deliveries/{delivery.GetProperty("id").GetString()}/replay", null);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        var ttl = await redis.Database.KeyTimeToLiveAsync(eventKey);
        Assert.True(ttl > TimeSpan.FromDays(6), $"the event's TTL after the replay: {ttl}"); // Delivery:Retention is 7 days
        await _subscriber.WaitForAsync(2);
    }

    [Fact]
    public async Task Gone_DisablesTheSubscription_AndStopsRetrying()
    {
        _subscriber.Respond = context => { context.Response.StatusCode = StatusCodes.Status410Gone; return Task.CompletedTask; };
        var (subscriptionId, _) = await _ops.SubscribeAsync(_subscriber.Url());

        await _alice.SubmitAsync();
        await OnlyDeliveryAsync(subscriptionId, "disabled");
        await _alice.SubmitAsync();
        await Task.Delay(1500);

        var subscription = JsonDocument.Parse(await _ops.GetStringAsync($"/subscriptions/{subscriptionId}")).RootElement;
        Assert.False(subscription.GetProperty("enabled").GetBoolean());
        Assert.Contains("410", subscription.GetProperty("disabled_reason").GetString());
        Assert.Single(_subscriber.Received);
    }

    [Fact]
    public async Task AnAllowlistNarrowedSinceTheSubscription_StopsItsDeliveries_BeforeAnyIsSent()
    {
        var (subscriptionId, _) = await _ops.SubscribeAsync(_subscriber.Url()); // 127.0.0.1:<port>, allowed by 127.0.0.1:*
        var redis = (RedisStore)_gateway.Services.GetService(typeof(RedisStore))!;
        await _gateway.DisposeAsync();
        // The same Redis data, now served by a gateway that allows loopback on ports 80 and 443 only.
        _gateway = await GatewayHost.StartAsync(_simulator.BaseAddress.ToString().TrimEnd('/'),
        [
            new("Redis:KeyPrefix", redis.Prefix),
            new("Redis:EventsChannel", redis.Prefix + "events"),
            new("Webhooks:AllowedSubscriberHosts:0", "127.0.0.1"),
            new("Webhooks:AllowedSubscriberHosts:1", "localhost"),
        ]);
        using var alice = _gateway.CreateClient(TestClients.Alice);
        using var ops = _gateway.CreateClient(TestClients.Ops);

        await alice.SubmitAsync();

        JsonElement delivery = default;
        await Eventually.ThatAsync(async () =>
        {
            delivery = (await ops.DeliveriesAsync(subscriptionId)).EnumerateArray().SingleOrDefault();
            return delivery.ValueKind == JsonValueKind.Object && delivery.GetProperty("status").GetString() == "cancelled";
        }, 20, "the delivery to be cancelled");
        var attempt = Assert.Single(delivery.GetProperty("attempts").EnumerateArray());
        Assert.Equal("skipped", attempt.GetProperty("outcome").GetString());
        Assert.Contains("AllowedSubscriberHosts", attempt.GetProperty("error").GetString());
        Assert.Empty(_subscriber.Received);
    }
}
