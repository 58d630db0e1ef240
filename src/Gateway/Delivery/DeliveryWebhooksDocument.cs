using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure.StandardWebhooks;
using Reka.Gateway.Requests;

namespace Reka.Gateway.Delivery;

/// <summary>
/// The document's OpenAPI 3.1 <c>webhooks</c>: what the gateway POSTs to subscribers, one entry per
/// event type (<c>inference.completed</c>, <c>inference.failed</c>, <c>inference.cancelled</c>,
/// and <c>inference.&lt;status&gt;</c> for any other status of <c>Cache:TerminalStatuses</c>). Each
/// gives the body (the <see cref="InferenceEvent"/> JSON, signed byte for byte, with an example),
/// the Standard Webhooks headers and what the gateway does with each answer, from the settings in force.
/// </summary>
internal sealed class DeliveryWebhooksDocument(IOptions<DeliveryOptions> delivery, IOptions<CacheOptions> cache) : IOpenApiDocumentTransformer
{
    // Reka's result shape, documented by the result route (GET /v2/inference/requests/{request_id}).
    private const string ResultSchemaId = "InferenceRequestItem";

    private const string StandardWebhooks = "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md";

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        var eventId = nameof(InferenceEvent);
        if (!document.Components.Schemas.ContainsKey(eventId))
        {
            document.AddComponent(eventId, await context.GetOrCreateSchemaAsync(typeof(InferenceEvent), null, cancellationToken));
        }

