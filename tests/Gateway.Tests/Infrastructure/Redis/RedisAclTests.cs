using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Reka.Gateway.Tests.OperatorConsole;

namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>
/// The README's ACL rule for the gateway's Redis user, as an operator would paste it, on one
/// node and on a cluster: submits, callbacks, deliveries, events, clients, the console's key ring
/// and the durability check all work under it, and Redis refuses the gateway nothing but the
/// client's <c>CONFIG GET</c> as it connects, which it does without.
/// </summary>
public sealed class RedisAclTests
{
    /// <summary>The rule, as README.md ("Redis") gives it for the default key prefix and events channel.</summary>
    private const string Rule = "resetkeys ~gateway:* ~__Booksleeve_TieBreak resetchannels &gateway:* &__Booksleeve_MasterChanged "
        + "-@all +@read +@write +@scripting +@pubsub +@connection +@transaction -@dangerous +info +role +wait +cluster|slots +cluster|nodes";

    private const string Password = "acl-user-password-2f9b7c1e";

    [Fact]
    public void TheReadmeGivesTheRuleTested()
    {
        // Its '|' is escaped in the README's table.
        var readme = File.ReadAllText(Path.Combine(WebhookVerifier.RepositoryRoot(), "README.md")).Replace("\\|", "|");

        Assert.Contains($"ACL SETUSER reka-gateway on >PASSWORD {Rule}", readme);
    }

    [Fact]
    public async Task OnOneNode_TheGatewayWorksUnderTheReadmesRule()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: true);
        await RunUnderTheRuleAsync([redis], $"127.0.0.1:{redis.Port}");
    }

    [Fact]
    public async Task OnACluster_TheGatewayWorksUnderTheReadmesRule()
    {
        await using var cluster = await RedisCluster.StartAsync();
        await RunUnderTheRuleAsync(cluster.Nodes, cluster.Configuration);
    }

    private static async Task RunUnderTheRuleAsync(IReadOnlyList<RedisServer> nodes, string configuration)
    {
        foreach (var node in nodes)
        {
            await node.CliAsync(["acl", "setuser", "reka-gateway", "on", ">" + Password, .. Rule.Split(' ')]);
            await node.CliAsync("acl", "log", "reset");
        }
        await using var simulator = await SimulatorHost.StartForGatewayAsync();
        await using var subscriber = await WebhookSubscriber.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(simulator.BaseUrl,
        [
            new("Redis:Configuration", $"{configuration},user=reka-gateway,password={Password}"),
            new("Redis:KeyPrefix", "gateway:"),
            new("Redis:EventsChannel", "gateway:events"),
        ]);
        await gateway.WaitUntilReadyAsync();
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var ops = gateway.CreateClient(TestClients.Ops);
        var store = gateway.Services.GetRequiredService<Reka.Gateway.Infrastructure.Redis.RedisStore>();
        var events = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await store.Subscriber.SubscribeAsync(store.EventsChannel, (_, message) => events.Enqueue(message!));
        var (subscriptionId, _) = await ops.SubscribeAsync(subscriber.Url("/all"));

        var requestIds = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            requestIds.Add(await alice.SubmitAsync());
        }

        Assert.Equal(requestIds.Order(), (await subscriber.WaitForAsync(6, path: "/all")).Select(d => d.Json.GetProperty("request_id").GetString()!).Distinct().Order());
        foreach (var requestId in requestIds)
        {
            using var result = await alice.GetAsync($"/v2/inference/requests/{requestId}");
            Assert.Equal("HIT", result.Headers.GetValues("X-Cache").Single());
        }
        Assert.Equal(6, (await ops.DeliveriesAsync(subscriptionId)).GetArrayLength());
        await Eventually.ThatAsync(() => Task.FromResult(events.Count >= 6), 20, "6 events on the Redis channel");
        using (var created = await ops.PostAsJsonAsync("/clients", new { name = "under-acl" }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await ops.GetAsync("/audit")).StatusCode);
        using (var console = new ConsoleHttp(gateway))
        {
            await console.SignInAsync(TestClients.Ops.Key);
            Assert.NotNull(console.Session);
        }
        // The durability check read INFO: it names the append-only file.
        Assert.Contains("writes kept across a restart", await (await ops.GetAsync("/readyz")).Content.ReadAsStringAsync());

        var refused = new List<string>();
        foreach (var node in nodes)
        {
            refused.AddRange(RefusedObjects(await node.CliAsync("acl", "log")));
        }
        // The client's CONFIG GET, refused as the README says; nothing else.
        Assert.Contains("config|get", refused);
        Assert.True(refused.All(o => o == "config|get"), $"refused: {string.Join(", ", refused)}");
    }

    // ACL LOG's entries, one field name and its value per line: the "object" of each (a command, key or channel).
    private static List<string> RefusedObjects(string log)
    {
        var lines = log.Split('\n', StringSplitOptions.TrimEntries);
        return [.. lines.Select((line, i) => (line, i)).Where(l => l.line == "object" && l.i + 1 < lines.Length).Select(l => lines[l.i + 1])];
    }
}
