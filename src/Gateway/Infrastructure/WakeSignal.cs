namespace Reka.Gateway.Infrastructure;

/// <summary>
/// A wake-up that a background loop waits for between its polls. <see cref="Set"/> wakes the
/// loop's wait, or its next one if it is not waiting; any number of sets before the loop takes
/// one count as one.
/// </summary>
/// <remarks>
/// Not a <see cref="SemaphoreSlim"/> waited on with a timeout token: a wait cancelled that way
/// throws an <see cref="OperationCanceledException"/> inside the runtime even when awaited without
/// throwing, so every idle poll of every loop counted in the <c>dotnet.exceptions</c> metric
/// (about 10 a second on an idle replica), and a release of a full one threw as well.
/// </remarks>
internal sealed class WakeSignal
{
    private TaskCompletionSource _set = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wakes the waiting loop, or its next wait.</summary>
    public void Set() => Volatile.Read(ref _set).TrySetResult();

    /// <summary>
    /// Waits until <see cref="Set"/> is called, at most <paramref name="timeout"/> on
    /// <paramref name="time"/>; true when set (taking the set, so the next wait waits for another
    /// one), false when the timeout passed or <paramref name="cancellationToken"/> was cancelled.
    /// Never throws.
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var set = Volatile.Read(ref _set);
        if (!set.Task.IsCompleted)
        {
            await set.Task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!set.Task.IsCompleted)
            {
                return false;
            }
        }
        // Taken before the caller looks at what changed: a set from now on wakes the next wait.
        Interlocked.CompareExchange(ref _set, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), set);
        return true;
    }
}
