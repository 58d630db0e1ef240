using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Reka.Gateway.Events;

namespace Reka.Gateway.Delivery;

/// <summary>One attempt to deliver, as <c>GET /subscriptions/{id}/deliveries</c> lists it.</summary>
/// <param name="Attempt">1 for the first attempt, counting on through retries and replays.</param>
/// <param name="At">When it started.</param>
/// <param name="StatusCode">The subscriber's HTTP status, or null when no answer came.</param>
/// <param name="DurationMs">How long it took, in milliseconds.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Error">Why it failed, when it did.</param>
/// <param name="ResponseStart">
/// The start of the subscriber's answer body: at most 256 characters, read as UTF-8 (invalid bytes
/// replaced); null when no answer or an empty body came.
/// </param>
public sealed record DeliveryAttempt(int Attempt, DateTimeOffset At, int? StatusCode, double DurationMs, AttemptResult Outcome, string? Error,
    string? ResponseStart = null)
{
    /// <summary>Most characters of a subscriber's answer kept on an attempt.</summary>
    // Written out as a number in ResponseStart's description above, which goes into the OpenAPI document.
    public const int ResponseStartLength = 256;
}

/// <summary>How one delivery attempt ended (written in snake_case: <c>succeeded</c>...).</summary>
public enum AttemptResult
{
    /// <summary>The subscriber answered 2xx.</summary>
    Succeeded,

    /// <summary>Another status, or no answer within <c>Delivery:AttemptTimeoutSeconds</c>.</summary>
    Failed,

    /// <summary>The subscriber answered 410 Gone: its subscription is disabled.</summary>
    Gone,

    /// <summary>Not sent (the URL is no longer allowed, the subscription is gone, the event expired).</summary>
    Skipped,
}

/// <summary>Where a delivery stands (written in snake_case: <c>pending</c>...).</summary>
public enum DeliveryStatus
{
    /// <summary>Waiting for its first attempt or a retry.</summary>
    Pending,

    /// <summary>A 2xx came back.</summary>
    Succeeded,

    /// <summary>Every attempt of the schedule failed: a dead letter, kept for replay.</summary>
    Dead,

    /// <summary>The endpoint answered 410 Gone, or its subscription was disabled.</summary>
    Disabled,

    /// <summary>Its subscription was deleted, or its URL is no longer allowed.</summary>
    Cancelled,
}

/// <summary>A delivery of one event to one subscriber, with every attempt.</summary>
/// <param name="Id">Delivery id, <c>dlv_</c> + 24 hex characters (the same for an event and subscriber on every replica).</param>
/// <param name="EventId">The event delivered (also its <c>webhook-id</c>).</param>
/// <param name="EventType">The event's type.</param>
/// <param name="RequestId">The inference request.</param>
/// <param name="SubscriptionId">The subscription, or null for a request's own <c>webhook_url</c>.</param>
/// <param name="Client">For a request's own <c>webhook_url</c>, the client whose secret signs it.</param>
/// <param name="Url">Where it goes.</param>
/// <param name="Status">Where it stands.</param>
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
    DeliveryStatus Status,
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
            Get(DeliveryFields.Status) is { } status ? Enum.Parse<DeliveryStatus>(status, ignoreCase: true) : DeliveryStatus.Pending,
            DateTimeOffset.Parse(Get(DeliveryFields.CreatedAt) ?? "1970-01-01T00:00:00Z", CultureInfo.InvariantCulture),
            Get(DeliveryFields.NextAttemptAt) is { } next ? DateTimeOffset.Parse(next, CultureInfo.InvariantCulture) : null,
            DeliveryFields.ReadAttempts(Get(DeliveryFields.Attempts)));
    }
}

/// <summary>Fields of a delivery's record in Redis.</summary>
internal static class DeliveryFields
{
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
    public const string Owner = "owner";

    // The attempts list is stored as a JSON array with one array per attempt: [attempt, at (100 ns
    // ticks since the Unix epoch: exact), status code or null, duration ms, outcome, error, response
    // start], the last two left out when null. A first attempt answered with an empty or short
    // body then fits in the 64 bytes Redis keeps a hash's value in a listpack
    // (hash-max-listpack-value, its default): a finished record stays a listpack of about 0.6 KB
    // for the retention, where the attempt's JSON object (about 170 bytes) made it a hash table of
    // about 1.4 KB. Records written before hold objects, which are still read.

