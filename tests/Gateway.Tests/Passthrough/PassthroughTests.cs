namespace Reka.Gateway.Tests.Passthrough;

/// <summary>
/// The rest of the Vision API, forwarded as it is under <c>Proxy:ForwardedPrefixes</c>, and the
/// paths that must not get through that way.
/// </summary>
[Collection(ProxyCollection.Name)]
public sealed class PassthroughTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task PassthroughPath_WithEncodedSlashes_ReachesUpstreamDecoded()
    {
        var response = await Alice.GetAsync("/v2/videos%2Fvid-1%2Fcaptions?lang=en");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/v2/videos/vid-1/captions?lang=en", Assert.Single(Upstream.Requests).PathAndQuery);
    }

    [Fact]
    public async Task PassthroughPath_ClimbingOutOfItsPrefix_Returns400_AndUpstreamIsNotCalled()
    {
        var response = await Alice.GetAsync("/v1/x%2F..%2F..%2Fadmin");

        await ProblemAssert.IsValidationProblemAsync(response, "path");
        Assert.Empty(Upstream.Requests);
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
        var response = await Alice.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(new { input = new { } }) });

        await ProblemAssert.IsValidationProblemAsync(response, "path");
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData("GET", "/v2/inference/requests/req-1/logs")]
    [InlineData("GET", "/v3/anything")]
    public async Task PathOutsideTheForwardedRoutes_Returns404ProblemDetails_AndUpstreamIsNotCalled(string method, string path)
    {
        var response = await Alice.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Empty(Upstream.Requests);
    }
}
