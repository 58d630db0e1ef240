using System.Text.Json.Nodes;
using FluentValidation;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Validation;
using Reka.Gateway.Proxy;
using Yarp.ReverseProxy.Transforms;

namespace Reka.Gateway.Passthrough;

/// <summary>
/// The rest of Reka's Vision API (videos, groups, search, images...) forwarded as it is, for
/// every path under a prefix of <c>Proxy:ForwardedPrefixes</c>, so nothing a caller used breaks.
/// </summary>
internal static class PassthroughApi
{
    /// <summary>Prefixes forwarded when <c>Proxy:ForwardedPrefixes</c> is empty.</summary>
    public static readonly IReadOnlyList<string> DefaultPrefixes = ["/v1/", "/v2/"];

    public static WebApplicationBuilder AddPassthrough(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidator<PassthroughPath>, PassthroughPathValidator>();
        return builder;
    }

    /// <summary>Maps GET, POST, PUT, PATCH and DELETE under each forwarded prefix.</summary>
    public static IEndpointRouteBuilder MapPassthroughApi(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<ProxyOptions>>().Value;
        var route = endpoints.ServiceProvider.GetRequiredService<ProxyRouteFactory>()
            .Create(ProxyRouteNames.Passthrough, context => context.AddRequestTransform(SendDecodedPath));
        var prefixes = options.ForwardedPrefixes.Count > 0 ? options.ForwardedPrefixes : DefaultPrefixes;

        foreach (var prefix in prefixes)
        {
            var group = endpoints.MapGroup("/" + prefix.Trim('/'))
                .WithTag("Vision API (forwarded)", "The rest of Reka's Vision API (videos, groups, search...), forwarded as it is under each prefix of `Proxy:ForwardedPrefixes`; Reka's answers, errors included, come back untouched.")
                .RequireAuthorization()
                .RequireRateLimiting(ClientsSetup.PerClientRateLimit);
            var summary = $"Forwarded as is to Reka under {prefix}";
            foreach (var method in (string[])["GET", "DELETE", "POST", "PUT", "PATCH"])
            {
                var endpoint = group.MapMethods("/{**path}", [method], Forward)
                    .WithName(OperationId(method, prefix))
                    .WithSummary(summary)
                    .AddOpenApiOperationTransformer(DocumentRekasAnswer)
                    .WithValidation<PassthroughPath>().ForwardedAlong(route);
                if (method is "POST" or "PUT" or "PATCH")
                {
                    endpoint.WithRequestBody<JsonObject>("application/json", "multipart/form-data");
                }
            }
        }
        return endpoints;

        Task Forward(string path, PassthroughPath forwardedPath, HttpContext context, UpstreamForwarder forwarder) => forwarder.ForwardAsync(context, route);
    }

    /// <summary>The endpoint name and operationId of <paramref name="method"/> under <paramref name="prefix"/>, e.g. <c>ForwardGetV1</c>.</summary>
    public static string OperationId(string method, string prefix) =>
        "Forward" + Pascal(method) + string.Concat(prefix.Split(['/', '-', '_', '.'], StringSplitOptions.RemoveEmptyEntries).Select(Pascal));

    private static string Pascal(string word) => char.ToUpperInvariant(word[0]) + word[1..].ToLowerInvariant();

    // Whatever Reka answers comes back as it is: a success is any 2xx with Reka's JSON.
    private static Task DocumentRekasAnswer(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        operation.Responses ??= [];
        operation.Responses["2XX"] = new OpenApiResponse
        {
            Description = "Reka's answer, passed through with its status, headers and body.",
            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchema() } },
        };
        return Task.CompletedTask;
    }

    // Swagger UI's "Try it out" sends a multi-segment {path} as one segment with %2F; upstream
    // gets the path the caller meant. PassthroughPath has already refused dot segments.
    private static ValueTask SendDecodedPath(RequestTransformContext context)
    {
        context.Path = PassthroughPath.Decode(context.Path.Value);
        return default;
    }
}

/// <summary>The path of a forwarded call, with <c>%2F</c> decoded.</summary>
/// <param name="Path">The decoded path.</param>
internal sealed record PassthroughPath(string Path)
{
    /// <summary>Binds from the request path.</summary>
    public static ValueTask<PassthroughPath?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<PassthroughPath?>(new PassthroughPath(Decode(context.Request.Path.Value)));

    /// <summary>Decodes <c>%2F</c> (any case) to <c>/</c>.</summary>
    public static string Decode(string? path) =>
        path is null ? "" : path.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// A forwarded path must stay what its route says it is: no <c>.</c>, <c>..</c> or empty segments
/// (which could climb out of its prefix or be normalized upstream into another path), and nothing
/// under <c>/v2/inference/</c>, whose documented routes alone are forwarded, with their checks
/// (validation, ownership, callback URL). Kestrel has already decoded <c>%2E</c> and removed
/// dot segments; <c>%2F</c>, decoded here, and <c>%25</c> (a second encoding, decoded again
/// when the upstream address is built), are what could hide them.
/// </summary>
internal sealed class PassthroughPathValidator : AbstractValidator<PassthroughPath>
{
    public PassthroughPathValidator()
    {
        RuleFor(p => p.Path).Must(path => !path.TrimStart('/').Split('/').Any(segment => segment is "." or ".." or ""))
            .WithMessage("The path must not contain '.', '..' or empty segments.")
            .OverridePropertyName("path");
        // Some servers read '\' (%5C) as '/', which would hide segments from the rule above.
        RuleFor(p => p.Path).Must(path => !path.Contains('\\'))
            .WithMessage("The path must not contain '\\' (%5C).")
            .OverridePropertyName("path");
        // Kestrel has decoded every valid escape but %2F (decoded above), so a '%' left came from
        // %25, or is an escape Kestrel would not decode: upstream would decode it a second time.
        // Encoded twice, a dot segment (%252E%252E) reached the forwarder as "%2E%2E", which
        // System.Uri decoded and removed when YARP built the upstream address:
        // /v2/videos/%252E%252E/inference/... reached Reka as /v2/inference/..., past the
        // inference routes' checks.
        RuleFor(p => p.Path).Must(path => !path.Contains('%'))
            .WithMessage("The path must not contain '%' (%25): upstream would decode it a second time.")
            .OverridePropertyName("path");
        RuleFor(p => p.Path).Must(path => !path.StartsWith("/v2/inference", StringComparison.OrdinalIgnoreCase))
            .WithMessage("Inference calls go through their own routes (/v2/inference/...), not with an encoded path.")
            .OverridePropertyName("path");
    }
}
