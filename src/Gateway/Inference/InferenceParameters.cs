using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure.Validation;

namespace Reka.Gateway.Inference;

/// <summary>
/// A submit as the gateway reads it: the body parsed into a JSON object (or why it is not one).
/// Bound from the request body with <see cref="BindAsync"/>, under the route's body cap, by the
/// gateway's JSON policy (<see cref="StrictJson"/>: valid Unicode strings, no repeated members; RFC 8259).
/// </summary>
internal sealed class SubmitInferenceRequest
{
    /// <summary>The parsed body, or null when it is not a JSON object.</summary>
    public JsonObject? Body { get; private init; }

    /// <summary>Why <see cref="Body"/> is null.</summary>
    public string? BodyError { get; private init; }

    /// <summary>The field <see cref="BodyError"/> is about: <c>body</c>, or the JSON path of a member (<c>input.prompt</c>).</summary>
    public string BodyErrorField { get; private init; } = "body";

    /// <summary>The client submitting.</summary>
    public GatewayClient? Client { get; private init; }

    /// <summary>The <c>{model}</c> segment of the path, as routed (<c>%2F</c> still encoded).</summary>
    public string Model { get; private init; } = "";

    /// <summary>The <c>{capability}</c> segment of the path, as routed.</summary>
    public string Capability { get; private init; } = "";

    /// <summary>The <c>input</c> field.</summary>
    public JsonNode? Input => Body?["input"];

    /// <summary>The <c>webhook_url</c> field.</summary>
    public JsonNode? WebhookUrl => Body?["webhook_url"];

    /// <summary>Reads and parses the request body.</summary>
    /// <exception cref="BadHttpRequestException">
    /// The body is not declared as JSON (415: <see cref="StrictJson.MediaTypes"/>), or exceeds the route's cap (413).
    /// </exception>
    public static async ValueTask<SubmitInferenceRequest?> BindAsync(HttpContext context)
    {
        if (!StrictJson.HasJsonContentType(context.Request))
        {
            throw new BadHttpRequestException(StrictJson.UnsupportedMediaType(context.Request), StatusCodes.Status415UnsupportedMediaType);
        }
        var client = context.Features.Get<GatewayClient>();
        var model = context.Request.RouteValues["model"] as string ?? "";
        var capability = context.Request.RouteValues["capability"] as string ?? "";
        var (node, error) = await StrictJson.ReadAsync(context.Request, context.RequestAborted);
        return error is not null ? new SubmitInferenceRequest { BodyError = error.Detail, BodyErrorField = error.Field, Client = client, Model = model, Capability = capability }
            : node is JsonObject body ? new SubmitInferenceRequest { Body = body, Client = client, Model = model, Capability = capability }
            : new SubmitInferenceRequest { BodyError = "The body must be a JSON object.", Client = client, Model = model, Capability = capability };
    }
}

/// <summary>Query of the list call, as raw strings so that bad values get named errors.</summary>
internal sealed class ListInferenceQuery
{
    /// <summary>Exact-match endpoint filter, e.g. <c>kling-v3-pro/image-to-video</c>.</summary>
    [FromQuery(Name = "endpoint_id")] public string? EndpointId { get; init; }

    /// <summary>Capability segment filter, e.g. <c>text-to-image</c>.</summary>
    [FromQuery(Name = "capability")] public string? Capability { get; init; }

    /// <summary>Model segment filter, e.g. <c>kling-v3-pro</c>.</summary>
    [FromQuery(Name = "model_id")] public string? ModelId { get; init; }

    /// <summary>Lifecycle status filter.</summary>
    [FromQuery(Name = "status")] public string? Status { get; init; }

    /// <summary>Inclusive lower bound on <c>created_at</c>, ISO 8601.</summary>
    [FromQuery(Name = "start")] public string? Start { get; init; }

    /// <summary>Exclusive upper bound on <c>created_at</c>, ISO 8601.</summary>
    [FromQuery(Name = "end")] public string? End { get; init; }

    /// <summary>Expansions; <c>payloads</c> adds input and output to each item.</summary>
    [FromQuery(Name = "expand")] public string[]? Expand { get; init; }

    /// <summary>Page size, 1-100, default 25.</summary>
    [FromQuery(Name = "limit")] public string? Limit { get; init; }

    /// <summary>Items to skip, at least 0, default 0.</summary>
    [FromQuery(Name = "offset")] public string? Offset { get; init; }
}

/// <summary>A path that names one inference request.</summary>
internal sealed class InferenceRequestRoute
{
    /// <summary>The request's id, as Reka assigned it.</summary>
    [FromRoute(Name = "request_id")] public required string RequestId { get; init; }
}

/// <summary>Parameters of the status call.</summary>
internal sealed class InferenceStatusQuery
{
    /// <summary>The request's id.</summary>
    [FromRoute(Name = "request_id")] public required string RequestId { get; init; }

    /// <summary>Whether to include logs (boolean, default false).</summary>
    [FromQuery(Name = "with_logs")] public string? WithLogs { get; init; }

    /// <summary><see cref="WithLogs"/> read as a boolean (false when absent).</summary>
    public bool IncludeLogs => WithLogs is { } value && InferenceRules.ParseBoolean(value) == true;
}

/// <summary>Parameters of the result call.</summary>
internal sealed class InferenceResultQuery
{
    /// <summary>The request's id.</summary>
    [FromRoute(Name = "request_id")] public required string RequestId { get; init; }

    /// <summary>
    /// Seconds (0-60) to hold the call until the request is terminal; answered at once when it
    /// becomes terminal, or at the deadline with its current state. A gateway parameter, not sent to Reka.
    /// </summary>
    [FromQuery(Name = "wait")] public string? Wait { get; init; }

    /// <summary><see cref="Wait"/> as a duration (zero when absent).</summary>
    public TimeSpan WaitTime => int.TryParse(Wait, out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero;
}
