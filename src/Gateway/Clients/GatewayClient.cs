namespace Reka.Gateway.Clients;

/// <summary>An authenticated internal client, from settings (<c>Clients:&lt;name&gt;</c>) or created through <c>/clients</c>.</summary>
/// <param name="Name">The client's name.</param>
/// <param name="Admin">Whether it may manage clients, subscriptions and deliveries.</param>
/// <param name="WebhookSecret">Signs deliveries to its own <c>webhook_url</c>; without it, it cannot pass one.</param>
/// <param name="RateLimit">Its own rate limit, or null for <c>RateLimiting:Default</c>.</param>
/// <param name="AllowedEndpoints">The <c>{model}/{capability}</c> it may submit to, or null for all.</param>
/// <param name="Quotas">Its quotas, or null for none.</param>
/// <param name="FromSettings">Whether it is defined in settings (the bootstrap clients, which the API cannot change).</param>
internal sealed record GatewayClient(
    string Name,
    bool Admin,
    string? WebhookSecret,
    RateLimitOptions? RateLimit,
    IReadOnlyList<string>? AllowedEndpoints,
    QuotaOptions? Quotas,
    bool FromSettings)
{
    /// <summary>Whether the client may submit to <paramref name="endpointId"/> (<c>{model}/{capability}</c>).</summary>
    public bool MaySubmitTo(string endpointId) => AllowedEndpoints is null || AllowedEndpoints.Contains(endpointId, StringComparer.Ordinal);
}
