using System.Net;
using Reka.Gateway.Tests.Support;
using Xunit;

namespace Reka.Gateway.Tests.Clients;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Client_OverItsLimit_Gets429ProblemDetailsWithRetryAfter_WhileOtherClientsGoOn()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl,
        [
            new("Clients:alice:RateLimit:PermitLimit", "2"),
            new("Clients:alice:RateLimit:WindowSeconds", "60"),
        ]);
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/v2/inference/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/v2/inference/models")).StatusCode);
        var rejected = await alice.GetAsync("/v2/inference/models");

        var problem = await ProblemAssert.IsProblemAsync(rejected, HttpStatusCode.TooManyRequests);
        Assert.Contains("alice", problem.GetProperty("detail").GetString());
        var retryAfter = int.Parse(rejected.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retryAfter, 1, 60);
        Assert.Equal(2, upstream.Requests.Count);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync("/v2/inference/models")).StatusCode);
    }
}
