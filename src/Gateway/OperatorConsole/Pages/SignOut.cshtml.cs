using Microsoft.AspNetCore.Mvc;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.OperatorConsole.Sessions;

namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>Sign-out (a POST, with its antiforgery token): the session is deleted from Redis and its cookie cleared.</summary>
internal sealed class SignOutModel(ConsoleSessions sessions, ILogger<SignOutModel> logger) : ConsolePage
{
    public override string Title => "Sign out";

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (Request.Cookies[ConsoleAuthenticationHandler.CookieName] is { } id)
        {
            try
            {
                await sessions.CloseAsync(id);
            }
            catch (Exception e) when (RedisStore.IsUnavailable(e))
            {
                Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                Problem = "Redis is unavailable, so the session could not be ended; try again in a few seconds.";
                return Page();
            }
        }
        Response.Cookies.Delete(ConsoleAuthenticationHandler.CookieName, new CookieOptions { Path = ConsoleAuthenticationHandler.PathBase });
        GatewayLog.ConsoleSignedOut(logger, Client?.Name);
        return Redirect(ConsoleAuthenticationHandler.PathBase + "/sign-in?reason=signed-out");
    }
}
