namespace Reka.Gateway.Events;

/// <summary>An inference that reached a terminal status, confirmed with Reka.</summary>
/// <param name="Event">The event every consumer passes on.</param>
/// <param name="Json">The event as UTF-8 JSON, the exact bytes delivered and published.</param>
/// <param name="OwnWebhookUrl">The submit's own <c>webhook_url</c>, for the owner's delivery, or null.</param>
/// <param name="TraceParent">W3C <c>traceparent</c> of the submit, so consumers join its trace.</param>
/// <param name="SubmissionId">The gateway's id of the submit that made the request, when known.</param>
internal sealed record CompletedInference(InferenceEvent Event, byte[] Json, string? OwnWebhookUrl, string? TraceParent, string? SubmissionId);

/// <summary>
/// The one seam between the callback path and what follows a completed inference (webhook
/// fan-out, the event channel that wakes long-polls and streams, usage): the callback worker hands
/// each completed inference to every consumer at once, after its answers are cached, so a
/// consumer must not depend on another. A consumer must be idempotent: when one throws, the
/// callback is processed again and every consumer sees it again.
/// </summary>
internal interface ICompletedInferenceConsumer
{
    Task ConsumeAsync(CompletedInference inference, CancellationToken cancellationToken);
}
