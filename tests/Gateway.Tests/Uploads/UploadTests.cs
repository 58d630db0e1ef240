using System.Net.Http.Headers;

namespace Reka.Gateway.Tests.Uploads;

/// <summary>Uploads streamed to upstream, and the image route's cap (100 000 bytes on the <see cref="RecordingStack"/>).</summary>
[Collection(ProxyCollection.Name)]
public sealed class UploadTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task VideoUpload_StreamsEveryByteToUpstream_WithTheTeamKey()
    {
        const long size = 48L << 20;
        Upstream.MaxRecordedBodyBytes = 4096;
        using var form = new MultipartFormDataContent
        {
            { new StringContent("holiday"), "video_name" },
            { new StreamContent(new GeneratedStream(size)) { Headers = { ContentType = new MediaTypeHeaderValue("video/mp4") } }, "file", "holiday.mp4" },
        };

        var response = await Alice.PostAsync("/v2/videos", form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(Upstream.Requests);
        Assert.Equal("/v2/videos", seen.PathAndQuery);
        Assert.Equal(TestClients.TeamKey, seen.Headers["X-Api-Key"]);
        Assert.StartsWith("multipart/form-data; boundary=", seen.Headers["Content-Type"]);
        Assert.InRange(seen.BodyLength, size, size + 1024);
    }

    [Fact]
    public async Task ImageUpload_WithChunkedBodyOverTheCap_Returns413ProblemDetails()
    {
        var content = new StreamContent(new GeneratedStream(200_000));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=xyz");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/images/upload") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await Alice.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task ImageUpload_WithContentLengthOverTheCap_Returns413_AndUpstreamSeesNothing()
    {
        var content = new ByteArrayContent(new byte[100_001]);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=xyz");

        var response = await Alice.PostAsync("/v1/images/upload", content);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("100000 bytes", problem.GetProperty("detail").GetString());
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("multipart/form-data")]
    [InlineData("multipart/form-data; boundary=")]
    [InlineData("multipart/mixed; boundary=abc")]
    public async Task Upload_ThatIsNotMultipartFormDataWithABoundary_Returns400(string contentType)
    {
        var content = new StringContent("x");
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await Alice.PostAsync("/v1/images/upload", content);

        await ProblemAssert.IsValidationProblemAsync(response, "Content-Type");
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Upload_WithoutContentType_Returns400()
    {
        var response = await Alice.PostAsync("/v2/videos", new ByteArrayContent([1, 2, 3]));

        await ProblemAssert.IsValidationProblemAsync(response, "Content-Type");
        Assert.Empty(Upstream.Requests);
    }
}
