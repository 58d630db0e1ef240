using System.Diagnostics;
using System.Runtime.CompilerServices;
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
        builder.Services.AddHostedService<HttpClientParentBasedSampling>();
        builder.Services.AddHostedService<QueueMetricsSampler>();
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            AddOtlpExport(builder.Services);
        }
        return builder;
    }

    // A method of its own, compiled only when called: compiling the method that names
    // OpenTelemetry's types loads its assemblies (about 0.8 MiB idle), exporter or not.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddOtlpExport(IServiceCollection services) =>
        // The hosting package owns the providers: started with the host, flushed when it stops.
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("reka-gateway"))
            .WithTracing(tracing => tracing.AddSource("Microsoft.AspNetCore", "System.Net.Http", ActivitySources))
            .WithMetrics(metrics => metrics.AddMeter(GatewayMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
                "Microsoft.AspNetCore.RateLimiting", "System.Net.Http", "System.Runtime"))
            .UseOtlpExporter();
}

/// <summary>
/// Parent-based sampling of HttpClient's span of each upstream call (activity source
/// <c>System.Net.Http</c>): it follows the caller's decision. In a trace the caller sampled, the
/// span is recorded with all its tags, as before; in one it did not (or that the gateway started,
/// the caller sending no <c>traceparent</c>), the span only propagates: upstream still gets a
/// <c>traceparent</c> naming the gateway's span, but no tags are made (the redacted URL and the
/// rest: about 450 bytes a call). With no listener, HttpClient would fill in every span's tags.
/// An exporter's own listener (OTLP) may ask for more; the source takes the most any listener asks.
/// </summary>
internal sealed class HttpClientParentBasedSampling : IHostedService, IDisposable
{
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name == "System.Net.Http",
        Sample = static (ref ActivityCreationOptions<ActivityContext> options) => options.Parent switch
        {
            // A call outside any trace stays without one, as with no listener at all.
            { TraceId: var traceId } when traceId == default => ActivitySamplingResult.None,
            { TraceFlags: var flags } when flags.HasFlag(ActivityTraceFlags.Recorded) => ActivitySamplingResult.AllDataAndRecorded,
            _ => ActivitySamplingResult.PropagationData,
        },
    };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ActivitySource.AddActivityListener(_listener);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();
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
