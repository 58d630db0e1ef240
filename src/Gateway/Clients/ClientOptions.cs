namespace Reka.Gateway.Clients;

/// <summary>
/// One internal client of the gateway, configured under <c>Clients:&lt;name&gt;</c>.
/// The file holds no secret: only the SHA-256 of the client's key.
/// </summary>
public sealed class ClientOptions
{
    /// <summary>Lowercase hex SHA-256 (64 characters) of the client's gateway key.</summary>
    public string KeySha256 { get; set; } = "";

    /// <summary>Whether the client may manage subscriptions and deliveries.</summary>
    public bool Admin { get; set; }

    /// <summary>
    /// Standard Webhooks signing secret (<c>whsec_</c> + base64) used for deliveries to the
    /// client's own <c>webhook_url</c>. Without it the client cannot pass a <c>webhook_url</c>.
    /// </summary>
    public string? WebhookSecret { get; set; }

    /// <summary>The client's own rate limit; <c>RateLimiting:Default</c> applies when absent.</summary>
    public RateLimitOptions? RateLimit { get; set; }
}

/// <summary>A fixed-window request limit: <see cref="PermitLimit"/> requests per <see cref="WindowSeconds"/>.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Requests allowed per window.</summary>
    public int PermitLimit { get; set; } = 600;

    /// <summary>Window length in seconds.</summary>
    public int WindowSeconds { get; set; } = 60;
}

/// <summary>Settings of section <c>RateLimiting</c>.</summary>
public sealed class RateLimitingOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "RateLimiting";

    /// <summary>Limit for clients without their own <c>Clients:&lt;name&gt;:RateLimit</c>.</summary>
    public RateLimitOptions Default { get; set; } = new();
}
