using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Proxy;
using Reka.Gateway.Requests;
using Reka.Gateway.Usage;
using Reka.Gateway.Webhooks;
using StackExchange.Redis;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;

namespace Reka.Gateway.Inference;

/// <summary>A submit in flight: its submission record, and its quota reservation until the outcome settles it.</summary>
/// <param name="SubmissionId">The record's id, the one in the callback token.</param>
/// <param name="EndpointId"><c>{model}/{capability}</c>.</param>
/// <param name="Reservation">Its quota reservation, for a client with quotas.</param>
/// <param name="TraceParent">W3C <c>traceparent</c> of the submit, as recorded.</param>
internal sealed record PendingSubmission(string SubmissionId, string EndpointId, QuotaReservation? Reservation, string? TraceParent)
{
    /// <summary>Whether the submit's outcome has been dealt with (the reservation kept or given back).</summary>
    public bool Settled { get; set; }

    /// <summary>Upstream's status code, once its response headers came; null while none did.</summary>
    public int? UpstreamStatus { get; set; }
}

/// <summary>
/// The gateway's part in a submit. Before it goes upstream: the client must be allowed the
/// endpoint (<c>allowed_endpoints</c>, else 403) and be within its quotas (else 429), and the
/// submit is recorded in Redis (owner, the caller's own <c>webhook_url</c>, the body as sent and
/// its <c>Idempotency-Key</c>) with its <c>webhook_url</c> replaced by the gateway's callback URL,
/// so every result reaches the gateway; its check is planned with it (<see cref="SubmissionChecks"/>).
/// After upstream's 202, the request id it names is bound to the record before the caller sees
/// the answer, and the check is dropped; a submit that did not start an inference gives its quota
/// back. Should Redis fail after the record, the check finishes the work when Redis is back.
/// </summary>
internal sealed class Submissions(RequestRecords records, SubmissionChecks checks, CallbackTokens tokens, CallbackInbox callbacks, QuotaGate quotas,
    UsageLedger usage, IOptions<WebhooksOptions> webhooks, RedisStore redis, GatewayMetrics metrics, ILogger<Submissions> logger)
{
    /// <summary>
    /// Admits the submit: the problem to answer instead (403 for an endpoint outside the client's
    /// <c>allowed_endpoints</c>, 429 over a quota), or null when it may go upstream.
    /// Then records it (confirmed by a replica) and rewrites its body.
    /// </summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis failed: the submit must not be forwarded (its result could not be routed); nothing is held.</exception>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed the record in time.</exception>
    public async Task<IResult?> PrepareAsync(HttpContext context, SubmitInferenceRequest request, string endpointId)
    {
        var client = context.GetClient();
        if (!client.MaySubmitTo(endpointId))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden,
                detail: $"Client '{client.Name}' may not submit to '{endpointId}': it is not among the client's allowed_endpoints.");
        }
        var submissionId = CallbackTokens.NewSubmissionId();
        var (reservation, refusal) = await quotas.AdmitAsync(client, submissionId);
        if (refusal is not null)
        {
            metrics.QuotaRefused(client.Name, refusal.Quota);
            context.Response.Headers.RetryAfter = refusal.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, detail: refusal.Detail);
        }
        var pending = new PendingSubmission(submissionId, endpointId, reservation, Activity.Current?.Id);
        context.Features.Set(pending);
        var body = request.Body!;
        // The caller's URL as the caller wrote it (Uri.ToString() would unescape it).
        var subscriber = SubmitInferenceValidator.WebhookUri(request)?.OriginalString;
        body["webhook_url"] = tokens.CallbackUrl(submissionId);
        var sent = JsonSerializer.SerializeToUtf8Bytes(body);
        var idempotencyKey = UpstreamIdempotencyKey(client.Name, context.Request.Headers[UpstreamRetryHandler.IdempotencyKeyHeader].ToString());
        context.Request.Headers[UpstreamRetryHandler.IdempotencyKeyHeader] = idempotencyKey;
        Task? check = null;
        try
        {
            var write = redis.Confirmations.Begin();
            check = checks.ScheduleAsync(write.Database, submissionId);
            await Task.WhenAll(
                records.RecordSubmissionAsync(write.Database, submissionId,
                    new Submission(client.Name, subscriber, endpointId, pending.TraceParent, idempotencyKey, sent,
                        reservation is { DailyCounted: true } ? reservation.Day : null)),
                check);
            await write.ConfirmAsync(records.SubmissionKey(submissionId), checks.KeyOf(submissionId));
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            // Not forwarded: a check that reached Redis is removed, so that it never sends this submit.
            if (check is not null
                && check.Exception?.InnerException is not RedisConnectionException { CommandStatus: CommandStatus.WaitingToBeSent or CommandStatus.WaitingInBacklog })
            {
                await CancelCheckAsync(pending);
            }
            await SettleUnstartedAsync(pending);
            throw;
        }
        BufferedRequestBody.Replace(context, sent);
        return null;
    }

    /// <summary>
    /// The <c>Idempotency-Key</c> a submit goes upstream with: <c>{client}:{key}</c>. Reka scopes
    /// keys per API key (its "Submit" reference: a reused key replays the original 202), and every
    /// client shares the team's; scoped to the client (whose name has no <c>:</c>), two clients'
    /// keys never meet upstream, so Reka never replays one client's submit to another, whatever
    /// the gateway's records hold. The caller keeps seeing its own key.
    /// </summary>
    public static string UpstreamIdempotencyKey(string client, string key) => $"{client}:{key}";

    /// <summary>
    /// Response transform of the submit route, run as upstream's response headers come: notes
    /// upstream's status, which is what <see cref="SettleUnstartedAsync(HttpContext)"/> judges
    /// by (the caller's may be the gateway's 502 or 504 for a 2xx whose body then broke off or stalled).
    /// </summary>
    public static ValueTask NoteUpstreamStatus(ResponseTransformContext context)
    {
        if (context.HttpContext.Features.Get<PendingSubmission>() is { } pending && context.ProxyResponse is { } response)
        {
            pending.UpstreamStatus = (int)response.StatusCode;
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Gives the quota back and drops the submission's check when the submit is known not to
    /// have started an inference: upstream refused it (a status other than 2xx, 408 and 409,
    /// which say the outcome is still pending, as the check reads them), or the call never left
    /// (no connection to Reka could be made, and no earlier attempt was sent). To call after
    /// forwarding. Any other end may have started one: a 2xx whose body or request id could not
    /// be read (the caller got 502), upstream silent past the route's timeout (504), a connection
    /// lost after the submit was sent, the caller hanging up. Its check and its quota stay: the
    /// check sends the submit again under the same <c>Idempotency-Key</c> and learns the request
    /// from Reka's replay (or starts it, as the caller asked). Otherwise hanging up before Reka's
    /// answer would run an inference outside the client's quotas.
    /// </summary>
    public async Task SettleUnstartedAsync(HttpContext context)
    {
        if (context.Features.Get<PendingSubmission>() is { Settled: false } pending && NotStarted(context, pending))
        {
            await AbandonAsync(pending);
        }
    }

    /// <summary>Gives the quota back and drops the check of a submit that was never forwarded (its caller left first).</summary>
    public async Task SettleUnsentAsync(HttpContext context)
    {
        if (context.Features.Get<PendingSubmission>() is { Settled: false } pending)
        {
            await AbandonAsync(pending);
        }
    }

    // Nothing was started: nothing will send the submit again, and its quota is given back.
    private async Task AbandonAsync(PendingSubmission pending)
    {
        await CancelCheckAsync(pending);
        await SettleUnstartedAsync(pending);
    }

    private static bool NotStarted(HttpContext context, PendingSubmission pending) =>
        pending.UpstreamStatus is { } status
            ? status is (< StatusCodes.Status200OK or >= StatusCodes.Status300MultipleChoices)
                and not (StatusCodes.Status408RequestTimeout or StatusCodes.Status409Conflict)
            : UpstreamRetryHandler.NeverSent(context.Features.Get<IForwarderErrorFeature>()?.Exception);

    /// <summary>
    /// Response handler of the submit route: binds the request id of a 2xx answer to the
    /// submission, before the caller sees it, and counts the submit in its client's usage (unless
    /// the callback bound the request first, and counted it). When
    /// the request belongs to another client (Reka answered with another client's request: keys
    /// are scoped per client, see <see cref="UpstreamIdempotencyKey"/>, but a key sent unscoped by
    /// a build before that can still meet a scoped one), the caller gets 409 problem details
    /// instead, and learns nothing of the other client's request; when it repeats one of this
    /// client's own submits, nothing new is counted. A Redis failure here is logged, not the
    /// caller's problem: the callback, or the submission's check, binds the request too, and
    /// counts the submit if this bind did not go through.
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>?> BindAcceptedAsync(HttpContext context, HttpResponseMessage response, ReadOnlyMemory<byte> body)
    {
        if (context.Features.Get<PendingSubmission>() is not { } pending
            || InferenceJson.ReadTopLevelString(body.Span, "request_id") is not { } requestId)
        {
            return body;
        }
        pending.Settled = true;
        var client = context.GetClient().Name;
        GatewayLog.Submitted(logger, client, requestId, pending.SubmissionId);
        BindResult? bind = null;
        try
        {
            bind = await records.BindAsync(pending.SubmissionId, requestId);
            if (bind.Value.Outcome == BindOutcome.Bound && webhooks.Value.ReconcileAfterSeconds > 0)
            {
                await callbacks.ExpectAsync(requestId, pending.SubmissionId, TimeSpan.FromSeconds(webhooks.Value.ReconcileAfterSeconds), pending.TraceParent);
            }
            // Everything the check would do is done, and the look that replaces it is safe.
            await checks.CancelAsync(pending.SubmissionId);
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            if (bind is null)
            {
                // Kept as new: an inference was most likely started; its end frees its quota slot.
                // The check's bind (or the callback's) counts it, unless this one went through
                // and only its response was lost; then nothing does.
                GatewayLog.SubmissionNotBound(logger, requestId, e.GetType().Name);
                return body;
            }
            // Bound, its check kept: the outcome is dealt with below all the same (another
            // client's request is never answered to this one).
            GatewayLog.SubmissionCheckKept(logger, requestId, e.GetType().Name);
        }
        switch (bind.Value.Outcome)
        {
            case BindOutcome.Foreign:
                await ReleaseAsync(pending);
                GatewayLog.SubmitAnsweredWithAnotherClientsRequest(logger, client);
                context.Response.Clear();
                await Problems.WriteAsync(context, StatusCodes.Status409Conflict,
                    "Reka answered this submit with a request of another client; send it again under a fresh Idempotency-Key (a UUID per logical request).");
                return null;
            case BindOutcome.Replayed:
                await ReleaseAsync(pending);
                break;
            case BindOutcome.Bound:
                if (bind.Value.First)
                {
                    usage.CountSubmit(client, pending.EndpointId);
                }
                break;
            case BindOutcome.UnknownSubmission:
                // Nothing else will bind it: counted here.
                GatewayLog.SubmissionNotBound(logger, requestId, "its record is gone");
                usage.CountSubmit(client, pending.EndpointId);
                break;
            default:
                // Its check or callback bound it to another request, and counted it then.
                GatewayLog.SubmissionNotBound(logger, requestId, "its record names another request");
                break;
        }
        return body;
    }

    /// <summary>
    /// Frees the quota slot of a request that was just cancelled (its callback would do it too,
    /// later). Best effort: Redis failing here costs only the early release.
    /// </summary>
    public async Task EndCancelledAsync(string requestId)
    {
        try
        {
            if (await records.GetAsync(requestId) is { Owner: { } owner, SubmissionId: { } submission })
            {
                await quotas.EndAsync(owner, submission);
            }
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            GatewayLog.QuotaNotReleased(logger, requestId, e.GetType().Name);
        }
    }

    private async Task CancelCheckAsync(PendingSubmission pending)
    {
        try
        {
            await checks.CancelAsync(pending.SubmissionId);
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            GatewayLog.SubmissionCheckNotRemoved(logger, pending.SubmissionId, e.GetType().Name);
            return;
        }
        // Nothing will send the submit again: its body (up to the route's cap) does not wait out
        // Cache:ResultTtl, which a client's refused submits could otherwise fill Redis with.
        try
        {
            await records.ForgetBodyAsync(pending.SubmissionId);
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            // Then it expires with the record.
        }
    }

    private async Task SettleUnstartedAsync(PendingSubmission pending)
    {
        pending.Settled = true;
        await ReleaseAsync(pending);
    }

    // Best effort: a slot not given back is freed after Usage:InFlightTimeout.
    private async Task ReleaseAsync(PendingSubmission pending)
    {
        if (pending.Reservation is not { } reservation)
        {
            return;
        }
        try
        {
            await quotas.ReleaseAsync(reservation);
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            GatewayLog.QuotaNotReleased(logger, reservation.Client, e.GetType().Name);
        }
    }
}
