using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Infrastructure.Validation;
using Reka.Gateway.Requests;

namespace Reka.Gateway.Webhooks;

/// <summary>
/// <c>POST /webhooks/inference</c>, where Reka calls back when an inference finishes. What Reka
/// sends is not published (Reka's "Submit" reference only names <c>webhook_url</c>), so nothing in the body is trusted: the
/// token the gateway put in the URL authenticates the call (401 without it), the body only has
/// to be a JSON object whose <c>request_id</c> is the token's request (400 otherwise), read by the
/// gateway's JSON policy (valid Unicode, no repeated member: 400 otherwise; not declared as JSON: 415), and the
/// outcome is fetched from Reka before anything is cached or delivered. The call is recorded in
/// Redis before the 202; when Redis cannot take it the answer is 503, so the sender retries.
/// </summary>
internal static class CallbackReceiverApi
{
    /// <summary>Maps the receiver (no gateway key: Reka authenticates by the token).</summary>
    public static RouteHandlerBuilder MapCallbackReceiver(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(CallbackTokens.ReceiverPath, ReceiveAsync)
            .WithTag("Webhooks", "Where Reka calls the gateway back when an inference ends. The token the gateway put in the callback URL authenticates the call, not a gateway key.")
            .WithName("ReceiveInferenceCallback")
            .WithSummary("Reka's callback when an inference finishes")
            .WithDescription("Called by Reka at the `webhook_url` the gateway gave it on submit; the `token` query parameter is what makes the call genuine.")
            .WithRequestBody<JsonObject>("application/json")
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                // Read from the query by the handler itself, so that a missing token is a 401, not a binding 400.
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = CallbackTokens.QueryParameter,
                    In = ParameterLocation.Query,
                    Required = true,
                    Description = "`<submission id>.<base64url HMAC-SHA256 under Webhooks:CallbackSecret, 128 bits>`, in the `webhook_url` the gateway gave Reka on submit, exactly once. Missing, given more than once, or not minted by this gateway: 401.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
                return Task.CompletedTask;
            })
            .Produces(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WhenRedisIsUnavailable("The callback could not be recorded; nothing was stored. Retry it.",
                unconfirmed: "The callback was stored, but may be lost in a failover. Retry it: a repeated callback is recorded once.")
            // Applied by routing; Kestrel answers a longer body with 413 as it is read (after the token is checked).
            .WithMetadata(new RequestSizeLimitAttribute(endpoints.ServiceProvider.GetRequiredService<IOptions<WebhooksOptions>>().Value.MaxBodyBytes));

    private static async Task<IResult> ReceiveAsync(HttpContext context, CallbackTokens tokens, CallbackInbox inbox,
        IOptions<WebhooksOptions> options, GatewayMetrics metrics, ILoggerFactory loggers)
    {
        // Exactly one token: StringValues' string joins several, leaving out empty ones, so
        // "?token=T&token=" read as T.
        var token = context.Request.Query[CallbackTokens.QueryParameter];
        if (token.Count != 1 || !tokens.TryVerify(token[0], out var submissionId))
        {
            return Reject(metrics, "unauthorized", StatusCodes.Status401Unauthorized, "The callback's token is missing or was not minted by this gateway.");
        }

        if (!StrictJson.HasJsonContentType(context.Request))
        {
            // Reka's format is unpublished, but its sender, like Standard Webhooks senders, posts JSON;
            // the reconcile check (Webhooks:ReconcileAfterSeconds) still finds a result whose callback is refused.
            return Reject(metrics, "unsupported_media_type", StatusCodes.Status415UnsupportedMediaType, StrictJson.UnsupportedMediaType(context.Request));
        }

        string? requestId, status;
        try
        {
            var (body, error) = await StrictJson.ReadDocumentAsync(context.Request, context.RequestAborted);
            if (body is null)
            {
                return Reject(metrics, "invalid", StatusCodes.Status400BadRequest, error!.Detail);
            }
            using (body)
            {
                var root = body.RootElement;
                string? Text(string name) => root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value)
                    && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                (requestId, status) = (Text("request_id"), Text("status"));
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Reject(metrics, "too_large", StatusCodes.Status413PayloadTooLarge, $"A callback body may have at most {options.Value.MaxBodyBytes} bytes (Webhooks:MaxBodyBytes).");
        }
        if (requestId is null || !RequestIds.IsValid(requestId))
        {
            return Reject(metrics, "invalid", StatusCodes.Status400BadRequest,
                $"A callback body must be a JSON object with a 'request_id' string of {RequestIds.Rule}.");
        }

        CallbackOutcome outcome;
        try
        {
            outcome = await inbox.AcceptAsync(submissionId, requestId, status);
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            // Answered 503 by RedisUnavailableHandler, so that Reka retries.
            GatewayLog.CallbackNotRecorded(loggers.CreateLogger(typeof(CallbackReceiverApi)), requestId, e.GetType().Name);
            metrics.CallbackReceived("unavailable");
            throw;
        }
        if (outcome == CallbackOutcome.Mismatch)
        {
            return Reject(metrics, "mismatch", StatusCodes.Status400BadRequest, $"request_id '{requestId}' is not the request this callback's token was issued for.");
        }
        metrics.CallbackReceived(outcome == CallbackOutcome.Duplicate ? "duplicate" : "accepted");
        return TypedResults.Accepted((string?)null);
    }

    private static IResult Reject(GatewayMetrics metrics, string outcome, int status, string detail)
    {
        metrics.CallbackReceived(outcome);
        return TypedResults.Problem(statusCode: status, detail: detail);
    }
}
