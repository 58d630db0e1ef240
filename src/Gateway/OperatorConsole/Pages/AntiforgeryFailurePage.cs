using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.Core.Infrastructure;

namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>
/// A form posted without its antiforgery token (or with another session's) is refused, 400, and
/// changes nothing; this says so in a page rather than the framework's empty answer.
/// </summary>
internal sealed class AntiforgeryFailurePage : IAlwaysRunResultFilter
{
    private const string Html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Form refused · Reka gateway console</title><link rel="stylesheet" href="/console/assets/console.css"></head>
        <body><main id="main"><h1>Form refused</h1>
        <p class="problem" role="alert">This form was not sent from a console page of your session (its antiforgery token is missing or stale), so nothing was changed.</p>
        <p><a href="/console/requests">Back to the console</a>: reload the page and send the form again.</p></main></body></html>
        """;

    public void OnResultExecuting(ResultExecutingContext context)
    {
        if (context.Result is IAntiforgeryValidationFailedResult)
        {
            context.Result = new ContentResult { StatusCode = StatusCodes.Status400BadRequest, ContentType = "text/html; charset=utf-8", Content = Html };
        }
    }

    public void OnResultExecuted(ResultExecutedContext context)
    {
    }
}
