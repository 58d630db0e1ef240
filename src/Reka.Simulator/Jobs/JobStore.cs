using System.Collections.Concurrent;

namespace Reka.Simulator.Jobs;

/// <summary>One page of jobs, newest first.</summary>
/// <remarks>
/// <para><see cref="HasMore"/>: True when more matching jobs follow the page.</para>
/// </remarks>
public sealed record JobPage(IReadOnlyList<Job> Jobs, bool HasMore);

/// <summary>
/// Every job the simulator remembers (at most <see cref="SimulatorOptions.MaxJobs"/>): by id, by
/// idempotency key, and in submit order for listing and queue positions.
/// </summary>
/// <remarks>
/// Submit order lives in an append-only array published as an immutable <see cref="Timeline"/>
/// snapshot: appends take a short lock, while lists and queue positions read a snapshot without
/// any lock, because slots below a snapshot's count never change.
/// </remarks>
public sealed class JobStore(SimulatorOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Job> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string ApiKey, string Key), Job> _byIdempotencyKey = new();
    private readonly Lock _appendGate = new();
    private Timeline _timeline = new(new Job[1024], 0, 0);
    private DateTime _lastCreatedAt;

    // Sequence below which no job is queued any more: jobs never return to IN_QUEUE, so any value
    // a reader computes stays a valid lower bound and racing writers need no coordination.
    private long _queueHead;

    /// <summary>The job with <paramref name="requestId"/>, or null when unknown or forgotten.</summary>
    public Job? Find(string requestId) => _byId.GetValueOrDefault(requestId);

    /// <summary>
    /// Stores <paramref name="job"/> and returns it, unless another job already holds its
    /// idempotency key: then stores nothing and returns that job.
    /// </summary>
    public Job Add(Job job)
    {
        if (job.Idempotency is { } key)
        {
            var holder = _byIdempotencyKey.GetOrAdd(key, job);
            if (!ReferenceEquals(holder, job)) return holder;
        }

        var evicted = ArraySegment<Job>.Empty;
        lock (_appendGate)
        {
            var (items, count, first) = _timeline;
            if (count >= options.MaxJobs)
            {
                var keep = options.MaxJobs / 2;
                evicted = new ArraySegment<Job>(items, 0, count - keep);
                var kept = new Job[items.Length];
                Array.Copy(items, count - keep, kept, 0, keep);
                (items, first, count) = (kept, first + count - keep, keep);
            }
            else if (count == items.Length)
            {
                // A new array, so that readers of older snapshots keep a consistent one.
                Array.Resize(ref items, Math.Min(items.Length * 2, options.MaxJobs));
            }

            var now = time.GetUtcNow().UtcDateTime;
            if (now > _lastCreatedAt) _lastCreatedAt = now;
            job.Stamp(first + count, _lastCreatedAt);
            items[count] = job;
            Volatile.Write(ref _timeline, new Timeline(items, count + 1, first));
            _byId[job.RequestId] = job;
        }

        foreach (var old in evicted) Forget(old);
        return job;
    }

    /// <summary>Jobs matching <paramref name="filter"/>, newest first, skipping <paramref name="offset"/> of them.</summary>
    public JobPage Query(JobFilter filter, int offset, int limit)
    {
        var timeline = Volatile.Read(ref _timeline);
        // Creation times never decrease along the timeline, so the end bound is a binary search
        // and the start bound stops the walk.
        var index = (filter.End is { } end ? timeline.FirstIndexCreatedAtOrAfter(end) : timeline.Count) - 1;
        var page = new List<Job>(Math.Min(limit, 32));
        var skipped = 0;
        for (; index >= 0; index--)
        {
            var job = timeline.Items[index];
            if (job.CreatedAt < filter.Start) break;
            if (!filter.Matches(job)) continue;
            if (skipped < offset)
            {
                skipped++;
                continue;
            }
            if (page.Count == limit) return new JobPage(page, HasMore: true);
            page.Add(job);
        }
        return new JobPage(page, HasMore: false);
    }

    /// <summary>1-based place of <paramref name="job"/> among queued jobs by creation; null unless queued.</summary>
    public int? QueuePosition(Job job)
    {
        if (job.Status != JobStatus.InQueue) return null;
        var timeline = Volatile.Read(ref _timeline);
        var jobIndex = job.Sequence - timeline.FirstSequence;
        if (jobIndex < 0 || jobIndex >= timeline.Count) return null;

        var index = Math.Max(Volatile.Read(ref _queueHead) - timeline.FirstSequence, 0);
        while (index < jobIndex && timeline.Items[index].Status != JobStatus.InQueue) index++;
        Volatile.Write(ref _queueHead, timeline.FirstSequence + index);

        var position = 1;
        for (; index < jobIndex; index++)
        {
            if (timeline.Items[index].Status == JobStatus.InQueue) position++;
        }
        return job.Status == JobStatus.InQueue ? position : null;
    }

    private void Forget(Job job)
    {
        _byId.TryRemove(KeyValuePair.Create(job.RequestId, job));
        if (job.Idempotency is { } key) _byIdempotencyKey.TryRemove(KeyValuePair.Create(key, job));
    }

    /// <summary>An immutable view of the first <paramref name="Count"/> slots of <paramref name="Items"/>.</summary>
    /// <remarks>
    /// <para><see cref="FirstSequence"/>: Sequence of <c>Items[0]</c>.</para>
    /// </remarks>
    private sealed record Timeline(Job[] Items, int Count, long FirstSequence)
    {
        public int FirstIndexCreatedAtOrAfter(DateTime instant)
        {
            int low = 0, high = Count;
            while (low < high)
            {
                var middle = (low + high) >>> 1;
                if (Items[middle].CreatedAt < instant) low = middle + 1;
                else high = middle;
            }
            return low;
        }
    }
}
