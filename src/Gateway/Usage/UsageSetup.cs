using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Usage;

/// <summary>Registers usage counting, quotas and their settings.</summary>
internal static class UsageSetup
{
    public static WebApplicationBuilder AddUsage(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSettings<UsageOptions, UsageOptionsValidator>(UsageOptions.SectionName);
        services.AddSingleton<UsageKeys>();
        services.AddSingleton<UsageLedger>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageLedger>());
        services.AddSingleton<QuotaGate>();
        services.AddSingleton<ICompletedInferenceConsumer, InferenceUsage>();
        return builder;
    }
}
