using System.Globalization;
using System.Text.Json;
using Reka.Gateway.Events;

namespace Reka.Gateway.Delivery;

/// <summary>One attempt to deliver, as <c>GET /subscriptions/{id}/deliveries</c> lists it.</summary>
/// <param name="Attempt">1 for the first attempt, counting on through retries and replays.</param>
/// <param name="At">When it started.</param>
/// <param name="StatusCode">The subscriber's HTTP status, or null when no answer came.</param>
/// <param name="DurationMs">How long it took, in milliseconds.</param>
/// <param name="Outcome"><c>succeeded</c>, <c>failed</c>, <c>gone</c> (410) or <c>skipped</c>.</param>
/// <param name="Error">Why it failed, when it did.</param>
public sealed record DeliveryAttempt(int Attempt, DateTimeOffset At, int? StatusCode, double DurationMs, string Outcome, string? Error);

/// <summary>A delivery of one event to one subscriber, with every attempt.</summary>
/// <param name="Id">Delivery id, <c>dlv_</c> + 24 hex characters (the same for an event and subscriber on every replica).</param>
/// <param name="EventId">The event delivered (also its <c>webhook-id</c>).</param>
/// <param name="EventType">The event's type.</param>
/// <param name="RequestId">The inference request.</param>
/// <param name="SubscriptionId">The subscription, or null for a request's own <c>webhook_url</c>.</param>
/// <param name="Client">For a request's own <c>webhook_url</c>, the client whose secret signs it.</param>
/// <param name="Url">Where it goes.</param>
/// <param name="Status"><c>pending</c>, <c>succeeded</c>, <c>dead</c> (attempts exhausted), <c>disabled</c> (410 Gone or subscription disabled) or <c>cancelled</c> (subscription deleted).</param>
/// <param name="CreatedAt">When it was queued.</param>
/// <param name="NextAttemptAt">When the next attempt is due, while pending.</param>
/// <param name="Attempts">Every attempt so far, oldest first.</param>
public sealed record DeliveryView(
    string Id,
    string EventId,
    string EventType,
    string RequestId,
    string? SubscriptionId,
    string? Client,
    string Url,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    IReadOnlyList<DeliveryAttempt> Attempts)
{
    /// <summary>Reads a delivery's record (a hash of <see cref="DeliveryFields"/>).</summary>
    public static DeliveryView FromFields(string id, IReadOnlyDictionary<string, string> fields)
    {
        string? Get(string name) => fields.TryGetValue(name, out var value) && value.Length > 0 ? value : null;
        return new DeliveryView(
            id,
            Get(DeliveryFields.EventId) ?? "",
            Get(DeliveryFields.EventType) ?? "",
            Get(DeliveryFields.RequestId) ?? "",
            Get(DeliveryFields.SubscriptionId),
            Get(DeliveryFields.Client),
            Get(DeliveryFields.Url) ?? "",
            Get(DeliveryFields.Status) ?? DeliveryStatus.Pending,
            DateTimeOffset.Parse(Get(DeliveryFields.CreatedAt) ?? "1970-01-01T00:00:00Z", CultureInfo.InvariantCulture),
            Get(DeliveryFields.NextAttemptAt) is { } next ? DateTimeOffset.Parse(next, CultureInfo.InvariantCulture) : null,
            DeliveryFields.ReadAttempts(Get(DeliveryFields.Attempts)));
    }
}

/// <summary>Statuses of a delivery.</summary>
internal static class DeliveryStatus
{
    /// <summary>Waiting for its first attempt or a retry.</summary>
    public const string Pending = "pending";
    /// <summary>A 2xx came back.</summary>
    public const string Succeeded = "succeeded";
    /// <summary>Every attempt of the schedule failed: a dead letter, kept for replay.</summary>
    public const string Dead = "dead";
    /// <summary>The endpoint answered 410 Gone, or its subscription was disabled.</summary>
    public const string Disabled = "disabled";
    /// <summary>Its subscription was deleted.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>Fields of a delivery's record in Redis.</summary>
internal static class DeliveryFields
{
#pragma warning disable CS1591 // Field names; DeliveryView documents their meaning.
    public const string EventId = "event_id";
    public const string EventType = "event_type";
    public const string RequestId = "request_id";
    public const string SubscriptionId = "subscription_id";
    public const string Client = "client";
    public const string Url = "url";
    public const string Status = "status";
    public const string CreatedAt = "created_at";
    public const string NextAttemptAt = "next_attempt_at";
    public const string Attempts = "attempts";
    public const string Retries = "retries";
    public const string TraceParent = "traceparent";
#pragma warning restore CS1591

    /// <summary>Parses the attempts list.</summary>
    public static IReadOnlyList<DeliveryAttempt> ReadAttempts(string? json) =>
        json is null ? [] : JsonSerializer.Deserialize<List<DeliveryAttempt>>(json, InferenceEvent.Json) ?? [];

    /// <summary>The fields that record <paramref name="outcome"/> on a delivery whose attempts were <paramref name="attempts"/>.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Outcome(string? attempts, AttemptOutcome outcome)
    {
        yield return new(Status, outcome.Status);
        yield return new(Attempts, JsonSerializer.Serialize((List<DeliveryAttempt>)[.. ReadAttempts(attempts), outcome.Attempt], InferenceEvent.Json));
        yield return new(Retries, outcome.Retries.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new(NextAttemptAt, outcome.NextAttemptAt?.ToString("O", System.Globalization.CultureInfo.InvariantCulture) ?? "");
    }
}
