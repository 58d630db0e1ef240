using Reka.Gateway.Clients;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Infrastructure.Validation;
using Reka.Gateway.Proxy;
using Reka.Gateway.Requests;

namespace Reka.Gateway.Inference;

/// <summary>
/// Reka's inference API on its own paths (<c>/v2/inference/...</c>), each call checked and then
/// forwarded upstream with the team key.
/// </summary>
internal static class InferenceApi
{
    private const string NotForwarded = "Who owns this request could not be checked, so the call was not forwarded.";

    /// <summary>Maps the inference routes; nothing else under <c>/v2/inference/</c> is forwarded.</summary>
    public static RouteGroupBuilder MapInferenceApi(this IEndpointRouteBuilder endpoints)
    {
        var routes = endpoints.ServiceProvider.GetRequiredService<InferenceRoutes>();
        var group = endpoints.MapGroup("/v2/inference")
            .WithTag("Inference", "Reka's inference API on Reka's own paths: submit, list, status, result (`?wait=` holds the call until the request ends), cancel, models and chat. Each call is checked (key, rate limit, input, ownership), then forwarded with the team's Reka key.")
            .RequireAuthorization()
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit);

        group.MapPost("/{model}/{capability}", Submit)
            .WithName("SubmitInference")
            .WithSummary("Submit an inference request")
            .WithDescription("Queues a request for `{model}/{capability}` (e.g. `sora-2-pro/image-to-video`). An `Idempotency-Key` is added when the caller sends none, and echoed in every answer (retry a 503 or a lost answer under it: Reka starts the inference at most once). Keys are scoped to the calling client upstream: two clients' equal keys start a request each. " +
                "Reka calls the gateway back when it finishes; a `webhook_url` given here gets a signed delivery (Standard Webhooks, signed with the client's `WebhookSecret`). " +
                "An endpoint outside the client's `allowed_endpoints` is 403; over its `max_in_flight` or `daily_submits` quota, 429 with `Retry-After`: nothing reaches Reka.")
            .WithRequestBody<SubmitInferenceBody>("application/json")
            .Produces<SubmitInferenceAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WhenRedisIsUnavailable("The submit could not be recorded, so it was not sent upstream: no quota was spent.",
                unconfirmed: "The submit was not sent upstream: no quota was spent. Retry it under the same Idempotency-Key.")
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
            .WithDescription("A terminal status is answered from the gateway's cache (`X-Cache: HIT`). Another client's request: 404.")
            .Produces<InferenceStatus>()
            .WhenRedisIsUnavailable(NotForwarded)
            .WithValidation<InferenceStatusQuery>()
            .ForwardedAlong(routes.Status);

        group.MapGet("/requests/{request_id}", Result)
            .WithName("GetInferenceResult")
            .WithSummary("Get the result of an inference request")
            .WithDescription("Terminal results are answered from the gateway's cache (`X-Cache: HIT`). With `wait=<seconds>` (at most 60) the call is held until the request is terminal, or answered at the deadline with its current state.")
            .Produces<InferenceRequestItem>()
            .WhenRedisIsUnavailable(NotForwarded)
            .WithValidation<InferenceResultQuery>()
            .ForwardedAlong(routes.Result);

        group.MapPost("/requests/{request_id}/cancel", Cancel)
            .WithName("CancelInferenceRequest")
            .WithSummary("Cancel an inference request")
            .Produces<InferenceRequestItem>()
            .Produces<RekaErrorResponse>(StatusCodes.Status409Conflict)
            .WhenRedisIsUnavailable(NotForwarded)
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

        // A route's path under another method is 405, not a submit for a model named "requests"
        // (POST /requests/{id} would otherwise match /{model}/{capability}, spend quota and reach Reka).
        RefuseOtherMethods(group, "/{model}/{capability}", HttpMethods.Post);
        RefuseOtherMethods(group, "/requests", HttpMethods.Get);
        RefuseOtherMethods(group, "/requests/{request_id}/status", HttpMethods.Get);
        RefuseOtherMethods(group, "/requests/{request_id}", HttpMethods.Get);
        RefuseOtherMethods(group, "/requests/{request_id}/cancel", HttpMethods.Post);
        RefuseOtherMethods(group, "/models", HttpMethods.Get);
        RefuseOtherMethods(group, "/chat/completions", HttpMethods.Post);

