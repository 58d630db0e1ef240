using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Subscriptions;
using Reka.Gateway.Usage;
using Reka.Gateway.Infrastructure.StandardWebhooks;

namespace Reka.Gateway.Delivery;

/// <summary>Where one delivery goes.</summary>
/// <param name="DeliveryId">The delivery.</param>
/// <param name="EventId">The event it carries (its <c>webhook-id</c>).</param>
/// <param name="SubscriptionId">The subscription, or null for a request's own <c>webhook_url</c>.</param>
/// <param name="Client">For a request's own <c>webhook_url</c>, the client whose secret signs it.</param>
/// <param name="Url">The subscriber's URL.</param>
/// <param name="TraceParent">W3C <c>traceparent</c> of the submit, or null.</param>
/// <param name="Owner">The client whose request the event is about (its usage counts the delivery), or null.</param>
internal sealed record DeliveryTarget(string DeliveryId, string EventId, string? SubscriptionId, string? Client, string Url, string? TraceParent, string? Owner);

/// <summary>What one attempt led to.</summary>
/// <param name="Attempt">The attempt, as recorded on the delivery.</param>
/// <param name="Status">The delivery's new status; <see cref="DeliveryStatus.Pending"/> means retry at <paramref name="NextAttemptAt"/>.</param>
/// <param name="NextAttemptAt">When to retry, for a pending delivery.</param>
/// <param name="Retries">Retries used of the schedule, this one included.</param>
internal sealed record AttemptOutcome(DeliveryAttempt Attempt, DeliveryStatus Status, DateTimeOffset? NextAttemptAt, int Retries);

