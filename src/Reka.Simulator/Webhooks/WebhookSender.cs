using System.Net.Http.Headers;
using System.Text.Json;
using Reka.Simulator.Api;
using Reka.Simulator.Faults;
using Reka.Simulator.Jobs;
using Reka.Simulator.Stats;

namespace Reka.Simulator.Webhooks;

/// <summary>
/// Sends a job's webhook when it ends, in the background, through one shared HttpClient: retries
/// per <see cref="WebhookOptions.RetrySchedule"/> until a 2xx, and applies the drop, duplicate and
/// delay faults.
/// </summary>
public sealed partial class WebhookSender(
    SimulatorOptions options,
    SimulatorRandom random,
    SimulatorStats stats,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<WebhookSender> logger) : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    // Per-attempt timeouts come from a token, so they follow run-time changes of the options; they
    // are an HTTP client's timeout, on the real clock, while the delays and retries follow TimeProvider.
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>
    /// Schedules delivery for <paramref name="job"/>, which has just ended; without a webhook_url,
    /// or when the drop fault strikes, only marks its webhook done (<see cref="Job.WebhookDone"/>).
    /// </summary>
    public void Notify(Job job)
    {
        var faults = options.Webhook;
        if (job.WebhookUrl is not { } url || random.Chance(faults.DropRate))
        {
            job.MarkWebhookDone();
            return;
        }
        var copies = random.Chance(faults.DuplicateRate) ? 2 : 1;
        var state = job.State();
        var payload = new WebhookPayload(job.RequestId, state.Status, job.EndpointId, state.CompletedAt);
        var body = JsonSerializer.SerializeToUtf8Bytes(payload, SimulatorJsonContext.Default.WebhookPayload);
        // Off the caller's thread: the caller may be a cancel or submit call still to be answered.
        _ = Task.Run(() => DeliverAsync(job, url, body, copies));
    }

    private async Task DeliverAsync(Job job, string url, byte[] body, int copies)
    {
        var stopping = lifetime.ApplicationStopping;
        try
        {
            var delay = options.Webhook.DelaySeconds;
            if (delay > 0) await Task.Delay(TimeSpan.FromSeconds(delay), time, stopping);
            for (var copy = 0; copy < copies; copy++) await SendWithRetriesAsync(job, url, body, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: undelivered webhooks are lost, as with a real crash.
        }
        finally
        {
            job.MarkWebhookDone();
        }
    }

    private async Task SendWithRetriesAsync(Job job, string url, byte[] body, CancellationToken stopping)
    {
        var schedule = options.Webhook.RetrySchedule;
        for (var retry = 0; !await TrySendAsync(job, url, body, stopping) && retry < schedule.Length; retry++)
            await Task.Delay(TimeSpan.FromSeconds(schedule[retry]), time, stopping);
    }

    private async Task<bool> TrySendAsync(Job job, string url, byte[] body, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.Webhook.TimeoutSeconds));
        WebhookAttempt attempt;
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = Json;
            using var response = await _http.PostAsync(url, content, timeout.Token);
            attempt = new WebhookAttempt(time.GetUtcNow().UtcDateTime, (int)response.StatusCode, null);
        }
        catch (Exception exception) when (exception is HttpRequestException
                                          || exception is OperationCanceledException && !stopping.IsCancellationRequested)
        {
            attempt = new WebhookAttempt(time.GetUtcNow().UtcDateTime, null, exception is OperationCanceledException ? "timeout" : exception.Message);
            LogAttemptFailed(logger, job.RequestId, attempt.Error);
        }

        job.RecordWebhookAttempt(attempt);
        var delivered = attempt.StatusCode is >= 200 and < 300;
        stats.CountWebhook(delivered);
        return delivered;
    }

    /// <summary>Releases the shared HttpClient and its connections.</summary>
    public void Dispose() => _http.Dispose();

    // The URL is not logged: a gateway may carry its callback token in it.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Webhook attempt for {RequestId} got no answer: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, string requestId, string? error);
}
