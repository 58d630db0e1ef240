using Microsoft.AspNetCore.Mvc;

namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary><c>/console</c>: the requests page is the console's home.</summary>
internal sealed class IndexModel : ConsolePage
{
    public override string Title => "Console";

    public IActionResult OnGet() => Redirect("/console/requests");
}
