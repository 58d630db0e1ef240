using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Reka.Gateway.Events;

/// <summary>
/// What happened to an inference request, as webhook deliveries, <c>GET /events</c> and the
/// Redis channel <c>gateway:events</c> carry it. <c>id</c> is stable for a request and status,
/// so a subscriber that gets an event twice can tell (it is also the <c>webhook-id</c>).
/// </summary>
/// <param name="Id">Event id, <c>evt_</c> + 24 hex characters.</param>
/// <param name="Type"><c>inference.completed</c>, <c>inference.failed</c>, <c>inference.cancelled</c>, or <c>inference.</c> + the lowercased status.</param>
/// <param name="RequestId">Reka's request id.</param>
/// <param name="Status">The terminal status, as Reka gives it.</param>
/// <param name="EndpointId"><c>{model}/{capability}</c>.</param>
/// <param name="ModelId">The model segment.</param>
/// <param name="Capability">The capability segment.</param>
/// <param name="Result">The request as Reka's result call answers it (the authoritative state).</param>
/// <param name="OccurredAt">When the gateway confirmed the outcome with Reka.</param>
/// <param name="Client">The internal client that submitted the request, when known.</param>
public sealed record InferenceEvent(
    string Id,
    string Type,
    string RequestId,
    string Status,
    string? EndpointId,
    string? ModelId,
    string? Capability,
    JsonNode? Result,
    DateTimeOffset OccurredAt,
    string? Client)
{
    /// <summary>How events are written: snake_case, as Reka writes its own fields.</summary>
    public static readonly JsonSerializerOptions Json = Infrastructure.GatewayJson.Options;

    /// <summary>The event type for a terminal <paramref name="status"/>.</summary>
    public static string TypeFor(string status) => status.ToUpperInvariant() switch
    {
        "COMPLETED" => "inference.completed",
        "FAILED" => "inference.failed",
        "CANCELLED" or "CANCELED" => "inference.cancelled",
        _ => "inference." + status.ToLowerInvariant(),
    };

    /// <summary>The event id of a request reaching <paramref name="status"/>: the same for every replica and every repeat.</summary>
    public static string IdFor(string requestId, string status) =>
        "evt_" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(requestId + "\n" + status.ToUpperInvariant())))[..24];

    /// <summary>The event as UTF-8 JSON.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);
}
