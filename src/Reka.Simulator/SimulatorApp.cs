using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Reka.Simulator.Api;
using Reka.Simulator.Chat;
using Reka.Simulator.Control;
using Reka.Simulator.Faults;
using Reka.Simulator.Jobs;
using Reka.Simulator.Search;
using Reka.Simulator.Stats;
using Reka.Simulator.Uploads;
using Reka.Simulator.Webhooks;

namespace Reka.Simulator;

/// <summary>
/// Builds the simulator: a local, Reka-compatible fake of the Vision API for tests and benchmarks.
/// </summary>
public static class SimulatorApp
{
    /// <summary>Where the simulator listens when neither <c>--urls</c> nor the environment says.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8081";

    /// <summary>
    /// Builds the app with its defaults, then runs <paramref name="configure"/> (e.g. to add
    /// in-memory <c>Simulator:*</c> settings or <c>UseUrls("http://127.0.0.1:0")</c>), then builds it.
    /// </summary>
    /// <exception cref="OptionsValidationException">On start, when a <c>Simulator</c> setting is invalid.</exception>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (!HasConfiguredUrls(builder.Configuration)) builder.WebHost.UseUrls(DefaultUrl);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

        // Per-request logging would cost the benchmarks more than the simulator's own work;
        // start-up lines stay so a standalone run still says where it listens.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

        AddSimulator(builder.Services);
        configure?.Invoke(builder);

        var app = builder.Build();
        // Routing first, so the gate can count each call under its route pattern.
        app.UseRouting();
        app.UseMiddleware<ApiGateMiddleware>();
        app.MapInferenceEndpoints();
        app.MapChatEndpoints();
        app.MapImageEndpoints();
        app.MapVideoEndpoints();
        app.MapSearchEndpoints();
        app.MapControlEndpoints();
        app.MapFallback("{*path}", (HttpContext context) =>
            ApiErrors.NotFound($"No route for {context.Request.Method} {context.Request.Path}."));
        return app;
    }

    private static void AddSimulator(IServiceCollection services)
    {
        services.AddOptions<SimulatorOptions>()
            .BindConfiguration(SimulatorOptions.SectionName)
            .PostConfigure<IConfiguration>((options, configuration) =>
            {
                // The binder appends configured array items to the default [1, 2, 4] instead of
                // replacing them, so a configured schedule is read again on its own.
                var schedule = configuration.GetSection($"{SimulatorOptions.SectionName}:Webhook:RetrySchedule").Get<double[]>();
                if (schedule is not null) options.Webhook.RetrySchedule = schedule;
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SimulatorOptions>, SimulatorOptionsValidator>();
        // One shared instance: /_simulator/config changes it in place.
        services.AddSingleton(provider => provider.GetRequiredService<IOptions<SimulatorOptions>>().Value);

        // Every timer and timestamp of the simulator (job timers, webhook delays and retries, chat
        // event gaps) reads this clock; tests register a fake one to step through them.
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<SimulatorRandom>();
        services.AddSingleton<SimulatorStats>();
        services.AddSingleton<RateLimitLedger>();
        services.AddSingleton<FaultPlan>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<JobLifecycle>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<MediaStore>();
    }

    private static bool HasConfiguredUrls(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["urls"])
        || !string.IsNullOrEmpty(configuration["http_ports"])
        || !string.IsNullOrEmpty(configuration["https_ports"])
        || configuration.GetSection("Kestrel:Endpoints").Exists();

    private sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorOptions>
    {
        public ValidateOptionsResult Validate(string? name, SimulatorOptions options) =>
            options.FindError() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
    }
}
