using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Delivery;

/// <summary>
/// Attempts webhook deliveries from the shared queue, on every replica: POSTs the event signed by
/// the Standard Webhooks scheme; 2xx is success; 410 Gone disables the subscription; anything
/// else (or no answer within <c>Delivery:AttemptTimeoutSeconds</c>) is retried on
/// <c>Delivery:RetrySchedule</c> with jitter, waiting at least the subscriber's <c>Retry-After</c>;
/// after the last retry the delivery is a dead letter. Every attempt is recorded on the delivery.
/// </summary>
public sealed class DeliveryWorker(
    Deliveries deliveries,
    SubscriptionStore subscriptions,
    ClientRegistry clients,
    IHttpClientFactory httpClients,
    IOptions<DeliveryOptions> options,
    GatewayMetrics metrics,
    RedisStore redis,
    ILogger<DeliveryWorker> logger)
    : QueueWorker(deliveries.Queue, redis, options.Value.Worker, logger)
{
    /// <summary>Name of the HttpClient deliveries go through (no redirects: a redirect could leave the allowed hosts).</summary>
    public const string HttpClientName = "webhook-delivery";

    private static readonly ActivitySource Activities = new("Reka.Gateway.Delivery");

    /// <inheritdoc />
    protected override async Task HandleAsync(LeasedJob job, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var attemptNumber = DeliveryFields.ReadAttempts(job[DeliveryFields.Attempts]).Count + 1;
        var (secret, stopStatus) = await ResolveSecretAsync(job);
        if (stopStatus is not null)
        {
            await FinishAsync(job, stopStatus, new DeliveryAttempt(attemptNumber, DateTimeOffset.UtcNow, null, 0, "skipped", $"Not sent: delivery {stopStatus}."));
            return;
        }
        var body = await deliveries.GetEventAsync(job[DeliveryFields.EventId]!);
        if (body is null)
        {
            await FinishAsync(job, DeliveryStatus.Dead, new DeliveryAttempt(attemptNumber, DateTimeOffset.UtcNow, null, 0, "skipped", "The event expired (Delivery:Retention)."));
            return;
        }

        // The delivery joins the trace of the submit whose callback produced it.
        using var activity = Activities.StartUnder("webhook.delivery", ActivityKind.Producer,
            job[DeliveryFields.TraceParent] is { Length: > 0 } parent ? parent : null).SetTag("delivery.id", job.Id);
        var started = DateTimeOffset.UtcNow;
        var timer = Stopwatch.StartNew();
        int? status = null;
        string? error = null;
        TimeSpan? retryAfter = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(settings.AttemptTimeoutSeconds));
            using var request = new HttpRequestMessage(HttpMethod.Post, job[DeliveryFields.Url]) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var timestamp = started.ToUnixTimeSeconds();
            var messageId = job[DeliveryFields.EventId]!;
            request.Headers.Add(WebhookSigner.IdHeader, messageId);
            request.Headers.Add(WebhookSigner.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add(WebhookSigner.SignatureHeader, WebhookSigner.Sign(secret!, messageId, timestamp, body));
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            status = (int)response.StatusCode;
            retryAfter = response.Headers.RetryAfter switch
            {
                { Delta: { } delta } => delta,
                { Date: { } date } => date - DateTimeOffset.UtcNow,
                _ => null,
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error = $"No answer within {settings.AttemptTimeoutSeconds:0.###} s.";
        }
        catch (HttpRequestException e)
        {
            error = e.Message;
        }
        var attempt = new DeliveryAttempt(attemptNumber, started, status, Math.Round(timer.Elapsed.TotalMilliseconds, 1),
            status is >= 200 and < 300 ? "succeeded" : status == 410 ? "gone" : "failed",
            error ?? (status is >= 200 and < 300 ? null : $"HTTP {status}"));
        GatewayLog.DeliveryAttempted(logger, job.Id, job[DeliveryFields.EventId], attemptNumber, status ?? 0, attempt.Outcome, attempt.DurationMs);

        if (attempt.Outcome == "succeeded")
        {
            await FinishAsync(job, DeliveryStatus.Succeeded, attempt);
        }
        else if (attempt.Outcome == "gone")
        {
            await DisableSubscriptionAsync(job, $"The endpoint answered 410 Gone at {started:O}.");
            await FinishAsync(job, DeliveryStatus.Disabled, attempt);
        }
        else
        {
            await RetryOrBuryAsync(job, attempt, retryAfter);
        }
    }

    private async Task<(string? Secret, string? StopStatus)> ResolveSecretAsync(LeasedJob job)
    {
        if (job[DeliveryFields.SubscriptionId] is { Length: > 0 } subscriptionId)
        {
            var subscription = await subscriptions.FindAsync(subscriptionId);
            return subscription switch
            {
                null => (null, DeliveryStatus.Cancelled),
                { Enabled: false } => (null, DeliveryStatus.Disabled),
                _ => (subscription.Secret, null),
            };
        }
        var client = job[DeliveryFields.Client] is { } name ? clients.ByName.GetValueOrDefault(name) : null;
        return client?.Options.WebhookSecret is { } secret ? (secret, null) : (null, DeliveryStatus.Dead);
    }

    private async Task RetryOrBuryAsync(LeasedJob job, DeliveryAttempt attempt, TimeSpan? retryAfter)
    {
        var settings = options.Value;
        var retries = int.Parse(job[DeliveryFields.Retries] ?? "0", CultureInfo.InvariantCulture);
        if (retries >= settings.Schedule.Count)
        {
            await FinishAsync(job, DeliveryStatus.Dead, attempt);
            return;
        }
        var scheduled = settings.Schedule[retries] * (1 + settings.JitterFraction * (2 * Random.Shared.NextDouble() - 1));
        var delay = retryAfter is { } wait && wait > scheduled
            ? TimeSpan.FromSeconds(Math.Min(wait.TotalSeconds, settings.MaxRetryAfterSeconds))
            : scheduled;
        var due = DateTimeOffset.UtcNow + delay;
        var kept = await Queue.RetryAsync(job, due,
        [
            new(DeliveryFields.Attempts, DeliveryFields.AppendAttempt(job, attempt)),
            new(DeliveryFields.Retries, (retries + 1).ToString(CultureInfo.InvariantCulture)),
            new(DeliveryFields.NextAttemptAt, due.ToString("O", CultureInfo.InvariantCulture)),
        ]);
        metrics.DeliveryFinished(kept ? "retrying" : "lease_lost");
    }

    private async Task FinishAsync(LeasedJob job, string status, DeliveryAttempt attempt)
    {
        var kept = await Queue.CompleteAsync(job, options.Value.Retention,
        [
            new(DeliveryFields.Status, status),
            new(DeliveryFields.Attempts, DeliveryFields.AppendAttempt(job, attempt)),
            new(DeliveryFields.NextAttemptAt, ""),
        ]);
        metrics.DeliveryFinished(kept ? status : "lease_lost");
        if (status == DeliveryStatus.Dead && kept)
        {
            GatewayLog.DeliveryDeadLettered(logger, job.Id, job[DeliveryFields.EventId], job[DeliveryFields.SubscriptionId]);
        }
    }

    private async Task DisableSubscriptionAsync(LeasedJob job, string reason)
    {
        if (job[DeliveryFields.SubscriptionId] is { Length: > 0 } id && await subscriptions.GetAsync(id) is { } subscription)
        {
            await subscriptions.DisableAsync(subscription, reason);
            GatewayLog.SubscriptionDisabled(logger, id, reason);
        }
    }
}

/// <summary>Wires the delivery queue, its worker and its HttpClient.</summary>
public static class DeliverySetup
{
    /// <summary>Registers the delivery feature.</summary>
    public static WebApplicationBuilder AddDelivery(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.SectionName);
        builder.Services.AddSingleton<Deliveries>();
        builder.Services.AddHostedService<DeliveryWorker>();
        builder.Services.AddHttpClient(DeliveryWorker.HttpClientName, client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan; // each attempt has its own timeout
                client.DefaultRequestHeaders.UserAgent.ParseAdd("reka-gateway-webhooks/1.0");
            })
            // Each attempt is logged once by the worker; HttpClient's own four lines per call would only cost.
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
        return builder;
    }
}
