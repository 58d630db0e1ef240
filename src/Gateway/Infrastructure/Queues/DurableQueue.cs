using System.Globalization;
using System.Security.Cryptography;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Infrastructure.Queues;

/// <summary>A job taken from a <see cref="DurableQueue"/>, held under a lease until finished.</summary>
/// <param name="Partition">The queue partition it was claimed from.</param>
/// <param name="Id">The job's id, unique in its queue.</param>
/// <param name="LeaseToken">Proves this worker still holds the lease when it finishes the job.</param>
/// <param name="Fields">The job's record at the time it was claimed.</param>
/// <param name="Due">When it was due: when it was queued or made due again, or when an earlier worker's lease on it expired.</param>
/// <param name="ClaimedAt">When this worker claimed it.</param>
internal sealed record LeasedJob(int Partition, string Id, string LeaseToken, IReadOnlyDictionary<string, string> Fields, DateTimeOffset Due, DateTimeOffset ClaimedAt)
{
    public string? this[string field] => Fields.GetValueOrDefault(field);
}

/// <summary>
/// An at-least-once work queue in Redis that any replica works, split into
/// <c>Redis:QueuePartitions</c> partitions: per partition, a sorted set of job ids by due time
/// (Unix milliseconds) and one hash per job, all in the partition's hash slot
/// (<see cref="RedisStore.PartitionKey"/>), so every script touches one slot and on a Redis
/// Cluster the partitions spread over the primaries. A job's partition follows from the request
/// it is about (<see cref="RedisStore.PartitionOf"/>). Claiming a job moves its due time forward
/// by the lease, so a job whose worker dies becomes due again when the lease expires and another
/// replica retakes it; finishing a job checks the lease token, so a worker whose lease expired
/// cannot overwrite the newer holder's work; a producer that sets a job's <c>due_now</c> field
/// while it is leased has a retry run at once instead of after its delay. Keys:
/// <c>{prefix}{q&lt;n&gt;}:{name}:due</c>, <c>{prefix}{q&lt;n&gt;}:{name}:job:{id}</c>; producers
/// (feature scripts that create jobs together with their own records) publish on the partition's
/// <see cref="WakeChannel"/>.
/// </summary>
internal sealed class DurableQueue(RedisStore redis, string name, TimeProvider time)
{
    /// <summary>Field of a job's record holding its lease token while a worker has it.</summary>
    public const string LeaseField = "lease";

    /// <summary>Field a producer sets on a leased job to have its retry run at once (news for it).</summary>
    public const string DueNowField = "due_now";

    // KEYS: due, wake channel; ARGV: now ms, lease ms, max, job key prefix, lease token prefix.
    private const string ClaimScript = $$"""
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
        local out = {}
        for i, id in ipairs(ids) do
          local key = ARGV[4] .. id
          if redis.call('EXISTS', key) == 0 then
            redis.call('ZREM', KEYS[1], id)
          else
            local token = ARGV[5] .. i
            local due = redis.call('ZSCORE', KEYS[1], id)
            redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
            redis.call('HSET', key, '{{LeaseField}}', token)
            out[#out + 1] = id
            out[#out + 1] = token
            out[#out + 1] = redis.call('HGETALL', key)
            out[#out + 1] = due
          end
        end
        return out
        """;

    // KEYS: due, job; ARGV: id, token, mode (retry|done|delete|abandon), due ms (retry) or TTL seconds (done, 0 = none),
    // now ms (the worker's clock, as every due time), then field/value pairs to set. 'abandon'
    // deletes the job unless a producer marked it meanwhile: then it is retried at once (returns 2).
    private const string FinishScript = $$"""
        if redis.call('HGET', KEYS[2], '{{LeaseField}}') ~= ARGV[2] then return 0 end
        local mode = ARGV[3]
        if mode == 'abandon' then
          if redis.call('HEXISTS', KEYS[2], '{{DueNowField}}') == 0 then mode = 'delete' else mode = 'retry' end
        end
        if mode == 'delete' then
          redis.call('ZREM', KEYS[1], ARGV[1])
          redis.call('DEL', KEYS[2])
          return 1
        end
        for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
        redis.call('HDEL', KEYS[2], '{{LeaseField}}')
        if mode == 'retry' then
          local due = ARGV[4]
          -- A producer marked the job while it was leased (news for it): run it again at once.
          if redis.call('HDEL', KEYS[2], '{{DueNowField}}') == 1 then due = ARGV[5] end
          redis.call('ZADD', KEYS[1], due, ARGV[1])
        else
          redis.call('ZREM', KEYS[1], ARGV[1])
          if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
        end
        if ARGV[3] == 'abandon' then return 2 end
        return 1
        """;