    /// <summary>Parses the attempts list (null: none yet).</summary>
    /// <exception cref="JsonException">The field is not JSON (JSON of another shape throws other exceptions: only the gateway writes it).</exception>
    public static IReadOnlyList<DeliveryAttempt> ReadAttempts(string? stored)
    {
        if (string.IsNullOrEmpty(stored))
        {
            return [];
        }
        using var document = JsonDocument.Parse(stored);
        var attempts = new List<DeliveryAttempt>(document.RootElement.GetArrayLength());
        foreach (var item in document.RootElement.EnumerateArray())
        {
            attempts.Add(item.ValueKind == JsonValueKind.Object
                ? item.Deserialize<DeliveryAttempt>(InferenceEvent.Json)!
                : new DeliveryAttempt(
                    item[0].GetInt32(),
                    DateTimeOffset.UnixEpoch.AddTicks(item[1].GetInt64()),
                    item[2].ValueKind == JsonValueKind.Null ? null : item[2].GetInt32(),
                    item[3].GetDouble(),
                    FromWire<AttemptResult>(item[4].GetString()!),
                    item.GetArrayLength() > 5 ? item[5].GetString() : null,
                    item.GetArrayLength() > 6 ? item[6].GetString() : null));
        }
        return attempts;
    }

    /// <summary>The fields that record <paramref name="outcome"/> on a delivery whose attempts were <paramref name="attempts"/>.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Outcome(string? attempts, AttemptOutcome outcome)
    {
        yield return new(Status, Wire(outcome.Status));
        yield return new(Attempts, AttemptsAfter(attempts, outcome));
        yield return new(Retries, outcome.Retries.ToString(CultureInfo.InvariantCulture));
        yield return new(NextAttemptAt, NextAttemptAtText(outcome));
    }

    /// <summary>The stored attempts list <paramref name="attempts"/> with <paramref name="outcome"/>'s attempt added, as stored.</summary>
    public static string AttemptsAfter(string? attempts, AttemptOutcome outcome)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        // Escaped for JSON only (a quote as \", not \u0022): it is stored, not put in a page.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (var earlier in ReadAttempts(attempts))
            {
                WriteAttempt(writer, earlier);
            }
            WriteAttempt(writer, outcome.Attempt);
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteAttempt(Utf8JsonWriter writer, DeliveryAttempt attempt)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(attempt.Attempt);
        writer.WriteNumberValue(attempt.At.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks);
        if (attempt.StatusCode is { } status)
        {
            writer.WriteNumberValue(status);
        }
        else
        {
            writer.WriteNullValue();
        }
        writer.WriteNumberValue(attempt.DurationMs);
        writer.WriteStringValue(Wire(attempt.Outcome));
        if (attempt.Error is not null || attempt.ResponseStart is not null)
        {
            writer.WriteStringValue(attempt.Error);
        }
        if (attempt.ResponseStart is not null)
        {
            writer.WriteStringValue(attempt.ResponseStart);
        }
        writer.WriteEndArray();
    }

    /// <summary>When the delivery is retried (ISO 8601), or empty when it is finished.</summary>
    public static string NextAttemptAtText(AttemptOutcome outcome) => outcome.NextAttemptAt?.ToString("O", CultureInfo.InvariantCulture) ?? "";

    /// <summary>How an enum value is written, in Redis as in JSON (<see cref="InferenceEvent.Json"/>): snake_case.</summary>
    public static string Wire<T>(T value) where T : struct, Enum => WireNames<T>.Names[value];

    /// <summary>The enum value written as <paramref name="wire"/> by <see cref="Wire{T}(T)"/>.</summary>
    /// <exception cref="KeyNotFoundException">No value is written so.</exception>
    public static T FromWire<T>(string wire) where T : struct, Enum => WireNames<T>.Values[wire];

    // Each value's name converted once: a delivery attempt writes several.
    private static class WireNames<T> where T : struct, Enum
    {
        public static readonly FrozenDictionary<T, string> Names =
            Enum.GetValues<T>().ToFrozenDictionary(value => value, value => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString()));

        public static readonly FrozenDictionary<string, T> Values = Names.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);
    }
}
