using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Webhooks;

/// <summary>Wires the callback receiver's services and the callback worker.</summary>
public static class WebhooksSetup
{
    /// <summary>Registers the webhooks feature; a missing or short <c>Webhooks:CallbackSecret</c> stops start-up.</summary>
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddCheckedOptions<WebhooksOptions, WebhooksOptionsValidator>(WebhooksOptions.SectionName);
        builder.Services.AddSingleton<CallbackTokens>();
        builder.Services.AddSingleton<CallbackInbox>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<CallbackInbox>().Queue);
        builder.Services.AddHostedService<CallbackWorker>();
        return builder;
    }
}

internal sealed class WebhooksOptionsValidator : SettingsValidator<WebhooksOptions>
{
    protected override IEnumerable<string> Check(WebhooksOptions options)
    {
        if (options.CallbackSecret.Length < 32)
        {
            yield return "Webhooks:CallbackSecret must be set, the same on every replica, at least 32 characters (e.g. `openssl rand -base64 32`).";
        }
        if (options.MaxBodyBytes < 1024)
        {
            yield return "Webhooks:MaxBodyBytes must be at least 1024.";
        }
        if (options.ProcessingSchedule.Any(delay => delay <= TimeSpan.Zero) || options.ReconcileAfterSeconds < 0)
        {
            yield return "Webhooks:ProcessingRetrySchedule delays must be above 0, and Webhooks:ReconcileAfterSeconds at least 0.";
        }
        foreach (var failure in CheckWorker(options.Processing, "Webhooks:Processing"))
        {
            yield return failure;
        }
    }
}
