using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.StandardWebhooks;

namespace Reka.Gateway.Clients;

/// <summary>The <c>Clients</c> section: client name to its settings.</summary>
public sealed class ClientsOptions : Dictionary<string, ClientOptions>
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Clients";

    /// <summary>Creates an empty, case-sensitive map.</summary>
    public ClientsOptions() : base(StringComparer.Ordinal) { }
}

/// <summary>Wires client authentication, the admin policy and per-client rate limits.</summary>
public static class ClientsSetup
{
    /// <summary>Authorization policy of admin-only endpoints.</summary>
    public const string AdminPolicy = "admin";

    /// <summary>Rate limiter policy partitioned by client.</summary>
    public const string PerClientRateLimit = "per-client";

    /// <summary>Registers clients, authentication, authorization and rate limiting.</summary>
    public static WebApplicationBuilder AddClients(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCheckedOptions<ClientsOptions, ClientsOptionsValidator>(ClientsOptions.SectionName);
        services.AddCheckedOptions<RateLimitingOptions, RateLimitingOptionsValidator>(RateLimitingOptions.SectionName);
        services.AddSingleton(sp => new ClientRegistry(sp.GetRequiredService<IOptions<ClientsOptions>>().Value));

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(
                ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiKeyAuthenticationHandler.AdminClaim, "true"));

        services.AddRateLimiter(options =>
        {
            options.AddPolicy(PerClientRateLimit, context =>
            {
                var client = context.Features.Get<GatewayClient>();
                if (client is null)
                {
                    return RateLimitPartition.GetNoLimiter("anonymous");
                }
                var limits = context.RequestServices.GetRequiredService<ClientRateLimits>();
                return limits.PartitionFor(client);
            });
            options.OnRejected = ClientRateLimits.OnRejectedAsync;
        });
        services.AddSingleton<ClientRateLimits>();
        return builder;
    }
}

/// <summary>Checks every client's settings at start-up.</summary>
internal sealed class ClientsOptionsValidator : SettingsValidator<ClientsOptions>
{
    protected override IEnumerable<string> Check(ClientsOptions options)
    {
        foreach (var (client, settings) in options)
        {
            if (settings.KeySha256.Length != 64 || !settings.KeySha256.All(c => char.IsAsciiHexDigitLower(c) || char.IsAsciiDigit(c)))
            {
                yield return $"Clients:{client}:KeySha256 must be the lowercase hex SHA-256 of the client's key (64 characters).";
            }
            if (settings.WebhookSecret is { } secret && !Infrastructure.StandardWebhooks.WebhookSecret.IsValid(secret))
            {
                yield return $"Clients:{client}:WebhookSecret must be 'whsec_' followed by base64 of 24 to 64 random bytes.";
            }
            if (settings.RateLimit is { } limit && (limit.PermitLimit < 1 || limit.WindowSeconds < 1))
            {
                yield return $"Clients:{client}:RateLimit needs PermitLimit >= 1 and WindowSeconds >= 1.";
            }
        }
        if (options.Values.GroupBy(c => c.KeySha256).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            yield return $"Two clients share KeySha256 {duplicate.Key[..Math.Min(8, duplicate.Key.Length)]}...; every client needs its own key.";
        }
    }
}

internal sealed class RateLimitingOptionsValidator : SettingsValidator<RateLimitingOptions>
{
    protected override IEnumerable<string> Check(RateLimitingOptions settings)
    {
        if (settings.Default.PermitLimit < 1 || settings.Default.WindowSeconds < 1)
        {
            yield return "RateLimiting:Default needs PermitLimit >= 1 and WindowSeconds >= 1.";
        }
    }
}
