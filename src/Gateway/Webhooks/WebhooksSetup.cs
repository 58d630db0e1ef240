using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Requests;

namespace Reka.Gateway.Webhooks;

/// <summary>Wires the callback receiver's services and the callback worker.</summary>
internal static class WebhooksSetup
{
    /// <summary>
    /// Registers the webhooks feature; a missing or short <c>Webhooks:CallbackSecret</c>, or a
    /// <c>Cache:ResultTtl</c> shorter than the gateway's last look at a request, stops start-up.
    /// </summary>
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddSettings<WebhooksOptions, WebhooksOptionsValidator>(WebhooksOptions.SectionName)
            // A request's record is its owner: gone before the last look, that look's result would reach no one.
            .Validate<IOptions<CacheOptions>>((webhooks, cache) => cache.Value.ResultTtl > webhooks.LastLookAfter,
                "Cache:ResultTtl must be longer than the larger of Webhooks:ReconcileAfterSeconds and Webhooks:SubmitCheckAfterSeconds "
                + "plus every delay of Webhooks:ProcessingRetrySchedule (about 22 h 31 min by default): a request's record, and with it its "
                + "owner, would expire while the gateway still asks Reka about it.");
        builder.Services.AddSingleton<CallbackTokens>();
        builder.Services.AddSingleton<CallbackInbox>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<CallbackInbox>().Queue);
        builder.Services.AddHostedService<CallbackWorker>();
        return builder;
    }
}
