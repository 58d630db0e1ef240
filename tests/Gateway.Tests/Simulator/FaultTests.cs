using System.Diagnostics;

namespace Reka.Gateway.Tests.Simulator;

/// <summary>Scripted and random faults; each test owns a simulator, since faults are global.</summary>
public sealed class FaultTests : IAsyncLifetime
{
    private SimulatorHost _sim = null!;

    public async Task InitializeAsync() => _sim = await SimulatorHost.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    [Fact]
    public async Task ScriptedFault_AnswersTheNextMatchingCallsThenStops()
    {
        await AddFaultAsync("""{"status": 503, "count": 2}""");

        using var first = await _sim.Client.GetAsync("/v2/inference/models");
        using var second = await _sim.Client.GetAsync("/v2/inference/models");
        using var third = await _sim.Client.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        var error = (await SimulatorHost.ReadJsonAsync(first)).GetProperty("error");
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.True(first.Headers.Contains("X-Request-ID"));
        Assert.True(first.Headers.Contains("x-ratelimit-requests-remaining"));
    }

    [Fact]
    public async Task ScriptedFault_HitsOnlyCallsMatchingMethodAndPathPrefix()
    {
        await AddFaultAsync("""{"method": "post", "path_prefix": "/v2/inference/", "status": 500}""");

        using var otherMethod = await _sim.Client.GetAsync("/v2/inference/models");
        using var otherPath = await _sim.PostJsonAsync("/v2/search", """{"query": "q"}""");
        using var matching = await _sim.SendSubmitAsync();
        using var afterwards = await _sim.SendSubmitAsync();

        Assert.Equal(HttpStatusCode.OK, otherMethod.StatusCode);
        Assert.Equal(HttpStatusCode.OK, otherPath.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, matching.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, afterwards.StatusCode);
    }

    [Fact]
    public async Task ScriptedFault_With429_SetsRetryAfterAndRekaType()
    {
        await AddFaultAsync("""{"status": 429, "retry_after": 7}""");

        using var response = await _sim.Client.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.Equal("0", response.Headers.GetValues("x-ratelimit-requests-remaining").Single());
        Assert.Equal("rate_limit_error", (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task ScriptedFault_WithBody_AnswersThatBody()
    {
        await AddFaultAsync("""{"status": 502, "body": "<html>Bad gateway</html>"}""");

        using var response = await _sim.Client.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("<html>Bad gateway</html>", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"status": 200}""")]
    [InlineData("""{"status": 500, "count": 0}""")]
    [InlineData("""{"count": 1}""")]
    [InlineData("not json")]
    public async Task ScriptedFault_ThatIsInvalid_Returns400(string body)
    {
        using var response = await _sim.PostJsonAsync("/_simulator/faults", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task ScriptedFaults_CanBeCleared()
    {
        await AddFaultAsync("""{"status": 500, "count": 5}""");

        using var cleared = await _sim.Client.DeleteAsync("/_simulator/faults");
        using var response = await _sim.Client.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ErrorRateOne_Answers500ServerError()
    {
        await _sim.ConfigureAsync("""{"error_rate": 1}""");

        using var response = await _sim.Client.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("server_error", (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task RateLimitRateOne_Answers429WithPositiveRetryAfter()
    {
        await _sim.ConfigureAsync("""{"rate_limit_rate": 1}""");

        using var response = await _sim.Client.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("rate_limit_error", (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task LatencyMs_DelaysEveryAnswer()
    {
        await _sim.ConfigureAsync("""{"latency_ms": 300}""");

        var clock = Stopwatch.StartNew();
        using var response = await _sim.Client.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.ElapsedMilliseconds >= 290, $"answered after {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Faults_DoNotHitControlRoutes()
    {
        await _sim.ConfigureAsync("""{"error_rate": 1}""");

        using var response = await _sim.Anonymous.GetAsync("/_simulator/stats");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task SameSeed_GivesSameFaultSequence()
    {
        var settings = new Dictionary<string, string?> { ["Simulator:Seed"] = "42", ["Simulator:ErrorRate"] = "0.5" };
        await using var first = await SimulatorHost.StartAsync(settings);
        await using var second = await SimulatorHost.StartAsync(settings);

        var firstCodes = await StatusCodesAsync(first, 20);
        var secondCodes = await StatusCodesAsync(second, 20);

        Assert.Equal(firstCodes, secondCodes);
        Assert.Contains(HttpStatusCode.OK, firstCodes);
        Assert.Contains(HttpStatusCode.InternalServerError, firstCodes);
    }

    private async Task AddFaultAsync(string json)
    {
        using var response = await _sim.PostJsonAsync("/_simulator/faults", json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<List<HttpStatusCode>> StatusCodesAsync(SimulatorHost sim, int calls)
    {
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < calls; i++)
        {
            using var response = await sim.Client.GetAsync("/v2/inference/models");
            codes.Add(response.StatusCode);
        }
        return codes;
    }
}
