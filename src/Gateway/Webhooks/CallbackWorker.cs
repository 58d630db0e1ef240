using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Proxy;
using Reka.Gateway.Requests;

namespace Reka.Gateway.Webhooks;

/// <summary>
/// Processes recorded callbacks on every replica: fetches the request from Reka with the team key
/// (the callback is a trigger, not the truth), and once Reka reports a terminal status, caches
/// the result and status answers, builds the event and hands it to its consumers
/// (<see cref="ICompletedInferenceConsumer"/>: webhook fan-out, the event channel). Every step is
/// idempotent, so a replica that dies half-way leaves work that another replica redoes without
/// duplicates.
/// While Reka is unreachable or not yet terminal, the job is retried on
/// <c>Webhooks:ProcessingRetrySchedule</c>.
/// </summary>
internal sealed class CallbackWorker(
    CallbackInbox inbox,
    UpstreamClient upstream,
    UpstreamUrlRewriter urls,
    RequestRecords records,
    IEnumerable<ICompletedInferenceConsumer> consumers,
    IOptions<CacheOptions> cache,
    IOptions<WebhooksOptions> options,
    RedisStore redis,
    GatewayMetrics metrics,
    ILogger<CallbackWorker> logger)
    : QueueWorker(inbox.Queue, redis, options.Value.Processing, metrics, logger)
{
    private static readonly ActivitySource Activities = new("Reka.Gateway.Webhooks");
    private readonly ICompletedInferenceConsumer[] _consumers = [.. consumers];
    // Two upstream calls and a few Redis ones must fit in the job's lease, or another replica
    // would retake the job while this one still works on it.
    private readonly TimeSpan _upstreamTimeout = TimeSpan.FromSeconds(Math.Min(30, options.Value.Processing.LeaseSeconds / 4));

    /// <inheritdoc />
    protected override async Task HandleAsync(LeasedJob job, CancellationToken cancellationToken)
    {
        var requestId = job[CallbackInbox.JobFields.RequestId]!;
        var recordRead = records.GetAsync(requestId);
        // Processing joins the trace of the submit. A job planned at the submit carries its
        // traceparent, so Reka is asked while the record is read: one round trip less in a row.
        var traceParent = job[CallbackInbox.JobFields.TraceParent] is { Length: > 0 } planned ? planned : (await recordRead).TraceParent;
        using var activity = Activities.StartUnder("callback.process", ActivityKind.Consumer, traceParent).SetTag("request.id", requestId);

        // When the callback said the request ended, the status answer (best effort, kept only
        // beside a terminal result) is asked for at the same time: one round trip to Reka instead
        // of two in a row. A check without such news asks for it only once the result is terminal.
        var statusAnswer = cache.Value.IsTerminal(job[CallbackInbox.JobFields.Status]) ? StatusAnswerAsync(requestId, cancellationToken) : null;
        (byte[] Body, string Status, string? Problem) terminal;
        try
        {
            terminal = await TerminalResultAsync(requestId, cancellationToken);
        }
        finally
        {
            if (statusAnswer is not null)
            {
                await ((Task)statusAnswer).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            await ((Task)recordRead).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        var (result, status, problem) = terminal;
        var record = await recordRead;
        if (record.Owner is null && job[CallbackInbox.JobFields.Submission] is { Length: > 0 } submissionId)
        {
            // The callback took this job, planned at the submit's bind, as the proof of the bind and
            // did not look at the request's record, which a failover may have lost since. Rebuilt
            // from the submission's (confirmed at the submit) as the callback's bind would, at the
            // first try: its owner reads it meanwhile, and the tries may run out.
            await records.BindConfirmedAsync(submissionId, requestId);
            record = await records.GetAsync(requestId);
        }
        if (problem is not null)
        {
            await RetryLaterAsync(job, problem);
            return;
        }

        // Cached and delivered as the gateway answers it: with Reka's URLs pointing at the gateway.
        var resultBody = urls.Rewrite(result) ?? result;
        // Confirmed by a replica before the job is finished: nothing else would store them again.
        List<KeyValuePair<string, byte[]>> answers = [new(RequestRecords.Answers.Result, resultBody)];
        if (await (statusAnswer ?? StatusAnswerAsync(requestId, cancellationToken)) is { } statusBody)
        {
            answers.Add(new(RequestRecords.Answers.Status, statusBody));
        }
        await records.StoreAnswersAsync(requestId, answers, confirm: true);

        var inferenceEvent = BuildEvent(requestId, status, JsonNode.Parse(resultBody), record);
        var completed = new CompletedInference(inferenceEvent, inferenceEvent.ToJson(), record.Subscriber, Activity.Current?.Id, record.SubmissionId);
        // The consumers do not depend on each other: they run at once, and the job waits for the slowest.
        await Task.WhenAll(_consumers.Select(consumer => consumer.ConsumeAsync(completed, cancellationToken)));
        await Queue.DeleteAsync(job);
        GatewayLog.CallbackProcessed(logger, requestId, status, inferenceEvent.Id);
    }

    // Reka's answer for the request once it is terminal, or why the job must be retried.
    private async Task<(byte[] Body, string Status, string? Problem)> TerminalResultAsync(string requestId, CancellationToken cancellationToken)
    {
        UpstreamAnswer result;
        try
        {
            result = await upstream.GetAsync($"/v2/inference/requests/{requestId}", _upstreamTimeout, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return ([], "", $"Reka unreachable ({e.GetType().Name})");
        }
        if (!result.IsSuccess)
        {
            return ([], "", $"Reka answered {result.Status} for the request");
        }
        var status = InferenceJson.ReadTopLevelString(result.Body, "status");
        return cache.Value.IsTerminal(status)
            ? (result.Body, status!, null)
            : ([], "", $"Reka reports status {status ?? "(none)"}, not terminal yet");
    }

    // The status answer is cached too, so status calls after the callback are answered from the
    // cache; without it they are simply forwarded once more.
    private async Task<byte[]?> StatusAnswerAsync(string requestId, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await upstream.GetAsync($"/v2/inference/requests/{requestId}/status", _upstreamTimeout, cancellationToken);
            if (answer.IsSuccess && cache.Value.IsTerminal(InferenceJson.ReadTopLevelString(answer.Body, "status")))
            {
                return urls.Rewrite(answer.Body) ?? answer.Body;
            }
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Best effort.
        }
        return null;
    }

    private InferenceEvent BuildEvent(string requestId, string status, JsonNode? result, RequestRecord record)
    {
        string? Field(string name) => result?[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        var endpointId = Field("endpoint_id") ?? record.EndpointId;
        var slash = endpointId?.IndexOf('/') ?? -1;
        return new InferenceEvent(
            InferenceEvent.IdFor(requestId, status),
            InferenceEvent.TypeFor(status),
            requestId,
            status,
            endpointId,
            Field("model_id") ?? (slash > 0 ? endpointId![..slash] : null),
            Field("capability") ?? (slash > 0 ? endpointId![(slash + 1)..] : null),
            result,
            Queue.Time.GetUtcNow(),
            record.Owner);
    }

    private async Task RetryLaterAsync(LeasedJob job, string reason)
    {
        var requestId = job[CallbackInbox.JobFields.RequestId]!;
        var tries = int.Parse(job[CallbackInbox.JobFields.Tries] ?? "0", CultureInfo.InvariantCulture);
        var schedule = options.Value.ProcessingSchedule;
        if (tries >= schedule.Count)
        {
            // Forget that this callback came, so that Reka's next one is not taken for a repeat. A
            // callback that came during this last try marked the job: it then runs again at once.
            await inbox.ForgetCallbackAsync(requestId, job[CallbackInbox.JobFields.Status] ?? "");
            if (await Queue.AbandonAsync(job))
            {
                GatewayLog.CallbackAbandoned(logger, requestId, tries, reason);
            }
            return;
        }
        var delay = schedule[tries];
        await Queue.RetryAsync(job, Queue.Time.GetUtcNow() + delay, [new(CallbackInbox.JobFields.Tries, (tries + 1).ToString(CultureInfo.InvariantCulture))]);
        GatewayLog.CallbackRetrying(logger, requestId, delay.TotalSeconds, tries + 1, reason);
    }
}
