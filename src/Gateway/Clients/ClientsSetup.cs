using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
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

    private static readonly Type[] AuthorizationServices =
    [
        typeof(IAuthorizationService), typeof(IAuthorizationPolicyProvider), typeof(IAuthorizationHandlerProvider), typeof(IAuthorizationEvaluator),
        typeof(IAuthorizationHandlerContextFactory), typeof(IAuthorizationMiddlewareResultHandler),
    ];

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
        // ASP.NET Core registers these stateless services transient, so every call to a protected
        // endpoint built a set of them; one instance of each now serves all calls. Their
        // authorization handlers are built once with them: none may depend on a scoped service
        // (the tests' Development host would refuse it at start).
        foreach (var service in AuthorizationServices)
        {
            services.Replace(ServiceDescriptor.Singleton(service, services.Single(d => d.ServiceType == service).ImplementationType!));
        }

        // The framework's own, with the lookups and decisions every forwarded call makes built once.
        services.Replace(ServiceDescriptor.Singleton<IAuthenticationSchemeProvider, CachedAuthenticationSchemeProvider>());
        services.Replace(ServiceDescriptor.Singleton<IPolicyEvaluator, ClientPolicyEvaluator>());

        services.AddRateLimiter(options => options.AddPolicy<string, ClientRateLimitPolicy>(PerClientRateLimit));
        services.AddSingleton<FluentValidation.IValidator<CreateClientRequest>, CreateClientRequestValidator>();
        services.AddSingleton<FluentValidation.IValidator<CreateKeyRequest>, CreateKeyRequestValidator>();
        return builder;
    }

    /// <summary>
    /// Authentication, in place of <c>UseAuthentication()</c>: a call whose gateway key names a
    /// client is authenticated here (the API-key scheme's own check, its principal made once per
    /// client), and only the calls it did not authenticate (no key, an unknown or expired key, a
    /// console page without a key) cross ASP.NET Core's authentication middleware, which
    /// authenticates them as before.
    /// </summary>
    /// <remarks>
    /// The framework's middleware builds, for every call, a request scope with an authentication
    /// service and a handler provider, a handler, and tasks, a ticket and a set for the claims
    /// transformation that the gateway does not use: about 1.25 KB a call, measured side by side on
    /// the list call. What still goes through the framework's authentication service: the console's
    /// policies, which name the console's scheme; challenges and forbids. Nothing asks the API-key
    /// scheme again for a call authenticated here (a policy naming that scheme would look the key up
    /// a second time), and a key this step refused is looked up once more by the framework's pass.
    /// </remarks>
    public static IApplicationBuilder UseClientAuthentication(this IApplicationBuilder app)
    {
        var clients = app.ApplicationServices.GetRequiredService<ClientRegistry>();
        app.Use((context, next) =>
        {
            // Completed: the key is checked against the registry in memory.
            if (ApiKeyAuthenticationHandler.Authenticate(context, clients).Result is { Succeeded: true } result)
            {
                context.User = result.Principal;
            }
            return next(context);
        });
        app.UseWhen(context => context.Features.Get<GatewayClient>() is null, others => others.UseAuthentication());
        // The branch's builder has properties of its own, so the application would not see that the
        // middleware is in its pipeline, and would add it again at the front for every call: this
        // is the marker UseAuthentication() sets. AuthenticationTests' KeyedCall_... test fails if a
        // framework version renames it.
        app.Properties["__AuthenticationMiddlewareSet"] = true;
        return app;
    }
}
