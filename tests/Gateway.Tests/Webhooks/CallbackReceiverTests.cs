using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Tests.Support;
using Reka.Gateway.Webhooks;

namespace Reka.Gateway.Tests.Webhooks;

public sealed class CallbackReceiverTests : IAsyncLifetime
{
    private RecordingUpstream _upstream = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _reka = null!;

    public async Task InitializeAsync()
    {
        _upstream = await RecordingUpstream.StartAsync();
        _upstream.Respond = async context =>
        {
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new { request_id = "req-42", status = "IN_QUEUE" });
        };
        _gateway = await GatewayHost.StartAsync(_upstream.BaseUrl);
        _reka = _gateway.CreateClient(); // Reka calls back without a gateway key
    }

    public async Task DisposeAsync()
    {
        _reka.Dispose();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<string> CallbackPathOfASubmitAsync()
    {
        using var alice = _gateway.CreateClient(TestClients.Alice);
        await alice.SubmitAsync();
        var sent = System.Text.Json.JsonDocument.Parse(_upstream.Requests[^1].Body).RootElement;
        return new Uri(sent.GetProperty("webhook_url").GetString()!).PathAndQuery;
    }

    [Fact]
    public async Task Callback_WithoutToken_Returns401_AndNothingIsStored()
    {
        var response = await _reka.PostAsync("/webhooks/inference", Json("""{"request_id":"req-42","status":"COMPLETED"}"""));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Empty(await _gateway.RedisKeysAsync());
    }

    [Fact]
    public async Task Callback_WithForgedToken_Returns401_AndNothingIsStored()
    {
        var forger = new CallbackTokens(
            Microsoft.Extensions.Options.Options.Create(new WebhooksOptions { CallbackSecret = "not-the-gateways-secret-0123456789abcdef" }),
            Microsoft.Extensions.Options.Options.Create(new Reka.Gateway.Infrastructure.GatewayOptions()));
        var forged = forger.Mint(CallbackTokens.NewSubmissionId());

        var response = await _reka.PostAsync($"/webhooks/inference?token={forged}", Json("""{"request_id":"req-42","status":"COMPLETED"}"""));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Empty(await _gateway.RedisKeysAsync());
    }

    [Fact]
    public async Task Callback_WithATamperedToken_Returns401()
    {
        var path = await CallbackPathOfASubmitAsync();
        var tampered = path[..^2] + (path[^2] == 'A' ? "B" : "A") + path[^1];

        var response = await _reka.PostAsync(tampered, Json("""{"request_id":"req-42"}"""));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""["req-42"]""")]
    [InlineData("""{"status":"COMPLETED"}""")]
    [InlineData("""{"request_id":42}""")]
    [InlineData("""{"request_id":"../../etc"}""")]
    public async Task Callback_WhoseBodyIsNotAnObjectWithARequestId_Returns400(string body)
    {
        var path = await CallbackPathOfASubmitAsync();

        var response = await _reka.PostAsync(path, Json(body));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Callback_ForAnotherRequestThanItsToken_Returns400()
    {
        var path = await CallbackPathOfASubmitAsync();

        var response = await _reka.PostAsync(path, Json("""{"request_id":"someone-elses-request","status":"COMPLETED"}"""));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("someone-elses-request", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Callback_OverMaxBodyBytes_Returns413()
    {
        var path = await CallbackPathOfASubmitAsync();
        var padding = new string('x', 1 << 20);

        var response = await _reka.PostAsync(path, Json($$"""{"request_id":"req-42","padding":"{{padding}}"}"""));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task GenuineCallback_IsAccepted_AndRecordedOnTheRequest()
    {
        var path = await CallbackPathOfASubmitAsync();
        var redis = (RedisStore)_gateway.Services.GetService(typeof(RedisStore))!;

        var response = await _reka.PostAsync(path, Json("""{"request_id":"req-42","status":"COMPLETED"}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // The callback is marked in its request's queue partition, where its processing job goes.
        var marks = redis.PartitionKey(redis.PartitionOf("req-42"), "callbacks:seen:req-42");
        Assert.True(await redis.Database.HashExistsAsync(marks, "COMPLETED"), "the callback is recorded");
    }

    /// <summary>The callback path of a submit Reka has not answered with a request id, so no request is bound to it yet.</summary>
    private async Task<string> CallbackPathOfAnUnboundSubmitAsync()
    {
        _upstream.Respond = async context =>
        {
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new { status = "IN_QUEUE" });
        };
        using var alice = _gateway.CreateClient(TestClients.Alice);
        using var submitted = await alice.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "a fox" } });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var sent = System.Text.Json.JsonDocument.Parse(_upstream.Requests[^1].Body).RootElement;
        return new Uri(sent.GetProperty("webhook_url").GetString()!).PathAndQuery;
    }

    [Fact]
    public async Task Callback_WithARepeatedRequestId_Returns400NamingIt_AndLogsNoError()
    {
        var path = await CallbackPathOfASubmitAsync();
        var redis = (RedisStore)_gateway.Services.GetService(typeof(RedisStore))!;

        var response = await _reka.PostAsync(path, Json("""{"request_id":"req-42","request_id":"req-42","status":"COMPLETED"}"""));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("$.request_id", problem.GetProperty("detail").GetString());
        Assert.Empty(_gateway.Logs.Errors);
        var marks = redis.PartitionKey(redis.PartitionOf("req-42"), "callbacks:seen:req-42");
        Assert.False(await redis.Database.KeyExistsAsync(marks), "the callback is not recorded");
    }

    [Fact]
    public async Task Callback_WithAStringThatIsNotValidUnicode_Returns400NamingIt()
    {
        var path = await CallbackPathOfASubmitAsync();
        var content = new ByteArrayContent([.. """{"request_id":"req-42","status":"COMPLETED"""u8, 0xFF, .. "\"}"u8]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await _reka.PostAsync(path, content);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("$.status", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Callback_WithARequestIdEndingInALineFeed_Returns400_AndBindsNothing()
    {
        var path = await CallbackPathOfAnUnboundSubmitAsync();

        var response = await _reka.PostAsync(path, Json("""{"request_id":"abc\n","status":"COMPLETED"}"""));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.DoesNotContain(await _gateway.RedisKeysAsync(), key => key.Contains("abc"));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData(null)]
    public async Task Callback_WithoutAJsonContentType_Returns415(string? contentType)
    {
        var path = await CallbackPathOfASubmitAsync();
        var content = new ByteArrayContent("""{"request_id":"req-42","status":"COMPLETED"}"""u8.ToArray());
        content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);

        var response = await _reka.PostAsync(path, content);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
    }
}
