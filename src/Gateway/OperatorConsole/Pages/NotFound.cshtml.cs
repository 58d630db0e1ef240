namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>Any other path under <c>/console</c>: a page that says so (404), not the API's problem details.</summary>
internal sealed class NotFoundModel : ConsolePage
{
    public override string Title => "Not found";

    public void OnGet() => Response.StatusCode = StatusCodes.Status404NotFound;
}
