using System.Text.Json.Serialization;

namespace Reka.Simulator.Api;

/// <summary>Reka's error body: <c>{"error": {"type", "message", "param"?}}</c>.</summary>
public sealed record ErrorEnvelope(ErrorDetail Error);

/// <summary>The inner object of <see cref="ErrorEnvelope"/>; <c>param</c> names the offending field.</summary>
public sealed record ErrorDetail(
    string Type,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Param = null);

/// <summary>Builds and writes Reka-shaped error answers.</summary>
public static class ApiErrors
{
    /// <summary>400 <c>validation_error</c>.</summary>
    public static IResult Validation(string message, string? param = null) =>
        Result(StatusCodes.Status400BadRequest, message, param);

    /// <summary>404 <c>not_found_error</c>.</summary>
    public static IResult NotFound(string message) => Result(StatusCodes.Status404NotFound, message);

    /// <summary>409 <c>conflict_error</c>.</summary>
    public static IResult Conflict(string message) => Result(StatusCodes.Status409Conflict, message);

    /// <summary>An error answer whose type follows from the HTTP status (see <see cref="TypeFor"/>).</summary>
    public static IResult Result(int status, string message, string? param = null) =>
        TypedResults.Json(
            new ErrorEnvelope(new ErrorDetail(TypeFor(status), message, param)),
            SimulatorJsonContext.Default.ErrorEnvelope,
            statusCode: status);

    /// <summary>Writes an error answer directly, for middleware that runs outside endpoints.</summary>
    public static Task WriteAsync(HttpContext context, int status, string message) =>
        Result(status, message).ExecuteAsync(context);

    /// <summary>Reka's error type for an HTTP status; every other 4xx/5xx maps to the nearest kind.</summary>
    public static string TypeFor(int status) => status switch
    {
        StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => "authentication_error",
        StatusCodes.Status404NotFound => "not_found_error",
        StatusCodes.Status409Conflict => "conflict_error",
        StatusCodes.Status429TooManyRequests => "rate_limit_error",
        < 500 => "validation_error",
        _ => "server_error",
    };
}
