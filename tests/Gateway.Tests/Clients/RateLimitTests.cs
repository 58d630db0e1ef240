namespace Reka.Gateway.Tests.Clients;

/// <summary>The per-client limit, on a gateway whose window (60 s) turns on the stack's fake clock.</summary>
[Collection(ProxyCollection.Name)]
public sealed class RateLimitTests(RecordingStack stack) : RecordingStackTests(stack)
{
    private Task<GatewayHost> GatewayLettingAliceTwoCallsAMinuteAsync() => Stack.StartGatewayAsync(
        ("Clients:alice:RateLimit:PermitLimit", "2"),
        ("Clients:alice:RateLimit:WindowSeconds", "60"));

    [Fact]
    public async Task Client_OverItsLimit_Gets429ProblemDetailsWithRetryAfter_WhileOtherClientsGoOn()
    {
        var gateway = await GatewayLettingAliceTwoCallsAMinuteAsync();
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/v2/inference/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/v2/inference/models")).StatusCode);
        var rejected = await alice.GetAsync("/v2/inference/models");

        var problem = await ProblemAssert.IsProblemAsync(rejected, HttpStatusCode.TooManyRequests);
        Assert.Contains("alice", problem.GetProperty("detail").GetString());
        var retryAfter = int.Parse(rejected.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retryAfter, 1, 60);
        Assert.Equal(2, Upstream.Requests.Count);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync("/v2/inference/models")).StatusCode);
    }

    [Fact]
    public async Task Client_OverItsLimit_IsLetThroughAgain_WhenRetryAfterHasPassed_AndNotBefore()
    {
        var gateway = await GatewayLettingAliceTwoCallsAMinuteAsync();
        using var alice = gateway.CreateClient(TestClients.Alice);
        await alice.GetAsync("/v2/inference/models");
        await alice.GetAsync("/v2/inference/models");
        var rejected = await alice.GetAsync("/v2/inference/models");
        var retryAfter = TimeSpan.FromSeconds(int.Parse(rejected.Headers.GetValues("Retry-After").Single()));

        Stack.Clock.Advance(retryAfter - TimeSpan.FromSeconds(1));
        var stillRejected = await alice.GetAsync("/v2/inference/models");
        Stack.Clock.Advance(TimeSpan.FromSeconds(1));
        var letThrough = await alice.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, stillRejected.StatusCode);
        Assert.Equal(HttpStatusCode.OK, letThrough.StatusCode);
        Assert.Equal(3, Upstream.Requests.Count);
    }
}
