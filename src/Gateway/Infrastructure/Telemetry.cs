using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Infrastructure.Queues;

namespace Reka.Gateway.Infrastructure;

/// <summary>
/// Metrics and traces: the <see cref="GatewayMetrics"/> instruments, a sampler of the queues, and,
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, OTLP export of traces and metrics (the standard
/// <c>OTEL_*</c> variables configure it: protocol, headers, service name, intervals).
/// </summary>
internal static class Telemetry
{
    /// <summary>Activity sources the gateway's own background work uses.</summary>
    public const string ActivitySources = "Reka.Gateway.*";

    /// <summary>Registers metrics, the queue sampler and, when configured, the OTLP exporters.</summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddHostedService<QueueMetricsSampler>();
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // The hosting package owns the providers: started with the host, flushed when it stops.
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(resource => resource.AddService("reka-gateway"))
                .WithTracing(tracing => tracing.AddSource("Microsoft.AspNetCore", "System.Net.Http", ActivitySources))
                .WithMetrics(metrics => metrics.AddMeter(GatewayMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
                    "Microsoft.AspNetCore.RateLimiting", "System.Net.Http", "System.Runtime"))
                .UseOtlpExporter();
        }
        return builder;
    }
}

/// <summary>
/// Samples the depth of the durable queues and the age of their oldest due job every
/// <see cref="Interval"/>, for the <c>gateway.queue.*</c> gauges (gauge callbacks cannot call Redis).
/// </summary>
internal sealed class QueueMetricsSampler(IEnumerable<DurableQueue> queues, GatewayMetrics metrics) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            foreach (var queue in queues)
            {
                try
                {
                    var (depth, age) = await queue.StatsAsync();
                    metrics.QueueSampled(queue.Name, depth, age);
                }
                catch (Exception e) when (RedisStore.IsUnavailable(e))
                {
                    // Redis away: the gauges keep their last values; /readyz says what is wrong.
                }
            }
            await Task.Delay(Interval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
