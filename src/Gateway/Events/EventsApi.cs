using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
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

    /// <summary>Seconds between <c>ping</c> events on an idle stream, so proxies keep it open.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    public static RouteHandlerBuilder MapEventsApi(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/events", (HttpContext context, EventHub hub, IHostApplicationLifetime lifetime) =>
            {
                var client = context.GetClient().Name;
                if (hub.TryListen(context, client, e => e.Client == client) is not { } listener)
                {
                    return hub.TooManyStreams(client);
                }
                return TypedResults.ServerSentEvents(StreamAsync(listener, context.RequestAborted, lifetime.ApplicationStopping));
            })
            .WithTag("Events", "The calling client's events as they happen, as server-sent events.")
            .WithName("StreamEvents")
            .WithSummary("Stream the events of your requests")
            .WithDescription("Server-sent events: `event:` is the event type (`inference.completed`, ...), `id:` the event id, `data:` the event JSON; a `ping` event opens the stream and comes every 15 s while it is idle. Events come from the moment of connection on; nothing is replayed.")
            .Produces<InferenceEvent>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireAuthorization()
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit);

    private static async IAsyncEnumerable<SseItem<string>> StreamAsync(EventHub.Listener listener,
        [EnumeratorCancellation] CancellationToken requestAborted, CancellationToken stopping)
    {
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, stopping);
        // Sent at once, so the caller knows the stream is open (headers go out with it).
        yield return new SseItem<string>("{}", "ping");
        while (!ended.IsCancellationRequested)
        {
            var ready = await WaitForEventsAsync(listener.Reader, ended.Token);
            if (ended.IsCancellationRequested)
            {
                yield break;
            }
            if (!ready)
            {
                yield return new SseItem<string>("{}", "ping");
                continue;
            }
            while (listener.Reader.TryRead(out var published))
            {
                yield return new SseItem<string>(published.Json, published.Type) { EventId = published.Id };
            }
        }
    }

    private static async Task<bool> WaitForEventsAsync(ChannelReader<PublishedEvent> reader, CancellationToken ended)
    {
        using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(ended);
        heartbeat.CancelAfter(HeartbeatInterval);
        try
        {
            return await reader.WaitToReadAsync(heartbeat.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
