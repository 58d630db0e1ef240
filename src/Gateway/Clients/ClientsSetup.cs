using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.StandardWebhooks;

namespace Reka.Gateway.Clients;

/// <summary>Wires client authentication, the admin policy and per-client rate limits.</summary>
internal static class ClientsSetup
{
    /// <summary>Authorization policy of admin-only endpoints.</summary>
    public const string AdminPolicy = "admin";

    /// <summary>Rate limiter policy partitioned by client.</summary>
    public const string PerClientRateLimit = ClientRateLimitPolicy.Name;

    /// <summary>Registers clients, authentication, authorization and rate limiting.</summary>
    public static WebApplicationBuilder AddClients(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSettings<ClientsOptions, ClientsOptionsValidator>(ClientsOptions.SectionName);
        services.AddSettings<RateLimitingOptions, RateLimitingOptionsValidator>(RateLimitingOptions.SectionName);
        services.AddSingleton<ClientStore>();
        services.AddSingleton<ClientRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<ClientRegistry>());

        // Transient, as AuthenticationBuilder registers its handlers: one per request that uses it.
        services.AddTransient<ApiKeyAuthenticationHandler>();
        services.AddAuthentication(options =>
        {
            options.DefaultScheme = ApiKeyAuthenticationHandler.SchemeName;
            options.AddScheme<ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, displayName: null);
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiKeyAuthenticationHandler.AdminClaim, "true"));

        services.AddRateLimiter(options => options.AddPolicy<string, ClientRateLimitPolicy>(PerClientRateLimit));
        services.AddSingleton<FluentValidation.IValidator<CreateClientRequest>, CreateClientRequestValidator>();
        services.AddSingleton<FluentValidation.IValidator<CreateKeyRequest>, CreateKeyRequestValidator>();
        return builder;
    }
}
