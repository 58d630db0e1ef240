using Microsoft.AspNetCore.Http;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Tests.Delivery;

/// <summary>
/// Retries, Retry-After, dead letters, replays and 410 Gone, on the flows stack's schedule (0.3 s,
/// 0.3 s, no jitter) and fake clock: a test moves the clock on when a retry is due, and reads the
/// times the gateway recorded on that clock.
/// </summary>
[Collection(FlowsCollection.Name)]
public sealed class RetryTests(SimulatorStack stack) : SimulatorStackTests(stack)
{
    private volatile bool _subscriberUp;

    /// <summary>Has the subscriber answer 500 until <see cref="_subscriberUp"/>, then 200.</summary>
    private void SubscriberDownUntilUp() =>
        Subscriber.Respond = context =>
        {
            context.Response.StatusCode = _subscriberUp ? 200 : 500;
            return Task.CompletedTask;
        };

    private static TimeSpan At(JsonElement attempt) => TimeSpan.FromTicks(attempt.GetProperty("at").GetDateTimeOffset().UtcTicks);

    /// <summary>Lets the first <paramref name="retries"/> retries of the subscription's deliveries (<paramref name="deliveries"/> of them) come due, one step of the schedule after the other.</summary>
    private async Task PassRetriesAsync(string subscriptionId, int retries, int deliveries = 1)
    {
        for (var attempts = 1; attempts <= retries; attempts++)
        {
            await Eventually.ThatAsync(async () => (await Ops.DeliveriesAsync(subscriptionId)).EnumerateArray()
                .Count(d => d.GetProperty("attempts").GetArrayLength() >= attempts) == deliveries, 20, $"{deliveries} deliveries with {attempts} attempts");
            await Stack.PassTimeAsync(SimulatorStack.RetryDelay);
        }
    }

