using System.Text.Json.Serialization;

namespace Reka.Gateway.Clients;

/// <summary>Body of <c>POST /clients</c>. Unknown fields are refused.</summary>
/// <param name="Name">The client's name: 1-64 characters of A-Z, a-z, 0-9, <c>.</c>, <c>_</c>, <c>-</c>; unique, and not one of the clients in settings.</param>
/// <param name="Admin">Whether it may manage clients, subscriptions and deliveries (default false).</param>
/// <param name="RateLimit">Its own limit (<c>permit_limit</c> requests per <c>window_seconds</c>); absent: <c>RateLimiting:Default</c>.</param>
/// <param name="AllowedEndpoints">The <c>{model}/{capability}</c> it may submit to (at most 100); absent: all.</param>
/// <param name="Quotas"><c>max_in_flight</c> (inferences not yet terminal) and <c>daily_submits</c> (per UTC day); absent: none.</param>
/// <param name="Description">Free text for people, at most 500 characters.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateClientRequest(
    string? Name,
    bool? Admin = null,
    RateLimitOptions? RateLimit = null,
    List<string>? AllowedEndpoints = null,
    QuotaOptions? Quotas = null,
    string? Description = null);

/// <summary>Body of <c>POST /clients/{name}/keys</c>. Unknown fields are refused.</summary>
/// <param name="ExpiresAt">When the key stops working (ISO 8601, in the future); absent: never.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateKeyRequest(DateTimeOffset? ExpiresAt = null);

/// <summary>A key of a client, without the key itself (only its hash is stored).</summary>
/// <param name="KeyId">The key's id, <c>key_</c> + 16 hex characters (<c>settings</c> for a client of settings).</param>
/// <param name="CreatedAt">When it was issued.</param>
/// <param name="ExpiresAt">When it stops working, or null.</param>
public sealed record ClientKeyView(string KeyId, DateTimeOffset? CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>A client as <c>GET /clients</c> shows it.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Admin">Whether it is an admin client.</param>
/// <param name="RateLimit">Its own rate limit, or null for <c>RateLimiting:Default</c>.</param>
/// <param name="AllowedEndpoints">What it may submit to, or null for all.</param>
/// <param name="Quotas">Its quotas, or null.</param>
/// <param name="Description">Free text.</param>
/// <param name="Source"><c>settings</c> (bootstrap, changed only in settings) or <c>api</c>.</param>
/// <param name="CreatedAt">When it was created through the API.</param>
/// <param name="UpdatedAt">When it was last changed through the API.</param>
/// <param name="Keys">Its keys.</param>
public sealed record ClientView(
    string Name,
    bool Admin,
    RateLimitOptions? RateLimit,
    IReadOnlyList<string>? AllowedEndpoints,
    QuotaOptions? Quotas,
    string? Description,
    string Source,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? UpdatedAt,
    IReadOnlyList<ClientKeyView> Keys);

/// <summary>A key just issued: the only time the key is shown.</summary>
/// <param name="KeyId">Its id.</param>
/// <param name="Key"><c>gk_</c> + 43 base64url characters; send it as <c>X-Api-Key</c> or <c>Authorization: Bearer</c>.</param>
/// <param name="ExpiresAt">When it stops working, or null.</param>
public sealed record IssuedKey(string KeyId, string Key, DateTimeOffset? ExpiresAt);

/// <summary>Answer of <c>POST /clients</c>: the client, its first key and its webhook signing secret, each shown this once.</summary>
/// <param name="Client">The client.</param>
/// <param name="Key">Its first key.</param>
/// <param name="WebhookSecret">Standard Webhooks secret (<c>whsec_</c>...) signing deliveries to the client's own <c>webhook_url</c>.</param>
public sealed record CreatedClient(ClientView Client, IssuedKey Key, string WebhookSecret);
