using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Reka.Gateway.Delivery;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Webhooks;

namespace Reka.Gateway.Infrastructure;

/// <summary>
/// Metrics and traces: the <see cref="GatewayMetrics"/> instruments, a sampler of the queues, and,
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, OTLP export of traces and metrics (the standard
/// <c>OTEL_*</c> variables configure it: protocol, headers, service name, intervals).
/// </summary>
public static class Telemetry
{
    /// <summary>Activity sources the gateway's own background work uses.</summary>
    public static readonly string[] ActivitySources = ["Reka.Gateway.Webhooks", "Reka.Gateway.Delivery"];

    /// <summary>Registers metrics, the queue sampler and, when configured, the OTLP exporters.</summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddHostedService<QueueMetricsSampler>();
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddHostedService<OtlpExport>();
        }
        return builder;
    }

    /// <summary>Owns the OpenTelemetry providers for the life of the host, and flushes them on shutdown.</summary>
    private sealed class OtlpExport : IHostedService, IDisposable
    {
        private readonly TracerProvider _traces;
        private readonly MeterProvider _metrics;

        public OtlpExport()
        {
            var resource = ResourceBuilder.CreateDefault().AddService("reka-gateway");
            _traces = Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(resource)
                .AddSource(["Microsoft.AspNetCore", "System.Net.Http", .. ActivitySources])
                .AddOtlpExporter()
                .Build();
            _metrics = Sdk.CreateMeterProviderBuilder()
                .SetResourceBuilder(resource)
                .AddMeter(GatewayMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
                    "Microsoft.AspNetCore.RateLimiting", "System.Net.Http", "System.Runtime")
                .AddOtlpExporter()
                .Build();
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            _traces.ForceFlush(2000);
            _metrics.ForceFlush(2000);
            return Task.CompletedTask;
        }

        public void Dispose()
        {
            _traces.Dispose();
            _metrics.Dispose();
        }
    }
}

/// <summary>
/// Samples the depth of the durable queues and the age of their oldest due job every
/// <see cref="Interval"/>, for the <c>gateway.queue.*</c> gauges (gauge callbacks cannot call Redis).
/// </summary>
internal sealed class QueueMetricsSampler(Deliveries deliveries, CallbackInbox callbacks, GatewayMetrics metrics) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            foreach (var queue in new[] { deliveries.FanOutQueue, deliveries.Queue, callbacks.Queue })
            {
                try
                {
                    var (depth, age) = await queue.StatsAsync();
                    metrics.QueueSampled(queue.Name, depth, age);
                }
                catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException or RedisUnavailableException)
                {
                    // Redis away: the gauges keep their last values; /readyz says what is wrong.
                }
            }
            await Task.Delay(Interval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
