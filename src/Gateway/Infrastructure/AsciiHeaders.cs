namespace Reka.Gateway.Infrastructure;

/// <summary>
/// Refuses a request whose header values hold characters outside ASCII (Kestrel decodes such
/// bytes as UTF-8 when they are valid UTF-8): 400 problem details naming the header, never its
/// value, before routing. The gateway could not send them on (HttpClient writes ASCII header
/// values only, so a forwarded call failed as a 502 "Could not reach upstream"), and RFC 9110
/// §5.5 limits field values to ASCII for new fields.
/// </summary>
internal static class AsciiHeaders
{
    /// <summary>Adds the check to the pipeline.</summary>
    public static IApplicationBuilder UseAsciiHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) => NonAscii(context.Request.Headers) is { } name
            ? Problems.WriteAsync(context, StatusCodes.Status400BadRequest,
                $"The value of the '{name}' header holds characters outside ASCII, which the gateway does not accept in header values (RFC 9110 §5.5).").AsTask()
            : next(context));

    /// <summary>The name of the first header whose value holds a character past U+007F, or null.</summary>
    public static string? NonAscii(IHeaderDictionary headers)
    {
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                if (value is not null && value.AsSpan().ContainsAnyExceptInRange('\0', '\u007F'))
                {
                    return name;
                }
            }
        }
        return null;
    }
}
