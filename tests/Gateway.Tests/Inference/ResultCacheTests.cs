namespace Reka.Gateway.Tests.Inference;

[Collection(FlowsCollection.Name)]
public sealed class ResultCacheTests(SimulatorStack stack) : SimulatorStackTests(stack)
{
    [Fact]
    public async Task CachedResult_SurvivesAGatewayRestart()
    {
        // Two gateways one after the other on one store.
        var settings = await Stack.GatewaySettingsAsync();
        string requestId;
        var before = await Stack.StartGatewayAsync(settings);
        using (var alice = before.CreateClient(TestClients.Alice))
        {
            requestId = await alice.SubmitAsync(webhookUrl: Subscriber.Url("/alice"));
            // Delivered: the callback's processing has cached the result (stopping the gateway lets it finish).
            await Subscriber.WaitForAsync(1);
            Assert.Equal("HIT", (await alice.GetAsync($"/v2/inference/requests/{requestId}")).Headers.GetValues("X-Cache").Single());
        }
        await before.DisposeAsync();
        var job = await Simulator.JobAsync(requestId);

        var after = await Stack.StartGatewayAsync(settings);
        using var aliceAgain = after.CreateClient(TestClients.Alice);
        var response = await aliceAgain.GetAsync($"/v2/inference/requests/{requestId}");

        Assert.Equal("HIT", response.Headers.GetValues("X-Cache").Single());
        Assert.Equal("COMPLETED", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        // Reka was not asked about the request again.
        var jobAfter = await Simulator.JobAsync(requestId);
        Assert.Equal(job.GetProperty("result_reads").GetInt32(), jobAfter.GetProperty("result_reads").GetInt32());
        Assert.Equal(job.GetProperty("status_reads").GetInt32(), jobAfter.GetProperty("status_reads").GetInt32());
    }
}
