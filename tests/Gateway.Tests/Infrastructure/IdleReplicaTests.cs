namespace Reka.Gateway.Tests.Infrastructure;

[Collection(ProxyCollection.Name)]
public sealed class IdleReplicaTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task AnIdleGateway_ThrowsNoExceptions()
    {
        // Its background loops (the queue workers' polls, the client registry's) are started in this
        // test's flow, so what they throw is counted here, caught or not. It was about 10
        // OperationCanceledExceptions a second, each poll's end, in the dotnet.exceptions metric.
        using var exceptions = new ExceptionsInThisFlow();
        // A clock of its own: every timer counted on it is this gateway's.
        var clock = new TestClock();
        var gateway = Stack.OwnedByTest(await GatewayHost.StartAsync(Upstream.BaseUrl, await Stack.GatewaySettingsAsync(), clock));
        var queuePoll = TimeSpan.FromSeconds(1);
        var clientsPoll = TimeSpan.FromMilliseconds(500);
        // Waits of 1 s: the four queue workers' polls and the usage ledger's flush.
        const int waitsOfOneSecond = 5;
        await clock.WaitForTimersAsync(clientsPoll, 1);
        await clock.WaitForTimersAsync(queuePoll, waitsOfOneSecond);
        var before = exceptions.Thrown.Count;

        for (var round = 0; round < 3; round++)
        {
            var (queueWaits, clientsWaits) = (clock.TimersStarted(queuePoll), clock.TimersStarted(clientsPoll));
            clock.Advance(queuePoll);
            // Each loop has waited out its poll, gone round and started its next wait.
            await clock.WaitForTimersAsync(queuePoll, queueWaits + waitsOfOneSecond);
            await clock.WaitForTimersAsync(clientsPoll, clientsWaits + 1);
        }

        Assert.DoesNotContain(exceptions.Thrown.Skip(before), ExceptionsInThisFlow.IsNotRedisSlowness);
        using var http = gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
    }
}
