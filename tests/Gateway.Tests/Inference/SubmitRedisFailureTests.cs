using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Reka.Gateway.Delivery;
using Reka.Gateway.Inference;
using Reka.Gateway.Tests.Support;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Inference;

/// <summary>
/// Redis (append-only file on) killed at each step of the submit path, with a stream of submits
/// in flight: before the submits are recorded (all refused 503, nothing reaches Reka), while Reka
/// holds them, and between Reka's 202 and the gateway's record of it. Reka's callbacks meet the
/// outage and give up. Every submit answered 202 must end with its owner able to read it (and no
/// one else), and its webhook delivered once; Reka runs each inference once.
/// </summary>
public sealed class SubmitRedisFailureTests(ITestOutputHelper output)
{
    private const int InFlight = 6;

    [Fact]
    public async Task RedisKilledAtEachStepOfTheSubmitPath_EverySubmitAnswered202IsReadableByItsOwnerAndDelivered()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: true);
        await using var simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:QueueSeconds"] = "0",
            ["Simulator:RunSeconds"] = "0.1",
            // Reka's callbacks give up while Redis is down: only the gateway's own check can recover.
            ["Simulator:Webhook:RetrySchedule:0"] = "0.05",
            ["Simulator:Webhook:RetrySchedule:1"] = "0.05",
        });
        await using var reka = await RecordingUpstream.StartAsync();
        var steps = new SteppedUpstream(reka, simulator);
        await using var subscriber = await WebhookSubscriber.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(reka.BaseUrl,
        [
            new("Redis:Configuration", redis.Configuration),
            new("Webhooks:SubmitCheckAfterSeconds", "1"),
            new("Webhooks:Processing:PollSeconds", "0.2"),
        ]);
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);

        // 1. Redis dies before the submits are recorded: refused, nothing reaches Reka.
        await redis.StopAsync();
        var refused = await Task.WhenAll(Enumerable.Range(0, InFlight).Select(i => SubmitAsync(alice, subscriber, $"before-{i}")));
        foreach (var (response, _) in refused)
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.Contains("not sent upstream", problem.GetProperty("detail").GetString());
            Assert.False(string.IsNullOrEmpty(response.Headers.GetValues("Idempotency-Key").Single()));
        }
        Assert.Empty(steps.Submits);
        await RestartAsync(redis, gateway);

        // 2. Redis dies while Reka holds the submits; 3. after Reka's 202, before the gateway records
        // it. Each step is checked, and its fan-outs finished, before the next kills Redis again: a
        // fan-out cut by that kill would be sent again (at least once), and this test counts
        // deliveries exactly.
        var fanOuts = ((Deliveries)gateway.Services.GetService(typeof(Deliveries))!).FanOutQueue;
        foreach (var (step, prompt, name) in new[]
        {
            (SteppedUpstream.Step.BeforeUpstream, "upstream", "while upstream holds the submit"),
            (SteppedUpstream.Step.AfterUpstream, "accepted", "between upstream's 202 and the record"),
        })
        {
            var accepted = await RunStepAsync(steps, step, prompt, alice, subscriber, simulator, redis, gateway);
            var retrievable = (await Task.WhenAll(accepted.Select(id => ReadableAsync(alice, id)))).Count(readable => readable);
            foreach (var requestId in accepted)
            {
                using var foreign = await bob.GetAsync($"/v2/inference/requests/{requestId}");
                Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
            }
            await subscriber.WaitForRequestsAsync(accepted, timeoutSeconds: 60);
            await Eventually.ThatAsync(async () => (await fanOuts.StatsAsync()).Depth == 0, 60, "every fan-out to be finished");
            var deliveries = subscriber.Received;
            var delivered = accepted.Count(id => deliveries.Count(d => d.Json.GetProperty("request_id").GetString() == id) == 1);
            output.WriteLine($"Redis killed {name}: accepted {accepted.Count} / retrievable {retrievable} / delivered {delivered}");
            Assert.Equal(InFlight, accepted.Count);
            Assert.Equal(accepted.Count, retrievable);
            Assert.Equal(accepted.Count, delivered);
        }

        // Reka ran each inference once: the checks' second sends were answered with the original request.
        var distinct = steps.Accepted.Distinct().Count();
        output.WriteLine($"submits sent to Reka: {steps.Submits.Count}, inferences started: {distinct}");
        Assert.Equal(2 * InFlight, distinct);
        Assert.True(steps.Submits.Count > distinct, "the gateway's checks sent the unrecorded submits again");
        Assert.DoesNotContain(steps.Submits, body => body.Contains("before-", StringComparison.Ordinal));
        Assert.Equal(2 * InFlight, gateway.Logs.Entries.Count(e => e.Message.Contains("checked after its submit could not finish its own steps")));
        var checks = (SubmissionChecks)gateway.Services.GetService(typeof(SubmissionChecks))!;
        Assert.Equal(0, (await checks.Queue.StatsAsync()).Depth);
        // The only errors allowed are the health service's own lines for the /readyz probes this
        // test sends while Redis is down or the gateway has not reconnected yet.
        Assert.DoesNotContain(gateway.Logs.Errors, e => e.Category != "Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService");
    }

    // Sends InFlight submits; Redis is killed when all of them reach `step`; Reka's callbacks for
    // them fail until they give up, then Redis comes back. Returns the request ids answered 202.
    private async Task<IReadOnlyList<string>> RunStepAsync(SteppedUpstream steps, SteppedUpstream.Step step, string prompt,
        HttpClient client, WebhookSubscriber subscriber, SimulatorHost simulator, RedisServer redis, GatewayHost gateway)
    {
        steps.KillAt(step, InFlight, redis.StopAsync);
        var responses = await Task.WhenAll(Enumerable.Range(0, InFlight).Select(i => SubmitAsync(client, subscriber, $"{prompt}-{i}")));
        var accepted = new List<string>();
        foreach (var (response, body) in responses)
        {
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"submit answered {(int)response.StatusCode}: {body}");
            accepted.Add(JsonDocument.Parse(body).RootElement.GetProperty("request_id").GetString()!);
        }
        Assert.False(redis.IsRunning);
        foreach (var requestId in accepted)
        {
            await Eventually.ThatAsync(async () =>
                (await simulator.GetJsonAsync($"/_simulator/requests/{requestId}")).GetProperty("webhook_attempts").GetArrayLength() == 3,
                20, $"Reka's callbacks for {requestId} to give up");
        }
        await RestartAsync(redis, gateway);
        return accepted;
    }

    // Whether the owner can read the request, completed, within 60 s (a bound for a loaded machine;
    // it is usually a few seconds): until its check has run, a
    // submit whose record Redis lost the bind of is unknown to the gateway (404).
    private async Task<bool> ReadableAsync(HttpClient owner, string requestId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            using var result = await owner.GetAsync($"/v2/inference/requests/{requestId}?wait=5");
            last = $"{(int)result.StatusCode} {await result.Content.ReadAsStringAsync()}";
            if (result.StatusCode == HttpStatusCode.OK && JsonDocument.Parse(last[4..]).RootElement.GetProperty("status").GetString() == "COMPLETED")
            {
                return true;
            }
            await Task.Delay(100);
        }
        output.WriteLine($"{requestId} never readable by its owner; last answer {last}");
        return false;
    }

    private static async Task<(HttpResponseMessage Response, string Body)> SubmitAsync(HttpClient client, WebhookSubscriber subscriber, string prompt)
    {
        var response = await client.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video",
            new { input = new { prompt }, webhook_url = subscriber.Url() });
        return (response, await response.Content.ReadAsStringAsync());
    }

    private static async Task RestartAsync(RedisServer redis, GatewayHost gateway)
    {
        await redis.RestartAsync();
        await gateway.WaitUntilReadyAsync();
    }

    /// <summary>
    /// Reka as the gateway sees it: a real host that passes every call on to the simulator, and
    /// can hold submits until a number of them have reached a step, run an action (kill Redis),
    /// and let them all go on.
    /// </summary>
    private sealed class SteppedUpstream
    {
        private readonly HttpClient _simulator;
        private readonly object _gate = new();
        private Step _step;
        private int _expected;
        private int _arrived;
        private Func<Task>? _action;
        private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public enum Step { None, BeforeUpstream, AfterUpstream }

        public SteppedUpstream(RecordingUpstream front, SimulatorHost simulator)
        {
            _simulator = simulator.Anonymous;
            front.Respond = RespondAsync;
        }

        /// <summary>Bodies of the submits that reached Reka.</summary>
        public ConcurrentQueue<string> Submits { get; } = new();

        /// <summary>Request ids Reka answered submits with (repeats included).</summary>
        public ConcurrentQueue<string> Accepted { get; } = new();

        public void KillAt(Step step, int count, Func<Task> action)
        {
            lock (_gate)
            {
                (_step, _expected, _arrived, _action) = (step, count, 0, action);
                _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        private async Task RespondAsync(HttpContext context)
        {
            var submit = context.Request.Method == "POST" && context.Request.Path.StartsWithSegments("/v2/inference")
                && !context.Request.Path.Value!.Contains("/requests/", StringComparison.Ordinal);
            var body = submit ? System.Text.Encoding.UTF8.GetString(await ReadBodyAsync(context)) : null;
            if (submit)
            {
                Submits.Enqueue(body!);
                await ReachAsync(Step.BeforeUpstream);
            }
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
            foreach (var header in new[] { "X-Api-Key", "Idempotency-Key" })
            {
                if (context.Request.Headers.TryGetValue(header, out var value))
                {
                    request.Headers.Add(header, value.ToString());
                }
            }
            if (body is not null)
            {
                request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            }
            using var response = await _simulator.SendAsync(request);
            var answer = await response.Content.ReadAsByteArrayAsync();
            if (submit && response.StatusCode == HttpStatusCode.Accepted)
            {
                Accepted.Enqueue(JsonDocument.Parse(answer).RootElement.GetProperty("request_id").GetString()!);
                await ReachAsync(Step.AfterUpstream);
            }
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            await context.Response.Body.WriteAsync(answer);
        }

        private async Task ReachAsync(Step step)
        {
            Task released;
            Func<Task>? action = null;
            lock (_gate)
            {
                if (_step != step)
                {
                    return;
                }
                released = _released.Task;
                if (++_arrived == _expected)
                {
                    action = _action;
                    _step = Step.None;
                }
            }
            if (action is not null)
            {
                await action();
                _released.TrySetResult();
            }
            await released;
        }

        private static async Task<byte[]> ReadBodyAsync(HttpContext context)
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            return body.ToArray();
        }
    }
}
