namespace Reka.Gateway.Clients;

/// <summary>
/// One internal client of the gateway, configured under <c>Clients:&lt;name&gt;</c>.
/// The file holds no secret: only the SHA-256 of the client's key. Checked by <see cref="ClientsOptions"/>.
/// </summary>
public sealed class ClientOptions
{
    /// <summary>Lowercase hex SHA-256 (64 characters) of the client's gateway key.</summary>
    public string KeySha256 { get; set; } = "";

    /// <summary>Whether the client may manage subscriptions and deliveries.</summary>
    public bool Admin { get; set; }

    /// <summary>
    /// Standard Webhooks signing secret (<c>whsec_</c> + base64 of 24 to 64 bytes) used for
    /// deliveries to the client's own <c>webhook_url</c>. Without it the client cannot pass a <c>webhook_url</c>.
    /// </summary>
    public string? WebhookSecret { get; set; }

    /// <summary>The client's own rate limit; <c>RateLimiting:Default</c> applies when absent.</summary>
    public RateLimitOptions? RateLimit { get; set; }

    /// <summary>The <c>{model}/{capability}</c> the client may submit to (e.g. <c>sora-2-pro/image-to-video</c>); absent: all.</summary>
    public List<string>? AllowedEndpoints { get; set; }

    /// <summary>The client's quotas; absent: none.</summary>
    public QuotaOptions? Quotas { get; set; }
}
