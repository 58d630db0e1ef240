using System.Globalization;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Events;

namespace Reka.Gateway.Delivery;

/// <summary>
/// Works fan-outs on every replica: the first attempt of every delivery of one event, made in
/// parallel and recorded in one Redis call (<see cref="Deliveries.FinishFanOutAsync"/>); a failed
/// one goes on as a single delivery on its retry schedule (<see cref="DeliveryWorker"/>). A replica
/// that dies mid fan-out leaves the job to another, which sends the event again (at least once).
/// </summary>
internal sealed class FanOutWorker(Deliveries deliveries, WebhookSender sender, IOptions<DeliveryOptions> options, RedisStore redis, GatewayMetrics metrics, ILogger<FanOutWorker> logger)
    : QueueWorker(deliveries.FanOutQueue, redis, options.Value.FanOut, metrics, logger)
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
