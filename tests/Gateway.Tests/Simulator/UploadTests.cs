using System.Net.Http.Headers;

namespace Reka.Gateway.Tests.Simulator;

/// <summary>Streamed multipart uploads; each test owns a simulator so byte counts are its own.</summary>
public sealed class UploadTests : IAsyncLifetime
{
    private const long FiftyMegabytes = 50L * 1024 * 1024;
    private SimulatorHost _sim = null!;

    public async Task InitializeAsync() => _sim = await SimulatorHost.StartAsync();

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    [Fact]
    public async Task ImageUpload_OfStreamedFile_CountsItsBytes()
    {
        using var form = new MultipartFormDataContent
        {
            { File(FiftyMegabytes, "image/jpeg"), "images", "big.jpg" },
            { new StringContent("[{\"title\": \"big\"}]"), "metadata" },
        };

        using var response = await _sim.Client.PostAsync("/v1/images/upload", form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = Assert.Single((await SimulatorHost.ReadJsonAsync(response)).GetProperty("results").EnumerateArray());
        var imageId = result.GetProperty("image_id").GetString()!;
        Assert.True(Guid.TryParse(imageId, out _));
        Assert.Contains(imageId, result.GetProperty("image_url").GetString());
        Assert.Equal(0, result.GetProperty("indexing_status").GetInt32());
        Assert.InRange(result.GetProperty("upload_timestamp").GetDouble(),
            DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        var stored = await _sim.GetJsonAsync($"/v1/images/{imageId}");
        Assert.Equal(FiftyMegabytes, stored.GetProperty("size_bytes").GetInt64());
        Assert.Equal(FiftyMegabytes, (await _sim.GetJsonAsync("/_simulator/stats")).GetProperty("upload_bytes").GetInt64());
    }

    [Fact]
    public async Task ImageUpload_WithSeveralImagesAndUrls_AnswersOneResultEach()
    {
        using var form = new MultipartFormDataContent
        {
            { File(10, "image/png"), "images", "a.png" },
            { File(20, "image/png"), "images", "b.png" },
            { new StringContent("https://example.com/c.png"), "image_urls" },
            { new StringContent("[{}, {}, {}]"), "metadata" },
        };

        using var response = await _sim.Client.PostAsync("/v1/images/upload", form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, (await SimulatorHost.ReadJsonAsync(response)).GetProperty("results").GetArrayLength());
        Assert.Equal(3, (await _sim.GetJsonAsync("/v1/images")).GetProperty("results").GetArrayLength());
        Assert.Equal(30, (await _sim.GetJsonAsync("/_simulator/stats")).GetProperty("upload_bytes").GetInt64());
    }

    [Fact]
    public async Task ImageUpload_WithoutMetadata_Returns400ForMetadata() =>
        await AssertRefusedNamingAsync("/v1/images/upload", new MultipartFormDataContent { { File(10, "image/png"), "images", "a.png" } }, "metadata");

    /// <summary>Asserts that posting <paramref name="form"/> to <paramref name="path"/> is answered 400 naming <paramref name="param"/>.</summary>
    private async Task AssertRefusedNamingAsync(string path, MultipartFormDataContent form, string param)
    {
        using (form)
        {
            using var response = await _sim.Client.PostAsync(path, form);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(param, (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error").GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task ImageUpload_ThatIsNotMultipart_Returns400()
    {
        using var response = await _sim.PostJsonAsync("/v1/images/upload", "{}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task VideoUpload_OfStreamedFile_Answers202WithItsSize()
    {
        using var form = new MultipartFormDataContent
        {
            { File(FiftyMegabytes, "video/mp4"), "file", "holiday.mp4" },
            { new StringContent("Holiday"), "video_name" },
            { new StringContent("group-1"), "group_id" },
        };

        using var response = await _sim.Client.PostAsync("/v2/videos", form);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var video = await SimulatorHost.ReadJsonAsync(response);
        Assert.True(Guid.TryParse(video.GetProperty("video_id").GetString(), out _));
        Assert.Equal("uploading", video.GetProperty("status").GetString());
        var metadata = video.GetProperty("metadata");
        Assert.Equal(FiftyMegabytes, metadata.GetProperty("size_bytes").GetInt64());
        Assert.Equal("Holiday", metadata.GetProperty("video_name").GetString());
        Assert.Equal("holiday.mp4", metadata.GetProperty("source").GetString());
        foreach (var field in new[] { "width", "height", "avg_fps", "title", "video_start_timestamp_utc_ms", "duration", "thumbnail", "description" })
            Assert.True(metadata.TryGetProperty(field, out _), $"missing {field}");
        Assert.Equal(FiftyMegabytes, (await _sim.GetJsonAsync("/_simulator/stats")).GetProperty("upload_bytes").GetInt64());
    }

    [Fact]
    public async Task VideoUpload_OfFileWithoutVideoName_Returns400ForVideoName() =>
        await AssertRefusedNamingAsync("/v2/videos", new MultipartFormDataContent { { File(10, "video/mp4"), "file", "clip.mp4" } }, "video_name");

    [Fact]
    public async Task Videos_CanBeListedFetchedAndDeleted()
    {
        using var form = new MultipartFormDataContent { { new StringContent("https://example.com/v.mp4"), "video_url" } };
        using var upload = await _sim.Client.PostAsync("/v2/videos", form);
        var videoId = (await SimulatorHost.ReadJsonAsync(upload)).GetProperty("video_id").GetString()!;

        var listed = await _sim.GetJsonAsync("/v2/videos");
        var fetched = await _sim.GetJsonAsync($"/v2/videos/{videoId}");
        using var deleted = await _sim.Client.DeleteAsync($"/v2/videos/{videoId}");
        using var afterDelete = await _sim.Client.GetAsync($"/v2/videos/{videoId}");

        Assert.Contains(listed.GetProperty("results").EnumerateArray(), v => v.GetProperty("video_id").GetString() == videoId);
        Assert.Equal("https://example.com/v.mp4", fetched.GetProperty("metadata").GetProperty("source").GetString());
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, afterDelete.StatusCode);
    }

    [Fact]
    public async Task Search_EchoesTheQuery()
    {
        using var response = await _sim.PostJsonAsync("/v2/search", """{"query": "a red car"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await SimulatorHost.ReadJsonAsync(response);
        Assert.Equal("a red car", body.GetProperty("query").GetString());
        Assert.Contains("a red car", body.GetProperty("results")[0].GetProperty("caption").GetString());
    }

    private static StreamContent File(long bytes, string mediaType)
    {
        var content = new StreamContent(new GeneratedStream(bytes));
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }
}
