using System.Globalization;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Proxy;
using Reka.Gateway.Requests;
using Reka.Gateway.Usage;
using Reka.Gateway.Webhooks;
using StackExchange.Redis;

namespace Reka.Gateway.Inference;

/// <summary>
/// The submit path's safety net. With each submission record goes a job in the durable queue
/// <c>submissions</c> (its id is the submission's), due <c>Webhooks:SubmitCheckAfterSeconds</c>
/// later, written and confirmed with the record before the submit goes upstream. The submit's own
/// steps remove it once the request is bound and its reconciliation planned, or once upstream
/// refused the submit. When Redis failed in between (or the replica stopped), the job is still
/// there when Redis is back, and <see cref="SubmissionCheckWorker"/> finishes the work.
/// </summary>
internal sealed class SubmissionChecks(RedisStore redis, IOptions<WebhooksOptions> options, TimeProvider time)
{
    /// <summary>Field of a check job: tries made so far.</summary>
    public const string TriesField = "tries";

    /// <summary>The queue; a job's id is the submission id.</summary>
    public DurableQueue Queue { get; } = new(redis, "submissions", time);

    /// <summary>The key written by <see cref="ScheduleAsync"/>, for confirming it with a replica.</summary>
    public RedisKey KeyOf(string submissionId) => Queue.DueKey(Queue.PartitionOf(submissionId));

    /// <summary>Plans the check of a submission on <paramref name="db"/>.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public Task ScheduleAsync(IDatabaseAsync db, string submissionId) =>
        Queue.AddAsync(db, submissionId, time.GetUtcNow().AddSeconds(options.Value.SubmitCheckAfterSeconds), [new(TriesField, "0")]);

    /// <summary>Drops the check of a submission whose outcome the submit dealt with itself.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public Task CancelAsync(string submissionId) => Queue.RemoveAsync(submissionId);
}