        var statuses = cache.Value.TerminalStatuses.Count > 0 ? cache.Value.TerminalStatuses : CacheOptions.DefaultTerminalStatuses;
        document.Webhooks = statuses
            .GroupBy(status => InferenceEvent.TypeFor(status), StringComparer.Ordinal)
            .OrderBy(type => type.Key, StringComparer.Ordinal)
            .ToDictionary(type => type.Key, type => (IOpenApiPathItem)new OpenApiPathItem
            {
                Operations = new Dictionary<HttpMethod, OpenApiOperation>
                {
                    [HttpMethod.Post] = Operation(document, type.Key, [.. type.Select(s => s.ToUpperInvariant()).Distinct(StringComparer.Ordinal)]),
                },
            });
    }

    private OpenApiOperation Operation(OpenApiDocument document, string type, IReadOnlyList<string> statuses)
    {
        var settings = delivery.Value;
        var payload = new OpenApiSchema
        {
            AllOf =
            [
                new OpenApiSchemaReference(nameof(InferenceEvent), document),
                new OpenApiSchema
                {
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Const = type },
                        ["status"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. statuses.Select(s => (JsonNode)JsonValue.Create(s))] },
                        ["result"] = document.Components?.Schemas?.ContainsKey(ResultSchemaId) == true
                            ? new OpenApiSchemaReference(ResultSchemaId, document)
                            : new OpenApiSchema(),
                    },
                },
            ],
        };
        return new OpenApiOperation
        {
            OperationId = string.Concat(type.Split('.', '_', '-').Where(part => part.Length > 0).Select(part => char.ToUpperInvariant(part[0]) + part[1..])) + "Webhook",
            Summary = $"`{type}`: an inference ended with status {string.Join(" or ", statuses)}",
            Description =
                $"Sent once the gateway has confirmed with Reka that a request ended with status {string.Join(" or ", statuses)}, to every enabled " +
                "subscription whose filter matches (signed with the subscription's `whsec_` secret) and to the submit's own `webhook_url` " +
                "(signed with its client's `Clients:<name>:WebhookSecret`). At least once: the same event may come again (a retry, a replay, " +
                "a replica that died mid-delivery); it keeps its `webhook-id`, so answer 2xx to one you have already handled. Check the signature " +
                $"before trusting the body, e.g. with the `standardwebhooks` or `svix` libraries ([Standard Webhooks]({StandardWebhooks}), \"Verifying webhook authenticity\"). " +
                "Redirects are not followed.",
            Parameters =
            [
                Header(WebhookSigner.IdHeader, "The event id (`evt_` + 24 hex characters): the same for a request and status on every replica, attempt and replay. Use it to drop duplicates.",
                    new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^evt_[0-9a-f]{24}$" }),
                Header(WebhookSigner.TimestampHeader, "When this attempt was made, in Unix seconds. Refuse one far from your clock (the Standard Webhooks libraries allow 5 minutes either way), so that a captured delivery cannot be replayed later.",
                    new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64" }),
                Header(WebhookSigner.SignatureHeader, "`v1,` followed by the base64 of the HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` (the exact body bytes), keyed by the base64-decoded part of the `whsec_` secret. " +
                    "Standard Webhooks allows several space-separated signatures (e.g. during a secret rotation); the gateway sends one. Compare in constant time.",
                    new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$" }),
            ],
            RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = "The event, as `GET /events` and the Redis channel carry it too; `result` is Reka's answer to `GET /v2/inference/requests/{request_id}`.",
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new()
                    {
                        Schema = payload,
                        Examples = new Dictionary<string, IOpenApiExample> { [type] = new OpenApiExample { Summary = $"An `{type}` event", Value = Sample(type, statuses[0]) } },
                    },
                },
            },
            Responses = new OpenApiResponses
            {
                ["2XX"] = new OpenApiResponse { Description = "Accepted: the delivery succeeded and is not sent again (unless replayed). The body is ignored." },
                ["410"] = new OpenApiResponse
                {
                    Description = "Gone: the subscription is disabled at once and nothing more is sent to it; for a submit's own `webhook_url`, this delivery ends.",
                },
                ["default"] = new OpenApiResponse
                {
                    Description =
                        $"Any other status (3xx included), or no answer within {settings.AttemptTimeoutSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s (`Delivery:AttemptTimeoutSeconds`): " +
                        $"retried after {Describe(settings.Schedule)} (`Delivery:RetrySchedule`), each delay spread by up to ±{settings.JitterFraction * 100:0.#} %, " +
                        "never sooner than the answer's `Retry-After` " +
                        $"(at most {settings.MaxRetryAfterSeconds.ToString("0", CultureInfo.InvariantCulture)} s, `Delivery:MaxRetryAfterSeconds`). " +
                        "After the last retry the delivery is a dead letter, listed with every attempt and replayable.",
                    Headers = new Dictionary<string, IOpenApiHeader>
                    {
                        ["Retry-After"] = new OpenApiHeader
                        {
                            Description = "Seconds, or an HTTP date, before which the gateway does not retry.",
                            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                        },
                    },
                },
            },
            // No OpenAPI security scheme describes a signature over the body: the headers above authenticate each delivery.
            Security = [],
        };
    }

    private static OpenApiParameter Header(string name, string description, OpenApiSchema schema) =>
        new() { Name = name, In = ParameterLocation.Header, Required = true, Description = description, Schema = schema };

    // An event as the gateway writes it, through the same record and serializer as real deliveries.
    private static JsonNode Sample(string type, string status)
    {
        const string requestId = "0f6c3d0e-4b8e-4f5a-9a63-2d1f5c7e8b90";
        var completed = status == "COMPLETED";
        var result = new JsonObject
        {
            ["request_id"] = requestId,
            ["status"] = status,
            ["endpoint_id"] = "sora-2-pro/image-to-video",
            ["model_id"] = "sora-2-pro",
            ["capability"] = "image-to-video",
            ["created_at"] = "2026-11-29T10:00:00Z",
            ["started_at"] = "2026-11-29T10:00:02Z",
            ["completed_at"] = "2026-11-29T10:01:30Z",
            ["input"] = new JsonObject { ["prompt"] = "a red fox in snow" },
            ["output"] = completed
                ? new JsonObject
                {
                    ["video_url"] = "https://storage.example/videos/fox.mp4",
                    ["video_url_expires_at"] = "2026-11-30T10:01:30Z",
                    ["duration_seconds"] = 8.0,
                    ["width"] = 1280,
                    ["height"] = 720,
                }
                : null,
            ["error"] = status == "FAILED" ? new JsonObject { ["type"] = "server_error", ["message"] = "The generation failed." } : null,
        };
        var sample = new InferenceEvent(InferenceEvent.IdFor(requestId, status), type, requestId, status, "sora-2-pro/image-to-video",
            "sora-2-pro", "image-to-video", result, new DateTimeOffset(2026, 11, 29, 10, 1, 31, TimeSpan.Zero), "video-pipeline");
        return JsonNode.Parse(sample.ToJson())!;
    }

    private static string Describe(IReadOnlyList<TimeSpan> schedule) => string.Join(", ", schedule.Select(delay =>
        delay.TotalHours >= 1 && delay.TotalHours % 1 == 0 ? $"{delay.TotalHours:0} h"
        : delay.TotalMinutes >= 1 && delay.TotalMinutes % 1 == 0 ? $"{delay.TotalMinutes:0} min"
        : $"{delay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s"));
}
