using Reka.Gateway.Infrastructure;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Infrastructure;

public sealed class WakeSignalTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task SetsBeforeAWait_WakeItOnce()
    {
        var clock = new TestClock();
        var signal = new WakeSignal();
        signal.Set();
        signal.Set();

        Assert.True(await signal.WaitAsync(Timeout, clock, CancellationToken.None));

        // Both sets were taken by that wait: the next one waits out its timeout.
        var next = signal.WaitAsync(Timeout, clock, CancellationToken.None);
        await clock.WaitForTimersAsync(Timeout, 1);
        Assert.False(next.IsCompleted);
        clock.Advance(Timeout);
        Assert.False(await next);
    }

    [Fact]
    public async Task ASetDuringAWait_WakesIt()
    {
        var clock = new TestClock();
        var signal = new WakeSignal();
        var waiting = signal.WaitAsync(Timeout, clock, CancellationToken.None);
        await clock.WaitForTimersAsync(Timeout, 1);
        Assert.False(waiting.IsCompleted);

        signal.Set();

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task TimeoutAndCancellation_EndTheWait_WithoutAnExceptionThrown()
    {
        var clock = new TestClock();
        var signal = new WakeSignal();
        using var counter = new ExceptionsInThisFlow();

        var timedOut = signal.WaitAsync(Timeout, clock, CancellationToken.None);
        await clock.WaitForTimersAsync(Timeout, 1);
        clock.Advance(Timeout);
        Assert.False(await timedOut);

        using var stopping = new CancellationTokenSource();
        var cancelled = signal.WaitAsync(Timeout, clock, stopping.Token);
        await clock.WaitForTimersAsync(Timeout, 2);
        await stopping.CancelAsync();
        Assert.False(await cancelled);

        Assert.Empty(counter.Thrown);
    }
}
