using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Requests;
using Reka.Gateway.Webhooks;

namespace Reka.Gateway.Tests.Webhooks;

/// <summary>
/// The receiver of Reka's callbacks. Each test's upstream answers its submit with a request id of
/// the test's own, so that nothing an earlier test recorded on the shared gateway is taken for its own.
/// </summary>
[Collection(CallbacksCollection.Name)]
public sealed class CallbackReceiverTests : RecordingStackTests, IDisposable
{
    private readonly string _requestId = $"req-{Guid.NewGuid():N}";
    private readonly HttpClient _reka;

    public CallbackReceiverTests(RecordingStack stack) : base(stack)
    {
        _reka = Gateway.CreateClient(); // Reka calls back without a gateway key
    }

    public void Dispose() => _reka.Dispose();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private string Callback(string status) => $$"""{"request_id":"{{_requestId}}","status":"{{status}}"}""";

    private async Task<string> CallbackPathOfASubmitAsync()
    {
        Upstream.AcceptSubmitsAs(_requestId);
        await Alice.SubmitAsync();
        return Upstream.Requests.Last(r => r.Method == "POST").CallbackPath;
    }

    // "Nothing is stored" is about the whole store: these tests have a gateway, and a key prefix, of
    // their own; what it holds before the callback is what the gateway wrote at start (the
    // console's Data Protection key ring).
    [Fact]
    public async Task Callback_WithoutToken_Returns401_AndNothingIsStored()
    {
        var gateway = await Stack.StartGatewayAsync();
        using var reka = gateway.CreateClient();
        var before = await gateway.RedisKeysAsync();

        var response = await reka.PostAsync("/webhooks/inference", Json(Callback("COMPLETED")));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal(before.Order(), (await gateway.RedisKeysAsync()).Order());
    }

    [Fact]
    public async Task Callback_WithForgedToken_Returns401_AndNothingIsStored()
    {
        var forger = new CallbackTokens(
            Microsoft.Extensions.Options.Options.Create(new WebhooksOptions { CallbackSecret = "not-the-gateways-secret-0123456789abcdef" }),
            Microsoft.Extensions.Options.Options.Create(new Reka.Gateway.Infrastructure.GatewayOptions()));
        var forged = forger.Mint(CallbackTokens.NewSubmissionId());
        var gateway = await Stack.StartGatewayAsync();
        using var reka = gateway.CreateClient();
        var before = await gateway.RedisKeysAsync();

        var response = await reka.PostAsync($"/webhooks/inference?token={forged}", Json(Callback("COMPLETED")));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal(before.Order(), (await gateway.RedisKeysAsync()).Order());
    }

    [Fact]
    public async Task Callback_WithATamperedToken_Returns401()
    {
        var path = await CallbackPathOfASubmitAsync();
        var tampered = path[..^2] + (path[^2] == 'A' ? "B" : "A") + path[^1];

        var response = await _reka.PostAsync(tampered, Json($$"""{"request_id":"{{_requestId}}"}"""));

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

        // Expect: 100-continue, so the client hears the 413 before sending the body the gateway
        // refuses (sent at once, the body's write could meet the closed connection first).
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = Json($$"""{"request_id":"{{_requestId}}","padding":"{{padding}}"}"""),
        };
        request.Headers.ExpectContinue = true;
        var response = await _reka.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task GenuineCallback_IsAccepted_AndRecordedOnTheRequest()
    {
        var path = await CallbackPathOfASubmitAsync();

        var response = await _reka.PostAsync(path, Json(Callback("COMPLETED")));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // The callback is marked in its request's queue partition, where its processing job goes.
        var (redis, marks) = CallbackMarks();
        Assert.True(await redis.Database.HashExistsAsync(marks, "COMPLETED"), "the callback is recorded");
    }

    /// <summary>Where the receiver of <paramref name="gateway"/> (by default the shared one) marks the callbacks of the test's request.</summary>
    private (RedisStore Redis, StackExchange.Redis.RedisKey Marks) CallbackMarks(GatewayHost? gateway = null)
    {
        var redis = (RedisStore)(gateway ?? Gateway).Services.GetService(typeof(RedisStore))!;
        return (redis, redis.PartitionKey(redis.PartitionOf(_requestId), "callbacks:seen:" + _requestId));
    }

