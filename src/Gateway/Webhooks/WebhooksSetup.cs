using Microsoft.Extensions.Options;

namespace Reka.Gateway.Webhooks;

/// <summary>Wires the callback receiver's services and the callback worker.</summary>
public static class WebhooksSetup
{
    /// <summary>Registers the webhooks feature; a missing or short <c>Webhooks:CallbackSecret</c> stops start-up.</summary>
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebhooksOptions>().BindConfiguration(WebhooksOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WebhooksOptions>, WebhooksOptionsValidator>();
        builder.Services.AddSingleton<CallbackTokens>();
        builder.Services.AddSingleton<CallbackInbox>();
        builder.Services.AddHostedService<CallbackWorker>();
        return builder;
    }
}

internal sealed class WebhooksOptionsValidator : IValidateOptions<WebhooksOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhooksOptions options)
    {
        var failures = new List<string>();
        if (options.CallbackSecret.Length < 32)
        {
            failures.Add("Webhooks:CallbackSecret must be set, the same on every replica, at least 32 characters (e.g. `openssl rand -base64 32`).");
        }
        if (options.MaxBodyBytes < 1024)
        {
            failures.Add("Webhooks:MaxBodyBytes must be at least 1024.");
        }
        if (options.AllowedSubscriberHosts.Any(h => h.Length == 0 || h.Contains('/') || h == "*"))
        {
            failures.Add("Webhooks:AllowedSubscriberHosts holds host names or '*.suffix' patterns only.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
