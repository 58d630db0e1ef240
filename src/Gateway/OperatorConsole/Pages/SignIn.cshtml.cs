using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.OperatorConsole.Sessions;

namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>
/// Sign-in: a gateway key, posted once, checked like the API checks it (<see cref="ClientRegistry"/>),
/// and exchanged for a session whose id goes in an HttpOnly, SameSite=Strict cookie scoped to
/// <c>/console</c>. The key is never echoed, stored or logged; only its SHA-256 goes in the session.
/// </summary>
internal sealed class SignInModel(ClientRegistry clients, ConsoleSessions sessions, IOptions<ConsoleOptions> options, ILogger<SignInModel> logger) : ConsolePage
{
    public override string Title => "Sign in";

    /// <summary>Where to go once signed in: a console path only.</summary>
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>Why the key was refused.</summary>
    public string? KeyError { get; private set; }

    public void OnGet(string? reason)
    {
        Notice = reason switch
        {
            "signed-out" => "Signed out.",
            "expired" => "Your session ended; sign in again.",
            "revoked" => "The key your session was opened with is no longer valid (revoked, expired, or its client deleted).",
            "unavailable" => null,
            _ => null,
        };
        if (reason == "unavailable")
        {
            Problem = "Sessions are kept in Redis, which is unavailable just now; try again in a few seconds.";
        }
    }

    public async Task<IActionResult> OnPostAsync([FromForm] string? key)
    {
        var client = string.IsNullOrWhiteSpace(key) ? null : clients.FindByKey(key.AsSpan().Trim(), out _);
        if (client is null)
        {
            GatewayLog.ConsoleSignInRefused(logger);
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            KeyError = string.IsNullOrWhiteSpace(key) ? "Enter a gateway key." : "This key is not a valid gateway key (unknown, revoked or expired).";
            return Page();
        }
        string id;
        try
        {
            id = await sessions.OpenAsync(client.Name, ClientKeys.Hash(key.AsSpan().Trim()));
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Problem = "Sessions are kept in Redis, which is unavailable just now; try again in a few seconds.";
            return Page();
        }
        Response.Cookies.Append(ConsoleAuthenticationHandler.CookieName, id, SessionCookie(Request, options.Value));
        GatewayLog.ConsoleSignedIn(logger, client.Name);
        return LocalRedirect(SafeReturnUrl(ReturnUrl));
    }

    /// <summary>The session cookie's attributes: a browser-session cookie (the session's end is kept in Redis).</summary>
    public static CookieOptions SessionCookie(HttpRequest request, ConsoleOptions options) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = options.SecureCookie == CookieSecurePolicy.Always || request.IsHttps,
        Path = ConsoleAuthenticationHandler.PathBase,
        IsEssential = true,
    };

    // Only a path of the console: never another site, nor a page outside it. LocalRedirect
    // refuses control characters (an exception, after the session is opened), so they are too.
    private static string SafeReturnUrl(string? url) =>
        url is not null && url.StartsWith(ConsoleAuthenticationHandler.PathBase + "/", StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal)
            && !url.Contains('\\') && !url.Any(char.IsControl) && !url.StartsWith(ConsoleAuthenticationHandler.PathBase + "/sign-", StringComparison.Ordinal)
            ? url
            : ConsoleAuthenticationHandler.PathBase + "/requests";
}
