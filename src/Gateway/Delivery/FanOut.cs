using Reka.Gateway.Events;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Delivery;

/// <summary>
/// Delivery's part in a completed inference: a delivery per enabled subscription whose filter
/// matches, and one to the request's own <c>webhook_url</c>, queued for their first attempts.
/// </summary>
internal sealed class FanOut(Deliveries deliveries, SubscriptionStore subscriptions, ILogger<FanOut> logger) : ICompletedInferenceConsumer
{
    public async Task ConsumeAsync(CompletedInference inference, CancellationToken cancellationToken)
    {
        var matching = await subscriptions.MatchingAsync(inference.Event);
        var own = inference is { Event.Client: { } client, OwnWebhookUrl: { } url } ? new OwnSubscriber(client, url) : null;
        var added = await deliveries.EnqueueAsync(inference.Event, inference.Json, matching, own, inference.TraceParent);
        GatewayLog.FannedOut(logger, inference.Event.Id, added);
    }
}
