using Microsoft.Extensions.DependencyInjection;
using Reka.Gateway.Infrastructure.Redis;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Reka.Gateway.Tests.Proxy;

/// <summary>Upstream's errors and failures as the caller sees them; an admin client, as these calls name requests the gateway has no record of.</summary>
[Collection(ProxyCollection.Name)]
public sealed class UpstreamFaultTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Theory]
    [InlineData(404, """{"error":{"type":"not_found_error","message":"no such request"}}""")]
    [InlineData(409, """{"error":{"type":"conflict_error","message":"already finished"}}""")]
    [InlineData(429, """{"error":{"code":"rate_limit_exceeded","message":"slow down"}}""")]
    [InlineData(500, """{"error":{"type":"server_error","message":"boom"}}""")]
    public async Task UpstreamError_PassesThroughUntouched_WithItsHeaders(int status, string body)
    {
        Upstream.Respond = async context =>
        {
            context.Response.StatusCode = status;
            context.Response.Headers["X-Request-ID"] = "upstream-request-7";
            context.Response.Headers["x-ratelimit-requests-limit"] = "100";
            context.Response.Headers["x-ratelimit-requests-remaining"] = "0";
            context.Response.Headers["x-ratelimit-requests-reset"] = "3600";
            context.Response.Headers["retry-after"] = "42";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body);
        };

        var response = await Ops.PostAsync("/v2/inference/requests/req-1/cancel", null);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("upstream-request-7", response.Headers.GetValues("X-Request-ID").Single());
        Assert.Equal("100", response.Headers.GetValues("x-ratelimit-requests-limit").Single());
        Assert.Equal("0", response.Headers.GetValues("x-ratelimit-requests-remaining").Single());
        Assert.Equal("3600", response.Headers.GetValues("x-ratelimit-requests-reset").Single());
        Assert.Equal("42", response.Headers.GetValues("retry-after").Single());
    }

    [Theory]
    [InlineData(404, "/v2/inference/requests/req-1/cancel", false)]
    [InlineData(409, "/v2/inference/requests/req-1/cancel", true)]
    [InlineData(401, "/v2/inference/requests/req-1/cancel", false)]
    [InlineData(404, "/v2/inference/requests/req-1/status", true)]
    public async Task UpstreamError_WithoutABody_PassesThroughWithoutOne(int status, string path, bool chunked)
    {
        // Not the gateway's error: it stays as upstream sent it, not dressed as the gateway's
        // problem details (which would say that no route of the gateway matches, say).
        Upstream.Respond = async context =>
        {
            context.Response.StatusCode = status;
            context.Response.Headers["X-Request-ID"] = "upstream-request-8";
            if (chunked)
            {
                await context.Response.StartAsync(); // no Content-Length: chunked, with no chunk
            }
        };

        var response = path.EndsWith("/cancel", StringComparison.Ordinal)
            ? await Ops.PostAsync(path, null)
            : await Ops.GetAsync(path);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
        Assert.Null(response.Content.Headers.ContentType);
        Assert.Equal("upstream-request-8", response.Headers.GetValues("X-Request-ID").Single());
    }

    /// <summary>Has the upstream answer 503 to the first call and <paramref name="then"/> to the others.</summary>
    private void UpstreamFailsOnceThen(Func<HttpContext, Task> then)
    {
        var calls = 0;
        Upstream.Respond = context =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                context.Response.StatusCode = 503;
                return Task.CompletedTask;
            }
            return then(context);
        };
    }

    [Fact]
    public async Task Get_IsRetriedAfterA503_AndTheCallerSeesTheSuccess()
    {
        UpstreamFailsOnceThen(context => context.Response.WriteAsJsonAsync(new { items = Array.Empty<object>(), next_offset = (int?)null, has_more = false }));

        var response = await Ops.GetAsync("/v2/inference/requests?limit=5");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, Upstream.Requests.Count);
        Assert.All(Upstream.Requests, r => Assert.Equal("/v2/inference/requests?limit=5", r.PathAndQuery));
    }

    [Fact]
    public async Task Get_ThatKeepsFailingWith503_GivesUpAfterBoundedRetries_AndPassesThe503Through()
    {
        Upstream.Respond = context =>
        {
            context.Response.StatusCode = 503;
            return context.Response.WriteAsync("""{"error":{"type":"server_error","message":"down"}}""");
        };

        var response = await Ops.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("down", await response.Content.ReadAsStringAsync());
        Assert.Equal(3, Upstream.Requests.Count); // 1 attempt + Upstream:Retry:MaxRetries (2)
    }

    [Fact]
    public async Task Get_WhoseAttemptsLoseTheirConnection_IsRetried_AndTheCallerSeesTheSuccess()
    {
        var calls = 0;
        Upstream.Respond = context =>
        {
            if (Interlocked.Increment(ref calls) <= 2)
            {
                context.Abort(); // The connection drops before any answer: HttpClient throws.
                return Task.CompletedTask;
            }
            return context.Response.WriteAsJsonAsync(new { items = Array.Empty<object>(), next_offset = (int?)null, has_more = false });
        };

        // A gateway of the test's own, logging its retries (the shared one logs warnings only).
        var gateway = await Stack.StartGatewayAsync(("Logging:LogLevel:Reka.Gateway.Proxy.UpstreamRetryHandler", "Information"));
        using var ops = gateway.CreateClient(TestClients.Ops);

        var response = await ops.GetAsync("/v2/inference/requests?limit=5");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, calls);
        // The gateway's retry, not only HttpClient's own resend of a request on a reused connection that closed.
        Assert.Contains(gateway.Logs.Entries, e => e.Message.StartsWith("Retrying upstream call", StringComparison.Ordinal) && e.Message.Contains(nameof(HttpRequestException)));
    }

    [Fact]
    public async Task Get_Answered503WithARetryAfterAboveTheLargestDelay_IsNotRetried_AndPassesThrough()
    {
        Upstream.Respond = context =>
        {
            context.Response.StatusCode = 503;
            context.Response.Headers.RetryAfter = "3600"; // Above Upstream:Retry:MaxDelaySeconds (2 s).
            return context.Response.WriteAsync("""{"error":{"type":"server_error","message":"maintenance"}}""");
        };

        var response = await Ops.GetAsync("/v2/inference/models");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("3600", response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        Assert.Contains("maintenance", await response.Content.ReadAsStringAsync());
        Assert.Single(Upstream.Requests);
    }

    [Fact]
    public async Task Chat_IsNotRetried_BecauseItHasNoIdempotencyKey()
    {
        Upstream.Respond = context => { context.Response.StatusCode = 503; return Task.CompletedTask; };

        var response = await Ops.PostAsync("/v2/inference/chat/completions", JsonContent.Create(new { model = "m", messages = Array.Empty<object>() }));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Single(Upstream.Requests);
    }

    [Fact]
    public async Task Submit_AcceptedWithAnAnswerWithoutRequestId_KeepsItsCheckAndItsQuotaSlot()
    {
        var gateway = await Stack.StartGatewayAsync(("Clients:bob:Quotas:MaxInFlight", "1"));
        Upstream.Respond = async context =>
        {
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new { status = "IN_QUEUE" }); // Reka started it; its id is not readable
        };
        using var bob = gateway.CreateClient(TestClients.Bob);
        Task<HttpResponseMessage> SubmitAsync() => bob.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }));

        Assert.Equal(HttpStatusCode.Accepted, (await SubmitAsync()).StatusCode);
        var second = await SubmitAsync();

        var problem = await ProblemAssert.IsProblemAsync(second, HttpStatusCode.TooManyRequests);
        Assert.Contains("max_in_flight", problem.GetProperty("detail").GetString());
        Assert.Contains(await gateway.RedisKeysAsync(), k => k.Contains(":submissions:job:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Submit_AcceptedUpstreamButWhoseAnswerStalls_IsAnErrorThatKeepsItsCheckAndItsQuotaSlot()
    {
        // Long enough for the 202's headers to reach the gateway first on a busy machine (a timeout
        // before them keeps the check and the slot too, as an outcome not known).
        var gateway = await Stack.StartGatewayAsync(("Clients:bob:Quotas:MaxInFlight", "1"), ("Proxy:Routes:submit:TimeoutSeconds", "2"));
        var release = new TaskCompletionSource();
        Upstream.Respond = async context =>
        {
            context.Response.StatusCode = 202; // Reka started it, and its answer stalls past the route's timeout
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = 100;
            await context.Response.WriteAsync("""{"request_id":"req-""");
            await context.Response.Body.FlushAsync();
            await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
        };
        using var bob = gateway.CreateClient(TestClients.Bob);
        Task<HttpResponseMessage> SubmitAsync() => bob.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }));

        var first = await SubmitAsync();
        release.SetResult();
        var second = await SubmitAsync();

        var timedOut = await ProblemAssert.IsProblemAsync(first, HttpStatusCode.GatewayTimeout);
        Assert.Contains("'submit' route's timeout of 2 s", timedOut.GetProperty("detail").GetString());
        // On-call reads the status the caller got.
        Assert.Contains(gateway.Logs.Entries, e => e.Message.StartsWith("Forwarding submit", StringComparison.Ordinal) && e.Message.Contains("answered 504"));
        var problem = await ProblemAssert.IsProblemAsync(second, HttpStatusCode.TooManyRequests);
        Assert.Contains("max_in_flight", problem.GetProperty("detail").GetString());
        var keys = await gateway.RedisKeysAsync();
        Assert.Contains(keys, k => k.Contains(":submissions:job:", StringComparison.Ordinal));
        var redis = gateway.Services.GetRequiredService<RedisStore>();
        var submission = Assert.Single(keys, k => k.Contains("submission:", StringComparison.Ordinal));
        Assert.Contains("body", (await redis.Database.HashGetAllAsync(submission)).Select(f => (string)f.Name!));
    }

    [Fact]
    public async Task Submit_WhoseCallerHangsUpBeforeRekaAnswers_KeepsItsCheckAndItsQuotaSlot()
    {
        var gateway = await Stack.StartGatewayAsync(("Clients:bob:Quotas:MaxInFlight", "1"));
        var answer = new TaskCompletionSource();
        Upstream.Respond = async context =>
        {
            await answer.Task.WaitAsync(TimeSpan.FromSeconds(30)); // Reka has the submit, and answers late
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new { request_id = "req-hung-up", status = "IN_QUEUE" });
        };
        using var bob = gateway.CreateClient(TestClients.Bob);
        Task<HttpResponseMessage> SubmitAsync(CancellationToken cancel = default) =>
            bob.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }), cancel);

        await HangUpOnceRekaHasItAsync(gateway, SubmitAsync);
        answer.SetResult();
        var second = await SubmitAsync();

        // Reka may have started it: it counts against the quota, and its check will learn the outcome.
        var problem = await ProblemAssert.IsProblemAsync(second, HttpStatusCode.TooManyRequests);
        Assert.Contains("max_in_flight", problem.GetProperty("detail").GetString());
        Assert.Single(Upstream.Requests);
        Assert.Contains(await gateway.RedisKeysAsync(), k => k.Contains(":submissions:job:", StringComparison.Ordinal));
    }

    // Sends a submit, hangs up once Reka has it, and returns once the gateway is done with it (its
    // response handler included: ASP.NET Core times the request after it).
    private async Task HangUpOnceRekaHasItAsync(GatewayHost gateway, Func<CancellationToken, Task<HttpResponseMessage>> submit)
    {
        using var metrics = gateway.RecordMetrics();
        using var hangUp = new CancellationTokenSource();
        var left = submit(hangUp.Token);
        await Eventually.ThatAsync(() => Task.FromResult(Upstream.Requests.Count == 1), 20, "Reka to have the submit");
        hangUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => left);
        await Eventually.ThatAsync(() => Task.FromResult(metrics.Has("http.server.request.duration", "http.route", "/v2/inference/{model}/{capability}")),
            20, "the left submit's request to end");
    }

    [Fact]
    public async Task Submit_LeftByItsCaller_ThenRetriedUnderItsKey_HoldsOneSlotAndOneDailySubmit_OnceItsCheckFindsTheReplay()
    {
        // The checks wait for the test to make them due.
        var gateway = await Stack.StartGatewayAsync(("Clients:bob:Quotas:MaxInFlight", "2"), ("Clients:bob:Quotas:DailySubmits", "2"),
            ("Webhooks:SubmitCheckAfterSeconds", "300"));
        var firstAnswer = new TaskCompletionSource();
        var calls = 0;
        var key = Guid.NewGuid().ToString();
        Upstream.Respond = async context =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await firstAnswer.Task.WaitAsync(TimeSpan.FromSeconds(30)); // Reka has it, and answers late
            }
            // The same request each time for the key, as Reka replays a key; a new one for another key.
            var replayed = context.Request.Headers["Idempotency-Key"] == "bob:" + key;
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new { request_id = replayed ? "req-retried" : $"req-{Guid.NewGuid():N}", status = "IN_QUEUE" });
        };
        using var bob = gateway.CreateClient(TestClients.Bob);
        Task<HttpResponseMessage> SubmitAsync(string idempotencyKey, CancellationToken cancel = default)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v2/inference/sam3/image-to-bbox")
            {
                Content = JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }),
            };
            request.Headers.Add("Idempotency-Key", idempotencyKey);
            return bob.SendAsync(request, cancel);
        }
        await HangUpOnceRekaHasItAsync(gateway, cancel => SubmitAsync(key, cancel));
        firstAnswer.SetResult();
        using var retried = await SubmitAsync(key);
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);

        // The left submit's check (the retry's was dropped at its bind), made due now: it sends the
        // submit again, and Reka's replay names the request the retry holds.
        await RunCheckAsync(gateway, submission => submission.IdempotencyKey == "bob:" + key, "not bound: Replayed");
        var redis = gateway.Services.GetRequiredService<RedisStore>();
        using var another = await SubmitAsync(Guid.NewGuid().ToString());

        // One inference runs: one slot of two is held and one submit of two counted today, so
        // another submit is admitted, and counted (the day's count given back once, not twice).
        Assert.True(another.StatusCode == HttpStatusCode.Accepted, await another.Content.ReadAsStringAsync());
        var usageKeys = gateway.Services.GetRequiredService<Reka.Gateway.Usage.UsageKeys>();
        Assert.Equal(2, (long)await redis.Database.StringGetAsync(usageKeys.DailySubmits("bob", Reka.Gateway.Usage.UsageKeys.Day(Stack.Clock.GetUtcNow()))));
    }

    [Fact]
    public async Task Submit_LeftByItsCaller_IsCountedInUsageOnce_ByTheFirstToBindIt_ItsCallback_NotItsCheck()
    {
        // The check waits for the test to make it due.
        var gateway = await Stack.StartGatewayAsync(("Webhooks:SubmitCheckAfterSeconds", "300"));
        var answer = new TaskCompletionSource();
        Upstream.Respond = async context =>
        {
            await answer.Task.WaitAsync(TimeSpan.FromSeconds(30)); // Reka has it, and answers late
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new { request_id = "req-left", status = "IN_QUEUE" });
        };
        using var bob = gateway.CreateClient(TestClients.Bob);
        await HangUpOnceRekaHasItAsync(gateway,
            cancel => bob.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }), cancel));
        answer.SetResult();

        // Reka's callback binds the request (nothing did: the submit's answer was never read), then
        // the check finds it bound.
        using var reka = gateway.CreateClient();
        using var callback = await reka.PostAsync(Assert.Single(Upstream.Requests).CallbackPath,
            new StringContent("""{"request_id":"req-left","status":"COMPLETED"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(callback.IsSuccessStatusCode, $"callback answered {callback.StatusCode}");
        await RunCheckAsync(gateway, _ => true, "bound to its owner");

        Assert.Equal("submits:sam3/image-to-bbox=1", await SubmitsCountedAsync(gateway, "bob"));
    }

    [Fact]
    public async Task Submit_WhoseCallbackBindsItBeforeItsAnswerIsRead_IsCountedInUsageOnce()
    {
        var gateway = await Stack.StartGatewayAsync();
        using var reka = gateway.CreateClient();
        Upstream.Respond = async context =>
        {
            if (context.Request.Method != "POST")
            {
                context.Response.StatusCode = 404; // the callback job's questions: not this test's
                return;
            }
            // Reka calls back before its answer to the submit is read (a quick inference, say).
            using var callback = await reka.PostAsync(Upstream.Requests.Last(r => r.Method == "POST").CallbackPath,
                new StringContent("""{"request_id":"req-quick","status":"COMPLETED"}""", System.Text.Encoding.UTF8, "application/json"));
            context.Response.StatusCode = callback.IsSuccessStatusCode ? 202 : 500;
            await context.Response.WriteAsJsonAsync(new { request_id = "req-quick", status = "IN_QUEUE" });
        };
        using var bob = gateway.CreateClient(TestClients.Bob);

        using var submitted = await bob.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }));

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode); // and so was the callback
        Assert.Equal("submits:sam3/image-to-bbox=1", await SubmitsCountedAsync(gateway, "bob"));
    }

    // The client's submits counted today in usage, flushed: "field=count", comma-separated.
    private async Task<string> SubmitsCountedAsync(GatewayHost gateway, string client)
    {
        await gateway.Services.GetRequiredService<Reka.Gateway.Usage.UsageLedger>().FlushAsync();
        var keys = gateway.Services.GetRequiredService<Reka.Gateway.Usage.UsageKeys>();
        var redis = gateway.Services.GetRequiredService<RedisStore>();
        var day = await redis.Database.HashGetAllAsync(keys.Daily(client, Reka.Gateway.Usage.UsageKeys.Day(Stack.Clock.GetUtcNow())));
        return string.Join(",", day.Where(e => e.Name.StartsWith("submits")).Select(e => $"{e.Name}={e.Value}"));
    }

    // Makes the one submission check of gateway's store whose submission matches due now, and
    // waits until it has logged an outcome containing outcome.
    private async Task RunCheckAsync(GatewayHost gateway, Func<Reka.Gateway.Requests.SubmissionState, bool> matches, string outcome)
    {
        var checks = gateway.Services.GetRequiredService<Reka.Gateway.Inference.SubmissionChecks>();
        var records = gateway.Services.GetRequiredService<Reka.Gateway.Requests.RequestRecords>();
        var redis = gateway.Services.GetRequiredService<RedisStore>();
        var waiting = new List<(int Partition, string Id)>();
        for (var partition = 0; partition < checks.Queue.Partitions; partition++)
        {
            foreach (var id in await redis.Database.SortedSetRangeByRankAsync(checks.Queue.DueKey(partition)))
            {
                if (await records.GetSubmissionAsync((string)id!) is { } submission && matches(submission))
                {
                    waiting.Add((partition, (string)id!));
                }
            }
        }
        var check = Assert.Single(waiting);
        Assert.True(await checks.Queue.RequeueAsync(redis.Database, check.Partition, check.Id, []));
        await checks.Queue.WakeAsync(check.Partition);
        await Eventually.ThatAsync(() => Task.FromResult(new[] { gateway, Gateway }.SelectMany(g => g.Logs.Entries)
                .Any(e => e.Message.Contains(check.Id) && e.Message.Contains(outcome))),
            20, $"the check of {check.Id} to end with \"{outcome}\"");
    }

    [Theory]
    [InlineData(409)] // Reka: the key's first submit is still in hand
    [InlineData(408)]
    public async Task Submit_ThatRekaAnswersWithAnOutcomeStillPending_KeepsItsCheckAndItsQuotaSlot(int status)
    {
        var gateway = await Stack.StartGatewayAsync(("Clients:bob:Quotas:MaxInFlight", "1"));
        Upstream.Respond = context =>
        {
            context.Response.StatusCode = status;
            return context.Response.WriteAsJsonAsync(new { error = new { type = "conflict_error", message = "in progress" } });
        };
        using var bob = gateway.CreateClient(TestClients.Bob);
        Task<HttpResponseMessage> SubmitAsync() => bob.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }));

        using var first = await SubmitAsync();
        using var second = await SubmitAsync();

        Assert.Equal(status, (int)first.StatusCode); // Reka's answer, passed through
        var problem = await ProblemAssert.IsProblemAsync(second, HttpStatusCode.TooManyRequests);
        Assert.Contains("max_in_flight", problem.GetProperty("detail").GetString());
        Assert.Single(Upstream.Requests);
        Assert.Contains(await gateway.RedisKeysAsync(), k => k.Contains(":submissions:job:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Submit_SentThenRetriedToARekaThatStoppedListening_KeepsItsCheckAndItsQuotaSlot()
    {
        // A Reka of the test's own, stopped between the first attempt and the retry.
        var reka = await RecordingUpstream.StartAsync();
        reka.Respond = context =>
        {
            // The retry comes 3 s later, on a new connection: by then Reka is gone.
            context.Response.StatusCode = 503;
            context.Response.Headers.RetryAfter = "3";
            context.Response.Headers.Connection = "close";
            return Task.CompletedTask;
        };
        var gateway = await Stack.StartGatewayAsync(("Upstream:BaseUrl", reka.BaseUrl), ("Clients:bob:Quotas:MaxInFlight", "1"),
            ("Upstream:Retry:MaxRetries", "1"), ("Upstream:Retry:MaxDelaySeconds", "5"));
        using var bob = gateway.CreateClient(TestClients.Bob);
        Task<HttpResponseMessage> SubmitAsync() => bob.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }));

        var first = SubmitAsync();
        await Eventually.ThatAsync(() => Task.FromResult(reka.Requests.Count == 1), 20, "the first attempt to reach Reka");
        await reka.DisposeAsync();
        using var answered = await first;
        using var second = await SubmitAsync();

        // The first attempt was sent (a 503 may come from before Reka, or after it started):
        // the retry's refused connection does not make the outcome known.
        await ProblemAssert.IsProblemAsync(answered, HttpStatusCode.BadGateway);
        var problem = await ProblemAssert.IsProblemAsync(second, HttpStatusCode.TooManyRequests);
        Assert.Contains("max_in_flight", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Submit_ToAnUnreachableReka_GivesItsQuotaSlotBack_AndLeavesNoCheck()
    {
        var gateway = await Stack.StartGatewayAsync(("Clients:bob:Quotas:MaxInFlight", "1"), ("Upstream:BaseUrl", $"http://127.0.0.1:{FreePort.Next()}"));
        using var bob = gateway.CreateClient(TestClients.Bob);
        Task<HttpResponseMessage> SubmitAsync() => bob.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }));

        using var first = await SubmitAsync();
        using var second = await SubmitAsync();

        // The connection was refused: nothing reached Reka, so nothing counts.
        await ProblemAssert.IsProblemAsync(first, HttpStatusCode.BadGateway);
        await ProblemAssert.IsProblemAsync(second, HttpStatusCode.BadGateway);
        Assert.DoesNotContain(await gateway.RedisKeysAsync(), k => k.Contains(":submissions:job:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Submit_ThatUpstreamRefuses_LeavesNoBodyInRedis()
    {
        var gateway = await Stack.StartGatewayAsync();
        Upstream.Respond = async context =>
        {
            context.Response.StatusCode = 422;
            await context.Response.WriteAsJsonAsync(new { error = new { type = "validation_error", message = "no such model" } });
        };
        using var alice = gateway.CreateClient(TestClients.Alice);
        var prompt = new string('p', 256 * 1024);

        var response = await alice.PostAsync("/v2/inference/no-such-model/x", JsonContent.Create(new { input = new { prompt } }));

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        var redis = gateway.Services.GetRequiredService<RedisStore>();
        var submission = Assert.Single(await gateway.RedisKeysAsync(), k => k.Contains("submission:", StringComparison.Ordinal));
        async Task<string[]> FieldsAsync() => (await redis.Database.HashGetAllAsync(submission)).Select(f => (string)f.Name!).ToArray();
        // Dropped as the submit settles, which may end after the caller has the whole answer.
        await Eventually.ThatAsync(async () => !(await FieldsAsync()).Contains("body"), 10, "the refused submit's body is dropped");
        Assert.Contains("owner", await FieldsAsync());
    }

    [Fact]
    public async Task Submit_IsRetriedAfterA503_WithTheSameIdempotencyKeyAndBody()
    {
        UpstreamFailsOnceThen(context =>
        {
            context.Response.StatusCode = 202;
            return context.Response.WriteAsJsonAsync(new { request_id = "r1", status = "IN_QUEUE" });
        });

        var response = await Ops.PostAsync("/v2/inference/kling-v3-pro/image-to-video", JsonContent.Create(new { input = new { prompt = "x" } }));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(2, Upstream.Requests.Count);
        var keys = Upstream.Requests.Select(r => r.Headers["Idempotency-Key"]).Distinct().ToArray();
        Assert.Single(keys);
        Assert.Equal(Encoding.UTF8.GetString(Upstream.Requests[0].Body), Encoding.UTF8.GetString(Upstream.Requests[1].Body));
    }

    [Fact]
    public async Task Submit_WithoutIdempotencyKey_LeavesWithANewUuid_EchoedToTheCaller()
    {
        var response = await Ops.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }));

        var echoed = response.Headers.GetValues("Idempotency-Key").Single();
        Assert.True(Guid.TryParse(echoed, out _), echoed);
        Assert.Equal($"ops:{echoed}", Assert.Single(Upstream.Requests).Headers["Idempotency-Key"]);
    }

    [Fact]
    public async Task Submit_WithTheCallersIdempotencyKey_LeavesScopedToTheClient_AndTheCallerSeesItsOwnKey()
    {
        async Task<HttpResponseMessage> SubmitAsync(HttpClient client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/inference/sam3/image-to-bbox")
            {
                Content = JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }),
            };
            request.Headers.Add("Idempotency-Key", "order-1");
            return await client.SendAsync(request);
        }

        var alices = await SubmitAsync(Alice);
        var bobs = await SubmitAsync(Bob);

        Assert.Equal(["alice:order-1", "bob:order-1"], Upstream.Requests.Select(r => r.Headers["Idempotency-Key"]));
        Assert.Equal("order-1", alices.Headers.GetValues("Idempotency-Key").Single());
        Assert.Equal("order-1", bobs.Headers.GetValues("Idempotency-Key").Single());
    }

    [Fact]
    public async Task Submit_AnsweredWithAnotherClientsRequest_Is409_AndTheCallerLearnsNothingOfIt()
    {
        // Keys are scoped per client upstream, so only a fault (or a key an older build sent
        // unscoped) makes Reka answer one client's submit with another's request.
        var requestId = $"req-{Guid.NewGuid():N}";
        Upstream.AcceptSubmitsAs(requestId);
        Assert.Equal(requestId, await Alice.SubmitAsync());

        var response = await Bob.PostAsync("/v2/inference/sam3/image-to-bbox", JsonContent.Create(new { input = new { image_url = "https://x/y.png" } }));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Contains("another client", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(requestId, await response.Content.ReadAsStringAsync());
        Upstream.Respond = context => context.Response.WriteAsJsonAsync(new { request_id = requestId, status = "RUNNING" });
        Assert.Equal(HttpStatusCode.NotFound, (await Bob.GetAsync($"/v2/inference/requests/{requestId}/status")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Alice.GetAsync($"/v2/inference/requests/{requestId}/status")).StatusCode);
    }

    [Fact]
    public async Task UnreachableUpstream_Returns502ProblemDetails_WithoutTheTeamKey()
    {
        var gateway = await Stack.StartGatewayAsync(("Upstream:BaseUrl", $"http://127.0.0.1:{FreePort.Next()}"));
        using var http = gateway.CreateClient(TestClients.Alice);

        var response = await http.GetAsync("/v2/inference/models");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadGateway);
        Assert.Contains("Could not reach upstream", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(TestClients.TeamKey, problem.ToString());
    }

    [Fact]
    public async Task SlowUpstream_Returns504ProblemDetails_AfterTheRoutesTimeout()
    {
        var gateway = await Stack.StartGatewayAsync(("Proxy:Routes:status:TimeoutSeconds", "0.5"));
        using var ops = gateway.CreateClient(TestClients.Ops);
        var release = new TaskCompletionSource();
        Upstream.Respond = async context =>
        {
            await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await context.Response.WriteAsync("{}");
        };

        var response = await ops.GetAsync("/v2/inference/requests/req-1/status");
        release.SetResult();

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.GatewayTimeout);
        Assert.Contains("timeout of 0.5 s", problem.GetProperty("detail").GetString());
    }
}
