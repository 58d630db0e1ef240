using Reka.Simulator.Faults;
using Reka.Simulator.Webhooks;

namespace Reka.Simulator.Jobs;

/// <summary>
/// Drives jobs through <c>IN_QUEUE</c> → <c>IN_PROGRESS</c> → <c>COMPLETED</c>/<c>FAILED</c> on
/// timers, and ends them early on cancel or control calls; every ending triggers the webhook.
/// </summary>
public sealed class JobLifecycle(
    SimulatorOptions options,
    SimulatorRandom random,
    WebhookSender webhooks,
    TimeProvider time,
    IHostApplicationLifetime lifetime)
{
    /// <summary>Starts the timers of a newly stored job, unless <see cref="SimulatorOptions.HoldJobs"/> holds it.</summary>
    public void Start(Job job)
    {
        if (!options.HoldJobs) _ = RunAsync(job);
    }

    /// <summary>
    /// Ends <paramref name="job"/> now with a terminal <paramref name="status"/> and sends its
    /// webhook; false when it had ended already.
    /// </summary>
    public bool Finish(Job job, string status)
    {
        if (!job.TryFinish(status, time.GetUtcNow().UtcDateTime)) return false;
        webhooks.Notify(job);
        return true;
    }

    private async Task RunAsync(Job job)
    {
        var stopping = lifetime.ApplicationStopping;
        try
        {
            await DelayAsync(options.QueueSeconds, stopping);
            // The run timer starts before the job shows IN_PROGRESS: whoever sees it running can
            // count on its timer (a test moving a fake clock on, say).
            var started = time.GetUtcNow().UtcDateTime;
            var running = DelayAsync(options.RunSeconds, stopping);
            // A job cancelled or completed by a control call meanwhile has left the queue.
            if (!job.TryStart(started)) return;
            await running;
            Finish(job, random.Chance(options.FailureRate) ? JobStatus.Failed : JobStatus.Completed);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: jobs die with the process, as they would with a real restart.
        }
    }

    private Task DelayAsync(double seconds, CancellationToken cancellationToken) =>
        seconds > 0 ? Task.Delay(TimeSpan.FromSeconds(seconds), time, cancellationToken) : Task.CompletedTask;
}
