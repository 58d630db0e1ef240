using System.Net.Http.Headers;

namespace Reka.Gateway.Tests.Simulator;

public sealed class AuthenticationAndHeaderTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private SimulatorHost Sim => fixture.Host;

    [Fact]
    public async Task Call_WithoutApiKey_Returns401WithRekaErrorBody()
    {
        using var response = await Sim.Anonymous.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await SimulatorHost.ReadJsonAsync(response);
        var root = Assert.Single(body.EnumerateObject());
        Assert.Equal("error", root.Name);
        Assert.Equal("authentication_error", root.Value.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(root.Value.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Call_WithWrongApiKey_Returns401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/inference/models");
        request.Headers.Add("X-Api-Key", "not-the-team-key");

        using var response = await Sim.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Call_WithBearerToken_IsAccepted()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/inference/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SimulatorHost.ApiKey);

        using var response = await Sim.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/v2/inference/models", true, HttpStatusCode.OK)]
    [InlineData("GET", "/v2/inference/models", false, HttpStatusCode.Unauthorized)]
    [InlineData("GET", "/v2/inference/requests/unknown-id", true, HttpStatusCode.NotFound)]
    [InlineData("GET", "/v2/inference/requests?limit=0", true, HttpStatusCode.BadRequest)]
    [InlineData("POST", "/v2/inference/sora-2-pro/image-to-video", true, HttpStatusCode.BadRequest)]
    [InlineData("GET", "/no/such/route", true, HttpStatusCode.NotFound)]
    public async Task EveryAnswer_CarriesRequestIdAndRateLimitHeaders(string method, string path, bool withKey, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (withKey) request.Headers.Add("X-Api-Key", SimulatorHost.ApiKey);

        using var response = await Sim.Anonymous.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        Assert.True(Guid.TryParse(Header(response, "X-Request-ID"), out _));
        Assert.Equal("1000", Header(response, "x-ratelimit-requests-limit"));
        Assert.InRange(long.Parse(Header(response, "x-ratelimit-requests-remaining")), 0, 999);
        Assert.InRange(long.Parse(Header(response, "x-ratelimit-requests-reset")), 1, 86_400);
        Assert.Equal("0", Header(response, "retry-after"));
    }

    [Fact]
    public async Task RequestId_IsNewOnEveryAnswer()
    {
        using var first = await Sim.Client.GetAsync("/v2/inference/models");
        using var second = await Sim.Client.GetAsync("/v2/inference/models");

        Assert.NotEqual(Header(first, "X-Request-ID"), Header(second, "X-Request-ID"));
    }

    [Fact]
    public async Task RateLimitRemaining_DecrementsPerKey()
    {
        // Unknown keys get 401s but are still counted, each on its own.
        var keyA = $"key-{Guid.NewGuid():N}";
        var keyB = $"key-{Guid.NewGuid():N}";

        var a1 = await RemainingAsync(keyA);
        var a2 = await RemainingAsync(keyA);
        var b1 = await RemainingAsync(keyB);

        Assert.Equal(999, a1);
        Assert.Equal(998, a2);
        Assert.Equal(999, b1);
    }

    [Fact]
    public async Task ErrorBody_NamesTheOffendingParameter()
    {
        using var response = await Sim.Client.GetAsync("/v2/inference/requests?limit=500");

        var error = (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal("validation_error", error.GetProperty("type").GetString());
        Assert.Equal("limit", error.GetProperty("param").GetString());
    }

    private async Task<long> RemainingAsync(string apiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/inference/models");
        request.Headers.Add("X-Api-Key", apiKey);
        using var response = await Sim.Anonymous.SendAsync(request);
        return long.Parse(Header(response, "x-ratelimit-requests-remaining"));
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"Missing header {name}.");
}
