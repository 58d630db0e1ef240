using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using Reka.Gateway.Infrastructure.Validation;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Infrastructure;

/// <summary>
/// Every error the gateway itself makes is RFC 9457 problem details with a useful <c>detail</c>
/// (answers the framework makes without one get one here) and a <c>trace_id</c> (added by ASP.NET
/// Core); unhandled exceptions never show their message or stack.
/// </summary>
internal static class ProblemDetailsSetup
{
    public static IServiceCollection AddGatewayProblemDetails(this IServiceCollection services) =>
        // Binding failures (malformed JSON, say) throw, so the exception handler turns them into
        // problem details that say what could not be read.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true)
            .AddExceptionHandler<RedisUnavailableHandler>()
            .AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var request = context.HttpContext.Request;
            problem.Instance ??= request.Path;
            switch (context.Exception)
            {
                // A body minimal APIs could not bind by the JSON policy: name the member at fault,
                // as validation problems do.
                case BadHttpRequestException { InnerException: JsonException json } bad:
                    var error = StrictJson.Describe(json);
                    problem.Status = bad.StatusCode;
                    problem.Detail = error.Detail;
                    problem.Extensions["errors"] = new Dictionary<string, string[]> { [error.Field] = [error.Detail] };
                    break;
                // Minimal APIs' words for a body without Content-Type ("Expected a supported JSON
                // media type but got ''") do not say what to send.
                case BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType }:
                    problem.Status = StatusCodes.Status415UnsupportedMediaType;
                    problem.Detail = StrictJson.UnsupportedMediaType(request);
                    break;
                // Kestrel's and minimal APIs' own request errors (e.g. "Request body too large. The
                // max request body size is N bytes.") say what the caller did wrong and hold no secret.
                case BadHttpRequestException bad:
                    problem.Status = bad.StatusCode;
                    problem.Detail = bad.Message;
                    break;
                case not null:
                    problem.Detail = "The gateway failed unexpectedly; the trace id identifies the failure in its logs.";
                    break;
            }
            // Answers the framework makes without a body (status code pages) get a detail too.
            problem.Detail ??= problem.Status switch
            {
                StatusCodes.Status404NotFound => $"No route of the gateway matches {request.Method} {request.Path}.",
                StatusCodes.Status405MethodNotAllowed => $"{request.Method} is not allowed on {request.Path}.",
                StatusCodes.Status415UnsupportedMediaType => StrictJson.UnsupportedMediaType(request),
                var status => $"The gateway answered {status} {ReasonPhrases.GetReasonPhrase(status ?? 0)} to {request.Method} {request.Path}.",
            };
        });

    /// <summary>Adds the exception handler, and problem details for error answers the framework leaves empty (404, 405, 415).</summary>
    public static IApplicationBuilder UseGatewayProblemDetails(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                _ => StatusCodes.Status500InternalServerError,
            },
            // A caller's bad request, or Redis being away, is not the gateway failing: no error log with a stack.
            SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException || RedisStore.IsUnavailable(context.Exception),
        });
        app.UseStatusCodePages();
        return app;
    }
}
