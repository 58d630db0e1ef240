using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection;
using Reka.Gateway.Clients;

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
    public async Task KeyedCall_IsAuthenticatedByTheGatewaysOwnStep_OnlyCallsItRefused_CrossTheFrameworksMiddleware()
    {
        // ASP.NET Core's authentication service measures each authentication it makes.
        const string Authentications = "aspnetcore.authentication.authenticate.duration";
        using var metrics = Gateway.RecordMetrics();
        using var alice = Gateway.CreateClient(TestClients.Alice);
        using var anonymous = Gateway.CreateClient();
        using var mallory = Gateway.CreateClient(new TestClient("mallory", "not-a-configured-key"));

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/v2/inference/models")).StatusCode);
        await ProblemAssert.IsProblemAsync(await anonymous.GetAsync("/v2/inference/models"), HttpStatusCode.Unauthorized);
        await ProblemAssert.IsProblemAsync(await mallory.GetAsync("/v2/inference/models"), HttpStatusCode.Unauthorized);

        // Measured before each 401 is written: the keyless call's and the unknown key's
        // authentications, and nothing for Alice's (the framework's middleware, added again at the
        // front, would authenticate her too).
        var measured = metrics.Measurements.Where(m => m.Instrument == Authentications).Select(m => m.Tags["aspnetcore.authentication.result"]);
        Assert.Equal(["none", "failure"], measured);
        Assert.Single(Upstream.Requests);
    }

    [Fact]
    public void AuthorizationServices_AreBuiltOnce_NotForEveryRequest()
    {
        using var first = Gateway.Services.CreateScope();
        using var second = Gateway.Services.CreateScope();

        Assert.Same(first.ServiceProvider.GetRequiredService<IPolicyEvaluator>(), second.ServiceProvider.GetRequiredService<IPolicyEvaluator>());
        Assert.Same(first.ServiceProvider.GetRequiredService<IAuthorizationService>(), second.ServiceProvider.GetRequiredService<IAuthorizationService>());
        Assert.Same(first.ServiceProvider.GetRequiredService<IAuthorizationMiddlewareResultHandler>(),
            second.ServiceProvider.GetRequiredService<IAuthorizationMiddlewareResultHandler>());
    }

    [Fact]
    public async Task Refusals_AreLogged_WithTheirReason_NeverTheKey()
    {
        // A gateway of the test's own, logging at Information (the shared one logs warnings only).
        var gateway = await Stack.StartGatewayAsync(("Logging:LogLevel:Reka.Gateway.Clients", "Information"));
        using var mallory = gateway.CreateClient(new TestClient("mallory", "not-a-configured-key"));
        using var alice = gateway.CreateClient(TestClients.Alice);

        await ProblemAssert.IsProblemAsync(await mallory.GetAsync("/v2/inference/requests?limit=5"), HttpStatusCode.Unauthorized);
        await ProblemAssert.IsProblemAsync(await alice.GetAsync("/clients"), HttpStatusCode.Forbidden);

        var refusals = gateway.Logs.Entries.Where(e => e.Category == typeof(ApiKeyAuthenticationHandler).FullName).Select(e => e.Message).ToArray();
        Assert.Equal(
            ["GET /v2/inference/requests answered 401: The gateway key is not known to this gateway.", "GET /clients answered 403: client alice is not an admin client"],
            refusals);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains("not-a-configured-key") || e.Message.Contains(TestClients.Alice.Key));
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
