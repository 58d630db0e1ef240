using System.Net.Http.Headers;

namespace Reka.Gateway.Tests.Inference;

[Collection(ProxyCollection.Name)]
public sealed class ValidationTests(RecordingStack stack) : RecordingStackTests(stack)
{
    public static TheoryData<string, string> InvalidSubmits => new()
    {
        { "not json at all", "body" },
        { "[1, 2]", "body" },
        { "", "body" },
        { """{"webhook_url":"http://127.0.0.1:9/x"}""", "input" },
        { """{"input":"a prompt"}""", "input" },
        { """{"input":null}""", "input" },
        { """{"input":{},"webhook_url":"/relative/path"}""", "webhook_url" },
        { """{"input":{},"webhook_url":"ftp://hooks.example/x"}""", "webhook_url" },
        { """{"input":{},"webhook_url":""}""", "webhook_url" },
        { """{"input":{},"webhook_url":42}""", "webhook_url" },
        { $$"""{"input":{},"webhook_url":"http://127.0.0.1:9/{{new string('a', 2065)}}"}""", "webhook_url" },
    };

    [Theory]
    [MemberData(nameof(InvalidSubmits))]
    public async Task Submit_WithInvalidBody_Returns400NamingTheField_AndUpstreamSeesNothing(string body, string field)
    {
        var response = await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video", new StringContent(body, Encoding.UTF8, "application/json"));

        await ProblemAssert.IsValidationProblemAsync(response, field);
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Submit_WithSeveralBadFields_NamesEachOfThem()
    {
        var response = await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video",
            new StringContent("""{"input":[],"webhook_url":"nope"}""", Encoding.UTF8, "application/json"));

        await ProblemAssert.IsValidationProblemAsync(response, "input", "webhook_url");
    }

    [Fact]
    public async Task Submit_WithWebhookUrlOf2083Characters_IsForwarded()
    {
        var url = "http://127.0.0.1:9/" + new string('a', 2083 - "http://127.0.0.1:9/".Length);
        var response = await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video", JsonContent.Create(new { input = new { }, webhook_url = url }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(Upstream.Requests);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary><paramref name="json"/> in UTF-8, with <paramref name="raw"/> bytes in place of its '§'.</summary>
    private static byte[] WithRawBytes(string json, params byte[] raw)
    {
        var at = json.IndexOf('§');
        return [.. Encoding.UTF8.GetBytes(json[..at]), .. raw, .. Encoding.UTF8.GetBytes(json[(at + 1)..])];
    }

    public static TheoryData<string, string, string> RepeatedMembers => new()
    {
        { """{"input":{"prompt":"a"},"input":{"prompt":"b"}}""", "input", "$.input" },
        { """{"input":{},"webhook_url":"http://127.0.0.1:9/a","webhook_url":"http://127.0.0.1:9/b"}""", "webhook_url", "$.webhook_url" },
        { """{"input":{"prompt":"a","prompt":"b"}}""", "input.prompt", "$.input.prompt" },
        { """{"input":{"prompt":"a","pro\u006dpt":"b"}}""", "input.prompt", "$.input.prompt" },
    };

    [Theory]
    [MemberData(nameof(RepeatedMembers))]
    public async Task Submit_WithARepeatedMember_Returns400NamingIt_AndUpstreamSeesNothing(string body, string field, string path)
    {
        var response = await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video", Json(body));

        var problem = await ProblemAssert.IsValidationProblemAsync(response, field);
        Assert.Contains(path, problem.GetProperty("detail").GetString());
        Assert.Empty(Upstream.Requests);
        Assert.Empty(Gateway.Logs.Errors);
    }

    public static TheoryData<byte[], string> InvalidUnicode => new()
    {
        { WithRawBytes("""{"input":{"prompt":"fox§"}}""", 0xFF), "input.prompt" },
        { WithRawBytes("""{"input":{"prompt":"fox§ in snow"}}""", 0xC3, 0x28), "input.prompt" },
        { WithRawBytes("""{"input":{"prompt":"§"}}""", 0xC0, 0xAF), "input.prompt" },
        { WithRawBytes("""{"input":{"prompt":"§"}}""", 0xED, 0xA0, 0x80), "input.prompt" },
        { Encoding.UTF8.GetBytes("""{"input":{"prompt":"fox\ud800"}}"""), "input.prompt" },
        { WithRawBytes("""{"input":{"images":["ok","§"]}}""", 0xFE), "input.images[1]" },
        { WithRawBytes("""{"input":{"pr§":"fox"}}""", 0xFF), "input" },
    };

    [Theory]
    [MemberData(nameof(InvalidUnicode))]
    public async Task Submit_WithAStringThatIsNotValidUnicode_Returns400NamingIt_AndUpstreamSeesNothing(byte[] body, string field)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video", content);

        await ProblemAssert.IsValidationProblemAsync(response, field);
        Assert.Empty(Upstream.Requests);
        Assert.Empty(Gateway.Logs.Errors);
    }

