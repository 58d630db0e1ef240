using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;

namespace Reka.Gateway.Infrastructure;

/// <summary>
/// The OpenAPI document (<c>/swagger/v1/swagger.json</c>, made by Microsoft.AspNetCore.OpenApi)
/// and Swagger UI (<c>/swagger</c>, from Swashbuckle.AspNetCore), with the gateway key as the
/// security scheme so that "Try it out" works against the running gateway.
/// </summary>
internal static class OpenApiSetup
{
    private const string ApiKeyScheme = "ApiKey";
    private const string BearerScheme = "Bearer";

    // Query parameters read as raw strings (so bad values get named 400s) are documented with
    // the types Reka's reference gives them.
    private static readonly Dictionary<string, Func<OpenApiSchema>> QuerySchemas = new()
    {
        ["limit"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = "100", Default = 25 },
        ["offset"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0", Default = 0 },
        ["start"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        ["end"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        ["with_logs"] = () => new OpenApiSchema { Type = JsonSchemaType.Boolean, Default = false },
        ["wait"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0", Maximum = "60" },
    };

    public static IServiceCollection AddGatewayOpenApi(this IServiceCollection services) =>
        services.AddOpenApi("v1", options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Reka gateway",
                    Version = "v1",
                    Description = "Reka's Vision API on Reka's own paths, called with a gateway key instead of the team's Reka key. " +
                        "Errors the gateway makes are RFC 9457 problem details; upstream errors pass through in Reka's shape.",
                };
                // Same origin as the page: "Try it out" works whatever host name Swagger UI was opened with.
                document.Servers = [new OpenApiServer { Url = "/" }];
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
                {
                    [ApiKeyScheme] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey,
                        In = ParameterLocation.Header,
                        Name = "X-Api-Key",
                        Description = "Your gateway key (not a Reka key).",
                    },
                    [BearerScheme] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.Http,
                        Scheme = "bearer",
                        Description = "Your gateway key as a bearer token.",
                    },
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<DocumentedRequestBody>().FirstOrDefault() is { } body)
                {
                    var schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken);
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = body.ContentTypes.ToDictionary(type => type, _ => new OpenApiMediaType { Schema = schema }),
                    };
                }
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Any())
                {
                    operation.Security =
                    [
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] },
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] },
                    ];
                }
                foreach (var parameter in operation.Parameters ?? [])
                {
                    if (parameter is OpenApiParameter { In: ParameterLocation.Query } query && query.Name is { } name
                        && QuerySchemas.TryGetValue(name, out var schema))
                    {
                        query.Schema = schema();
                    }
                }
            });
        });

    /// <summary>
    /// Documents the request body as <typeparamref name="T"/> in <paramref name="contentTypes"/>.
    /// Unlike <c>Accepts</c>, it does not make routing pick endpoints by <c>Content-Type</c>: a
    /// call with the wrong one must reach its endpoint and get a 400 that says what is wrong.
    /// </summary>
    public static RouteHandlerBuilder WithRequestBody<T>(this RouteHandlerBuilder builder, params string[] contentTypes) =>
        builder.WithMetadata(new DocumentedRequestBody(typeof(T), contentTypes));

    public static WebApplication MapGatewayOpenApi(this WebApplication app)
    {
        app.MapOpenApi("/swagger/{documentName}/swagger.json");
        // Swagger UI's middleware looks at every request's path; only /swagger's need it.
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/swagger"), swagger => swagger.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint("/swagger/v1/swagger.json", "Reka gateway v1");
            options.RoutePrefix = "swagger";
            options.DocumentTitle = "Reka gateway";
        }));
        return app;
    }
}

/// <summary>Endpoint metadata: the documented request body.</summary>
/// <param name="Type">The body's shape.</param>
/// <param name="ContentTypes">Media types it comes in.</param>
internal sealed record DocumentedRequestBody(Type Type, IReadOnlyList<string> ContentTypes);
