using System.Text.Json;
using Reka.Gateway.Events;

namespace Reka.Gateway.Subscriptions;

/// <summary>
/// A webhook subscription: events matching <see cref="Filter"/> are delivered to <see cref="Url"/>,
/// signed with <see cref="Secret"/> (Standard Webhooks).
/// </summary>
/// <param name="Id">Subscription id, <c>sub_</c> + 24 hex characters.</param>
/// <param name="Url">Where deliveries go (a host and port <c>Webhooks:AllowedSubscriberHosts</c> allows).</param>
/// <param name="Filter">Which events it wants; empty lists match everything.</param>
/// <param name="Description">Free text for people.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="Enabled">False once the endpoint answered 410 Gone, or an admin disabled it.</param>
/// <param name="DisabledReason">Why it was disabled.</param>
/// <param name="Secret">Signing secret, <c>whsec_</c> + base64; shown once, at creation.</param>
internal sealed record Subscription(
    string Id,
    string Url,
    SubscriptionFilter Filter,
    string? Description,
    DateTimeOffset CreatedAt,
    bool Enabled,
    string? DisabledReason,
    string Secret)
{
    /// <summary>The subscription as the API shows it after creation: without its secret.</summary>
    public SubscriptionView ToView() => new(Id, Url, Filter, Description, CreatedAt, Enabled, DisabledReason);

    /// <summary>The answer to its creation: the only one with its secret.</summary>
    public CreatedSubscription ToCreated() => new(Id, Url, Filter, Description, CreatedAt, Enabled, Secret);

    /// <summary>Whether <paramref name="request"/> asks for this subscription: the same url, filter and description.</summary>
    public bool IsFor(CreateSubscriptionRequest request) =>
        Url == request.Url && Description == request.Description
        && JsonSerializer.Serialize(Filter, InferenceEvent.Json) == JsonSerializer.Serialize(request.Filter ?? new SubscriptionFilter(), InferenceEvent.Json);
}

/// <summary>
/// Which events a subscription wants: each list, when non-empty, must contain the event's value
/// (<c>endpoint_id</c>, <c>model_id</c>, <c>capability</c>, <c>status</c>; status case-insensitive).
/// </summary>
public sealed record SubscriptionFilter(
    IReadOnlyList<string>? EndpointId = null,
    IReadOnlyList<string>? ModelId = null,
    IReadOnlyList<string>? Capability = null,
    IReadOnlyList<string>? Status = null)
{
    /// <summary>Whether <paramref name="e"/> passes the filter.</summary>
    public bool Matches(InferenceEvent e) =>
        Allows(EndpointId, e.EndpointId, StringComparer.Ordinal)
        && Allows(ModelId, e.ModelId, StringComparer.Ordinal)
        && Allows(Capability, e.Capability, StringComparer.Ordinal)
        && Allows(Status, e.Status, StringComparer.OrdinalIgnoreCase);

    private static bool Allows(IReadOnlyList<string>? wanted, string? value, StringComparer comparer) =>
        wanted is null || wanted.Count == 0 || (value is not null && wanted.Contains(value, comparer));
}

/// <summary>A subscription as <c>GET /subscriptions</c> shows it (no secret).</summary>
public sealed record SubscriptionView(
    string Id,
    string Url,
    SubscriptionFilter Filter,
    string? Description,
    DateTimeOffset CreatedAt,
    bool Enabled,
    string? DisabledReason);

/// <summary>The answer to creating a subscription: the only time its secret is shown.</summary>
public sealed record CreatedSubscription(
    string Id,
    string Url,
    SubscriptionFilter Filter,
    string? Description,
    DateTimeOffset CreatedAt,
    bool Enabled,
    string Secret);

/// <summary>Body of <c>POST /subscriptions</c>.</summary>
/// <param name="Url">Where deliveries go: an absolute http(s) URL on an allowed host and port, without user information (RFC 3986 §3.2.1).</param>
/// <param name="Filter">Optional filter.</param>
/// <param name="Description">Optional text, up to 500 characters.</param>
public sealed record CreateSubscriptionRequest(string? Url, SubscriptionFilter? Filter = null, string? Description = null);

/// <summary>Body of <c>PATCH /subscriptions/{id}</c>. Unknown fields are refused.</summary>
/// <param name="Enabled">
/// <c>false</c> stops deliveries to the subscription (pending ones end as <c>disabled</c> at their
/// next attempt); <c>true</c> resumes them for new events (replay the ones missed).
/// </param>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record UpdateSubscriptionRequest(bool? Enabled);
