using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Events;

/// <summary>An event as it arrived on the channel: the fields used to route it, and its JSON.</summary>
/// <param name="Id">Event id.</param>
/// <param name="Type">Event type.</param>
/// <param name="RequestId">The request it is about.</param>
/// <param name="Client">The client that owns the request, or null.</param>
/// <param name="Json">The whole event.</param>
internal sealed record PublishedEvent(string Id, string Type, string RequestId, string? Client, string Json);

/// <summary>
/// Every replica's window on events, whichever replica produced them: it publishes each event on
/// the Redis channel (<c>Redis:EventsChannel</c>, <c>gateway:events</c>), listens to it, and hands
/// what arrives to local waiters (long-polls on a request) and listeners (<c>GET /events</c> streams).
/// Pub/sub is at-most-once per listener; waiters read the cache again when the replica's
/// subscription comes back after it was lost, and at their deadline.
/// </summary>
internal sealed class EventHub(RedisStore redis, IOptions<GatewayOptions> gateway, ILogger<EventHub> logger) : BackgroundService, ICompletedInferenceConsumer
{
    // How long after its pub/sub connection is back the replica wakes its waiters again.
    private static readonly TimeSpan ResubscribeGrace = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, WaiterSet> _waiters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Channel<PublishedEvent>, Func<PublishedEvent, bool>> _listeners = new();
    private readonly PartitionedRateLimiter<string> _streams = PartitionedRateLimiter.Create<string, string>(client =>
        RateLimitPartition.GetConcurrencyLimiter(client, _ => new ConcurrencyLimiterOptions { PermitLimit = gateway.Value.MaxStreamsPerClient, QueueLimit = 0 }));

    /// <summary>Publishes a completed inference's event to every replica (its waiters and streams, and other listeners of the channel).</summary>
    /// <exception cref="RedisException">Redis failed: the callback is processed again.</exception>
    Task ICompletedInferenceConsumer.ConsumeAsync(CompletedInference inference, CancellationToken cancellationToken) =>
        redis.Subscriber.PublishAsync(redis.EventsChannel, inference.Json);

    /// <summary>
    /// A task that completes when an event about <paramref name="requestId"/> arrives. Register
    /// before looking at the cache, so an event in between is not missed; dispose to unregister.
    /// </summary>
    public Waiter WaitFor(string requestId)
    {
        var signal = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        while (true)
        {
            var set = _waiters.GetOrAdd(requestId, _ => new WaiterSet());
            lock (set)
            {
                // A set emptied and being removed takes no newcomer: it would never be signalled.
                if (set.Retired)
                {
                    continue;
                }
                set.Signals.Add(signal);
            }
            break;
        }
        return new Waiter(signal.Task, () =>
        {
            if (_waiters.TryGetValue(requestId, out var set))
            {
                lock (set)
                {
                    set.Signals.Remove(signal);
                    if (set.Signals.Count == 0)
                    {
                        set.Retired = true;
                        _waiters.TryRemove(new KeyValuePair<string, WaiterSet>(requestId, set));
                    }
                }
            }
        });
    }