    /// <summary>The callback path of a submit Reka has not answered with a request id, so no request is bound to it yet.</summary>
    private async Task<string> CallbackPathOfAnUnboundSubmitAsync()
    {
        Upstream.Respond = async context =>
        {
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new { status = "IN_QUEUE" });
        };
        using var submitted = await Alice.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "a fox" } });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        return Upstream.Requests.Last(r => r.Method == "POST").CallbackPath;
    }

    /// <summary>A gateway that plans a look at each bound request, as by default (not due on the test's clock).</summary>
    private Task<GatewayHost> GatewayPlanningLooksAsync() => Stack.StartGatewayAsync(("Webhooks:ReconcileAfterSeconds", "600"));

    [Fact]
    public async Task Callback_ProvenByThePlannedJob_IsAcceptedWithoutABind_AndItsJobRebuildsALostRecordAtItsFirstTry()
    {
        var gateway = await GatewayPlanningLooksAsync();
        using var reka = gateway.CreateClient();
        using var alice = gateway.CreateClient(TestClients.Alice);
        // Reka's answers to the callback job wait for the test: nothing the job does can be taken
        // for the receiver's work.
        var upstreamAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Upstream.Respond = async context =>
        {
            if (context.Request.Method == "GET")
            {
                await upstreamAsked.Task;
            }
            context.Response.StatusCode = context.Request.Method == "GET" ? 200 : 202;
            await context.Response.WriteAsJsonAsync(new { request_id = _requestId, status = "IN_QUEUE" });
        };
        await alice.SubmitAsync();
        var path = Upstream.Requests.Last(r => r.Method == "POST").CallbackPath;
        var (redis, marks) = CallbackMarks(gateway);
        var records = gateway.Services.GetRequiredService<RequestRecords>();
        var queue = gateway.Services.GetRequiredService<CallbackInbox>().Queue;
        var job = queue.JobKey(queue.PartitionOf(_requestId), _requestId);
        // As a failover after the submit's bind might.
        Assert.True(await redis.Database.KeyDeleteAsync(records.RequestKey(_requestId)), "the submit bound the request");

        try
        {
            var response = await reka.PostAsync(path, Json(Callback("COMPLETED")));

            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.True(await redis.Database.HashExistsAsync(marks, "COMPLETED"), "the callback is recorded");
            // A bind would have rebuilt the record from the submission's.
            Assert.False(await redis.Database.KeyExistsAsync(records.RequestKey(_requestId)), "the receiver bound the request again");
        }
        finally
        {
            upstreamAsked.SetResult();
        }

        // Reka says IN_QUEUE: the job's first try ends in a retry, and has rebuilt the record before it.
        await Eventually.ThatAsync(async () => (string?)await redis.Database.HashGetAsync(job, CallbackInbox.JobFields.Tries) == "1", 30,
            "the callback job's first try");
        Assert.Equal(TestClients.Alice.Name, (await records.GetAsync(_requestId)).Owner);
    }

    [Fact]
    public async Task Callback_WithTheTokenOfAnotherClientsSubmit_IsRefused_ThoughThePlannedJobExists()
    {
        var gateway = await GatewayPlanningLooksAsync();
        using var reka = gateway.CreateClient();
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);
        Upstream.AcceptSubmitsAs(_requestId);
        await alice.SubmitAsync();
        Upstream.Respond = async context =>
        {
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new { status = "IN_QUEUE" });
        };
        using var submitted = await bob.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "a fox" } });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var bobsPath = Upstream.Requests.Last(r => r.Method == "POST").CallbackPath;

        var response = await reka.PostAsync(bobsPath, Json(Callback("COMPLETED")));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        var (redis, marks) = CallbackMarks(gateway);
        Assert.False(await redis.Database.KeyExistsAsync(marks), "the callback is not recorded");
        Assert.Equal(TestClients.Alice.Name, (await gateway.Services.GetRequiredService<RequestRecords>().GetAsync(_requestId)).Owner);
    }

    [Fact]
    public async Task Callback_WithARepeatedRequestId_Returns400NamingIt_AndLogsNoError()
    {
        var path = await CallbackPathOfASubmitAsync();

        var response = await _reka.PostAsync(path, Json($$"""{"request_id":"{{_requestId}}","request_id":"{{_requestId}}","status":"COMPLETED"}"""));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("$.request_id", problem.GetProperty("detail").GetString());
        Assert.Empty(Gateway.Logs.Errors);
        var (redis, marks) = CallbackMarks();
        Assert.False(await redis.Database.KeyExistsAsync(marks), "the callback is not recorded");
    }

    [Fact]
    public async Task Callback_WithAStringThatIsNotValidUnicode_Returns400NamingIt()
    {
        var path = await CallbackPathOfASubmitAsync();
        var content = new ByteArrayContent([.. Encoding.UTF8.GetBytes($$"""{"request_id":"{{_requestId}}","status":"COMPLETED"""), 0xFF, .. "\"}"u8]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await _reka.PostAsync(path, content);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("$.status", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Callback_WithARequestIdEndingInALineFeed_Returns400_AndBindsNothing()
    {
        var path = await CallbackPathOfAnUnboundSubmitAsync();

        // Not hexadecimal: no key prefix or request id of the store can hold it by chance.
        var response = await _reka.PostAsync(path, Json("""{"request_id":"bound-nowhere\n","status":"COMPLETED"}"""));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.DoesNotContain(await Gateway.RedisKeysAsync(), key => key.Contains("bound-nowhere"));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData(null)]
    public async Task Callback_WithoutAJsonContentType_Returns415(string? contentType)
    {
        var path = await CallbackPathOfASubmitAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Callback("COMPLETED")));
        content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);

        var response = await _reka.PostAsync(path, content);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
    }
}
