using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Delivery;

/// <summary>
/// Each delivery attempt keeps the start of the subscriber's answer (<c>response_start</c>), read
/// for at most a second; an attempt with no answer within <c>Delivery:AttemptTimeoutSeconds</c> fails as such.
/// </summary>
public sealed class AttemptResponseStartTests : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private WebhookSubscriber _subscriber = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _alice = null!;
    private HttpClient _ops = null!;

    // Above the second the start of an answer is read for, with room for a busy machine.
    private const int AttemptTimeoutSeconds = 4;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartForGatewayAsync();
        _subscriber = await WebhookSubscriber.StartAsync();
        _gateway = await GatewayHost.StartAsync(_simulator.BaseUrl, [new("Delivery:AttemptTimeoutSeconds", AttemptTimeoutSeconds.ToString())]);
        _alice = _gateway.CreateClient(TestClients.Alice);
        _ops = _gateway.CreateClient(TestClients.Ops);
    }

    public async Task DisposeAsync()
    {
        _alice.Dispose();
        _ops.Dispose();
        await _gateway.DisposeAsync();
        await _subscriber.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    [Fact]
    public async Task Attempts_KeepTheStartOfTheSubscribersAnswer_At256CharactersOfUtf8()
    {
        // 300 characters of two bytes each, one byte that is not UTF-8 at the start.
        var answer = new byte[] { 0xFF }.Concat(Encoding.UTF8.GetBytes(new string('é', 300))).ToArray();
        _subscriber.Respond = async context =>
        {
            context.Response.StatusCode = context.Request.Path == "/refuses" ? 503 : 204;
            if (context.Request.Path == "/refuses")
            {
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.Body.WriteAsync(answer);
            }
        };
        var (refusing, _) = await _ops.SubscribeAsync(_subscriber.Url("/refuses"));
        var (silent, _) = await _ops.SubscribeAsync(_subscriber.Url("/silent"));

        await _alice.SubmitAsync();

        JsonElement attempt = default;
        await Eventually.ThatAsync(async () =>
        {
            var deliveries = (await _ops.DeliveriesAsync(refusing)).EnumerateArray().ToList();
            attempt = deliveries.Count == 1 && deliveries[0].GetProperty("attempts").GetArrayLength() > 0 ? deliveries[0].GetProperty("attempts")[0] : default;
            return attempt.ValueKind == JsonValueKind.Object;
        }, 20, "the first attempt to /refuses");
        Assert.Equal(503, attempt.GetProperty("status_code").GetInt32());
        Assert.Equal("\uFFFD" + new string('é', 255), attempt.GetProperty("response_start").GetString());

        await Eventually.ThatAsync(async () => (await _ops.DeliveriesAsync(silent)).EnumerateArray().Any(d => d.GetProperty("status").GetString() == "succeeded"),
            20, "the delivery to /silent");
        var silentAttempt = (await _ops.DeliveriesAsync(silent))[0].GetProperty("attempts")[0];
        Assert.Equal(204, silentAttempt.GetProperty("status_code").GetInt32());
        Assert.False(silentAttempt.TryGetProperty("response_start", out _), "an empty answer has no start (null fields are left out)");
    }

    [Fact]
    public async Task ASubscriberThatNeverAnswers_FailsTheAttemptAtTheAttemptTimeout_WithoutAStatus()
    {
        _subscriber.Respond = async context =>
        {
            // Until the gateway gives up and closes the connection.
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
        };
        var (hanging, _) = await _ops.SubscribeAsync(_subscriber.Url("/hangs"));

        await _alice.SubmitAsync();

        var attempt = await FirstAttemptAsync(hanging);
        Assert.Equal("failed", attempt.GetProperty("outcome").GetString());
        Assert.Equal($"No answer within {AttemptTimeoutSeconds} s.", attempt.GetProperty("error").GetString());
        Assert.False(attempt.TryGetProperty("status_code", out _), "no answer, no status");
        Assert.InRange(attempt.GetProperty("duration_ms").GetDouble(), AttemptTimeoutSeconds * 1000 - 50, double.MaxValue);
    }

    [Fact]
    public async Task AnAnswerWhoseBodyNeverEnds_IsRecordedWithItsStatusAndWhatCameInTheFirstSecond_NotAsATimeout()
    {
        _subscriber.Respond = async context =>
        {
            context.Response.StatusCode = 503;
            await context.Response.Body.WriteAsync("overloaded, "u8.ToArray());
            await context.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
        };
        var (trickling, _) = await _ops.SubscribeAsync(_subscriber.Url("/trickles"));

        await _alice.SubmitAsync();

        var attempt = await FirstAttemptAsync(trickling);
        Assert.Equal(503, attempt.GetProperty("status_code").GetInt32());
        Assert.Equal("HTTP 503", attempt.GetProperty("error").GetString());
        Assert.Equal("overloaded, ", attempt.GetProperty("response_start").GetString());
        // Read for a second, then the attempt ended: well before its timeout.
        Assert.InRange(attempt.GetProperty("duration_ms").GetDouble(), 950, AttemptTimeoutSeconds * 1000 - 1);
    }

    private async Task<JsonElement> FirstAttemptAsync(string subscriptionId)
    {
        JsonElement attempt = default;
        await Eventually.ThatAsync(async () =>
        {
            var deliveries = (await _ops.DeliveriesAsync(subscriptionId)).EnumerateArray().ToList();
            attempt = deliveries.Count == 1 && deliveries[0].GetProperty("attempts").GetArrayLength() > 0 ? deliveries[0].GetProperty("attempts")[0] : default;
            return attempt.ValueKind == JsonValueKind.Object;
        }, 30, $"the first attempt to {subscriptionId}");
        return attempt;
    }
}
