using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Reka.Simulator.Api;

namespace Reka.Simulator.Jobs;

/// <summary>Reka's inference queue: submit, list, status, result, cancel and models.</summary>
public static class InferenceEndpoints
{
    private const int MaxWebhookUrlLength = 2083;

    /// <summary>Maps the queue routes under <c>/v2/inference</c>.</summary>
    public static IEndpointRouteBuilder MapInferenceEndpoints(this IEndpointRouteBuilder routes)
    {
        var inference = routes.MapGroup("/v2/inference");
        inference.MapGet("/models", () => TypedResults.Json(ModelCatalog.Models, SimulatorJsonContext.Default.ModelList));
        inference.MapGet("/requests", List);
        inference.MapGet("/requests/{request_id}/status", Status);
        inference.MapGet("/requests/{request_id}", Result);
        inference.MapPost("/requests/{request_id}/cancel", Cancel);
        inference.MapPost("/{model}/{capability}", Submit);
        return routes;
    }

    private static async Task<IResult> Submit(
        HttpContext context, string model, string capability, JobStore store, JobLifecycle lifecycle)
    {
        var request = context.Request;
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, default, context.RequestAborted);
        }
        catch (JsonException)
        {
            return ApiErrors.Validation("The body must be a JSON object with an input object.", "input");
        }

        using (document)
        {
            var body = document.RootElement;
            if (body.ValueKind != JsonValueKind.Object
                || !body.TryGetProperty("input", out var input)
                || input.ValueKind != JsonValueKind.Object)
            {
                return ApiErrors.Validation("input is required and must be an object.", "input");
            }

            string? webhookUrl = null;
            if (body.TryGetProperty("webhook_url", out var webhook) && webhook.ValueKind != JsonValueKind.Null)
            {
                webhookUrl = webhook.ValueKind == JsonValueKind.String ? webhook.GetString() : null;
                if (!IsWebhookUrl(webhookUrl))
                    return ApiErrors.Validation($"webhook_url must be an absolute http(s) URI of 1-{MaxWebhookUrlLength} characters.", "webhook_url");
            }

            var idempotencyKey = request.Headers["Idempotency-Key"].ToString();
            var job = new Job(
                Guid.NewGuid().ToString(), $"{request.Scheme}://{request.Host}", model, capability, input.Clone(), webhookUrl,
                idempotencyKey.Length > 0 ? (ApiCredentials.Read(request) ?? "", idempotencyKey) : null,
                CopyHeaders(request.Headers));

            var stored = store.Add(job);
            if (ReferenceEquals(stored, job)) lifecycle.Start(job);
            return TypedResults.Json(Accepted(stored), SimulatorJsonContext.Default.SubmitAccepted, statusCode: StatusCodes.Status202Accepted);
        }
    }

    private static IResult List(HttpContext context, JobStore store)
    {
        if (ListQuery.Parse(context.Request.Query, out var error) is not { } query) return error!;

        var (jobs, hasMore) = store.Query(query.Filter, query.Offset, query.Limit);
        int? nextOffset = hasMore ? query.Offset + query.Limit : null;
        if (query.WithPayloads)
        {
            var items = new List<InferenceItemWithPayloads>(jobs.Count);
            foreach (var job in jobs) items.Add(new InferenceItemWithPayloads(job, job.State()));
            return TypedResults.Json(new InferenceList<InferenceItemWithPayloads>(items, nextOffset, hasMore),
                SimulatorJsonContext.Default.InferenceListInferenceItemWithPayloads);
        }
        var lightItems = new List<InferenceItem>(jobs.Count);
        foreach (var job in jobs) lightItems.Add(new InferenceItem(job, job.State()));
        return TypedResults.Json(new InferenceList<InferenceItem>(lightItems, nextOffset, hasMore),
            SimulatorJsonContext.Default.InferenceListInferenceItem);
    }

    private static IResult Status(
        [FromRoute(Name = "request_id")] string requestId, [FromQuery(Name = "with_logs")] string? withLogs, JobStore store)
    {
        if (store.Find(requestId) is not { } job) return NotFound(requestId);
        if (!TryParseFlag(withLogs, out var includeLogs))
            return ApiErrors.Validation("with_logs must be a boolean.", "with_logs");
        job.CountStatusRead();

        var queuePosition = store.QueuePosition(job);
        var state = job.State();
        var status = new InferenceStatus(
            job.RequestId, state.Status, state.Status == JobStatus.InQueue ? queuePosition : null,
            includeLogs ? job.Logs(state) : null, job.Metrics(state));
        return TypedResults.Json(status, SimulatorJsonContext.Default.InferenceStatus);
    }

    private static IResult Result([FromRoute(Name = "request_id")] string requestId, JobStore store)
    {
        if (store.Find(requestId) is not { } job) return NotFound(requestId);
        job.CountResultRead();
        return TypedResults.Json(new InferenceItemWithPayloads(job, job.State()), SimulatorJsonContext.Default.InferenceItemWithPayloads);
    }

    private static IResult Cancel([FromRoute(Name = "request_id")] string requestId, JobStore store, JobLifecycle lifecycle)
    {
        if (store.Find(requestId) is not { } job) return NotFound(requestId);
        if (!lifecycle.Finish(job, JobStatus.Cancelled))
            return ApiErrors.Conflict($"Inference request {requestId} has already ended with status {job.Status}.");
        return TypedResults.Json(new InferenceItemWithPayloads(job, job.State()), SimulatorJsonContext.Default.InferenceItemWithPayloads);
    }

    // Built from the job rather than stored with it: a replay gets the same body, and a long
    // benchmark does not keep three URLs per job alive.
    private static SubmitAccepted Accepted(Job job)
    {
        var requestUrl = $"{job.BaseUrl}/v2/inference/requests/{job.RequestId}";
        return new SubmitAccepted(job.RequestId, JobStatus.InQueue, $"{requestUrl}/status", requestUrl, $"{requestUrl}/cancel");
    }

    private static IResult NotFound(string requestId) => ApiErrors.NotFound($"Inference request {requestId} not found.");

    private static bool IsWebhookUrl(string? url) =>
        url is { Length: > 0 and <= MaxWebhookUrlLength }
        && Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    // Accepts the spellings FastAPI-style services accept for a boolean query parameter.
    private static bool TryParseFlag(string? text, out bool value)
    {
        switch (text?.ToLowerInvariant())
        {
            case null or "" or "false" or "0" or "no" or "off":
                value = false;
                return true;
            case "true" or "1" or "yes" or "on":
                value = true;
                return true;
            default:
                value = false;
                return false;
        }
    }

    private static Dictionary<string, string> CopyHeaders(IHeaderDictionary headers)
    {
        var copy = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);
        foreach (var (name, values) in headers) copy[name.ToLowerInvariant()] = values.ToString();
        return copy;
    }
}
