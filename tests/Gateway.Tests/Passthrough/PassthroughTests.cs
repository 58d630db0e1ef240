using System.Net;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Passthrough;

/// <summary>
/// The rest of the Vision API, forwarded as it is under <c>Proxy:ForwardedPrefixes</c>, and the
/// paths that must not get through that way.
/// </summary>
public sealed class PassthroughTests : IAsyncLifetime
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
    public async Task PassthroughPath_WithEncodedSlashes_ReachesUpstreamDecoded()
    {
        using var http = _gateway.CreateClient(TestClients.Alice);

        var response = await http.GetAsync("/v2/videos%2Fvid-1%2Fcaptions?lang=en");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/v2/videos/vid-1/captions?lang=en", Assert.Single(_upstream.Requests).PathAndQuery);
    }

    [Fact]
    public async Task PassthroughPath_ClimbingOutOfItsPrefix_Returns400_AndUpstreamIsNotCalled()
    {
        using var http = _gateway.CreateClient(TestClients.Alice);

        var response = await http.GetAsync("/v1/x%2F..%2F..%2Fadmin");

        await ProblemAssert.IsValidationProblemAsync(response, "path");
        Assert.Empty(_upstream.Requests);
    }

    [Theory]
    [InlineData("GET", "/v2/inference%2Frequests%2Freq-1")]
    [InlineData("POST", "/v2/inference%2Frequests%2Freq-1%2Fcancel")]
    [InlineData("POST", "/v2/inference%2Fsora-2-pro%2Fimage-to-video")]
    [InlineData("GET", "/v2/INFERENCE%2Frequests")]
    [InlineData("GET", "/v2//inference/requests/req-1")]
    [InlineData("GET", "/v1/x%2F%2Fy")]
    public async Task EncodedOrDoubledSlashes_CannotReachAnInferenceRouteAroundItsChecks(string method, string path)
    {
        using var http = _gateway.CreateClient(TestClients.Alice);

        var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(new { input = new { } }) });

        await ProblemAssert.IsValidationProblemAsync(response, "path");
        Assert.Empty(_upstream.Requests);
    }

    [Theory]
    [InlineData("GET", "/v2/inference/requests/req-1/logs")]
    [InlineData("DELETE", "/v2/inference/requests/req-1")]
    [InlineData("GET", "/v3/anything")]
    public async Task PathOutsideTheForwardedRoutes_Returns404ProblemDetails_AndUpstreamIsNotCalled(string method, string path)
    {
        using var http = _gateway.CreateClient(TestClients.Alice);

        var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Empty(_upstream.Requests);
    }
}
