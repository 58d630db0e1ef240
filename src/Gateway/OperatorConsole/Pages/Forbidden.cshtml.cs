using Microsoft.AspNetCore.Mvc;

namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>Where an ordinary client lands on an admin page (403).</summary>
internal sealed class ForbiddenModel : ConsolePage
{
    public override string Title => "Not for this client";

    [BindProperty(SupportsGet = true)]
    public string? Path { get; set; }

    public void OnGet() => Response.StatusCode = StatusCodes.Status403Forbidden;
}