    [Fact]
    public async Task Submit_WithAByteOrderMarkAndTextBeyondAscii_IsForwardedWithTheTextUnchanged()
    {
        var content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("""{"input":{"prompt":"renard roux 🦊 \ud83e\udd8a"}}""")]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = JsonDocument.Parse(Assert.Single(Upstream.Requests).Body).RootElement;
        Assert.Equal("renard roux 🦊 🦊", sent.GetProperty("input").GetProperty("prompt").GetString());
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public async Task Submit_WithoutAJsonContentType_Returns415NamingApplicationJson_AndUpstreamSeesNothing(string? contentType)
    {
        var content = new ByteArrayContent("""{"input":{"prompt":"a red fox"}}"""u8.ToArray());
        content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);

        var response = await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video", content);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
        Assert.Empty(Upstream.Requests);
        Assert.Empty(Gateway.Logs.Errors);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/vnd.reka+json")]
    [InlineData("Application/JSON")]
    public async Task Submit_WithAJsonMediaType_IsForwarded(string contentType)
    {
        var content = new ByteArrayContent("""{"input":{"prompt":"a red fox"}}"""u8.ToArray());
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        var response = await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(Upstream.Requests);
    }

    [Fact]
    public async Task Submit_WithAWebhookUrlCarryingCredentials_Returns400WithoutRepeatingThem()
    {
        var response = await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video",
            JsonContent.Create(new { input = new { }, webhook_url = "http://hook-user:hook-s3cret@127.0.0.1:9/x" }));

        var problem = await ProblemAssert.IsValidationProblemAsync(response, "webhook_url");
        Assert.DoesNotContain("hook-", problem.GetRawText());
        Assert.DoesNotContain(Gateway.Logs.Entries, e => e.Message.Contains("hook-s3cret"));
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("offset=-1", "offset")]
    [InlineData("offset=1.5", "offset")]
    [InlineData("start=yesterday", "start")]
    [InlineData("end=2024-13-45T99:00:00Z", "end")]
    [InlineData("start=2024-02-01T00:00:00Z&end=2024-01-01T00:00:00Z", "end")]
    [InlineData("start=2024-01-01T00:00:00Z&end=2024-01-01T00:00:00Z", "end")]
    [InlineData("limit=0&offset=-3", "limit,offset")]
    [InlineData("start=2024-01-15T09:30:00Z%0A", "start")]
    public async Task List_WithInvalidQuery_Returns400NamingEachField_AndUpstreamSeesNothing(string query, string fields)
    {
        var response = await Alice.GetAsync("/v2/inference/requests?" + query);

        await ProblemAssert.IsValidationProblemAsync(response, fields.Split(','));
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData("limit=1&offset=0")]
    [InlineData("limit=100&offset=250")]
    [InlineData("start=2024-01-15T09:30:00Z&end=2024-01-16")]
    [InlineData("start=2024-01-15T09:30:00.123%2B02:00")]
    public async Task List_WithValidQuery_IsForwardedUnchanged(string query)
    {
        var response = await Alice.GetAsync("/v2/inference/requests?" + query);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/v2/inference/requests?" + query, Assert.Single(Upstream.Requests).PathAndQuery);
    }

    [Theory]
    [InlineData("/v2/inference/requests/a%20b")]
    [InlineData("/v2/inference/requests/a%2Fb/status")]
    [InlineData("/v2/inference/requests/%3Cscript%3E/cancel")]
    public async Task RequestId_ThatIsNotASafePathSegment_Returns400(string path)
    {
        var method = path.EndsWith("/cancel") ? HttpMethod.Post : HttpMethod.Get;

        var response = await Alice.SendAsync(new HttpRequestMessage(method, path));

        await ProblemAssert.IsValidationProblemAsync(response, "request_id");
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData("GET", "/v2/inference/requests/abc%0A/status")]
    [InlineData("GET", "/v2/inference/requests/abc%0A")]
    [InlineData("POST", "/v2/inference/requests/abc%0A/cancel")]
    public async Task RequestId_EndingInALineFeed_Returns400_AndUpstreamSeesNothing(string method, string path)
    {
        // An admin client: for it an unknown request goes upstream, so only validation stops it.
        var response = await Ops.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await ProblemAssert.IsValidationProblemAsync(response, "request_id");
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task RequestId_LongerThan128Characters_Returns400()
    {
        var response = await Alice.GetAsync("/v2/inference/requests/" + new string('r', 129));

        await ProblemAssert.IsValidationProblemAsync(response, "request_id");
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Status_WithNonBooleanWithLogs_Returns400()
    {
        var response = await Alice.GetAsync("/v2/inference/requests/r1/status?with_logs=maybe");

        await ProblemAssert.IsValidationProblemAsync(response, "with_logs");
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Submit_OverTheRoutesBodyCap_Returns413ProblemDetails()
    {
        var gateway = await Stack.StartGatewayAsync(("Proxy:Routes:submit:MaxBodyBytes", "1000"));
        using var http = gateway.CreateClient(TestClients.Alice);

        var response = await http.PostAsync("/v2/inference/sora-2-pro/image-to-video", JsonContent.Create(new { input = new { prompt = new string('p', 2000) } }));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Empty(Upstream.Requests);
    }
}
