using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Webhooks;

/// <summary>Wires the callback receiver's services and the callback worker.</summary>
internal static class WebhooksSetup
{
    /// <summary>
    /// Registers the webhooks feature; a missing or short <c>Webhooks:CallbackSecret</c>, or a
    /// <c>Cache:ResultTtl</c> not longer than the gateway's latest look at a request
    /// (<see cref="ResultTtlValidator"/>), stops start-up.
    /// </summary>
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddSettings<WebhooksOptions, WebhooksOptionsValidator>(WebhooksOptions.SectionName);
        builder.Services.AddSingleton<IValidateOptions<WebhooksOptions>, ResultTtlValidator>();
        builder.Services.AddSingleton<CallbackTokens>();
        builder.Services.AddSingleton<CallbackInbox>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<CallbackInbox>().Queue);
        builder.Services.AddHostedService<CallbackWorker>();
        return builder;
    }
}
