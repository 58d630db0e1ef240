namespace Reka.Gateway.Tests.Inference;

[Collection(ProxyCollection.Name)]
public sealed class RouteMethodTests(RecordingStack stack) : RecordingStackTests(stack)
{
    public static TheoryData<string, string, string> OtherMethods => new()
    {
        // Without its own answer this one was a submit for the model "requests": quota spent, Reka called.
        { "POST", "/v2/inference/requests/req-123", "GET" },
        { "DELETE", "/v2/inference/requests/req-123", "GET" },
        { "POST", "/v2/inference/requests", "GET" },
        { "PUT", "/v2/inference/requests/req-123/status", "GET" },
        { "GET", "/v2/inference/requests/req-123/cancel", "POST" },
        { "POST", "/v2/inference/models", "GET" },
        { "GET", "/v2/inference/chat/completions", "POST" },
        { "GET", "/v2/inference/sora-2-pro/image-to-video", "POST" },
        { "HEAD", "/v2/inference/requests", "GET" },
    };

    [Theory]
    [MemberData(nameof(OtherMethods))]
    public async Task ARoutesPathUnderAnotherMethod_Is405WithAllow_AndUpstreamSeesNothing(string method, string path, string allowed)
    {
        var response = await SendAsync(method, path);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal([allowed], response.Content.Headers.Allow);
        if (method != "HEAD")
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.MethodNotAllowed);
            Assert.Equal($"{method} is not allowed on {path}: its route takes {allowed} only.", problem.GetProperty("detail").GetString());
        }
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData("DELETE", "/v2/inference/requests/req-123/logs")]
    // Two segments, as a submit's, but under another route's first segment: not a model.
    [InlineData("POST", "/v2/inference/chat/other")]
    [InlineData("POST", "/v2/inference/models/other")]
    [InlineData("GET", "/v2/inference/chat/other")]
    public async Task APathNoRouteHas_Is404_AndUpstreamSeesNothing(string method, string path)
    {
        var response = await SendAsync(method, path);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Equal($"{method} {path} is not a route of Reka's inference API.", problem.GetProperty("detail").GetString());
        Assert.Empty(Upstream.Requests);
    }

    // With a submit's body where the method takes one, so only the route can refuse the call.
    private Task<HttpResponseMessage> SendAsync(string method, string path) =>
        Alice.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method is "POST" or "PUT" ? new StringContent("""{"input":{"prompt":"a cat"}}""", Encoding.UTF8, "application/json") : null,
        });
}
