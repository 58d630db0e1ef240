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
internal sealed class DeliveryWorker(Deliveries deliveries, WebhookSender sender, IOptions<DeliveryOptions> options, RedisStore redis, GatewayMetrics metrics, ILogger<DeliveryWorker> logger)
    : QueueWorker(deliveries.Queue, redis, options.Value.Worker, metrics, logger)
{
    /// <inheritdoc />
    protected override async Task HandleAsync(LeasedJob job, CancellationToken cancellationToken)
    {
        var target = new DeliveryTarget(job.Id, job[DeliveryFields.EventId]!, NullIfEmpty(job[DeliveryFields.SubscriptionId]),
            NullIfEmpty(job[DeliveryFields.Client]), job[DeliveryFields.Url]!, NullIfEmpty(job[DeliveryFields.TraceParent]), NullIfEmpty(job[DeliveryFields.Owner]));
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
