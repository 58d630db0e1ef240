namespace Reka.Gateway.Tests.Support;

/// <summary>
/// A gateway on a Redis of the test's own (a cluster, a sentinel set) in front of a simulator
/// that holds its jobs and sends no callbacks, with a subscriber to every event: the test
/// completes requests at the simulator and sends Reka's callbacks itself (<see cref="CallbackSender"/>)
/// while it fails the Redis over. A refused callback is retried after 1 s; nothing is reconciled.
/// </summary>
public sealed class CallbackStorm : IAsyncDisposable
{
    private CallbackStorm(SimulatorHost simulator, WebhookSubscriber subscriber, GatewayHost gateway)
    {
        Simulator = simulator;
        Subscriber = subscriber;
        Gateway = gateway;
        Alice = gateway.CreateClient(TestClients.Alice);
    }

    public SimulatorHost Simulator { get; }

    public WebhookSubscriber Subscriber { get; }

    public GatewayHost Gateway { get; }

    /// <summary>Alice on the gateway.</summary>
    public HttpClient Alice { get; }

    /// <summary>Starts the hosts, the gateway on <paramref name="redisConfiguration"/> (<c>Redis:Configuration</c>), subscribed to every event.</summary>
    public static async Task<CallbackStorm> StartAsync(string redisConfiguration)
    {
        var simulator = await SimulatorHost.StartForGatewayAsync(("Simulator:HoldJobs", "true"), ("Simulator:Webhook:DropRate", "1"));
        var subscriber = await WebhookSubscriber.StartAsync();
        var gateway = await GatewayHost.StartAsync(simulator.BaseUrl,
        [
            new("Redis:Configuration", redisConfiguration),
            new("Webhooks:ReconcileAfterSeconds", "0"),
            new("Webhooks:ProcessingRetrySchedule:0", "00:00:01"),
        ]);
        await gateway.WaitUntilReadyAsync();
        using var ops = gateway.CreateClient(TestClients.Ops);
        await ops.SubscribeAsync(subscriber.Url());
        return new CallbackStorm(simulator, subscriber, gateway);
    }

    /// <summary>Submits <paramref name="count"/> requests as alice and completes each at the simulator; returns their callbacks (URL with the gateway's token, request id).</summary>
    public async Task<List<(string Url, string RequestId)>> CompletedRequestsAsync(int count)
    {
        var callbacks = new List<(string Url, string RequestId)>();
        for (var i = 0; i < count; i++)
        {
            var requestId = await Alice.SubmitAsync();
            callbacks.Add(((await Simulator.JobAsync(requestId)).GetProperty("webhook_url").GetString()!, requestId));
            await Simulator.CompleteAsync(requestId);
        }
        return callbacks;
    }

    /// <summary>
    /// Waits until every request of <paramref name="callbacks"/> has been delivered, then checks
    /// that each result is answered from the gateway's cache; returns every delivery received.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedDelivery>> AssertDeliveredAndCachedAsync(IEnumerable<(string Url, string RequestId)> callbacks)
    {
        var requestIds = callbacks.Select(c => c.RequestId).ToList();
        var deliveries = await Subscriber.WaitForRequestsAsync(requestIds, timeoutSeconds: 90);
        foreach (var requestId in requestIds)
        {
            using var result = await Alice.GetAsync($"/v2/inference/requests/{requestId}");
            Assert.Equal(HttpStatusCode.OK, result.StatusCode);
            Assert.Equal("HIT", result.Headers.GetValues("X-Cache").Single());
        }
        return deliveries;
    }

    public async ValueTask DisposeAsync()
    {
        Alice.Dispose();
        await Gateway.DisposeAsync();
        await Subscriber.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}
