using System.Globalization;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Events;

namespace Reka.Gateway.Delivery;

/// <summary>
/// Works single deliveries on every replica: retries (a fan-out's first attempt failed) and
/// replays. Each attempt is made by <see cref="WebhookSender"/> and recorded on the delivery.
/// </summary>
public sealed class DeliveryWorker(Deliveries deliveries, WebhookSender sender, IOptions<DeliveryOptions> options, RedisStore redis, ILogger<DeliveryWorker> logger)
    : QueueWorker(deliveries.Queue, redis, options.Value.Worker, logger)
{
    /// <inheritdoc />
    protected override async Task HandleAsync(LeasedJob job, CancellationToken cancellationToken)
    {
        var target = new DeliveryTarget(job.Id, job[DeliveryFields.EventId]!, NullIfEmpty(job[DeliveryFields.SubscriptionId]),
            NullIfEmpty(job[DeliveryFields.Client]), job[DeliveryFields.Url]!, NullIfEmpty(job[DeliveryFields.TraceParent]));
        var attemptNumber = DeliveryFields.ReadAttempts(job[DeliveryFields.Attempts]).Count + 1;
        var retries = int.Parse(job[DeliveryFields.Retries] ?? "0", CultureInfo.InvariantCulture);
        var outcome = await sender.AttemptAsync(target, await deliveries.GetEventAsync(job.Partition, target.EventId), attemptNumber, retries, cancellationToken);

        var fields = DeliveryFields.Outcome(job[DeliveryFields.Attempts], outcome);
        _ = outcome.NextAttemptAt is { } due
            ? await Queue.RetryAsync(job, due, fields)
            : await Queue.CompleteAsync(job, options.Value.Retention, fields);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>
/// Works fan-outs on every replica: the first attempt of every delivery of one event, made in
/// parallel and recorded in one Redis call (<see cref="Deliveries.FinishFanOutAsync"/>); a failed
/// one goes on as a single delivery on its retry schedule (<see cref="DeliveryWorker"/>). A replica
/// that dies mid fan-out leaves the job to another, which sends the event again (at least once).
/// </summary>
public sealed class FanOutWorker(Deliveries deliveries, WebhookSender sender, IOptions<DeliveryOptions> options, RedisStore redis, ILogger<FanOutWorker> logger)
    : QueueWorker(deliveries.FanOutQueue, redis, options.Value.FanOut, logger)
{
    /// <inheritdoc />
    protected override async Task HandleAsync(LeasedJob job, CancellationToken cancellationToken)
    {
        var targets = Deliveries.ReadTargets(job);
        var body = targets.Count == 0 ? null : await deliveries.GetEventAsync(job.Partition, targets[0].EventId);
        var outcomes = await Task.WhenAll(targets.Select(target => sender.AttemptAsync(target, body, 1, 0, cancellationToken)));
        await deliveries.FinishFanOutAsync(job, targets, outcomes);
    }
}

/// <summary>Wires the delivery queues, their workers and their HttpClient.</summary>
public static class DeliverySetup
{
    /// <summary>Registers the delivery feature.</summary>
    public static WebApplicationBuilder AddDelivery(this WebApplicationBuilder builder)
    {
        builder.Services.AddCheckedOptions<DeliveryOptions, DeliveryOptionsValidator>(DeliveryOptions.SectionName);
        builder.Services.AddSingleton<Deliveries>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<Deliveries>().FanOutQueue);
        builder.Services.AddSingleton(sp => sp.GetRequiredService<Deliveries>().Queue);
        builder.Services.AddSingleton<ICompletedInferenceConsumer, FanOut>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddHostedService<FanOutWorker>();
        builder.Services.AddHostedService<DeliveryWorker>();
        builder.Services.AddHttpClient(WebhookSender.HttpClientName, client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan; // each attempt has its own timeout
                client.DefaultRequestHeaders.UserAgent.ParseAdd("reka-gateway-webhooks/1.0");
            })
            // Each attempt is logged once by the sender; HttpClient's own four lines per call would only cost.
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

internal sealed class DeliveryOptionsValidator : SettingsValidator<DeliveryOptions>
{
    protected override IEnumerable<string> Check(DeliveryOptions settings)
    {
        if (settings.Schedule.Any(delay => delay <= TimeSpan.Zero))
        {
            yield return "Delivery:RetrySchedule delays must be above 0.";
        }
        if (settings.JitterFraction is < 0 or >= 1 || settings.MaxRetryAfterSeconds <= 0)
        {
            yield return "Delivery:JitterFraction must be from 0 to below 1, and Delivery:MaxRetryAfterSeconds above 0.";
        }
        if (settings.AttemptTimeoutSeconds <= 0 || settings.AttemptTimeoutSeconds >= Math.Min(settings.Worker.LeaseSeconds, settings.FanOut.LeaseSeconds))
        {
            yield return "Delivery:AttemptTimeoutSeconds must be above 0 and below the workers' LeaseSeconds (an attempt must end before its lease).";
        }
        // Events must outlive every retry of the schedule, or a late retry finds nothing to send.
        var schedule = settings.Schedule.Aggregate(TimeSpan.Zero, (total, delay) => total + delay) * (1 + settings.JitterFraction);
        if (settings.Retention <= schedule)
        {
            yield return $"Delivery:Retention must be longer than the whole retry schedule ({schedule.TotalHours:0.#} h).";
        }
        foreach (var failure in CheckWorker(settings.Worker, "Delivery:Worker").Concat(CheckWorker(settings.FanOut, "Delivery:FanOut")))
        {
            yield return failure;
        }
    }
}
