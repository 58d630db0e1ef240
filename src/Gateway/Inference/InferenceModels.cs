using System.Text.Json.Nodes;

namespace Reka.Gateway.Inference;

// Shapes of Reka's inference API as its reference pages give them ("Submit", "List inference
// requests", "Get inference status"). The gateway forwards bodies as they are; these records
// document them in OpenAPI and name the fields it reads.

/// <summary>
/// Body of a submit: <c>input</c> (required object) and <c>webhook_url</c> (optional URI, 1-2083
/// characters, without user information, on a host and port of <c>Webhooks:AllowedSubscriberHosts</c>).
/// </summary>
public sealed record SubmitInferenceBody(JsonObject Input, string? WebhookUrl = null);

/// <summary>202 answer of a submit. The URLs point at the gateway.</summary>
public sealed record SubmitInferenceAccepted(string RequestId, string Status, string StatusUrl, string ResponseUrl, string CancelUrl);

/// <summary>A page of inference requests; follow <c>next_offset</c> while <c>has_more</c>.</summary>
public sealed record InferenceRequestList(IReadOnlyList<InferenceRequestItem> Items, int? NextOffset, bool HasMore);

/// <summary>One inference request; <c>input</c> and <c>output</c> appear with <c>expand=payloads</c> and in results.</summary>
public sealed record InferenceRequestItem(
    string RequestId,
    string Status,
    string EndpointId,
    string ModelId,
    string Capability,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    JsonObject? Input,
    InferenceOutput? Output,
    JsonObject? Error);

/// <summary>Output of a finished request (video models).</summary>
public sealed record InferenceOutput(string? VideoUrl, DateTimeOffset? VideoUrlExpiresAt, double? DurationSeconds, int? Width, int? Height);

/// <summary>Status of one request; <c>logs</c> with <c>with_logs=true</c>.</summary>
public sealed record InferenceStatus(string RequestId, string Status, int? QueuePosition, IReadOnlyList<JsonObject>? Logs, JsonObject? Metrics);

/// <summary>OpenAI-compatible chat request; with <c>stream: true</c> the answer is server-sent events.</summary>
public sealed record ChatCompletionRequest(string Model, IReadOnlyList<JsonObject> Messages, bool? Stream);
