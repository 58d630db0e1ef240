using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// WebApplicationFactory's UseKestrel registers Kestrel again after the gateway's composition, and
/// with it Kestrel's 4 KiB block pool: this puts the gateway's own pool back last, as Program has it.
/// </summary>
internal sealed class KestrelFactory : WebApplicationFactory<Program>
{
    protected override IHost CreateHost(IHostBuilder builder)
    {
        builder.ConfigureServices(services => services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>());
        return base.CreateHost(builder);
    }
}

/// <summary>
/// The real gateway (its own Program) on real Kestrel over loopback, hosted in the test process
/// by <see cref="WebApplicationFactory{TEntryPoint}"/>, configured against a test upstream.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;

    private GatewayHost(WebApplicationFactory<Program> factory, Uri baseAddress, LogCapture logs)
    {
        _factory = factory;
        BaseAddress = baseAddress;
        Logs = logs;
    }

    /// <summary>The gateway's address.</summary>
    public Uri BaseAddress { get; }

    /// <summary>What the gateway logged (warnings and above, unless the settings say otherwise).</summary>
    public LogCapture Logs { get; }

    /// <summary>The gateway's services.</summary>
    public IServiceProvider Services => _factory.Services;

    /// <summary>
    /// Starts a gateway in front of <paramref name="upstreamBaseUrl"/>. <paramref name="settings"/>
    /// override the defaults (team key <see cref="TestClients.TeamKey"/>, the <see cref="TestClients"/>,
    /// generous rate limits, fast retries, warnings-only logs). With <paramref name="clock"/>, every
    /// clock the gateway reads is that one (its <see cref="TimeProvider"/>): its schedules wait for
    /// the test to move it on.
    /// </summary>
    public static async Task<GatewayHost> StartAsync(string upstreamBaseUrl, IEnumerable<KeyValuePair<string, string?>>? settings = null,
        TimeProvider? clock = null)
    {
        var port = FreePort.Next();
        var all = new Dictionary<string, string?>(await DefaultSettingsAsync(upstreamBaseUrl))
        {
            ["Gateway:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
        };
        foreach (var setting in settings ?? [])
        {
            all[setting.Key] = setting.Value;
        }

        var logs = new LogCapture();
        var factory = new KestrelFactory().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Testing");
            builder.ConfigureServices(services => services.AddSingleton<ILoggerProvider>(logs));
            if (clock is not null)
            {
                builder.ConfigureTestServices(services => services.AddSingleton(clock));
            }
            foreach (var (key, value) in all)
            {
                builder.UseSetting(key, value);
            }
        });
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        factory.StartServer();
        var gateway = new GatewayHost(factory, new Uri($"http://127.0.0.1:{port}"), logs);
        if (all["Redis:Configuration"] == (await RedisServer.Shared).Configuration)
        {
            // The gateway connects in the background; on a machine busy with the whole suite that
            // took longer than a Redis call's 2 s once, and a test's first call failed with 503.
            try
            {
                var redis = gateway.Services.GetRequiredService<RedisStore>();
                await Eventually.ThatAsync(() => Task.FromResult(redis.Database.Multiplexer.IsConnected), 30, "the gateway to connect to Redis");
            }
            catch
            {
                await gateway.DisposeAsync();
                throw;
            }
        }
        return gateway;
    }

    /// <summary>
    /// Settings every test gateway starts from: the test upstream and team key, the
    /// <see cref="TestClients"/>, the shared Redis under a key prefix of its own, a callback
    /// secret, loopback subscribers allowed on any port, generous rate limits and replica confirmation
    /// time, fast retries, warnings-only logs.
    /// </summary>
    public static async Task<Dictionary<string, string?>> DefaultSettingsAsync(string upstreamBaseUrl)
    {
        var prefix = $"test-{Guid.NewGuid():N}:";
        var settings = new Dictionary<string, string?>
        {
            ["Upstream:BaseUrl"] = upstreamBaseUrl,
            ["Upstream:ApiKey"] = TestClients.TeamKey,
            ["Upstream:Retry:BaseDelaySeconds"] = "0.01",
            ["Upstream:Retry:MaxDelaySeconds"] = "0.2",
            ["Redis:Configuration"] = (await RedisServer.Shared).Configuration,
            ["Redis:KeyPrefix"] = prefix,
            ["Redis:EventsChannel"] = prefix + "events",
            ["Webhooks:CallbackSecret"] = TestClients.CallbackSecret,
            ["Webhooks:AllowedSubscriberHosts:0"] = "127.0.0.1:*",
            ["Webhooks:AllowedSubscriberHosts:1"] = "localhost:*",
            ["RateLimiting:Default:PermitLimit"] = "100000",
            // A replica's confirmation on a busy machine can take longer than the default 0.5 s.
            ["Redis:ReplicaAckTimeoutSeconds"] = "1",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var setting in TestClients.All.SelectMany(c => c.Settings()))
        {
            settings[setting.Key] = setting.Value;
        }
        return settings;
    }

    /// <summary>
    /// Waits until <c>/readyz</c> answers 200: both Redis connections are up. A gateway on a
    /// Redis that takes time to reach (a sentinel set, a cluster, a busy machine, a restart)
    /// answers 503 until then, as it should.
    /// </summary>
    public async Task WaitUntilReadyAsync()
    {
        using var http = CreateClient();
        await Eventually.ThatAsync(async () =>
        {
            using var ready = await http.GetAsync("/readyz");
            return ready.IsSuccessStatusCode;
        }, 30, "/readyz to answer 200");
    }

    /// <summary>An HTTP client for the gateway that sends <paramref name="client"/>'s key (none when null).</summary>
    public HttpClient CreateClient(TestClient? client = null)
    {
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (client is not null)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", client.Key);
        }
        return http;
    }

    /// <summary>A client that sends <paramref name="client"/>'s key as a bearer token.</summary>
    public HttpClient CreateBearerClient(TestClient client)
    {
        var http = CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", client.Key);
        return http;
    }

    /// <summary>Records this gateway's metrics from now on.</summary>
    public MetricsRecorder RecordMetrics() => new(Services.GetRequiredService<IMeterFactory>());

    /// <summary>
    /// Has the queue workers look at every partition of every queue at once, as their poll does
    /// when its time comes: after moving a fake clock on, what has come due is taken at once.
    /// </summary>
    public async Task WakeQueuesAsync()
    {
        var deliveries = Services.GetRequiredService<Reka.Gateway.Delivery.Deliveries>();
        DurableQueue[] queues = [Services.GetRequiredService<CallbackInbox>().Queue, deliveries.FanOutQueue, deliveries.Queue];
        foreach (var queue in queues)
        {
            for (var partition = 0; partition < queue.Partitions; partition++)
            {
                await queue.WakeAsync(partition);
            }
        }
    }

    public ValueTask DisposeAsync() => _factory.DisposeAsync();
}

