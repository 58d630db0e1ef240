using Microsoft.AspNetCore.Http.HttpResults;

namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>Reads the answers of the API handlers the console calls, to say them in words.</summary>
internal static class ConsoleResults
{
    /// <summary>The status code an API handler answered.</summary>
    public static int Status(IResult result) => (result as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK;

    /// <summary>The problem detail an API handler answered, or null for a success.</summary>
    public static string? Problem(IResult result) => result switch
    {
        ProblemHttpResult problem => problem.ProblemDetails.Detail,
        ValidationProblem validation => validation.ProblemDetails.Detail ?? string.Join(" ", validation.ProblemDetails.Errors.SelectMany(e => e.Value)),
        _ => Status(result) >= 400 ? $"The gateway answered {Status(result)}." : null,
    };

    /// <summary>The value of a success answer.</summary>
    public static T? Value<T>(IResult result) where T : class => (result as IValueHttpResult)?.Value as T;
}
