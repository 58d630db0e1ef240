using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Reka.Gateway.Infrastructure;

/// <summary>
/// The OpenAPI 3.1 document (<c>/swagger/v1/swagger.json</c>, made by Microsoft.AspNetCore.OpenApi)
/// and Swagger UI (<c>/swagger</c>, from Swashbuckle.AspNetCore), with the gateway key as the
/// security scheme so that "Try it out" works against the running gateway. Features add to the
/// document where they own the subject (Delivery adds the <c>webhooks</c> the gateway sends);
/// <c>scripts/openapi.sh</c> writes it to <c>openapi/gateway.json</c> at build time and lints it.
/// </summary>
internal static class OpenApiSetup
{
    /// <summary>Name of the gateway's one document.</summary>
    public const string DocumentName = "v1";

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
        services.AddOpenApi(DocumentName, options =>
        {
            // Any JSON is the empty schema, inline: as a component of its own it would be left unused
            // where WithRequestBody documents the body a JsonElement parameter reads.
            options.CreateSchemaReferenceId = type => type.Type == typeof(JsonElement) || type.Type == typeof(JsonNode)
                ? null
                : OpenApiOptions.CreateDefaultSchemaReferenceId(type);
            options.AddDocumentTransformer((document, context, _) =>
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
                var described = context.DescriptionGroups.SelectMany(group => group.Items)
                    .SelectMany(item => item.ActionDescriptor.EndpointMetadata.OfType<DocumentedTag>())
                    .GroupBy(tag => tag.Name)
                    .ToDictionary(tags => tags.Key, tags => tags.First().Description);
                foreach (var tag in document.Tags ?? Enumerable.Empty<OpenApiTag>())
                {
                    if (tag.Name is { } name && described.TryGetValue(name, out var description))
                    {
                        tag.Description = description;
                    }
                }
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
                // Either key scheme on every route that needs a key; an explicit empty list on the
                // others (health probes, Reka's callback, which its token authenticates).
                operation.Security = context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Any()
                    ?
                    [
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] },
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] },
                    ]
                    : [];
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

    /// <summary>
    /// Tags the endpoints with <paramref name="name"/> and gives the tag its
    /// <paramref name="description"/> in the document (once per tag is enough).
    /// </summary>
    public static TBuilder WithTag<TBuilder>(this TBuilder builder, string name, string description) where TBuilder : IEndpointConventionBuilder =>
        builder.WithTags(name).WithMetadata(new DocumentedTag(name, description));

    public static WebApplication MapGatewayOpenApi(this WebApplication app)
    {
        app.MapOpenApi("/swagger/{documentName}/swagger.json");
        // Swagger UI's middleware looks at every request's path; only /swagger's need it.
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/swagger"), swagger => swagger.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint($"/swagger/{DocumentName}/swagger.json", "Reka gateway v1");
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

/// <summary>Endpoint metadata: a tag's description in the document.</summary>
/// <param name="Name">The tag.</param>
/// <param name="Description">What its operations are for.</param>
internal sealed record DocumentedTag(string Name, string Description);
