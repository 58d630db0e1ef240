using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ZLogger;
using Reka.Gateway.Clients;
using Reka.Gateway.Delivery;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Subscriptions;
using Reka.Gateway.Webhooks;
using Reka.Gateway.Inference;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Validation;
using Reka.Gateway.Passthrough;
using Reka.Gateway.Proxy;
using Reka.Gateway.Requests;
using Reka.Gateway.Usage;
using Reka.Gateway.OperatorConsole;
using Reka.Gateway.Uploads;

namespace Reka.Gateway;

/// <summary>The gateway's composition: each feature wires itself; this file orders them.</summary>
internal static class GatewayApplication
{
    /// <summary>
    /// How long the host may take to stop, in seconds: within Kubernetes' grace period
    /// (deploy/deployment.yaml) after the preStop hook.
    /// </summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(25);

    /// <summary>Registers every feature's services and settings.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        // Kestrel's limits from settings (Kestrel:Limits:MaxConcurrentConnections...): the framework
        // reads only its endpoints and certificates from the Kestrel section by itself.
        builder.Services.Configure<KestrelServerOptions>(builder.Configuration.GetSection("Kestrel"));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        // Kestrel receives into 32 KiB blocks, not 4 KiB ones (LargeBlockMemoryPoolFactory).
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
        // Within Kubernetes' grace period: the queue workers stop together (not one after the
        // other) and drain for their DrainSeconds (10 s), then the process exits.
        builder.Services.Configure<HostOptions>(host =>
        {
            host.ShutdownTimeout = ShutdownTimeout;
            host.ServicesStopConcurrently = true;
        });
        // JSON lines on stdout, written by ZLogger from UTF-8 buffers on a background thread (the
        // framework's JSON console formatter cost about a sixth of a proxied call's CPU). Each
        // line: Timestamp, LogLevel, Category, Message, EventId and the event's fields under State.
        builder.Logging.ClearProviders().AddZLoggerConsole(options => options.UseJsonFormatter(json =>
        {
            json.UseUtcTimestamp = true;
            json.IncludeProperties = IncludeProperties.Default | IncludeProperties.EventIdValue;
            json.PropertyKeyValuesObjectName = JsonEncodedText.Encode("State");
        })).WithoutScopes();
        // ASP.NET Core's request log writes whole URLs, and a callback URL carries its token: that
        // log stays at Warning whatever the configured levels (the gateway logs each call itself).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            options.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            options.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
            StrictJson.Configure(options.SerializerOptions);
        });
        // Every clock the gateway reads (due times, retries, windows); tests put a fake one in its place.
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSettings<GatewayOptions, GatewayOptionsValidator>(GatewayOptions.SectionName);
        builder.Services.AddGatewayProblemDetails();
        builder.AddTelemetry();
        builder.Services.AddGatewayOpenApi();
        builder.Services.AddGatewayHealthChecks();

        builder.AddRedis();
        builder.AddRequests();
        builder.AddClients();
        builder.AddUsage();
        builder.AddProxy();
        builder.AddInference();
        builder.AddUploads();
        builder.AddPassthrough();
        builder.AddWebhooks();
        builder.AddSubscriptions();
        // Completed inferences go to usage, Delivery's fan-out and the event channel, at once.
        builder.AddDelivery();
        builder.AddEvents();
        // The operator console uses the features above; none of them uses it.
        builder.AddConsole();
        return builder;
    }

    /// <summary>Builds the request pipeline and maps every route.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        app.UseGatewayProblemDetails();
        app.UseAsciiHeaders();
        app.UseConsole();
        app.MapGatewayOpenApi();
        app.UseRouting();
        app.UseClientAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseJsonBodyRequired();

        app.MapHealthEndpoints();
        app.MapClientsApi();
        app.MapUsageApi();
        app.MapInferenceApi();
        app.MapUploadsApi();
        app.MapPassthroughApi();
        app.MapCallbackReceiver();
        app.MapEventsApi();
        app.MapDeliveriesApi(app.MapSubscriptionsApi());
        app.MapConsole();
        return app;
    }

    /// <summary>
    /// Checks every setting. A bad one is reported as one clear line on standard error, not a
    /// stack trace, and the caller should exit (code 2).
    /// </summary>
    public static bool HasValidConfiguration(this WebApplication app)
    {
        try
        {
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            return true;
        }
        catch (Exception e) when (e is OptionsValidationException or AggregateException)
        {
            var failures = e is AggregateException many
                ? many.InnerExceptions.OfType<OptionsValidationException>().SelectMany(v => v.Failures)
                : ((OptionsValidationException)e).Failures;
            Console.Error.WriteLine("gateway: cannot start: " + string.Join(" ", failures.Select(Settings.Describe)));
            return false;
        }
    }
}
