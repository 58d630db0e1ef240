namespace Reka.Gateway.Tests.Support;

/// <summary>
/// A gateway in front of a <see cref="RecordingUpstream"/>: for what the gateway does with a call
/// and what reaches upstream. Before each test the upstream forgets what it received and answers
/// 200 <c>{"ok":true}</c> again.
/// </summary>
public sealed class RecordingStack : GatewayStack
{
    private RecordingUpstream? _upstream;

    /// <summary>The upstream.</summary>
    public RecordingUpstream Upstream => _upstream ?? throw new InvalidOperationException("The stack has not started.");

    protected override string UpstreamBaseUrl => Upstream.BaseUrl;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        // No reconciliation call, which would come long after its submit's test, may reach the
        // upstream during a later test.
        new("Webhooks:ReconcileAfterSeconds", "0"),
        // Small enough for the upload tests to go over it.
        new("Proxy:Routes:image-upload:MaxBodyBytes", "100000"),
    ];

    protected override async Task StartHostsAsync() => _upstream = await RecordingUpstream.StartAsync();

    protected override async Task StopHostsAsync()
    {
        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }
    }

    public override Task BeginTestAsync()
    {
        Upstream.Reset();
        return base.BeginTestAsync();
    }
}

/// <summary>
/// A gateway in front of the simulator, with a webhook subscriber: for whole flows, submit to
/// callback to delivery. The gateway retries deliveries after 0.3 s and 0.3 s (no jitter) on its
/// fake clock. Before each test the simulator gets its settings back (no held jobs, no faults, stats
/// at zero) and the subscriber starts a scope of its own.
/// </summary>
public sealed class SimulatorStack : GatewayStack
{
    /// <summary>The delays of the delivery retry schedule.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(0.3);

    private SimulatorHost? _simulator;
    private WebhookSubscriber? _subscriber;

    /// <summary>The upstream.</summary>
    public SimulatorHost Simulator => _simulator ?? throw new InvalidOperationException("The stack has not started.");

    /// <summary>The webhook subscriber, in the current test's scope.</summary>
    public WebhookSubscriber Subscriber => _subscriber ?? throw new InvalidOperationException("The stack has not started.");

    protected override string UpstreamBaseUrl => Simulator.BaseUrl;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Delivery:RetrySchedule:0", "00:00:00.3"),
        new("Delivery:RetrySchedule:1", "00:00:00.3"),
        new("Delivery:JitterFraction", "0"),
    ];

    protected override async Task StartHostsAsync()
    {
        _simulator = await SimulatorHost.StartForGatewayAsync();
        _subscriber = await WebhookSubscriber.StartAsync();
    }

    protected override async Task StopHostsAsync()
    {
        if (_subscriber is not null)
        {
            await _subscriber.DisposeAsync();
        }
        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
        }
    }

    public override async Task BeginTestAsync()
    {
        await Simulator.ConfigureAsync("""
            {"latency_ms": 0, "error_rate": 0, "rate_limit_rate": 0, "hold_jobs": false, "failure_rate": 0,
             "queue_seconds": 0.02, "run_seconds": 0.02, "webhook": {"drop_rate": 0, "duplicate_rate": 0, "delay_seconds": 0}}
            """);
        (await Simulator.Anonymous.DeleteAsync("/_simulator/faults")).EnsureSuccessStatusCode();
        (await Simulator.Anonymous.PostAsync("/_simulator/stats/reset", null)).EnsureSuccessStatusCode();
        Subscriber.BeginScope();
        await base.BeginTestAsync();
    }
}

/// <summary>The gateway's own answers and what it forwards: validation, forwarding, faults, uploads, the subscriptions API, the OpenAPI document.</summary>
[CollectionDefinition(Name)]
public sealed class ProxyCollection : ICollectionFixture<RecordingStack>
{
    public const string Name = "proxy";
}

/// <summary>Reka's callbacks reaching the receiver, on a stack of their own: the work a callback starts must not reach another collection's upstream.</summary>
[CollectionDefinition(Name)]
public sealed class CallbacksCollection : ICollectionFixture<RecordingStack>
{
    public const string Name = "callbacks";
}

/// <summary>Whole flows through the simulator: deliveries, retries, events, the cache, telemetry.</summary>
[CollectionDefinition(Name)]
public sealed class FlowsCollection : ICollectionFixture<SimulatorStack>
{
    public const string Name = "flows";
}
