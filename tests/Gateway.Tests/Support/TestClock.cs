using Microsoft.Extensions.Time.Testing;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// A fake clock for hosts whose schedules a test steps through instead of waiting them out: it
/// stands still until <see cref="FakeTimeProvider.Advance"/>, and it tells when someone starts
/// waiting on it (<see cref="WaitForTimersAsync"/>), which is the positive signal that a host has
/// reached a wait and done everything it does before it.
/// </summary>
/// <remarks>
/// It starts at the real time, so that what other hosts check against the real clock (the
/// Standard Webhooks signature timestamp, within 5 minutes) still holds; tests move it on by
/// seconds or minutes, not hours.
/// </remarks>
public sealed class TestClock() : FakeTimeProvider(DateTimeOffset.UtcNow)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TimeSpan, int> _timers = [];

    /// <summary>How many timers of <paramref name="dueTime"/> were started on this clock so far.</summary>
    public int TimersStarted(TimeSpan dueTime)
    {
        lock (_gate)
        {
            return _timers.GetValueOrDefault(dueTime);
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> timers of <paramref name="dueTime"/> have been started on this clock.</summary>
    public Task WaitForTimersAsync(TimeSpan dueTime, int count, double timeoutSeconds = 20) =>
        Eventually.ThatAsync(() => Task.FromResult(TimersStarted(dueTime) >= count), timeoutSeconds,
            $"{count} timers of {dueTime.TotalSeconds} s on the test clock (started: {TimersStarted(dueTime)})");

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        lock (_gate)
        {
            _timers[dueTime] = _timers.GetValueOrDefault(dueTime) + 1;
        }
        return timer;
    }
}
