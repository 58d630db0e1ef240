using System.Collections.Concurrent;
using System.Diagnostics;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Infrastructure.Queues;

/// <summary>
/// Works a <see cref="DurableQueue"/> on every replica: claims due jobs (from the partition a
/// wake-up on the queue's pub/sub channel names, at once; else from every partition, at the next
/// due time or every <see cref="QueueWorkerOptions.PollSeconds"/>), runs up to
/// <see cref="QueueWorkerOptions.MaxConcurrency"/> at a time (a round of claims that runs out of
/// slots starts the next at the partition it passed over, so no partition waits behind a busy
/// one), and on shutdown stops claiming, lets
/// in-flight jobs finish for <see cref="QueueWorkerOptions.DrainSeconds"/>, then hands the rest
/// back (due at once) so another replica takes them. A job whose handler throws is retried: after
/// <see cref="QueueWorkerOptions.PollSeconds"/> when Redis was unavailable, else when its lease expires.
/// Each job's wait past its due time and the time its handler took go to the
/// <c>gateway.queue.wait.duration</c> and <c>gateway.queue.job.duration</c> histograms.
/// </summary>
internal abstract class QueueWorker(DurableQueue queue, RedisStore redis, QueueWorkerOptions options, GatewayMetrics metrics, ILogger logger) : BackgroundService
{
    private readonly WakeSignal _wake = new();
    private readonly ConcurrentDictionary<LeasedJob, Task> _inFlight = new();
    private readonly CancellationTokenSource _abandon = new();
    // Partitions a wake-up named, or where a claim filled every free slot (more may be due).
    private readonly int[] _due = new int[queue.Partitions];
    // Where the next round of claims starts: the first partition the last round passed over for
    // want of free slots. Starting at partition 0 every round, a busy partition 0 took the slots
    // freed each round while the last partitions' jobs waited (seconds, under load).
    private int _firstPartition;

    /// <summary>Handles one job; must finish it through the queue (complete, retry or delete). Canceled when the drain time is over.</summary>
    protected abstract Task HandleAsync(LeasedJob job, CancellationToken cancellationToken);

    protected DurableQueue Queue => queue;

    protected GatewayMetrics Metrics => metrics;

    /// <summary>Jobs this worker holds now.</summary>
    internal int InFlightCount => _inFlight.Count;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await SubscribeToWakeUpsAsync(stoppingToken);
        var lease = TimeSpan.FromSeconds(options.LeaseSeconds);
        var poll = TimeSpan.FromSeconds(options.PollSeconds);
        var everyPartition = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            var free = options.MaxConcurrency - _inFlight.Count;
            // Under load, claim in batches (a quarter of the slots at least): one claim per finished
            // job would make the claim round trip the bottleneck.
            if (free <= 0 || free < Math.Max(1, options.MaxConcurrency / 4))
            {
                // A snapshot: the jobs counted above may all have finished since (WhenAny refuses none).
                var running = _inFlight.Values;
                if (running.Count > 0)
                {
                    await ((Task)Task.WhenAny(running)).WaitAsync(stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    continue;
                }
            }
            TimeSpan sleep;
            try
            {
                var passedOver = -1;
                for (var i = 0; i < _due.Length; i++)
                {
                    var partition = (_firstPartition + i) % _due.Length;
                    if (Interlocked.Exchange(ref _due[partition], 0) == 0 && !everyPartition)
                    {
                        continue;
                    }
                    free = options.MaxConcurrency - _inFlight.Count;
                    if (free <= 0)
                    {
                        Volatile.Write(ref _due[partition], 1);
                        passedOver = passedOver < 0 ? partition : passedOver;
                        continue;
                    }
                    var jobs = await queue.ClaimAsync(partition, free, lease).WaitAsync(stoppingToken);
                    foreach (var job in jobs)
                    {
                        var run = RunAsync(job);
                        _inFlight[job] = run;
                        // Unlisted once listed and done, in that order: a job that removed itself
                        // before it was listed would hold its slot for good.
                        _ = run.ContinueWith(static (finished, state) =>
                            {
                                var (inFlight, done) = ((ConcurrentDictionary<LeasedJob, Task>, LeasedJob))state!;
                                inFlight.TryRemove(done, out _);
                            }, (_inFlight, job), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    }
                    if (jobs.Count == free)
                    {
                        Volatile.Write(ref _due[partition], 1); // There may be more due right now.
                    }
                }
                _firstPartition = Math.Max(passedOver, 0);
                everyPartition = false;
                if (AnyPartitionDue())
                {
                    continue;
                }
                // Partitions with a job due already are claimed next, woken or not (a retry or an
                // expired lease is due without a wake-up); else sleep until the first job is due.
                var firstDue = await queue.FirstDueAsync().WaitAsync(stoppingToken);
                var now = queue.Time.GetUtcNow();
                sleep = poll;
                for (var partition = 0; partition < firstDue.Length; partition++)
                {
                    if (firstDue[partition] is not { } due)
                    {
                        continue;
                    }
                    if (due <= now)
                    {
                        Volatile.Write(ref _due[partition], 1);
                    }
                    else if (due - now < sleep)
                    {
                        sleep = due - now;
                    }
                }
                if (AnyPartitionDue())
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                GatewayLog.QueueUnavailable(logger, queue.Name, e.Message);
                sleep = poll;
            }
            // A timeout (a job's due time, a lease expiring, the poll): look at every partition.
            everyPartition = !await _wake.WaitAsync(sleep, queue.Time, stoppingToken);
        }
        await DrainAsync();
    }

