using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reka.Gateway.Infrastructure;

/// <summary>Answer of the health endpoints: overall status and each check's.</summary>
/// <param name="Status">Healthy, Degraded or Unhealthy.</param>
/// <param name="Checks">Each check's status and description.</param>
public sealed record HealthAnswer(string Status, IReadOnlyDictionary<string, string> Checks);

/// <summary>
/// <c>/healthz</c> (liveness: the process answers) and <c>/readyz</c> (readiness: every check
/// tagged <see cref="ReadyTag"/> passes; 503 problem details otherwise, e.g. while shutting down).
/// </summary>
internal static class HealthEndpoints
{
    /// <summary>Tag of the checks that decide readiness.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Registers the health checks every replica has.</summary>
    public static IHealthChecksBuilder AddGatewayHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks().AddCheck<AcceptingTrafficCheck>("accepting-traffic", tags: [ReadyTag]);

    /// <summary>Maps the endpoints (no key needed).</summary>
    public static RouteGroupBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("").WithTag("Health", "Kubernetes probes: liveness and readiness (no key).");
        group.MapGet("/healthz", () => TypedResults.Ok(new HealthAnswer("Healthy", new Dictionary<string, string>())))
            .WithName("GetLiveness")
            .WithSummary("Liveness: the process is up");
        group.MapGet("/readyz", async Task<IResult> (HealthCheckService health, CancellationToken cancellationToken) =>
            {
                var report = await health.CheckHealthAsync(check => check.Tags.Contains(ReadyTag), cancellationToken);
                var checks = report.Entries.ToDictionary(e => e.Key, e => $"{e.Value.Status}: {e.Value.Description}");
                if (report.Status != HealthStatus.Unhealthy)
                {
                    return TypedResults.Ok(new HealthAnswer(report.Status.ToString(), checks));
                }
                var failing = report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy).Select(e => $"{e.Key} ({e.Value.Description})");
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    detail: "Not ready: " + string.Join("; ", failing) + ".",
                    extensions: new Dictionary<string, object?> { ["checks"] = checks });
            })
            .WithName("GetReadiness")
            .WithSummary("Readiness: ready to serve")
            .Produces<HealthAnswer>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return group;
    }
}

/// <summary>Unhealthy once the replica is stopping, so Kubernetes sends it no new work.</summary>
internal sealed class AcceptingTrafficCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("shutting down")
            : HealthCheckResult.Healthy("accepting traffic"));
}
