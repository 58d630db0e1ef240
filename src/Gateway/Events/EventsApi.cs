using System.Net.ServerSentEvents;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Events;

/// <summary><c>GET /events</c>: a server-sent event stream of the calling client's events.</summary>
internal static class EventsApi
{
    /// <summary>Registers the event hub (one Redis subscription per replica).</summary>
    public static WebApplicationBuilder AddEvents(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<EventHub>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EventHub>());
        builder.Services.AddSingleton<ICompletedInferenceConsumer>(sp => sp.GetRequiredService<EventHub>());
        return builder;
    }

    public static RouteHandlerBuilder MapEventsApi(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/events", (HttpContext context, EventHub hub, ClientRegistry clients, IHostApplicationLifetime lifetime) =>
            {
                var client = context.GetClient().Name;
                if (hub.TryListen(context, client, e => e.Client == client) is not { } listener)
                {
                    return hub.TooManyStreams(client);
                }
                // The key the stream was opened with, as it is now: revoked, expired or its client
                // deleted, it ends the stream.
                var keyHash = ApiKeyAuthenticationHandler.KeyHash(context);
                var events = listener.ReadAsync(() => keyHash is not null && clients.FindByKeyHash(keyHash, out _)?.Name == client,
                    context.RequestAborted, lifetime.ApplicationStopping);
                return TypedResults.ServerSentEvents(events.Select(e => e is null
                    ? new SseItem<string>("{}", "ping")
                    : new SseItem<string>(e.Json, e.Type) { EventId = e.Id }));
            })
            .WithTag("Events", "The calling client's events as they happen, as server-sent events.")
            .WithName("StreamEvents")
            .WithSummary("Stream the events of your requests")
            .WithDescription("Server-sent events: `event:` is the event type (`inference.completed`, ...), `id:` the event id, `data:` the event JSON; a `ping` event opens the stream and comes every 15 s while it is idle. Events come from the moment of connection on; nothing is replayed. The stream ends when the key it was opened with stops working (revoked, expired, its client deleted): at its next event, or within 15 s.")
            .Produces<InferenceEvent>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireAuthorization()
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit);
}
