using System.Diagnostics;
using System.Text.Json;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Proxy;
using Reka.Gateway.Webhooks;

namespace Reka.Gateway.Inference;

/// <summary>Marks a submit in flight with the id of its submission record.</summary>
/// <param name="SubmissionId">The record's id, the one in the callback token.</param>
public sealed record PendingSubmission(string SubmissionId);

/// <summary>
/// The gateway's part in a submit: before it goes upstream, the submit is recorded in Redis
/// (owner, the caller's own <c>webhook_url</c>) and its <c>webhook_url</c> is replaced by the
/// gateway's callback URL, so every result reaches the gateway; after upstream's 202, the
/// request id it names is bound to the record, before the caller sees the answer.
/// </summary>
public sealed class Submissions(RequestRecords records, CallbackTokens tokens, ILogger<Submissions> logger)
{
    /// <summary>
    /// Records the submit and rewrites its body. False when Redis cannot take the record: the
    /// submit must then not be forwarded (its result could not be routed).
    /// </summary>
    public async Task<bool> PrepareAsync(HttpContext context, SubmitInferenceRequest request, string endpointId)
    {
        var body = request.Body!;
        var subscriber = SubmitInferenceValidator.WebhookUri(request)?.ToString();
        var submissionId = CallbackTokens.NewSubmissionId();
        try
        {
            await records.RecordSubmissionAsync(submissionId,
                new Submission(context.GetClient().Name, subscriber, endpointId, Activity.Current?.Id));
        }
        catch (RedisUnavailableException e)
        {
            GatewayLog.SubmissionNotRecorded(logger, context.GetClient().Name, e.InnerException?.GetType().Name);
            return false;
        }
        body["webhook_url"] = tokens.CallbackUrl(submissionId);
        context.Features.Set(new PendingSubmission(submissionId));
        context.Features.Set(new BufferedRequestBody(JsonSerializer.SerializeToUtf8Bytes(body), "application/json"));
        return true;
    }

    /// <summary>
    /// Response observer of the submit route: binds the request id of a 2xx answer to the
    /// submission. A failure here is logged, not the caller's problem: the callback binds it too.
    /// </summary>
    public async ValueTask BindAcceptedAsync(HttpContext context, HttpResponseMessage response, ReadOnlyMemory<byte> body)
    {
        if (context.Features.Get<PendingSubmission>() is not { } pending
            || InferenceJson.ReadTopLevelString(body.Span, "request_id") is not { } requestId)
        {
            return;
        }
        GatewayLog.Submitted(logger, context.GetClient().Name, requestId, pending.SubmissionId);
        try
        {
            if (await records.BindAsync(pending.SubmissionId, requestId) != BindOutcome.Bound)
            {
                GatewayLog.SubmissionNotBound(logger, requestId, "its record is gone or names another request");
            }
        }
        catch (RedisUnavailableException e)
        {
            GatewayLog.SubmissionNotBound(logger, requestId, e.InnerException?.GetType().Name);
        }
    }
}
