using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Validation;
using Reka.Gateway.Proxy;

namespace Reka.Gateway.Inference;

/// <summary>
/// Reka's inference API on its own paths (<c>/v2/inference/...</c>), each call checked and then
/// forwarded upstream with the team key.
/// </summary>
public static class InferenceApi
{
    /// <summary>Maps the inference routes; nothing else under <c>/v2/inference/</c> is forwarded.</summary>
    public static RouteGroupBuilder MapInferenceApi(this IEndpointRouteBuilder endpoints)
    {
        var routes = endpoints.ServiceProvider.GetRequiredService<InferenceRoutes>();
        var group = endpoints.MapGroup("/v2/inference")
            .WithTags("Inference")
            .RequireAuthorization()
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit);

        group.MapPost("/{model}/{capability}", Submit)
            .WithName("SubmitInference")
            .WithSummary("Submit an inference request")
            .WithDescription("Queues a request for `{model}/{capability}` (e.g. `sora-2-pro/image-to-video`). An `Idempotency-Key` is added when the caller sends none, and echoed in the answer.")
            .WithRequestBody<SubmitInferenceBody>("application/json")
            .Produces<SubmitInferenceAccepted>(StatusCodes.Status202Accepted)
            .WithValidation<SubmitInferenceRequest>()
            .ForwardedAlong(routes.Submit);

        group.MapGet("/requests", List)
            .WithName("ListInferenceRequests")
            .WithSummary("List inference requests")
            .Produces<InferenceRequestList>()
            .WithValidation<ListInferenceQuery>()
            .ForwardedAlong(routes.List);

        group.MapGet("/requests/{request_id}/status", Status)
            .WithName("GetInferenceStatus")
            .WithSummary("Get the status of an inference request")
            .Produces<InferenceStatus>()
            .WithValidation<InferenceStatusQuery>()
            .ForwardedAlong(routes.Status);

        group.MapGet("/requests/{request_id}", Result)
            .WithName("GetInferenceResult")
            .WithSummary("Get the result of an inference request")
            .Produces<InferenceRequestItem>()
            .WithValidation<InferenceRequestRoute>()
            .ForwardedAlong(routes.Result);

        group.MapPost("/requests/{request_id}/cancel", Cancel)
            .WithName("CancelInferenceRequest")
            .WithSummary("Cancel an inference request")
            .Produces<InferenceRequestItem>()
            .Produces<RekaErrorResponse>(StatusCodes.Status409Conflict)
            .WithValidation<InferenceRequestRoute>()
            .ForwardedAlong(routes.Cancel);

        group.MapGet("/models", (HttpContext context, UpstreamForwarder forwarder) => forwarder.ForwardAsync(context, routes.Models))
            .WithName("ListInferenceModels")
            .WithSummary("List available inference models")
            .Produces<System.Text.Json.Nodes.JsonObject>()
            .ForwardedAlong(routes.Models);

        group.MapPost("/chat/completions", (HttpContext context, UpstreamForwarder forwarder) => forwarder.ForwardAsync(context, routes.Chat))
            .WithName("CreateChatCompletion")
            .WithSummary("OpenAI-compatible chat completion")
            .WithDescription("With `\"stream\": true` the answer is `text/event-stream`, relayed event by event as upstream sends it.")
            .WithRequestBody<ChatCompletionRequest>("application/json")
            .Produces<System.Text.Json.Nodes.JsonObject>(StatusCodes.Status200OK, "application/json", "text/event-stream")
            .ForwardedAlong(routes.Chat);

        group.Map("/{**rest}", (HttpContext context) => TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                detail: $"{context.Request.Method} {context.Request.Path} is not a route of Reka's inference API."))
            .ExcludeFromDescription();
        return group;
    }

    private static Task Submit(string model, string capability, SubmitInferenceRequest request, HttpContext context, InferenceRoutes routes, UpstreamForwarder forwarder)
    {
        // A submit always leaves with an Idempotency-Key, so retrying it (here or by the caller
        // with the echoed key) never runs or bills twice.
        var headers = context.Request.Headers;
        if (string.IsNullOrWhiteSpace(headers[UpstreamRetryHandler.IdempotencyKeyHeader]))
        {
            headers[UpstreamRetryHandler.IdempotencyKeyHeader] = Guid.NewGuid().ToString();
        }
        context.Features.Set(new BufferedRequestBody(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request.Body), "application/json"));
        return forwarder.ForwardAsync(context, routes.Submit);
    }

    private static Task List([AsParameters] ListInferenceQuery query, HttpContext context, InferenceRoutes routes, UpstreamForwarder forwarder) =>
        forwarder.ForwardAsync(context, routes.List);

    private static Task Status([AsParameters] InferenceStatusQuery query, HttpContext context, InferenceRoutes routes, UpstreamForwarder forwarder) =>
        forwarder.ForwardAsync(context, routes.Status);

    private static Task Result([AsParameters] InferenceRequestRoute request, HttpContext context, InferenceRoutes routes, UpstreamForwarder forwarder) =>
        forwarder.ForwardAsync(context, routes.Result);

    private static Task Cancel([AsParameters] InferenceRequestRoute request, HttpContext context, InferenceRoutes routes, UpstreamForwarder forwarder) =>
        forwarder.ForwardAsync(context, routes.Cancel);
}