    [Fact]
    public async Task SubscriberDownThenUp_GetsTheEventAfterARetry()
    {
        var calls = 0;
        Subscriber.Respond = context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) <= 2 ? 503 : 200;
            return Task.CompletedTask;
        };
        var (subscriptionId, secret) = await Ops.SubscribeAsync(Subscriber.Url());

        await Alice.SubmitAsync();
        await PassRetriesAsync(subscriptionId, 2);

        var received = await Subscriber.WaitForAsync(3);
        var delivery = await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "succeeded");
        Assert.Single(received.Select(r => r.Header("webhook-id")).Distinct());
        await WebhookVerifier.VerifyAsync(received[2], secret);
        var attempts = delivery.GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal([503, 503, 200], attempts.Select(a => a.GetProperty("status_code").GetInt32()));
        Assert.Equal(["failed", "failed", "succeeded"], attempts.Select(a => a.GetProperty("outcome").GetString()!));
        Assert.True(At(attempts[1]) - At(attempts[0]) >= SimulatorStack.RetryDelay, "waited the schedule's 0.3 s");
    }

    [Fact]
    public async Task RetryAfterFromTheSubscriber_IsHonoured()
    {
        var calls = 0;
        Subscriber.Respond = context =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = "2";
            }
            return Task.CompletedTask;
        };
        var (subscriptionId, _) = await Ops.SubscribeAsync(Subscriber.Url());

        await Alice.SubmitAsync();
        var waiting = await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "pending");
        await Stack.PassTimeAsync(TimeSpan.FromSeconds(2));
        var delivered = await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "succeeded", attempts: 2);

        var first = At(waiting.GetProperty("attempts")[0]);
        // The schedule says 0.3 s; the subscriber said 2.
        Assert.Equal(TimeSpan.FromSeconds(2), TimeSpan.FromTicks(waiting.GetProperty("next_attempt_at").GetDateTimeOffset().UtcTicks) - first);
        var second = At(delivered.GetProperty("attempts")[1]);
        Assert.True(second - first >= TimeSpan.FromSeconds(2), $"second attempt came after {(second - first).TotalSeconds:0.00} s");
        Assert.Equal(2, (await Subscriber.WaitForAsync(2)).Count);
    }

    [Fact]
    public async Task DeadLetters_AfterTheLastRetry_AreReplayedInBulk()
    {
        SubscriberDownUntilUp();
        var (subscriptionId, _) = await Ops.SubscribeAsync(Subscriber.Url());

        await Alice.SubmitAsync();
        await PassRetriesAsync(subscriptionId, 2);
        var dead = await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "dead");
        Assert.Equal(3, dead.GetProperty("attempts").GetArrayLength()); // first attempt + 2 retries
        _subscriberUp = true;
        var replay = await Ops.PostAsync($"/subscriptions/{subscriptionId}/deliveries/replay", null);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        Assert.Equal(1, JsonDocument.Parse(await replay.Content.ReadAsStringAsync()).RootElement.GetProperty("replayed").GetInt32());
        var delivered = await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "succeeded");
        Assert.Equal(4, delivered.GetProperty("attempts").GetArrayLength());
        Assert.Equal(4, Subscriber.Received.Count);
    }

    [Fact]
    public async Task BulkReplay_PagesThroughTheDeliveries_AndReplaysOnlyTheDeadOnes()
    {
        SubscriberDownUntilUp();
        var (subscriptionId, _) = await Ops.SubscribeAsync(Subscriber.Url());
        for (var i = 0; i < 3; i++)
        {
            await Alice.SubmitAsync();
        }
        await PassRetriesAsync(subscriptionId, 2, deliveries: 3);
        await Eventually.ThatAsync(async () => (await Ops.DeliveriesAsync(subscriptionId)).EnumerateArray()
            .Count(d => d.GetProperty("status").GetString() == "dead") == 3, 20, "three dead letters");
        _subscriberUp = true;
        await Alice.SubmitAsync(); // a fourth delivery, which succeeds
        await Eventually.ThatAsync(async () => (await Ops.DeliveriesAsync(subscriptionId)).EnumerateArray()
            .Count(d => d.GetProperty("status").GetString() == "succeeded") == 1, 20, "one success");
        var deliveries = (Reka.Gateway.Delivery.Deliveries)Gateway.Services.GetService(typeof(Reka.Gateway.Delivery.Deliveries))!;

        var replayed = await deliveries.ReplayDeadLettersAsync(subscriptionId, page: 2);

        Assert.Equal(3, replayed);
        await Eventually.ThatAsync(async () => (await Ops.DeliveriesAsync(subscriptionId)).EnumerateArray()
            .All(d => d.GetProperty("status").GetString() == "succeeded"), 20, "every delivery to succeed");
        Assert.Equal(4, (await Subscriber.WaitForAsync(3 * 3 + 1 + 3)).Select(d => d.Header("webhook-id")).Distinct().Count());
    }

    [Fact]
    public async Task OneDelivery_CanBeReplayed_EvenAfterSuccess()
    {
        var (subscriptionId, _) = await Ops.SubscribeAsync(Subscriber.Url());
        await Alice.SubmitAsync();
        var delivery = await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "succeeded");

        var replay = await Ops.PostAsync($"/deliveries/{delivery.GetProperty("id").GetString()}/replay", null);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        var received = await Subscriber.WaitForAsync(2);
        Assert.Equal(received[0].Header("webhook-id"), received[1].Header("webhook-id"));
        Assert.Equal(received[0].Body, received[1].Body);
        await ProblemAssert.IsProblemAsync(await Ops.PostAsync("/deliveries/dlv_000000000000000000000000/replay", null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Replay_KeepsTheEventForAnotherRetentionPeriod_SoItOutlivesTheNewSchedule()
    {
        var (subscriptionId, _) = await Ops.SubscribeAsync(Subscriber.Url());
        await Alice.SubmitAsync();
        var delivery = await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "succeeded");
        var redis = (RedisStore)Gateway.Services.GetService(typeof(RedisStore))!;
        var deliveryId = delivery.GetProperty("id").GetString()!;
        var eventKey = redis.PartitionKey(Reka.Gateway.Delivery.Deliveries.PartitionOfDelivery(deliveryId)!.Value, "event:" + delivery.GetProperty("event_id").GetString());
        await redis.Database.KeyExpireAsync(eventKey, TimeSpan.FromMinutes(1)); // as if near the end of its retention

        var replay = await Ops.PostAsync($"/deliveries/{delivery.GetProperty("id").GetString()}/replay", null);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        var ttl = await redis.Database.KeyTimeToLiveAsync(eventKey);
        Assert.True(ttl > TimeSpan.FromDays(6), $"the event's TTL after the replay: {ttl}"); // Delivery:Retention is 7 days
        await Subscriber.WaitForAsync(2);
    }

    [Fact]
    public async Task Gone_DisablesTheSubscription_AndStopsRetrying()
    {
        Subscriber.Respond = context =>
        {
            context.Response.StatusCode = context.Request.Path == "/gone" ? StatusCodes.Status410Gone : StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        };
        var (subscriptionId, _) = await Ops.SubscribeAsync(Subscriber.Url("/gone"));

        await Alice.SubmitAsync();
        await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "disabled");
        await Stack.PassTimeAsync(SimulatorStack.RetryDelay * 2); // the whole schedule: any retry would be due
        // A later event, to a subscriber that still listens: once it has it, the event's attempts to
        // every subscription it matched are made.
        var (laterId, _) = await Ops.SubscribeAsync(Subscriber.Url("/later"));
        await Alice.SubmitAsync();
        await Ops.WaitForOnlyDeliveryAsync(laterId, "succeeded");

        var subscription = JsonDocument.Parse(await Ops.GetStringAsync($"/subscriptions/{subscriptionId}")).RootElement;
        Assert.False(subscription.GetProperty("enabled").GetBoolean());
        Assert.Contains("410", subscription.GetProperty("disabled_reason").GetString());
        Assert.Single(Subscriber.Received, d => d.Path == "/gone");
        Assert.Equal(1, (await Ops.WaitForOnlyDeliveryAsync(subscriptionId, "disabled")).GetProperty("attempts").GetArrayLength());
    }

    [Fact]
    public async Task AnAllowlistNarrowedSinceTheSubscription_StopsItsDeliveries_BeforeAnyIsSent()
    {
        var settings = await Stack.GatewaySettingsAsync();
        var before = await Stack.StartGatewayAsync(settings);
        using (var ops = before.CreateClient(TestClients.Ops))
        {
            await ops.SubscribeAsync(Subscriber.Url()); // 127.0.0.1:<port>, allowed by 127.0.0.1:*
        }
        await before.DisposeAsync();
        // The same Redis data, now served by a gateway that allows loopback on ports 80 and 443 only.
        settings["Webhooks:AllowedSubscriberHosts:0"] = "127.0.0.1";
        settings["Webhooks:AllowedSubscriberHosts:1"] = "localhost";
        var narrowed = await Stack.StartGatewayAsync(settings);
        using var alice = narrowed.CreateClient(TestClients.Alice);
        using var opsNow = narrowed.CreateClient(TestClients.Ops);
        var subscriptionId = JsonDocument.Parse(await opsNow.GetStringAsync("/subscriptions")).RootElement[0].GetProperty("id").GetString()!;

        await alice.SubmitAsync();

        var delivery = await opsNow.WaitForOnlyDeliveryAsync(subscriptionId, "cancelled");
        var attempt = Assert.Single(delivery.GetProperty("attempts").EnumerateArray());
        Assert.Equal("skipped", attempt.GetProperty("outcome").GetString());
        Assert.Contains("AllowedSubscriberHosts", attempt.GetProperty("error").GetString());
        Assert.Empty(Subscriber.Received);
    }
}
