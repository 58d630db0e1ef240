namespace Reka.Gateway.Tests.Support;

/// <summary>
/// The expensive hosts of one xUnit collection, started once for all its tests: an upstream, a
/// gateway in front of it on a fake clock (<see cref="Clock"/>), clients for it. Each test begins
/// and ends through <see cref="StackTests{TStack}"/>: it gets the shared hosts as a test of its own
/// would (nothing recorded yet, default scripts, its own metrics and logs, no subscriptions), and a
/// gateway of its own only for settings of its own (<see cref="StartGatewayAsync"/>, on a key prefix
/// of its own). After the idea of martincostello/costellobot's <c>AppFixture</c> (per-test
/// configuration on a shared app and a clock the tests set) and dotnet/eShop's
/// <c>CatalogApiFixture</c> (a fixture owning the hosts a class needs).
/// </summary>
/// <remarks>
/// The gateway reads its settings once, at start, so per-test settings mean a gateway of the
/// test's own; everything else is shared. Tests of one collection run one after the other.
/// </remarks>
public abstract class GatewayStack : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _ownedByTest = [];
    private GatewayHost? _gateway;
    private MetricsRecorder? _metrics;

    /// <summary>The clock of the stack's gateways: it stands still until a test moves it on.</summary>
    public TestClock Clock { get; } = new();

    /// <summary>The shared gateway.</summary>
    public GatewayHost Gateway => _gateway ?? throw new InvalidOperationException("The stack has not started.");

    /// <summary>The shared gateway's metrics since the current test began.</summary>
    public MetricsRecorder Metrics => _metrics ?? throw new InvalidOperationException("No test has begun.");

    /// <summary>Alice (a client with a webhook secret) on the shared gateway.</summary>
    public HttpClient Alice { get; private set; } = null!;

    /// <summary>Bob (a client without a webhook secret) on the shared gateway.</summary>
    public HttpClient Bob { get; private set; } = null!;

    /// <summary>Ops (an admin client) on the shared gateway.</summary>
    public HttpClient Ops { get; private set; } = null!;

    /// <summary>Where the upstream listens, without a trailing slash.</summary>
    protected abstract string UpstreamBaseUrl { get; }

    /// <summary>The stack's settings, on top of <see cref="GatewayHost.DefaultSettingsAsync"/>, for every gateway it starts.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    /// <summary>Starts the upstream (and anything else the gateway needs to find running).</summary>
    protected abstract Task StartHostsAsync();

    /// <summary>Stops what <see cref="StartHostsAsync"/> started.</summary>
    protected abstract Task StopHostsAsync();

    public async Task InitializeAsync()
    {
        await StartHostsAsync();
        _gateway = await GatewayHost.StartAsync(UpstreamBaseUrl, Settings, Clock);
        Alice = _gateway.CreateClient(TestClients.Alice);
        Bob = _gateway.CreateClient(TestClients.Bob);
        Ops = _gateway.CreateClient(TestClients.Ops);
    }

    public async Task DisposeAsync()
    {
        Alice.Dispose();
        Bob.Dispose();
        Ops.Dispose();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
        await StopHostsAsync();
    }

    /// <summary>
    /// The settings of a gateway of the test's own: the defaults with a key prefix and events
    /// channel of its own, the stack's settings, then <paramref name="overrides"/>. For a gateway
    /// process, or for two hosts that must share one store.
    /// </summary>
    public Task<Dictionary<string, string?>> GatewaySettingsAsync(params (string Key, string? Value)[] overrides) =>
        GatewaySettingsAsync(overrides.Select(o => KeyValuePair.Create(o.Key, o.Value)));

    /// <inheritdoc cref="GatewaySettingsAsync(ValueTuple{string, string}[])"/>
    public async Task<Dictionary<string, string?>> GatewaySettingsAsync(IEnumerable<KeyValuePair<string, string?>> overrides)
    {
        var settings = await GatewayHost.DefaultSettingsAsync(UpstreamBaseUrl);
        foreach (var (key, value) in Settings.Concat(overrides))
        {
            settings[key] = value;
        }
        return settings;
    }

    /// <summary>
    /// Starts a gateway of the test's own in front of the stack's upstream, on the stack's clock,
    /// with <see cref="GatewaySettingsAsync"/> (a key prefix of its own unless
    /// <paramref name="overrides"/> name one); it is stopped when the test ends.
    /// </summary>
    public Task<GatewayHost> StartGatewayAsync(params (string Key, string? Value)[] overrides) =>
        StartGatewayAsync(overrides.Select(o => KeyValuePair.Create(o.Key, o.Value)));

    /// <inheritdoc cref="StartGatewayAsync(ValueTuple{string, string}[])"/>
    public async Task<GatewayHost> StartGatewayAsync(IEnumerable<KeyValuePair<string, string?>> overrides)
    {
        var gateway = await GatewayHost.StartAsync(UpstreamBaseUrl, await GatewaySettingsAsync(overrides), Clock);
        OwnedByTest(gateway);
        return gateway;
    }

    /// <summary>Stops <paramref name="resource"/> when the current test ends.</summary>
    public T OwnedByTest<T>(T resource) where T : IAsyncDisposable
    {
        _ownedByTest.Add(resource);
        return resource;
    }

    /// <summary>
    /// Moves the clock on by <paramref name="time"/> and has the queue workers of
    /// <paramref name="gateway"/> (the shared one when null) look at their queues at once, as their
    /// poll does when its time comes: what came due in that time is taken now.
    /// </summary>
    public async Task PassTimeAsync(TimeSpan time, GatewayHost? gateway = null)
    {
        Clock.Advance(time);
        await (gateway ?? Gateway).WakeQueuesAsync();
    }

    /// <summary>Called before each test: the shared hosts as a new test finds them.</summary>
    public virtual async Task BeginTestAsync()
    {
        Gateway.Logs.Clear();
        _metrics = Gateway.RecordMetrics();
        await Task.CompletedTask;
    }

    /// <summary>
    /// Called after each test: stops what the test owned and deletes the subscriptions it made on
    /// the shared gateway, so that the next test's events go to its own subscribers only.
    /// </summary>
    public virtual async Task EndTestAsync()
    {
        foreach (var resource in Enumerable.Reverse(_ownedByTest))
        {
            await resource.DisposeAsync();
        }
        _ownedByTest.Clear();
        _metrics?.Dispose();
        var subscriptions = JsonDocument.Parse(await Ops.GetStringAsync("/subscriptions")).RootElement;
        foreach (var subscription in subscriptions.EnumerateArray())
        {
            using var deleted = await Ops.DeleteAsync($"/subscriptions/{subscription.GetProperty("id").GetString()}");
        }
    }
}

