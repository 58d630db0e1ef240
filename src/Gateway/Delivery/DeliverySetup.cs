using Microsoft.AspNetCore.OpenApi;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Delivery;

/// <summary>Wires the delivery queues, their workers and their HttpClient.</summary>
internal static class DeliverySetup
{
    public static WebApplicationBuilder AddDelivery(this WebApplicationBuilder builder)
    {
        builder.Services.AddSettings<DeliveryOptions, DeliveryOptionsValidator>(DeliveryOptions.SectionName);
        builder.Services.AddSingleton<Deliveries>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<Deliveries>().FanOutQueue);
        builder.Services.AddSingleton(sp => sp.GetRequiredService<Deliveries>().Queue);
        builder.Services.AddSingleton<ICompletedInferenceConsumer, FanOut>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddHostedService<FanOutWorker>();
        builder.Services.AddHostedService<DeliveryWorker>();
        // What deliveries look like to a subscriber: the document's webhooks.
        builder.Services.Configure<OpenApiOptions>(OpenApiSetup.DocumentName, options => options.AddDocumentTransformer<DeliveryWebhooksDocument>());
        builder.Services.AddHttpClient(WebhookSender.HttpClientName, client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan; // each attempt has its own timeout
                client.DefaultRequestHeaders.UserAgent.ParseAdd("reka-gateway-webhooks/1.0");
            })
            // Each attempt is logged once by the sender; HttpClient's own four lines per call would only cost.
            .RemoveAllLoggers()
            // The sender holds one client: its connections are renewed by PooledConnectionLifetime instead.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectCallback = SubscriberConnections.ConnectAsync,
                // Straight to the subscriber: through a proxy (HTTP_PROXY), the callback would see
                // the proxy's address, not where the subscriber's name leads.
                UseProxy = false,
            });
        return builder;
    }
}
