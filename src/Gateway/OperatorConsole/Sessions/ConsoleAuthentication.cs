using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.OperatorConsole.Sessions;

/// <summary>
/// The console's own authentication scheme: the session cookie, checked against the session in
/// Redis and, on every request, against the clients as they are now (a deleted client, or a
/// revoked or expired key, ends the sessions opened with it). The API's key scheme never reads
/// this cookie, and this scheme never reads a key. A page without a session is sent to sign-in.
/// </summary>
internal sealed class ConsoleAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ConsoleSessions sessions,
    ClientRegistry clients)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "Console";

    /// <summary>The session cookie: an opaque id, HttpOnly, SameSite=Strict, scoped to <c>/console</c>.</summary>
    public const string CookieName = "reka-console-session";

    /// <summary>Where the console's pages and endpoints live; its cookies are scoped to it.</summary>
    public const string PathBase = "/console";

    /// <summary>Why the last authentication failed, for the sign-in page to say.</summary>
    internal const string ReasonItem = "console.reason";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Request.Cookies[CookieName] is not { Length: > 0 } id)
        {
            return AuthenticateResult.NoResult();
        }
        ConsoleSession? session;
        try
        {
            session = await sessions.TouchAsync(id);
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            return Fail("unavailable", "Sessions are kept in Redis, which is unavailable just now.");
        }
        if (session is null)
        {
            return Fail("expired", "The session ended; sign in again.");
        }
        // The client and the key as they are now, not as they were at sign-in.
        var client = clients.FindByKeyHash(session.KeySha256, out _);
        if (client is null || client.Name != session.Client)
        {
            await sessions.CloseAsync(id).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return Fail("revoked", "The key this session was opened with is no longer valid (revoked, expired, or its client deleted).");
        }
        Context.Features.Set(client);
        Context.Features.Set(session);
        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, client.Name),
            new Claim(ApiKeyAuthenticationHandler.ClientClaim, client.Name),
            new Claim(ApiKeyAuthenticationHandler.AdminClaim, client.Admin ? "true" : "false"),
        ], SchemeName, ApiKeyAuthenticationHandler.ClientClaim, roleType: null);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private AuthenticateResult Fail(string reason, string message)
    {
        Context.Items[ReasonItem] = reason;
        return AuthenticateResult.Fail(message);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        await HandleAuthenticateOnceSafeAsync();
        var reason = Context.Items[ReasonItem] as string;
        if (reason is "expired" or "revoked")
        {
            Response.Cookies.Delete(CookieName, new CookieOptions { Path = PathBase });
        }
        // Script calls (the live stream) cannot follow a redirect to a page: they get the status.
        if (Request.Path.StartsWithSegments(ConsoleSetup.LivePath))
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        // A form posted after the session ended comes back to its page's GET once signed in (not re-posted).
        var query = QueryString.Create("returnUrl", Request.PathBase + Request.Path + (HttpMethods.IsGet(Request.Method) ? Request.QueryString : QueryString.Empty));
        if (reason is not null)
        {
            query = query.Add("reason", reason);
        }
        Response.Redirect(PathBase + "/sign-in" + query);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        if (Request.Path.StartsWithSegments(ConsoleSetup.LivePath))
        {
            Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        }
        Response.Redirect(PathBase + "/forbidden?path=" + Uri.EscapeDataString(Request.Path));
        return Task.CompletedTask;
    }
}
