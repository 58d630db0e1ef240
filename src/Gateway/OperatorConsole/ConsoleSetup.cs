using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.FileProviders;
using Reka.Gateway.Clients;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Inference;
using Reka.Gateway.OperatorConsole.Health;
using Reka.Gateway.OperatorConsole.Requests;
using Reka.Gateway.OperatorConsole.Sessions;

// Not Reka.Gateway.Console: a namespace of that name would hide System.Console from every
// Reka.Gateway.* file (and the bench's).
namespace Reka.Gateway.OperatorConsole;

/// <summary>
/// The operator console at <c>/console</c>: Razor Pages served by the gateway itself, signed in
/// with a gateway key exchanged for a server-side session (<see cref="ConsoleSessions"/>), calling
/// the gateway's own services in-process. It depends on the other features; none depends on it.
/// </summary>
internal static class ConsoleSetup
{
    /// <summary>Authorization policy of every console page: a console session.</summary>
    public const string SignedInPolicy = "console";

    /// <summary>Authorization policy of the admin pages: a console session of an admin client.</summary>
    public const string AdminPolicy = "console-admin";

    /// <summary>The server-sent event stream of the console's live updates.</summary>
    public const string LivePath = "/console/live";

    /// <summary>The Redis key (after <c>Redis:KeyPrefix</c>) of the Data Protection key ring that seals antiforgery tokens.</summary>
    public const string DataProtectionKeysKey = "console:data-protection-keys";

    /// <summary>Where the console's scripts, styles and the chart library are served from.</summary>
    public const string AssetsPath = "/console/assets";