/// <summary>
/// The base of a test class that runs on a <see cref="GatewayStack"/> shared by its collection:
/// each test begins and ends the stack's per-test state.
/// </summary>
public abstract class StackTests<TStack>(TStack stack) : IAsyncLifetime where TStack : GatewayStack
{
    /// <summary>The collection's stack.</summary>
    protected TStack Stack => stack;

    /// <summary>The shared gateway.</summary>
    protected GatewayHost Gateway => stack.Gateway;

    /// <summary>Alice (with a webhook secret) on the shared gateway.</summary>
    protected HttpClient Alice => stack.Alice;

    /// <summary>Bob (without a webhook secret) on the shared gateway.</summary>
    protected HttpClient Bob => stack.Bob;

    /// <summary>Ops (an admin) on the shared gateway.</summary>
    protected HttpClient Ops => stack.Ops;

    public virtual Task InitializeAsync() => stack.BeginTestAsync();

    public Task DisposeAsync() => stack.EndTestAsync();
}

/// <summary>A test class on a <see cref="RecordingStack"/>.</summary>
public abstract class RecordingStackTests(RecordingStack stack) : StackTests<RecordingStack>(stack)
{
    /// <summary>The upstream, as the test found it: nothing received, 200 <c>{"ok":true}</c> to every call.</summary>
    protected RecordingUpstream Upstream => Stack.Upstream;
}

/// <summary>A test class on a <see cref="SimulatorStack"/>.</summary>
public abstract class SimulatorStackTests(SimulatorStack stack) : StackTests<SimulatorStack>(stack)
{
    /// <summary>The upstream.</summary>
    protected SimulatorHost Simulator => Stack.Simulator;

    /// <summary>The webhook subscriber, in the test's own scope.</summary>
    protected WebhookSubscriber Subscriber => Stack.Subscriber;
}