/// <summary>
/// Makes one delivery attempt: signs the event by the Standard Webhooks scheme and POSTs it;
/// 2xx is success; 410 Gone disables the subscription; anything else (or no answer within
/// <c>Delivery:AttemptTimeoutSeconds</c>) is retried on <c>Delivery:RetrySchedule</c> with
/// jitter, never sooner than the subscriber's <c>Retry-After</c>; after the last retry, a dead letter.
/// </summary>
internal sealed class WebhookSender(
    SubscriptionStore subscriptions,
    ClientRegistry clients,
    IHttpClientFactory httpClients,
    IOptions<DeliveryOptions> options,
    IOptions<SubscriberUrlOptions> subscribers,
    GatewayMetrics metrics,
    UsageLedger usage,
    TimeProvider time,
    ILogger<WebhookSender> logger)
{
    /// <summary>Name of the HttpClient deliveries go through (no redirects: a redirect could leave the allowed hosts).</summary>
    public const string HttpClientName = "webhook-delivery";

    private static readonly ActivitySource Activities = new("Reka.Gateway.Delivery");

    // One client for the sender's life (its handler renews connections every
    // PooledConnectionLifetime, so DNS changes are followed): the factory's set-up at each
    // attempt, the User-Agent parsed again among it, cost every delivery.
    private readonly HttpClient _http = httpClients.CreateClient(HttpClientName);

    /// <summary>
    /// Attempts <paramref name="target"/> with <paramref name="body"/> (null: the event expired)
    /// and decides what follows. <paramref name="retriesSoFar"/> counts the schedule's retries used.
    /// </summary>
    public async Task<AttemptOutcome> AttemptAsync(DeliveryTarget target, byte[]? body, int attemptNumber, int retriesSoFar, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        // Checked again at each attempt: the allowlist may have narrowed since the subscription was made.
        if (subscribers.Value.SubscriberUrlProblem(target.Url) is { } problem)
        {
            return Finished(target, new DeliveryAttempt(attemptNumber, time.GetUtcNow(), null, 0, AttemptResult.Skipped,
                $"Not sent: the URL {problem}."), DeliveryStatus.Cancelled, retriesSoFar);
        }
        var (secret, stop) = await ResolveSecretAsync(target);
        if (stop is { } stopStatus)
        {
            return Finished(target, new DeliveryAttempt(attemptNumber, time.GetUtcNow(), null, 0, AttemptResult.Skipped,
                $"Not sent: delivery {DeliveryFields.Wire(stopStatus)}."), stopStatus, retriesSoFar);
        }
        if (body is null)
        {
            return Finished(target, new DeliveryAttempt(attemptNumber, time.GetUtcNow(), null, 0, AttemptResult.Skipped, "The event expired (Delivery:Retention)."), DeliveryStatus.Dead, retriesSoFar);
        }

        // The delivery joins the trace of the submit whose callback produced it.
        using var activity = Activities.StartUnder("webhook.delivery", ActivityKind.Producer, target.TraceParent).SetTag("delivery.id", target.DeliveryId);
        var started = time.GetUtcNow();
        var timer = Stopwatch.StartNew();
        int? status = null;
        string? error = null;
        string? responseStart = null;
        TimeSpan? retryAfter = null;
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(settings.AttemptTimeoutSeconds), time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var timestamp = started.ToUnixTimeSeconds();
            request.Headers.Add(WebhookSigner.IdHeader, target.EventId);
            request.Headers.Add(WebhookSigner.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add(WebhookSigner.SignatureHeader, WebhookSigner.Sign(secret!, target.EventId, timestamp, body));
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            status = (int)response.StatusCode;
            responseStart = await ReadStartAsync(response, timeout.Token);
            retryAfter = response.Headers.RetryAfter switch
            {
                { Delta: { } delta } => delta,
                { Date: { } date } => date - time.GetUtcNow(),
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
            status is >= 200 and < 300 ? AttemptResult.Succeeded : status == 410 ? AttemptResult.Gone : AttemptResult.Failed,
            error ?? (status is >= 200 and < 300 ? null : $"HTTP {status}"), responseStart);
        metrics.DeliveryAttempted(DeliveryFields.Wire(attempt.Outcome), timer.Elapsed);
        if (attempt.Outcome == AttemptResult.Succeeded)
        {
            GatewayLog.DeliverySucceeded(logger, target.DeliveryId, target.EventId, attemptNumber, status ?? 0, DeliveryFields.Wire(attempt.Outcome), attempt.DurationMs);
        }
        else
        {
            GatewayLog.DeliveryFailed(logger, target.DeliveryId, target.EventId, attemptNumber, status ?? 0, DeliveryFields.Wire(attempt.Outcome), attempt.DurationMs);
        }

        switch (attempt.Outcome)
        {
            case AttemptResult.Succeeded:
                return Finished(target, attempt, DeliveryStatus.Succeeded, retriesSoFar);
            case AttemptResult.Gone:
                await DisableSubscriptionAsync(target, $"The endpoint answered 410 Gone at {started:O}.");
                return Finished(target, attempt, DeliveryStatus.Disabled, retriesSoFar);
        }
        if (retriesSoFar >= settings.Schedule.Count)
        {
            GatewayLog.DeliveryDeadLettered(logger, target.DeliveryId, target.EventId, target.SubscriptionId);
            return Finished(target, attempt, DeliveryStatus.Dead, retriesSoFar);
        }
        var scheduled = settings.Schedule[retriesSoFar] * (1 + settings.JitterFraction * (2 * Random.Shared.NextDouble() - 1));
        var delay = retryAfter is { } wait && wait > scheduled
            ? TimeSpan.FromSeconds(Math.Min(wait.TotalSeconds, settings.MaxRetryAfterSeconds))
            : scheduled;
        metrics.DeliveryFinished("retrying", target.Owner);
        return new AttemptOutcome(attempt, DeliveryStatus.Pending, time.GetUtcNow() + delay, retriesSoFar + 1);
    }

    // The first characters of the answer, for people looking at the attempt (the console, the
    // deliveries list): a subscriber's answer holds no secret of the gateway's. Read for at most a
    // second, so that a body that trickles in never turns an answered attempt into a timeout.
    private async Task<string?> ReadStartAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // The usual answer has no content: nothing to wait for (no timer, no buffer).
        if (response.StatusCode == HttpStatusCode.NoContent || response.Content.Headers.ContentLength == 0)
        {
            return null;
        }
        // 4 bytes per character at most in UTF-8: enough for ResponseStartLength characters.
        var buffer = new byte[DeliveryAttempt.ResponseStartLength * 4];
        var length = 0;
        using var wait = new CancellationTokenSource(ResponseStartWait, time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, wait.Token);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(deadline.Token);
            int read;
            while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), deadline.Token)) > 0)
            {
                length += read;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
        {
            // What came in time is kept.
        }
        if (length == 0)
        {
            return null;
        }
        // A character cut at the end of the buffer is left out rather than replaced.
        var text = new System.Text.UTF8Encoding(false, false).GetDecoder();
        var chars = new char[length];
        var count = text.GetChars(buffer, 0, length, chars, 0, flush: false);
        if (count > DeliveryAttempt.ResponseStartLength)
        {
            count = DeliveryAttempt.ResponseStartLength;
            if (char.IsHighSurrogate(chars[count - 1]))
            {
                count--;
            }
        }
        return new string(chars, 0, count);
    }

    private static readonly TimeSpan ResponseStartWait = TimeSpan.FromSeconds(1);

    private AttemptOutcome Finished(DeliveryTarget target, DeliveryAttempt attempt, DeliveryStatus status, int retries)
    {
        metrics.DeliveryFinished(DeliveryFields.Wire(status), target.Owner);
        if (target.Owner is { } owner)
        {
            usage.Count(owner, UsageFields.Of(UsageFields.Deliveries, DeliveryFields.Wire(status)));
        }
        return new AttemptOutcome(attempt, status, null, retries);
    }

    private async Task<(string? Secret, DeliveryStatus? Stop)> ResolveSecretAsync(DeliveryTarget target)
    {
        if (target.SubscriptionId is { } subscriptionId)
        {
            return await subscriptions.FindAsync(subscriptionId) switch
            {
                null => (null, DeliveryStatus.Cancelled),
                { Enabled: false } => (null, DeliveryStatus.Disabled),
                var subscription => (subscription.Secret, (DeliveryStatus?)null),
            };
        }
        var client = target.Client is { } name ? clients.FindByName(name) : null;
        return client?.WebhookSecret is { } secret ? (secret, null) : (null, DeliveryStatus.Dead);
    }

    private async Task DisableSubscriptionAsync(DeliveryTarget target, string reason)
    {
        if (target.SubscriptionId is { } id && await subscriptions.GetAsync(id) is { } subscription)
        {
            await subscriptions.DisableAsync(subscription, reason);
            GatewayLog.SubscriptionDisabled(logger, id, reason);
        }
    }
}
