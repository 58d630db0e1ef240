namespace Reka.Gateway.Tests.Delivery;

public sealed class CrashTests
{
    [Fact]
    public async Task GatewayKilledDuringADelivery_LosesNothing_ASecondProcessDeliversIt()
    {
        await using var simulator = await SimulatorHost.StartForGatewayAsync();
        await using var subscriber = await WebhookSubscriber.StartAsync();
        var firstAttemptArrived = new TaskCompletionSource();
        var neverAnswer = new TaskCompletionSource();
        var calls = 0;
        subscriber.Respond = async context =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                firstAttemptArrived.SetResult();
                await neverAnswer.Task; // the first gateway dies while it waits for this answer
            }
            context.Response.StatusCode = 200;
        };
        var settings = await GatewayHost.DefaultSettingsAsync(simulator.BaseUrl);
        settings["Delivery:FanOut:LeaseSeconds"] = "3";
        settings["Delivery:AttemptTimeoutSeconds"] = "2";

        await using var first = GatewayProcess.StartAtItsOwnAddress(settings);
        await first.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        using var ops = first.CreateClient(TestClients.Ops);
        using var alice = first.CreateClient(TestClients.Alice);
        var (subscriptionId, secret) = await ops.SubscribeAsync(subscriber.Url());
        await alice.SubmitAsync();
        await firstAttemptArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));

        first.Signal(9); // SIGKILL mid-delivery: no chance to hand anything back
        await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await using var second = GatewayProcess.StartAtItsOwnAddress(settings);
        await second.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));

        var received = await subscriber.WaitForAsync(2, timeoutSeconds: 30);
        neverAnswer.SetResult();
        Assert.Equal(received[0].Header("webhook-id"), received[1].Header("webhook-id"));
        await WebhookVerifier.VerifyAsync(received[1], secret);
        using var ops2 = second.CreateClient(TestClients.Ops);
        JsonElement delivery = default;
        await Eventually.ThatAsync(async () =>
        {
            delivery = (await ops2.DeliveriesAsync(subscriptionId))[0];
            return delivery.GetProperty("status").GetString() == "succeeded";
        }, 10, "the delivery to be recorded as succeeded");
        Assert.Equal(200, delivery.GetProperty("attempts").EnumerateArray().Last().GetProperty("status_code").GetInt32());
    }
}
