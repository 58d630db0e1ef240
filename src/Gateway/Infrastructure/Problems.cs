using System.Globalization;

namespace Reka.Gateway.Infrastructure;

/// <summary>Writes the gateway's own errors: RFC 9457 problem details, through ASP.NET Core's <see cref="IProblemDetailsService"/>.</summary>
internal static class Problems
{
    /// <summary>
    /// Answers <paramref name="status"/> with <paramref name="detail"/>, and a <c>Retry-After</c>
    /// of <paramref name="retryAfterSeconds"/> when given.
    /// </summary>
    public static ValueTask WriteAsync(HttpContext context, int status, string detail, int? retryAfterSeconds = null)
    {
        context.Response.StatusCode = status;
        if (retryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Detail = detail },
        });
    }

    /// <summary>Seconds a caller is asked to wait when Redis is unavailable.</summary>
    public const int RedisRetryAfterSeconds = 5;
}