    private bool AnyPartitionDue()
    {
        for (var partition = 0; partition < _due.Length; partition++)
        {
            if (Volatile.Read(ref _due[partition]) != 0)
            {
                return true;
            }
        }
        return false;
    }

    private async Task RunAsync(LeasedJob job)
    {
        await Task.Yield();
        metrics.JobClaimed(queue.Name, job.ClaimedAt - job.Due);
        var started = Stopwatch.GetTimestamp(); // time taken, not the queue's clock (a test may stop it)
        try
        {
            await HandleAsync(job, _abandon.Token);
            metrics.JobHandled(queue.Name, Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            // Shutting down: hand the job back so another replica takes it now, not after the lease.
            await ((Task)queue.RetryAsync(job, queue.Time.GetUtcNow(), [])).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            // Redis failing over, say: hand the job back as soon as Redis takes it, rather than
            // leave it to its whole lease.
            GatewayLog.JobDeferred(logger, queue.Name, job.Id, e.GetType().Name);
            await HandBackAsync(job);
        }
        catch (Exception e)
        {
            GatewayLog.JobFailed(logger, queue.Name, job.Id, e.GetType().Name, e.Message);
        }
    }

    private async Task HandBackAsync(LeasedJob job)
    {
        var poll = TimeSpan.FromSeconds(options.PollSeconds);
        var until = queue.Time.GetUtcNow().AddSeconds(options.LeaseSeconds);
        while (queue.Time.GetUtcNow() + poll < until && !_abandon.IsCancellationRequested)
        {
            try
            {
                await queue.RetryAsync(job, queue.Time.GetUtcNow() + poll, []);
                return;
            }
            catch (Exception e) when (RedisStore.IsUnavailable(e))
            {
                await Task.Delay(poll, queue.Time, _abandon.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            catch (Exception e)
            {
                // Redis refused it (out of memory, say): nobody awaits this task, so say it here.
                GatewayLog.JobNotPutBack(logger, queue.Name, job.Id, e.GetType().Name, e.Message);
                return;
            }
        }
    }

    private async Task DrainAsync()
    {
        var pending = _inFlight.Values.ToArray();
        GatewayLog.QueueDraining(logger, queue.Name, pending.Length, options.DrainSeconds);
        var drained = Task.WhenAll(pending);
        if (await Task.WhenAny(drained, Task.Delay(TimeSpan.FromSeconds(options.DrainSeconds), queue.Time)) != drained)
        {
            await _abandon.CancelAsync();
        }
        await Task.WhenAll(_inFlight.Values.ToArray()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task SubscribeToWakeUpsAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Connected first: whether the channels are sharded depends on the kind of Redis.
                await redis.Database.PingAsync().WaitAsync(stoppingToken);
                var subscriber = redis.Subscriber;
                await Task.WhenAll(Enumerable.Range(0, queue.Partitions)
                    .Select(partition => subscriber.SubscribeAsync(queue.WakeChannel(partition), (_, _) => Wake(partition)))).WaitAsync(stoppingToken);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                GatewayLog.QueueUnavailable(logger, queue.Name, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(options.PollSeconds), queue.Time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private void Wake(int partition)
    {
        // A full fence: the loop that takes the signal sees the partition marked.
        Interlocked.Exchange(ref _due[partition], 1);
        _wake.Set();
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _abandon.Dispose();
        base.Dispose();
    }
}
