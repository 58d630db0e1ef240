using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Reka.Simulator.Api;
using Reka.Simulator.Faults;
using Reka.Simulator.Jobs;
using Reka.Simulator.Stats;

namespace Reka.Simulator.Control;

/// <summary>
/// Test hooks under <c>/_simulator</c>: no auth, no Reka headers, no faults, not counted in stats.
/// </summary>
public static class ControlEndpoints
{
    /// <summary>Path prefix of every control route.</summary>
    public const string Prefix = "/_simulator";

    /// <summary>Maps the control routes.</summary>
    public static IEndpointRouteBuilder MapControlEndpoints(this IEndpointRouteBuilder routes)
    {
        var control = routes.MapGroup(Prefix);
        control.MapGet("/requests/{request_id}", ([FromRoute(Name = "request_id")] string requestId, JobStore store) =>
            store.Find(requestId) is { } job
                ? TypedResults.Json(new JobDetails(job, job.State()), SimulatorJsonContext.Default.JobDetails)
                : NotFound(requestId));
        control.MapPost("/requests/{request_id}/complete", Complete);
        control.MapPost("/faults", AddFault);
        control.MapDelete("/faults", (FaultPlan faults) =>
        {
            faults.Clear();
            return TypedResults.Json(new FaultsPending(0), SimulatorJsonContext.Default.FaultsPending);
        });
        control.MapGet("/stats", (SimulatorStats stats) => TypedResults.Json(stats.Snapshot(), SimulatorJsonContext.Default.StatsSnapshot));
        control.MapPost("/stats/reset", (SimulatorStats stats) =>
        {
            stats.Reset();
            return TypedResults.Json(stats.Snapshot(), SimulatorJsonContext.Default.StatsSnapshot);
        });
        control.MapGet("/config", (SimulatorOptions options) => Settings(options));
        control.MapPost("/config", ChangeSettings);
        return routes;
    }

    private static async Task<IResult> Complete(
        [FromRoute(Name = "request_id")] string requestId, HttpContext context, JobStore store, JobLifecycle lifecycle)
    {
        var (request, error) = await ReadBodyAsync(context, SimulatorJsonContext.Default.CompleteRequest, required: false);
        if (error is not null) return error;
        var status = request?.Status ?? JobStatus.Completed;
        if (status is not (JobStatus.Completed or JobStatus.Failed))
            return ApiErrors.Validation($"status must be {JobStatus.Completed} or {JobStatus.Failed}.", "status");
        if (store.Find(requestId) is not { } job) return NotFound(requestId);
        if (!lifecycle.Finish(job, status))
            return ApiErrors.Conflict($"Inference request {requestId} has already ended with status {job.Status}.");
        return TypedResults.Json(new JobDetails(job, job.State()), SimulatorJsonContext.Default.JobDetails);
    }

    private static async Task<IResult> AddFault(HttpContext context, FaultPlan faults)
    {
        var (fault, error) = await ReadBodyAsync(context, SimulatorJsonContext.Default.ScriptedFault, required: true);
        if (error is not null) return error;
        if (fault!.FindError() is { } problem) return ApiErrors.Validation(problem);
        return TypedResults.Json(new FaultsPending(faults.Add(fault)), SimulatorJsonContext.Default.FaultsPending);
    }

    private static async Task<IResult> ChangeSettings(HttpContext context, SimulatorOptions options)
    {
        var (change, error) = await ReadBodyAsync(context, SimulatorJsonContext.Default.RuntimeSettings, required: true);
        if (error is not null) return error;
        if (FindError(change!) is { } problem) return ApiErrors.Validation(problem.Message, problem.Param);

        options.LatencyMs = change!.LatencyMs ?? options.LatencyMs;
        options.ErrorRate = change.ErrorRate ?? options.ErrorRate;
        options.RateLimitRate = change.RateLimitRate ?? options.RateLimitRate;
        options.HoldJobs = change.HoldJobs ?? options.HoldJobs;
        options.FailureRate = change.FailureRate ?? options.FailureRate;
        options.QueueSeconds = change.QueueSeconds ?? options.QueueSeconds;
        options.RunSeconds = change.RunSeconds ?? options.RunSeconds;
        if (change.Webhook is { } webhook)
        {
            options.Webhook.DropRate = webhook.DropRate ?? options.Webhook.DropRate;
            options.Webhook.DuplicateRate = webhook.DuplicateRate ?? options.Webhook.DuplicateRate;
            options.Webhook.DelaySeconds = webhook.DelaySeconds ?? options.Webhook.DelaySeconds;
        }
        return Settings(options);
    }

    private static (string Message, string Param)? FindError(RuntimeSettings change)
    {
        (string Param, double? Value)[] rates =
        [
            ("error_rate", change.ErrorRate), ("rate_limit_rate", change.RateLimitRate), ("failure_rate", change.FailureRate),
            ("webhook.drop_rate", change.Webhook?.DropRate), ("webhook.duplicate_rate", change.Webhook?.DuplicateRate),
        ];
        foreach (var (param, value) in rates)
        {
            if (value is { } rate && !SimulatorOptions.IsRate(rate)) return ($"{param} must be within 0..1.", param);
        }

        (string Param, double? Value)[] durations =
        [
            ("latency_ms", change.LatencyMs), ("queue_seconds", change.QueueSeconds), ("run_seconds", change.RunSeconds),
            ("webhook.delay_seconds", change.Webhook?.DelaySeconds),
        ];
        foreach (var (param, value) in durations)
        {
            if (value < 0) return ($"{param} must be >= 0.", param);
        }
        return null;
    }

    private static IResult Settings(SimulatorOptions options) => TypedResults.Json(
        new RuntimeSettings
        {
            LatencyMs = options.LatencyMs,
            ErrorRate = options.ErrorRate,
            RateLimitRate = options.RateLimitRate,
            HoldJobs = options.HoldJobs,
            FailureRate = options.FailureRate,
            QueueSeconds = options.QueueSeconds,
            RunSeconds = options.RunSeconds,
            Webhook = new RuntimeWebhookSettings
            {
                DropRate = options.Webhook.DropRate,
                DuplicateRate = options.Webhook.DuplicateRate,
                DelaySeconds = options.Webhook.DelaySeconds,
            },
        },
        SimulatorJsonContext.Default.RuntimeSettings);

    private static IResult NotFound(string requestId) => ApiErrors.NotFound($"Inference request {requestId} not found.");

    private static async Task<(T? Value, IResult? Error)> ReadBodyAsync<T>(HttpContext context, JsonTypeInfo<T> type, bool required)
        where T : class
    {
        var hasBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
        if (!hasBody)
            return required ? (null, ApiErrors.Validation("A JSON body is required.")) : (null, null);
        try
        {
            var value = await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted);
            return value is null && required ? (null, ApiErrors.Validation("A JSON body is required.")) : (value, null);
        }
        catch (JsonException exception)
        {
            return (null, ApiErrors.Validation($"Invalid JSON body: {exception.Message}"));
        }
    }
}
