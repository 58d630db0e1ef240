using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>What every console page has: the signed-in client, and a notice or a problem to show in words.</summary>
internal abstract class ConsolePage : PageModel
{
    /// <summary>The signed-in client (null on the sign-in page).</summary>
    public GatewayClient? Client => HttpContext.Features.Get<GatewayClient>();

    /// <summary>Whether the signed-in client is an admin.</summary>
    public bool IsAdmin => Client?.Admin == true;

    /// <summary>What was done, to say at the top of the page.</summary>
    public string? Notice { get; set; }

    /// <summary>What went wrong, to say at the top of the page.</summary>
    public string? Problem { get; set; }

    /// <summary>The page's title.</summary>
    public abstract string Title { get; }

    /// <summary>
    /// Runs <paramref name="action"/>; Redis being away becomes a 503 page that says what was not
    /// done, and a write no replica confirmed one that says it was saved (the page lists it).
    /// </summary>
    protected async Task<bool> TryAsync(Func<Task> action, string notDone)
    {
        try
        {
            await action();
            return true;
        }
        catch (ReplicaNotConfirmedException e)
        {
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Problem = $"The change was saved, but may be lost in a failover: {e.Message} Check the page before you make it again.";
            return false;
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Problem = $"{notDone} The gateway's store (Redis) is unavailable; try again in a few seconds.";
            return false;
        }
    }

    /// <summary>
    /// Whether every field of the form bound. One that did not (a number or a date that does not
    /// parse, a required field missing) makes the page a 400 that names it and says
    /// <paramref name="notDone"/>, before anything is done: read as empty, it would mean "none"
    /// (a quota lifted, a key that never expires).
    /// </summary>
    protected bool FormBound(string notDone)
    {
        if (ModelState.IsValid)
        {
            return true;
        }
        Response.StatusCode = StatusCodes.Status400BadRequest;
        Problem = $"{notDone} " + string.Join(" ", ModelState.Values.SelectMany(v => v.Errors).Select(e => e.ErrorMessage));
        return false;
    }

    /// <summary>The page with a 404 and <paramref name="message"/>.</summary>
    protected IActionResult NotFoundPage(string message)
    {
        Response.StatusCode = StatusCodes.Status404NotFound;
        Problem = message;
        return Page();
    }

    /// <summary>A redirect to this page's GET with the notice named <paramref name="done"/> (a fixed message, not text from the URL).</summary>
    protected IActionResult Done(string done, object? values = null)
    {
        var route = new RouteValueDictionary(values) { ["done"] = done };
        return RedirectToPage(route);
    }
}