    /// <summary>Registers the console's pages, its authentication scheme and its services.</summary>
    public static WebApplicationBuilder AddConsole(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSettings<ConsoleOptions, ConsoleOptionsValidator>(ConsoleOptions.SectionName);
        services.AddSingleton<ConsoleSessions>();
        services.AddSingleton<ConsoleRequests>();
        services.AddSingleton<RecentCounts>();
        services.AddHostedService(sp => sp.GetRequiredService<RecentCounts>());
        services.AddSingleton<HealthFigures>();

        // Its own scheme: the API's default (the key) is unchanged and never reads the cookie.
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ConsoleAuthenticationHandler>(ConsoleAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(SignedInPolicy, policy => policy.AddAuthenticationSchemes(ConsoleAuthenticationHandler.SchemeName).RequireAuthenticatedUser())
            .AddPolicy(AdminPolicy, policy => policy.AddAuthenticationSchemes(ConsoleAuthenticationHandler.SchemeName).RequireAuthenticatedUser()
                .RequireClaim(ApiKeyAuthenticationHandler.AdminClaim, "true"));

        services.AddRazorPages(options =>
        {
            options.RootDirectory = "/OperatorConsole/Pages";
            options.Conventions.AuthorizeFolder("/", SignedInPolicy);
            options.Conventions.AllowAnonymousToPage("/SignIn");
            options.Conventions.AllowAnonymousToPage("/NotFound");
            options.Conventions.AuthorizeFolder("/Subscriptions", AdminPolicy);
            options.Conventions.AuthorizePage("/Clients/Index", AdminPolicy);
            options.Conventions.AuthorizePage("/Health", AdminPolicy);
            options.Conventions.ConfigureFilter(new Pages.AntiforgeryFailurePage());
        });
        // Every form that changes something carries a token bound to this cookie (Razor Pages check
        // it on each POST); the session cookie's SameSite=Strict is the second line.
        // Its cookie is Secure over https; not forced with Console:SecureCookie=Always, which is for
        // TLS ending in front of the gateway, where antiforgery would refuse every plain request.
        // Alone it is worth nothing: a forged form also needs the session and the page's token.
        services.Configure<Microsoft.AspNetCore.Antiforgery.AntiforgeryOptions>(antiforgery =>
        {
            antiforgery.Cookie.Name = "reka-console-antiforgery";
            antiforgery.Cookie.Path = ConsoleAuthenticationHandler.PathBase;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.HttpOnly = true;
            antiforgery.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            antiforgery.SuppressXFrameOptionsHeader = true; // ConsoleHeaders sends DENY
        });
        // Antiforgery tokens are sealed with Data Protection keys. Kept in Redis, one key ring for
        // every replica: a page served by one replica posts to another behind the load balancer,
        // and a restarted pod still reads the tokens of the pages already open. (The default, a
        // folder in the pod, would give each replica keys of its own.) Keys are in the clear in
        // Redis, beside the data they would guard.
        services.AddDataProtection().SetApplicationName("reka-gateway");
        services.AddOptions<KeyManagementOptions>().Configure<RedisStore>((keys, redis) =>
            keys.XmlRepository = new RedisXmlRepository(() => redis.Database, redis.Key(DataProtectionKeysKey)));
        services.AddSingleton<ConsoleKeyRing>();
        // Data Protection's own hosted service loads the key ring at start, making a key if it
        // finds none; the console's first request does instead, after ConsoleKeyRing. Found by its
        // name: the type is internal. Should a framework version rename it, replicas would load
        // the ring at start again, without the lock (replicas starting together on an empty ring
        // could each make a key), and ConsoleReplicasTests fails on the key it finds at start.
        foreach (var preload in services.Where(descriptor => descriptor.ServiceType == typeof(IHostedService)
            && descriptor.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService").ToList())
        {
            services.Remove(preload);
        }
        return builder;
    }

    /// <summary>
    /// The console's headers, static files and first key (<see cref="ConsoleKeyRing"/>), in one
    /// branch under <c>/console</c> that rejoins the pipeline (other calls pass it with one path
    /// check); before routing.
    /// </summary>
    public static IApplicationBuilder UseConsole(this IApplicationBuilder app)
    {
        var keyRing = app.ApplicationServices.GetRequiredService<ConsoleKeyRing>();
        return app.UseWhen(context => context.Request.Path.StartsWithSegments(ConsoleAuthenticationHandler.PathBase), console =>
        {
            console.UseConsoleHeaders();
            // The files sit beside the binaries (copied at build and publish), whatever the content root.
            console.UseStaticFiles(new StaticFileOptions
            {
                RequestPath = AssetsPath,
                FileProvider = new PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "wwwroot", "console")),
            });
            console.Use(async (context, next) =>
            {
                await keyRing.EnsureFirstKeyAsync(context.RequestAborted);
                await next(context);
            });
        });
    }

    /// <summary>
    /// Maps the pages and the live stream, none of them in the OpenAPI document. A signed-in
    /// client's pages count against its rate limit as its API calls do (a page may call Reka with
    /// the team key); the sign-in page is not limited.
    /// </summary>
    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapRazorPages().RequireRateLimiting(ClientsSetup.PerClientRateLimit);
        endpoints.MapGet(LivePath, (HttpContext context, EventHub hub, ClientRegistry clients, TimeProvider time, IHostApplicationLifetime lifetime) =>
            {
                var client = context.GetClient();
                var session = context.Features.GetRequiredFeature<ConsoleSession>();
                // Terminal events the signed-in client may see (ResultCache's rule: an admin sees
                // all), each as the few fields a page updates from.
                if (hub.TryListen(context, client.Name, e => ResultCache.MayAccess(client, e.Client)) is not { } listener)
                {
                    return hub.TooManyStreams(client.Name);
                }
                // The session's key and client as they are now: the key revoked or expired, the
                // client changed (an admin no more), or the session's lifetime over ends the
                // stream, as the next page would the session. (A sign-out or the idle timeout, kept
                // in Redis, end it when the page reconnects.)
                var events = listener.ReadAsync(() => time.GetUtcNow() < session.ExpiresAt
                        && clients.FindByKeyHash(session.KeySha256, out _) is { } now && now.Name == client.Name && now.Admin == client.Admin,
                    context.RequestAborted, lifetime.ApplicationStopping);
                return TypedResults.ServerSentEvents(events.Select(e => e is null
                    ? new SseItem<string>("{}", "ping")
                    : new SseItem<string>(Summary(e), "inference") { EventId = e.Id }));
            })
            .RequireAuthorization(SignedInPolicy)
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit)
            .ExcludeFromDescription();
        return endpoints;
    }

    private static string Summary(PublishedEvent published)
    {
        using var document = JsonDocument.Parse(published.Json);
        var root = document.RootElement;
        string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["request_id"] = published.RequestId,
            ["type"] = published.Type,
            ["status"] = Text("status"),
            ["endpoint_id"] = Text("endpoint_id"),
            ["completed_at"] = root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object
                && result.TryGetProperty("completed_at", out var completed) && completed.ValueKind == JsonValueKind.String ? completed.GetString() : null,
        }, GatewayJson.Options);
    }
}
