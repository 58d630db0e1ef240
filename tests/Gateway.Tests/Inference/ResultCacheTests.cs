using System.Text.Json;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Inference;

public sealed class ResultCacheTests
{
    [Fact]
    public async Task CachedResult_SurvivesAGatewayRestart()
    {
        await using var simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:QueueSeconds"] = "0.02",
            ["Simulator:RunSeconds"] = "0.02",
        });
        var upstream = simulator.BaseAddress.ToString().TrimEnd('/');
        var settings = await GatewayHost.DefaultSettingsAsync(upstream);
        string requestId;
        await using (var before = await GatewayHost.StartAsync(upstream, settings))
        {
            using var alice = before.CreateClient(TestClients.Alice);
            requestId = await alice.SubmitAsync();
            await Eventually.ThatAsync(async () =>
                (await alice.GetAsync($"/v2/inference/requests/{requestId}")).Headers.GetValues("X-Cache").Single() == "HIT", 20, "the result to be cached");
        }
        var stats = JsonDocument.Parse(await simulator.Anonymous.GetStringAsync("/_simulator/stats")).RootElement.GetProperty("total").GetInt64();

        await using var after = await GatewayHost.StartAsync(upstream, settings);
        using var aliceAgain = after.CreateClient(TestClients.Alice);
        var response = await aliceAgain.GetAsync($"/v2/inference/requests/{requestId}");

        Assert.Equal("HIT", response.Headers.GetValues("X-Cache").Single());
        Assert.Equal("COMPLETED", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Equal(stats, JsonDocument.Parse(await simulator.Anonymous.GetStringAsync("/_simulator/stats")).RootElement.GetProperty("total").GetInt64());
    }
}
