namespace Reka.Gateway.Tests.Clients;

[Collection(ProxyCollection.Name)]
public sealed class AuthenticationTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task Call_WithoutKey_Returns401ProblemDetails_AndUpstreamIsNotCalled()
    {
        var response = await Gateway.CreateClient().GetAsync("/v2/inference/requests");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("X-Api-Key", problem.GetProperty("detail").GetString());
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Call_WithUnknownKey_Returns401ProblemDetails_AndUpstreamIsNotCalled()
    {
        using var http = Gateway.CreateClient(new TestClient("mallory", "not-a-configured-key"));

        var response = await http.PostAsync("/v2/inference/sora-2-pro/image-to-video", JsonContent.Create(new { input = new { prompt = "x" } }));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.DoesNotContain("not-a-configured-key", problem.ToString());
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Call_WithKeyAsBearerToken_IsForwarded()
    {
        using var http = Gateway.CreateBearerClient(TestClients.Alice);

        var response = await http.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(Upstream.Requests);
    }

    [Fact]
    public async Task Call_WithTheTeamKeyInsteadOfAGatewayKey_Returns401()
    {
        using var http = Gateway.CreateClient(new TestClient("team", TestClients.TeamKey));

        var response = await http.GetAsync("/v2/inference/models");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Empty(Upstream.Requests);
    }
}
