using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Proxy;

namespace Reka.Gateway.OperatorConsole.Health;

/// <summary>One durable queue, all replicas' (it lives in Redis).</summary>
/// <param name="Name">The queue: <c>callbacks</c>, <c>fanout</c>, <c>deliveries</c>, <c>submissions</c>.</param>
/// <param name="Depth">Jobs in it: due, in flight, or scheduled for later.</param>
/// <param name="OldestDueAge">How long its oldest due job has waited past its due time.</param>
internal sealed record QueueFigure(string Name, long Depth, TimeSpan OldestDueAge);

/// <summary>Whether a dependency answered.</summary>
/// <param name="Reachable">It answered.</param>
/// <param name="Detail">What it answered, or why not.</param>
/// <param name="CheckedAt">When it was asked.</param>
internal sealed record Reachability(bool Reachable, string Detail, DateTimeOffset CheckedAt);

/// <summary>Everything the health page shows.</summary>
internal sealed record HealthReport(Reachability Redis, Reachability Upstream, IReadOnlyList<QueueFigure>? Queues, LastHour? LastHour, string? RedisError);

/// <summary>
/// The health page's figures: Redis by the readiness check's ping, Reka by a cheap call (the
/// models list, 3 s at most, its outcome kept <see cref="UpstreamCacheTime"/> so that a page
/// refreshing often does not call Reka each time), the queues as their depth and oldest due job
/// now, and the last hour's cache and delivery figures (<see cref="RecentCounts"/>).
/// </summary>
internal sealed class HealthFigures(HealthCheckService health, UpstreamClient upstream, IEnumerable<DurableQueue> queues, RecentCounts recent, TimeProvider time)
{
    /// <summary>How long an upstream check's outcome is reused.</summary>
    public static readonly TimeSpan UpstreamCacheTime = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan UpstreamTimeout = TimeSpan.FromSeconds(3);
    private readonly SemaphoreSlim _checking = new(1, 1);
    private Reachability? _upstream;

    /// <summary>Reads every figure; Redis being away leaves out those kept there, and says so.</summary>
    public async Task<HealthReport> ReadAsync(CancellationToken cancellationToken)
    {
        var redisCheck = health.CheckHealthAsync(check => check.Name == "redis", cancellationToken);
        var upstreamCheck = UpstreamAsync(cancellationToken);
        IReadOnlyList<QueueFigure>? figures = null;
        LastHour? lastHour = null;
        string? redisError = null;
        try
        {
            var stats = await Task.WhenAll(queues.Select(async queue =>
            {
                var (depth, age) = await queue.StatsAsync();
                return new QueueFigure(queue.Name, depth, age);
            }));
            figures = [.. stats.OrderBy(q => q.Name, StringComparer.Ordinal)];
            lastHour = await recent.LastHourAsync();
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            redisError = "Redis is unavailable: the queues and the last hour's figures, kept there, cannot be read.";
        }
        var report = await redisCheck;
        var entry = report.Entries.TryGetValue("redis", out var found) ? found : default;
        var redisState = new Reachability(entry.Status == HealthStatus.Healthy, entry.Description ?? report.Status.ToString(), time.GetUtcNow());
        return new HealthReport(redisState, await upstreamCheck, figures, lastHour, redisError);
    }

    private async Task<Reachability> UpstreamAsync(CancellationToken cancellationToken)
    {
        if (_upstream is { } known && time.GetUtcNow() - known.CheckedAt < UpstreamCacheTime)
        {
            return known;
        }
        await _checking.WaitAsync(cancellationToken);
        try
        {
            if (_upstream is { } fresh && time.GetUtcNow() - fresh.CheckedAt < UpstreamCacheTime)
            {
                return fresh;
            }
            var started = Stopwatch.GetTimestamp();
            var at = time.GetUtcNow();
            Reachability outcome;
            try
            {
                var answer = await upstream.GetAsync("/v2/inference/models", UpstreamTimeout, cancellationToken);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                outcome = answer.IsSuccess
                    ? new Reachability(true, $"GET /v2/inference/models answered {answer.Status} in {elapsed:0} ms", at)
                    : new Reachability(answer.Status < 500, $"GET /v2/inference/models answered {answer.Status} in {elapsed:0} ms" +
                        (answer.Status is 401 or 403 ? ": check the team key (Upstream:ApiKey)" : ""), at);
            }
            catch (HttpRequestException e)
            {
                outcome = new Reachability(false, $"unreachable: {e.Message}", at);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                outcome = new Reachability(false, $"no answer within {UpstreamTimeout.TotalSeconds:0} s", at);
            }
            _upstream = outcome;
            return outcome;
        }
        finally
        {
            _checking.Release();
        }
    }
}