/// <summary>
/// Works the <c>submissions</c> queue on every replica. A submission still without its request
/// is sent to Reka again, the same body under the same <c>Idempotency-Key</c>: Reka answers the
/// original 202 with the request it started ("Submit" reference page: a reused key replays the
/// original response, with no second enqueue or charge), or starts it if the first send never
/// arrived. The request is then bound to its owner, and checked with Reka at once as a callback
/// would have it (<see cref="CallbackInbox.ExpectAsync"/>), so its result is cached and its
/// webhooks delivered even if Reka's callback met the outage. While Reka is unreachable or
/// answers 408, 409 (the first send still in hand), 429 or 5xx, the job is retried on <c>Webhooks:ProcessingRetrySchedule</c>; any
/// other refusal means nothing was started, and the submission's quota slot is given back.
/// </summary>
internal sealed class SubmissionCheckWorker(
    SubmissionChecks checks,
    RequestRecords records,
    CallbackInbox callbacks,
    UpstreamClient upstream,
    QuotaGate quotas,
    UsageLedger usage,
    IOptions<WebhooksOptions> options,
    RedisStore redis,
    GatewayMetrics metrics,
    ILogger<SubmissionCheckWorker> logger)
    : QueueWorker(checks.Queue, redis, options.Value.Processing, metrics, logger)
{
    // Must fit in the job's lease, or another replica retakes the job while this one works.
    private readonly TimeSpan _upstreamTimeout = TimeSpan.FromSeconds(Math.Min(30, options.Value.Processing.LeaseSeconds / 4));

    /// <inheritdoc />
    protected override async Task HandleAsync(LeasedJob job, CancellationToken cancellationToken)
    {
        var submissionId = job.Id;
        if (await records.GetSubmissionAsync(submissionId) is not { } submission)
        {
            await FinishAsync(job, submissionId, null, "its record is gone (expired, or lost with Redis' data)");
            return;
        }
        var requestId = submission.RequestId;
        if (requestId is null)
        {
            if (submission.Body is null || submission.IdempotencyKey is null)
            {
                await FinishAsync(job, submissionId, null, "its record holds no body to send again");
                return;
            }
            UpstreamAnswer answer;
            try
            {
                answer = await upstream.PostJsonAsync($"/v2/inference/{submission.EndpointId}", submission.Body, submission.IdempotencyKey,
                    _upstreamTimeout, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                await RetryLaterAsync(job, $"Reka unreachable ({e.GetType().Name})");
                return;
            }
            // 409: the first send may still be in hand upstream under the same key.
            if (answer.Status is StatusCodes.Status408RequestTimeout or StatusCodes.Status409Conflict or StatusCodes.Status429TooManyRequests or >= 500)
            {
                await RetryLaterAsync(job, $"Reka answered {answer.Status}");
                return;
            }
            requestId = answer.IsSuccess ? InferenceJson.ReadTopLevelString(answer.Body, "request_id") : null;
            if (requestId is null || !RequestIds.IsValid(requestId))
            {
                await GiveBackAsync(submission, submissionId);
                await FinishAsync(job, submissionId, null, $"Reka answered {answer.Status} without a request: nothing was started");
                return;
            }
        }
        var bind = await records.BindAsync(submissionId, requestId);
        var outcome = bind.Outcome;
        if (bind.First)
        {
            // Its caller left before the submit's answer (or its bind failed): counted here.
            usage.CountSubmit(submission.Owner, submission.EndpointId);
        }
        if (outcome == BindOutcome.Bound && (await records.LookupAsync(requestId, RequestRecords.Answers.Result)).Answer is null)
        {
            // No-op when a callback job is already waiting for the request.
            await callbacks.ExpectAsync(requestId, submissionId, TimeSpan.Zero, traceParent: null);
        }
        else if (outcome is BindOutcome.Replayed or BindOutcome.Foreign)
        {
            // Another submit holds the request (a retry under the same key, or another client's):
            // this one started nothing of its own, and its slot would otherwise wait out Usage:InFlightTimeout.
            await GiveBackAsync(submission, submissionId);
        }
        await FinishAsync(job, submissionId, requestId, outcome == BindOutcome.Bound ? "bound to its owner, checked with Reka" : $"not bound: {outcome}");
    }

    // Nothing of the submission's own started: its slot among the inferences in flight is given
    // back, and its day's submit when one was counted (once, however often it is given back).
    private Task GiveBackAsync(SubmissionState submission, string submissionId) =>
        submission.QuotaDay is { } day
            ? quotas.ReleaseAsync(new QuotaReservation(submission.Owner, submissionId, day, DailyCounted: true))
            : quotas.EndAsync(submission.Owner, submissionId);

    private async Task FinishAsync(LeasedJob job, string submissionId, string? requestId, string outcome)
    {
        await Queue.DeleteAsync(job);
        Metrics.SubmissionChecked(requestId is null ? "unresolved" : "recovered");
        GatewayLog.SubmissionChecked(logger, submissionId, requestId, outcome);
    }

    private async Task RetryLaterAsync(LeasedJob job, string reason)
    {
        var tries = int.Parse(job[SubmissionChecks.TriesField] ?? "0", CultureInfo.InvariantCulture);
        var schedule = options.Value.ProcessingSchedule;
        if (tries >= schedule.Count)
        {
            await Queue.DeleteAsync(job);
            Metrics.SubmissionChecked("abandoned");
            GatewayLog.SubmissionCheckAbandoned(logger, job.Id, tries, reason);
            return;
        }
        var delay = schedule[tries];
        await Queue.RetryAsync(job, Queue.Time.GetUtcNow() + delay, [new(SubmissionChecks.TriesField, (tries + 1).ToString(CultureInfo.InvariantCulture))]);
        GatewayLog.SubmissionCheckRetrying(logger, job.Id, delay.TotalSeconds, tries + 1, reason);
    }
}
