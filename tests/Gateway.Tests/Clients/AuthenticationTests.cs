using System.Net;
using Reka.Gateway.Tests.Support;
using Xunit;

namespace Reka.Gateway.Tests.Clients;

public sealed class AuthenticationTests : IAsyncLifetime
{
    private RecordingUpstream _upstream = null!;
    private GatewayHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await RecordingUpstream.StartAsync();
        _gateway = await GatewayHost.StartAsync(_upstream.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Call_WithoutKey_Returns401ProblemDetails_AndUpstreamIsNotCalled()
    {
        var response = await _gateway.CreateClient().GetAsync("/v2/inference/requests");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("X-Api-Key", problem.GetProperty("detail").GetString());
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task Call_WithUnknownKey_Returns401ProblemDetails_AndUpstreamIsNotCalled()
    {
        using var http = _gateway.CreateClient(new TestClient("mallory", "not-a-configured-key"));

        var response = await http.PostAsync("/v2/inference/sora-2-pro/image-to-video", JsonContent.Create(new { input = new { prompt = "x" } }));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.DoesNotContain("not-a-configured-key", problem.ToString());
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task Call_WithKeyAsBearerToken_IsForwarded()
    {
        using var http = _gateway.CreateBearerClient(TestClients.Alice);

        var response = await http.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_upstream.Requests);
    }

    [Fact]
    public async Task Call_WithTheTeamKeyInsteadOfAGatewayKey_Returns401()
    {
        using var http = _gateway.CreateClient(new TestClient("team", TestClients.TeamKey));

        var response = await http.GetAsync("/v2/inference/models");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Empty(_upstream.Requests);
    }
}