/// <summary>Free loopback TCP ports, for hosts that must know their address before they start.</summary>
public static class FreePort
{
    // Below Linux's ephemeral range (32768-60999): outgoing connections never take these ports,
    // so one found free stays free until its host binds it, where an ephemeral one could be taken
    // by any client socket in between. Each is handed out once; the random start keeps two test
    // runs on one machine apart.
    private const int First = 20000;
    private const int Count = 12000;
    private static int _next = Random.Shared.Next(Count);

    /// <summary>
    /// A port for a Redis Cluster node: free, and so is the port 10000 above it (the cluster bus),
    /// both below the ephemeral range.
    /// </summary>
    /// <exception cref="InvalidOperationException">No such pair is free.</exception>
    public static int NextWithClusterBus()
    {
        for (var tries = 0; tries < Count; tries++)
        {
            var port = Next();
            if (port + 10000 < 32768 && IsFree(port + 10000))
            {
                return port;
            }
        }
        throw new InvalidOperationException("No free loopback port with a free cluster bus port.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>A port no one listens on right now, and not handed out before in this run.</summary>
    /// <exception cref="InvalidOperationException">No port in the range is free.</exception>
    public static int Next()
    {
        for (var tries = 0; tries < Count; tries++)
        {
            var port = First + (int)((uint)Interlocked.Increment(ref _next) % Count);
            try
            {
                using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Taken: try the next one.
            }
        }
        throw new InvalidOperationException($"No free loopback port in {First}-{First + Count - 1}.");
    }
}
