using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace Reka.Gateway.Infrastructure.Validation;

/// <summary>
/// For endpoints whose body minimal APIs bind as JSON (the clients and subscriptions routes): a
/// request without a body gets the answers a submit gets, not the framework's words for a missing
/// parameter ("Implicit body inferred for parameter ... Did you mean to use a Service instead?"):
/// 415 naming <see cref="StrictJson.MediaTypes"/> when it is not declared as JSON, 400 saying a
/// body is needed when it is. Runs after authorization, so a caller without a key still gets 401.
/// </summary>
internal static class JsonBodies
{
    /// <summary>Adds the check to the pipeline (after routing and authorization).</summary>
    public static IApplicationBuilder UseJsonBodyRequired(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var accepts = context.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>();
            if (accepts is not { IsOptional: false } || !accepts.ContentTypes.Any(t => t.Equals("application/json", StringComparison.OrdinalIgnoreCase))
                || context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != false)
            {
                return next(context);
            }
            var request = context.Request;
            return StrictJson.HasJsonContentType(request)
                ? Problems.WriteAsync(context, StatusCodes.Status400BadRequest, $"{request.Method} {request.Path} takes a JSON body; none was sent.").AsTask()
                : Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, StrictJson.UnsupportedMediaType(request)).AsTask();
        });
}