    // KEYS: due, job; ARGV: id, due ms, then field/value pairs. Makes a finished job due again.
    private const string RequeueScript = $$"""
        if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
        for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
        redis.call('HDEL', KEYS[2], '{{LeaseField}}')
        redis.call('PERSIST', KEYS[2])
        redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
        return 1
        """;

    // KEYS: due, job; ARGV: id, due ms, then field/value pairs (at least one). Adds a job unless one with this id exists.
    private const string AddScript = """
        if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
        redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
        return 1
        """;

    // KEYS: due, job; ARGV: id.
    private const string RemoveScript = """
        redis.call('ZREM', KEYS[1], ARGV[1])
        return redis.call('DEL', KEYS[2])
        """;

    public string Name => name;

    /// <summary>The clock its due times are read on.</summary>
    public TimeProvider Time => time;

    public int Partitions => redis.Partitions;

    /// <summary>The partition of the job about <paramref name="id"/>.</summary>
    public int PartitionOf(string id) => redis.PartitionOf(id);

    /// <summary>Channel published when work is enqueued in <paramref name="partition"/>, so idle workers wake at once.</summary>
    public RedisChannel WakeChannel(int partition) => redis.PartitionChannel(partition, name + ":wake");

    /// <summary>The prefix of the job records' keys in <paramref name="partition"/> (a job's key is the prefix and its id), for scripts that build them.</summary>
    public string JobPrefix(int partition) => redis.PartitionPrefix(partition) + name + ":job:";

    /// <summary>The key of job <paramref name="id"/>'s record.</summary>
    public RedisKey JobKey(int partition, string id) => JobPrefix(partition) + id;

    /// <summary>The key of <paramref name="partition"/>'s due-time sorted set.</summary>
    public RedisKey DueKey(int partition) => redis.PartitionKey(partition, name + ":due");

    /// <summary>Wakes the workers of every replica for <paramref name="partition"/>.</summary>
    public Task WakeAsync(int partition) => redis.Subscriber.PublishAsync(WakeChannel(partition), "1", CommandFlags.FireAndForget);

    /// <summary>Claims up to <paramref name="max"/> due jobs of <paramref name="partition"/> for <paramref name="lease"/>.</summary>
    /// <exception cref="RedisException">Redis failed; nothing was claimed.</exception>
    public async Task<IReadOnlyList<LeasedJob>> ClaimAsync(int partition, int max, TimeSpan lease)
    {
        var tokenPrefix = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + ":";
        var now = time.GetUtcNow();
        var result = (RedisResult[])(await redis.Database.ScriptEvaluateAsync(ClaimScript, [DueKey(partition)],
            [now.ToUnixTimeMilliseconds(), (long)lease.TotalMilliseconds, max, JobPrefix(partition), tokenPrefix]))!;
        var jobs = new List<LeasedJob>(result.Length / 4);
        for (var i = 0; i + 3 < result.Length; i += 4)
        {
            var pairs = (RedisResult[])result[i + 2]!;
            var fields = new Dictionary<string, string>(pairs.Length / 2, StringComparer.Ordinal);
            for (var f = 0; f + 1 < pairs.Length; f += 2)
            {
                fields[(string)pairs[f]!] = (string)pairs[f + 1]!;
            }
            var due = DateTimeOffset.FromUnixTimeMilliseconds((long)double.Parse((string)result[i + 3]!, CultureInfo.InvariantCulture));
            jobs.Add(new LeasedJob(partition, (string)result[i]!, (string)result[i + 1]!, fields, due, now));
        }
        return jobs;
    }

    /// <summary>Finishes a job and deletes its record. False when the lease was lost.</summary>
    public Task<bool> DeleteAsync(LeasedJob job) => FinishAsync(job, "delete", 0, []);

    /// <summary>
    /// Gives a job up (its tries ran out) and deletes its record, unless a producer marked it while
    /// it was leased (news for it, <see cref="DueNowField"/>): then it runs again at once, and the
    /// result is false, as when the lease was lost.
    /// </summary>
    public async Task<bool> AbandonAsync(LeasedJob job) =>
        await FinishScriptAsync(job, "abandon", time.GetUtcNow().ToUnixTimeMilliseconds(), []) == 1;