    /// <summary>
    /// Events matching <paramref name="filter"/> from now on, for a stream of
    /// <paramref name="client"/> answering <paramref name="context"/>, until that request ends;
    /// null when the client already holds <c>Gateway:MaxStreamsPerClient</c> streams on this replica.
    /// </summary>
    public Listener? TryListen(HttpContext context, string client, Func<PublishedEvent, bool> filter)
    {
        var lease = _streams.AttemptAcquire(client);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            return null;
        }
        // Bounded: a stream that cannot keep up loses its oldest events rather than the replica's memory.
        var channel = Channel.CreateBounded<PublishedEvent>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
        _listeners[channel] = filter;
        var listener = new Listener(channel.Reader, () => { _listeners.TryRemove(channel, out _); channel.Writer.TryComplete(); lease.Dispose(); });
        // Whether or not its stream ever starts, the listener and its place end with the request.
        context.Response.RegisterForDispose(listener);
        return listener;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _streams.Dispose();
        base.Dispose();
    }

    /// <summary>The problem details answered when <see cref="TryListen"/> refuses a stream.</summary>
    public IResult TooManyStreams(string client) => TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests,
        detail: $"Client '{client}' already holds {gateway.Value.MaxStreamsPerClient} event streams open on this replica (Gateway:MaxStreamsPerClient); close one first.");

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // An event published while this replica's subscription was down never arrives: every
        // waiter is woken to look at the cache again, and goes on waiting if its result is not
        // there. Woken again a second later: the client subscribes the channel again as it
        // reconnects, and the connection's restored event can come before that subscription.
        void Restored()
        {
            WakeAllWaiters();
            _ = WakeAgainAsync();
        }
        async Task WakeAgainAsync()
        {
            await Task.Delay(ResubscribeGrace, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!stoppingToken.IsCancellationRequested)
            {
                WakeAllWaiters();
            }
        }
        redis.SubscriptionRestored += Restored;
        stoppingToken.Register(() => redis.SubscriptionRestored -= Restored);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await redis.Subscriber.SubscribeAsync(redis.EventsChannel, (_, message) => Dispatch(message)).WaitAsync(stoppingToken);
                return; // StackExchange.Redis restores the subscription after reconnecting.
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                GatewayLog.EventsUnavailable(logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private void WakeAllWaiters()
    {
        foreach (var (_, waiters) in _waiters)
        {
            Wake(waiters, eventArrived: false);
        }
    }

    private static void Wake(WaiterSet waiters, bool eventArrived)
    {
        TaskCompletionSource<bool>[] signals;
        lock (waiters)
        {
            signals = [.. waiters.Signals];
        }
        foreach (var signal in signals)
        {
            signal.TrySetResult(eventArrived);
        }
    }

    private void Dispatch(RedisValue message)
    {
        if (_waiters.IsEmpty && _listeners.IsEmpty)
        {
            // Nobody on this replica waits or listens (the usual case): the event is not read.
            return;
        }
        PublishedEvent published;
        try
        {
            var json = (string)message!;
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            published = new PublishedEvent(
                root.GetProperty("id").GetString()!,
                root.GetProperty("type").GetString()!,
                root.GetProperty("request_id").GetString()!,
                root.TryGetProperty("client", out var client) ? client.GetString() : null,
                json);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            GatewayLog.EventUnreadable(logger, e.Message);
            return;
        }
        if (_waiters.TryGetValue(published.RequestId, out var waiters))
        {
            Wake(waiters, eventArrived: true);
        }
        foreach (var (channel, filter) in _listeners)
        {
            if (filter(published))
            {
                channel.Writer.TryWrite(published);
            }
        }
    }

    private sealed class WaiterSet
    {
        public HashSet<TaskCompletionSource<bool>> Signals { get; } = [];

        public bool Retired { get; set; }
    }

    /// <summary>A registered wait for one request's event.</summary>
    internal sealed class Waiter(Task<bool> signal, Action unregister) : IDisposable
    {
        /// <summary>
        /// Completes with true when the event arrives, or with false when the replica's lost
        /// subscription is back (the event may have been published meanwhile).
        /// </summary>
        public Task<bool> Signal => signal;

        /// <inheritdoc />
        public void Dispose() => unregister();
    }

    /// <summary>A registered stream of events.</summary>
    internal sealed class Listener(ChannelReader<PublishedEvent> reader, Action unregister) : IDisposable
    {
        /// <summary>Seconds between pings on an idle stream, so proxies keep it open.</summary>
        public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

        /// <summary>
        /// The stream: null for a ping (one at once, so the caller knows it is open, then one after
        /// each <see cref="HeartbeatInterval"/> without events), else each event. Ends with the
        /// request, at shutdown, or when <paramref name="callerMayRead"/> answers false, which it is
        /// asked before each ping and each event (an in-memory lookup): a key revoked or expired,
        /// or a client changed, ends the stream at its next event or within a heartbeat, as it
        /// would refuse the caller's next call.
        /// </summary>
        public async IAsyncEnumerable<PublishedEvent?> ReadAsync(Func<bool> callerMayRead,
            [EnumeratorCancellation] CancellationToken requestAborted, CancellationToken stopping)
        {
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, stopping);
            yield return null;
            while (true)
            {
                var ready = await WaitForEventsAsync(ended.Token);
                if (ended.IsCancellationRequested || !callerMayRead())
                {
                    yield break;
                }
                if (!ready)
                {
                    yield return null;
                    continue;
                }
                // Asked at each event too: under steady traffic the channel is never empty.
                while (reader.TryRead(out var published))
                {
                    if (!callerMayRead())
                    {
                        yield break;
                    }
                    yield return published;
                }
            }
        }

        // False at the heartbeat, or when the stream ends.
        private async Task<bool> WaitForEventsAsync(CancellationToken ended)
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

        /// <inheritdoc />
        public void Dispose() => unregister();
    }
}
