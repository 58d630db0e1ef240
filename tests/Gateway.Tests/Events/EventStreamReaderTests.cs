using System.Threading.Channels;
using Reka.Gateway.Events;

namespace Reka.Gateway.Tests.Events;

/// <summary>
/// The reader behind every event stream: it asks whether its caller may still read before each
/// event, not only when the channel runs dry, so a stream under steady traffic still ends.
/// </summary>
public sealed class EventStreamReaderTests
{
    private static PublishedEvent Event(int n) => new($"evt_{n}", "inference.completed", $"req-{n}", "alice", "{}");

    [Fact]
    public async Task ACallerNoLongerAllowed_GetsNoFurtherEvent_EvenWithEventsWaiting()
    {
        var channel = Channel.CreateUnbounded<PublishedEvent>();
        foreach (var n in Enumerable.Range(1, 3))
        {
            await channel.Writer.WriteAsync(Event(n));
        }
        using var listener = new EventHub.Listener(channel.Reader, () => { });
        var allowed = true;
        using var aborted = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var read = new List<string?>();

        await foreach (var item in listener.ReadAsync(() => allowed, aborted.Token, CancellationToken.None))
        {
            read.Add(item?.Id);
            // Revoked while the first event is being sent: two more are waiting in the channel.
            allowed = item is null;
        }

        Assert.False(aborted.IsCancellationRequested, "the stream ended by itself, not at the test's deadline");
        Assert.Equal([null, "evt_1"], read);
    }
}
