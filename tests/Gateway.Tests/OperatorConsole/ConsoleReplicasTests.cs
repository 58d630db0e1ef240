using StackExchange.Redis;
using System.Net;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.OperatorConsole;

/// <summary>
/// The console behind a load balancer: three gateway processes started together on one
/// redis-server with an empty key ring, each with a home folder of its own (as three pods of a
/// first deployment), a browser's requests landing on any of them.
/// </summary>
public sealed class ConsoleReplicasTests : IAsyncLifetime
{
    private readonly List<string> _homes = [];
    private SimulatorHost _simulator = null!;
    private Dictionary<string, string?> _settings = null!;
    private GatewayProcess _a = null!;
    private GatewayProcess _b = null!;
    private GatewayProcess _c = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartForGatewayAsync();
        _settings = await GatewayHost.DefaultSettingsAsync(_simulator.BaseUrl);
        GatewayProcess Replica()
        {
            var home = Directory.CreateTempSubdirectory("gateway-home-").FullName;
            _homes.Add(home);
            return GatewayProcess.Start(new Dictionary<string, string?>(_settings) { ["HOME"] = home });
        }
        (_a, _b, _c) = (Replica(), Replica(), Replica());
        await Task.WhenAll(new[] { _a, _b, _c }.Select(replica => replica.WaitUntilLiveAsync(TimeSpan.FromSeconds(60))));
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _c.DisposeAsync();
        await _simulator.DisposeAsync();
        _homes.ForEach(home => Directory.Delete(home, recursive: true));
    }

    [Fact]
    public async Task ReplicasStartedTogether_ReadTheKeyRingAtTheirFirstConsolePage_AndMakeOneKey()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_settings["Redis:Configuration"]!);
        var ring = _settings["Redis:KeyPrefix"] + "console:data-protection-keys";
        GatewayProcess[] replicas = [_a, _b, _c];
        foreach (var replica in replicas)
        {
            using var api = replica.CreateClient(TestClients.Alice);
            Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/v2/inference/requests?limit=1")).StatusCode);
        }
        // Serving the API, none has read the ring: no key yet, nor the XML stack that reads it
        // (the assemblies a process has mapped, from Linux's /proc).
        var keysBefore = await redis.GetDatabase().ListLengthAsync(ring);
        var xmlMappedBefore = replicas.Select(replica => File.ReadAllText($"/proc/{replica.Id}/maps").Contains("System.Private.Xml.dll")).ToList();

        // The first console pages, on the three at once: each reads the ring, empty.
        await Task.WhenAll(replicas.Select(async replica =>
        {
            using var console = new ConsoleHttp(replica.BaseAddress);
            Assert.Contains("__RequestVerificationToken", await console.PageAsync("/console/sign-in"));
        }));

        // Counted, not listed: a failed assertion would print the keys.
        Assert.Equal(0, keysBefore);
        Assert.All(xmlMappedBefore, Assert.False);
        Assert.Equal(1, await redis.GetDatabase().ListLengthAsync(ring));
        Assert.All(replicas, replica => Assert.Contains("System.Private.Xml.dll", File.ReadAllText($"/proc/{replica.Id}/maps")));
    }

    [Fact]
    public async Task AFormServedByOneReplica_IsAcceptedByTheOther()
    {
        using var onA = new ConsoleHttp(_a.BaseAddress);
        var token = ConsoleHttp.Token(await onA.PageAsync("/console/sign-in"));
        // The same browser (its antiforgery cookie and the page's token) posts to replica B.
        using var onB = new ConsoleHttp(_b.BaseAddress);
        foreach (Cookie cookie in onA.Cookies.GetAllCookies())
        {
            onB.Cookies.Add(new Uri(_b.BaseAddress, cookie.Path), new Cookie(cookie.Name, cookie.Value, cookie.Path));
        }

        using var signedIn = await onB.PostAsync("/console/sign-in", [new("key", TestClients.Ops.Key), new("__RequestVerificationToken", token)], tokenFrom: null);

        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.NotNull(onB.Session);
        // And the session opened on B works on A.
        onA.Cookies.Add(new Uri(_a.BaseAddress, onB.Session!.Path), new Cookie(onB.Session.Name, onB.Session.Value, onB.Session.Path));
        Assert.Contains("__RequestVerificationToken", await onA.PageAsync("/console/subscriptions"));
    }
}