    /// <summary>Finishes a job, keeping its record (with <paramref name="fields"/> set) for <paramref name="retention"/>. False when the lease was lost.</summary>
    public Task<bool> CompleteAsync(LeasedJob job, TimeSpan retention, IEnumerable<KeyValuePair<string, string>> fields) =>
        FinishAsync(job, "done", (long)retention.TotalSeconds, fields);

    /// <summary>Makes a job due again at <paramref name="due"/>, with <paramref name="fields"/> set. False when the lease was lost.</summary>
    public Task<bool> RetryAsync(LeasedJob job, DateTimeOffset due, IEnumerable<KeyValuePair<string, string>> fields) =>
        FinishAsync(job, "retry", due.ToUnixTimeMilliseconds(), fields);

    /// <summary>
    /// Adds job <paramref name="id"/> with <paramref name="fields"/> (at least one), due at
    /// <paramref name="due"/>, on <paramref name="db"/>; false when a job with this id exists
    /// (left as it is). Workers find it at their next poll: nobody is woken.
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<bool> AddAsync(IDatabaseAsync db, string id, DateTimeOffset due, IReadOnlyCollection<KeyValuePair<string, string>> fields)
    {
        var partition = PartitionOf(id);
        return (long)await db.ScriptEvaluateAsync(AddScript, [DueKey(partition), JobKey(partition, id)],
            [id, due.ToUnixTimeMilliseconds(), .. fields.SelectMany(f => new RedisValue[] { f.Key, f.Value })]) == 1;
    }

    /// <summary>Removes job <paramref name="id"/>, waiting or leased (its holder then cannot finish it); false when there was none.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<bool> RemoveAsync(string id)
    {
        var partition = PartitionOf(id);
        return (long)await redis.Database.ScriptEvaluateAsync(RemoveScript, [DueKey(partition), JobKey(partition, id)], [id]) == 1;
    }

    /// <summary>Makes a finished job due again now (a replay), with <paramref name="fields"/> set. False when it no longer exists.</summary>
    public async Task<bool> RequeueAsync(IDatabaseAsync db, int partition, string id, IEnumerable<KeyValuePair<string, string>> fields)
    {
        var done = (long)await db.ScriptEvaluateAsync(RequeueScript, [DueKey(partition), JobKey(partition, id)],
            [id, time.GetUtcNow().ToUnixTimeMilliseconds(), .. fields.SelectMany(f => new RedisValue[] { f.Key, f.Value })]);
        return done == 1;
    }

    /// <summary>Jobs waiting or leased in all partitions, and how long the oldest due job has waited past its due time.</summary>
    public async Task<(long Depth, TimeSpan OldestDueAge)> StatsAsync()
    {
        var db = redis.Database;
        var lengths = Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => db.SortedSetLengthAsync(DueKey(p))));
        var oldest = (await FirstDueAsync()).Min();
        var depth = (await lengths).Sum();
        var age = oldest is { } due && due < time.GetUtcNow() ? time.GetUtcNow() - due : TimeSpan.Zero;
        return (depth, age);
    }

    /// <summary>When the first job of each partition is due (null for an empty partition), indexed by partition.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<DateTimeOffset?[]> FirstDueAsync()
    {
        var db = redis.Database;
        var firsts = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => db.SortedSetRangeByRankWithScoresAsync(DueKey(p), 0, 0)));
        return [.. firsts.Select(first => first.Length > 0 ? DateTimeOffset.FromUnixTimeMilliseconds((long)first[0].Score) : (DateTimeOffset?)null)];
    }

    private async Task<bool> FinishAsync(LeasedJob job, string mode, long dueOrTtl, IEnumerable<KeyValuePair<string, string>> fields) =>
        await FinishScriptAsync(job, mode, dueOrTtl, fields) == 1;

    private async Task<long> FinishScriptAsync(LeasedJob job, string mode, long dueOrTtl, IEnumerable<KeyValuePair<string, string>> fields) =>
        (long)await redis.Database.ScriptEvaluateAsync(FinishScript, [DueKey(job.Partition), JobKey(job.Partition, job.Id)],
            [job.Id, job.LeaseToken, mode, dueOrTtl, time.GetUtcNow().ToUnixTimeMilliseconds(), .. fields.SelectMany(f => new RedisValue[] { f.Key, f.Value })]);
}