        // Nor is a path under another route's first segment (POST /chat/other is not a submit for
        // the model "chat").
        foreach (var pattern in (string[])["/{**rest}", "/models/{**rest}", "/chat/{**rest}"])
        {
            group.Map(pattern, (HttpContext context) => TypedResults.Problem(
                    statusCode: StatusCodes.Status404NotFound,
                    detail: $"{context.Request.Method} {context.Request.Path} is not a route of Reka's inference API."))
                .ExcludeFromDescription();
        }
        return group;
    }

    /// <summary>
    /// Answers every method but <paramref name="allowed"/> on <paramref name="pattern"/> with 405
    /// and <c>Allow</c> (RFC 9110, section 15.5.6). Routing prefers the route that names its method,
    /// so this only sees the others.
    /// </summary>
    private static void RefuseOtherMethods(RouteGroupBuilder group, string pattern, string allowed) =>
        group.Map(pattern, (HttpContext context) =>
            {
                context.Response.Headers.Allow = allowed;
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status405MethodNotAllowed,
                    detail: $"{context.Request.Method} is not allowed on {context.Request.Path}: its route takes {allowed} only.");
            })
            .ExcludeFromDescription();

    private static async Task Submit(string model, string capability, SubmitInferenceRequest request, HttpContext context,
        InferenceRoutes routes, UpstreamForwarder forwarder, Submissions submissions)
    {
        // A submit always leaves with an Idempotency-Key, so retrying it (here or by the caller
        // with the echoed key) never runs or bills twice.
        var headers = context.Request.Headers;
        if (string.IsNullOrWhiteSpace(headers[UpstreamRetryHandler.IdempotencyKeyHeader]))
        {
            headers[UpstreamRetryHandler.IdempotencyKeyHeader] = Guid.NewGuid().ToString();
        }
        // Echoed on every answer, the gateway's own refusals and 503s included (set as the answer
        // starts: the exception handler clears headers set before), so the caller can always retry under it.
        var key = headers[UpstreamRetryHandler.IdempotencyKeyHeader];
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[UpstreamRetryHandler.IdempotencyKeyHeader] = key;
            return Task.CompletedTask;
        });
        if (await submissions.PrepareAsync(context, request, $"{model}/{capability}") is { } refused)
        {
            await refused.ExecuteAsync(context);
            return;
        }
        if (context.RequestAborted.IsCancellationRequested)
        {
            // The caller left while the submit was recorded: nothing was sent, and its check must not send it.
            await submissions.SettleUnsentAsync(context);
            return;
        }
        await forwarder.ForwardAsync(context, routes.Submit);
        await submissions.SettleUnstartedAsync(context);
    }

    private static Task List([AsParameters] ListInferenceQuery query, HttpContext context, InferenceRoutes routes, UpstreamForwarder forwarder) =>
        forwarder.ForwardAsync(context, routes.List);

    private static async Task Status([AsParameters] InferenceStatusQuery query, HttpContext context, InferenceRoutes routes,
        UpstreamForwarder forwarder, ResultCache cache)
    {
        var answer = query.IncludeLogs ? RequestRecords.Answers.StatusWithLogs : RequestRecords.Answers.Status;
        if (!await cache.TryAnswerAsync(context, query.RequestId, answer))
        {
            await forwarder.ForwardAsync(context, routes.Status);
        }
    }

    private static async Task Result([AsParameters] InferenceResultQuery query, HttpContext context, InferenceRoutes routes,
        UpstreamForwarder forwarder, ResultCache cache, EventHub events, IHostApplicationLifetime lifetime)
    {
        if (query.WaitTime > TimeSpan.Zero)
        {
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
            ended.CancelAfter(query.WaitTime);
            while (true)
            {
                // Registered before the cache is read, so a callback taken in between still wakes us.
                using var waiter = events.WaitFor(query.RequestId);
                if (await cache.TryAnswerAsync(context, query.RequestId, RequestRecords.Answers.Result))
                {
                    return;
                }
                await ((Task)waiter.Signal).WaitAsync(ended.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (context.RequestAborted.IsCancellationRequested)
                {
                    return;
                }
                // Woken because the replica's lost subscription is back, not by the event: the
                // cache is read again, and the wait goes on for the time left.
                if (!waiter.Signal.IsCompletedSuccessfully || waiter.Signal.Result)
                {
                    break;
                }
            }
        }
        if (!await cache.TryAnswerAsync(context, query.RequestId, RequestRecords.Answers.Result))
        {
            await forwarder.ForwardAsync(context, routes.Result);
        }
    }

    private static async Task Cancel([AsParameters] InferenceRequestRoute request, HttpContext context, InferenceRoutes routes,
        UpstreamForwarder forwarder, ResultCache cache, Submissions submissions)
    {
        if (!await cache.TryAnswerAsync(context, request.RequestId, answer: null))
        {
            await forwarder.ForwardAsync(context, routes.Cancel);
            if (context.Response.StatusCode is >= 200 and < 300)
            {
                await submissions.EndCancelledAsync(request.RequestId);
            }
        }
    }
}
