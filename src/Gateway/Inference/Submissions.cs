using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Proxy;
using Reka.Gateway.Webhooks;
using Reka.Gateway.Requests;

namespace Reka.Gateway.Inference;

/// <summary>Marks a submit in flight with the id of its submission record.</summary>
/// <param name="SubmissionId">The record's id, the one in the callback token.</param>
internal sealed record PendingSubmission(string SubmissionId);

/// <summary>
/// The gateway's part in a submit: before it goes upstream, the submit is recorded in Redis
/// (owner, the caller's own <c>webhook_url</c>) and its <c>webhook_url</c> is replaced by the
/// gateway's callback URL, so every result reaches the gateway; after upstream's 202, the
/// request id it names is bound to the record, before the caller sees the answer.
/// </summary>
internal sealed class Submissions(RequestRecords records, CallbackTokens tokens, CallbackInbox callbacks, IOptions<WebhooksOptions> webhooks,
    RedisStore redis, ILogger<Submissions> logger)
{
    /// <summary>
    /// Records the submit (confirmed by a replica) and rewrites its body. When Redis cannot take
    /// the record it throws, and the submit must not be forwarded (its result could not be routed).
    /// </summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis failed.</exception>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed the record in time.</exception>
    public async Task PrepareAsync(HttpContext context, SubmitInferenceRequest request, string endpointId)
    {
        var body = request.Body!;
        // The caller's URL as the caller wrote it (Uri.ToString() would unescape it).
        var subscriber = SubmitInferenceValidator.WebhookUri(request)?.OriginalString;
        var submissionId = CallbackTokens.NewSubmissionId();
        await records.RecordSubmissionAsync(submissionId, new Submission(context.GetClient().Name, subscriber, endpointId, Activity.Current?.Id));
        body["webhook_url"] = tokens.CallbackUrl(submissionId);
        context.Features.Set(new PendingSubmission(submissionId));
        BufferedRequestBody.Replace(context, JsonSerializer.SerializeToUtf8Bytes(body));
    }

    /// <summary>
    /// Response handler of the submit route: binds the request id of a 2xx answer to the
    /// submission, before the caller sees it. When the request belongs to another client (Reka
    /// replayed that client's submit for a reused <c>Idempotency-Key</c>), the caller gets 409
    /// problem details instead, and learns nothing of the other client's request. A Redis
    /// failure here is logged, not the caller's problem: the callback binds the request too.
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>?> BindAcceptedAsync(HttpContext context, HttpResponseMessage response, ReadOnlyMemory<byte> body)
    {
        if (context.Features.Get<PendingSubmission>() is not { } pending
            || InferenceJson.ReadTopLevelString(body.Span, "request_id") is not { } requestId)
        {
            return body;
        }
        var client = context.GetClient().Name;
        GatewayLog.Submitted(logger, client, requestId, pending.SubmissionId);
        BindOutcome outcome;
        try
        {
            outcome = await records.BindAsync(redis.Database, pending.SubmissionId, requestId);
            if (outcome == BindOutcome.Bound && webhooks.Value.ReconcileAfterSeconds > 0)
            {
                await callbacks.ExpectAsync(requestId, TimeSpan.FromSeconds(webhooks.Value.ReconcileAfterSeconds));
            }
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            GatewayLog.SubmissionNotBound(logger, requestId, e.GetType().Name);
            return body;
        }
        if (outcome == BindOutcome.Foreign)
        {
            GatewayLog.IdempotencyKeyOfAnotherClient(logger, client);
            context.Response.Clear();
            await Problems.WriteAsync(context, StatusCodes.Status409Conflict,
                "This Idempotency-Key was already used by another client; send a fresh one (a UUID per logical request).");
            return null;
        }
        if (outcome != BindOutcome.Bound)
        {
            GatewayLog.SubmissionNotBound(logger, requestId, "its record is gone or names another request");
        }
        return body;
    }
}
