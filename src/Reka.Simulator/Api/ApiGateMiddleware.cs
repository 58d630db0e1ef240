using System.Globalization;
using System.Text;
using System.Text.Json;
using Reka.Simulator.Control;
using Reka.Simulator.Faults;
using Reka.Simulator.Stats;

namespace Reka.Simulator.Api;

/// <summary>
/// Runs in front of every API route (not the <c>/_simulator</c> control routes): counts the call,
/// stamps Reka's standard headers, adds latency, checks the key and injects faults.
/// </summary>
/// <remarks>Order matters: headers go first so that every answer, errors included, carries them.</remarks>
public sealed partial class ApiGateMiddleware(
    RequestDelegate next,
    SimulatorOptions options,
    RateLimitLedger ledger,
    FaultPlan faults,
    SimulatorRandom random,
    SimulatorStats stats,
    ILogger<ApiGateMiddleware> logger)
{
    // Seconds a client is told to wait after a random 429.
    private const int RandomRateLimitRetryAfterSeconds = 1;

    private readonly string _limit = options.RateLimitPerDay.ToString(CultureInfo.InvariantCulture);

    /// <summary>Handles one call.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Path.StartsWithSegments(ControlEndpoints.Prefix))
        {
            await next(context);
            return;
        }

        stats.CountRequest(request.Method, context.GetEndpoint());
        var apiKey = ApiCredentials.Read(request);
        var quota = ledger.Consume(apiKey ?? "");
        var headers = context.Response.Headers;
        headers["X-Request-ID"] = Guid.NewGuid().ToString();
        headers["x-ratelimit-requests-limit"] = _limit;
        headers["x-ratelimit-requests-remaining"] = quota.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-requests-reset"] = quota.ResetSeconds.ToString(CultureInfo.InvariantCulture);
        headers.RetryAfter = "0";

        var latency = options.LatencyMs;
        if (latency > 0)
        {
            try
            {
                await Task.Delay(latency, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return; // The caller gave up; nobody is left to answer.
            }
        }

        // Auth before faults, so that it behaves the same whatever faults are set.
        if (apiKey != options.ApiKey)
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status401Unauthorized,
                "A valid API key is required in X-Api-Key or Authorization: Bearer.");
            return;
        }

        if (faults.TryTake(request.Method, request.Path.Value ?? "", out var fault))
        {
            await WriteFaultAsync(context, fault!);
            return;
        }

        if (random.Chance(options.ErrorRate))
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, "Simulated server error.");
            return;
        }

        if (random.Chance(options.RateLimitRate))
        {
            headers.RetryAfter = RandomRateLimitRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-requests-remaining"] = "0";
            await ApiErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Simulated rate limit exceeded.");
            return;
        }

        try
        {
            await next(context);
        }
        catch (Exception exception) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            // A bug in a handler still answers in Reka's shape, with the headers set above.
            LogUnhandled(logger, exception, request.Method, request.Path.Value);
            await ApiErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, "Unexpected simulator error.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string? path);

    private static async Task WriteFaultAsync(HttpContext context, ScriptedFault fault)
    {
        var response = context.Response;
        var tooManyRequests = fault.Status == StatusCodes.Status429TooManyRequests;
        var retryAfter = fault.RetryAfter ?? (tooManyRequests ? RandomRateLimitRetryAfterSeconds : 0);
        response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        if (tooManyRequests) response.Headers["x-ratelimit-requests-remaining"] = "0";

        if (fault.Body is not { } body)
        {
            await ApiErrors.WriteAsync(context, fault.Status, $"Scripted fault: {fault.Status}.");
            return;
        }

        response.StatusCode = fault.Status;
        if (body.ValueKind == JsonValueKind.String)
        {
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync(body.GetString()!, Encoding.UTF8);
        }
        else
        {
            response.ContentType = "application/json; charset=utf-8";
            await response.WriteAsync(body.GetRawText(), Encoding.UTF8);
        }
    }
}
