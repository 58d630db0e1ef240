using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;
using Reka.Gateway.Requests;
using Reka.Gateway.Usage;

namespace Reka.Gateway.Webhooks;

/// <summary>What happened to a callback.</summary>
internal enum CallbackOutcome
{
    /// <summary>Recorded; it will be processed.</summary>
    Accepted,

    /// <summary>The same request and status came before: nothing new to do.</summary>
    Duplicate,

    /// <summary>Its request id is not the one its token's submit was given.</summary>
    Mismatch,
}

/// <summary>
/// Records genuine callbacks durably in Redis before they are answered: one Lua script in the
/// request's queue partition drops a repeat of the same request and status, queues the request
/// for processing (<see cref="DurableQueue"/> <c>callbacks</c>, one job per request) and wakes the
/// workers. The request must be bound to the token's submission first. Usually the submit bound
/// it and planned a look at it (<see cref="ExpectAsync"/>): that job names the submission, so the
/// script takes it as the proof and the callback costs one script. Otherwise the request is bound
/// to its submission (<see cref="RequestRecords.BindAsync"/>, which also rebuilds a request's
/// record that a failover lost) and the script runs again. Every write is confirmed by a replica
/// before the answer (<see cref="ReplicaConfirmations"/>). With Redis' AOF on, an accepted
/// callback survives a Redis restart.
/// </summary>
internal sealed class CallbackInbox(RedisStore redis, RequestRecords records, UsageLedger usage, IOptions<WebhooksOptions> options, TimeProvider time)
{
    /// <summary>Fields of a callback job's record.</summary>
    public static class JobFields
    {
        public const string RequestId = "request_id";
        public const string Status = "status";
        public const string ReceivedAt = "received_at";
        public const string Tries = "tries";
        /// <summary>W3C <c>traceparent</c> of the submit, when the job was planned at the submit (the request's record has it too).</summary>
        public const string TraceParent = "traceparent";
        /// <summary>
        /// The submission the request is bound to, when the job was planned at the submit after its
        /// bind: a callback whose token names it needs no bind of its own.
        /// </summary>
        public const string Submission = "submission";
    }

    // What the accept script returns when the bind is still to prove and the planned job does not prove it.
    private const string Unproven = "unproven";

    // KEYS: marks of the request's callbacks, due, job; ARGV: request id, status, received at,
    // now ms, ttl, publish command, wake channel, '1' when the bind is still to prove ('0' when
    // it was checked), the token's submission. Unproven, the call writes nothing and returns
    // 'unproven' unless the job planned at the submit names that submission.
    private const string AcceptScript = $$"""
        if ARGV[8] == '1' and redis.call('HGET', KEYS[3], '{{JobFields.Submission}}') ~= ARGV[9] then return '{{Unproven}}' end
        if redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3]) == 0 then return 'duplicate' end
        redis.call('EXPIRE', KEYS[1], ARGV[5])
        if redis.call('EXISTS', KEYS[3]) == 0 then
          redis.call('HSET', KEYS[3], '{{JobFields.RequestId}}', ARGV[1], '{{JobFields.Status}}', ARGV[2], '{{JobFields.ReceivedAt}}', ARGV[3], '{{JobFields.Tries}}', '0')
        else
          -- A job for this request is waiting or in hand: this callback is news, and starts its tries over.
          redis.call('HSET', KEYS[3], '{{JobFields.Status}}', ARGV[2], '{{JobFields.ReceivedAt}}', ARGV[3], '{{JobFields.Tries}}', '0', '{{DurableQueue.DueNowField}}', '1')
        end
        -- LT: a job already waiting for a later retry becomes due now, this callback is news (Redis >= 6.2).
        redis.call('ZADD', KEYS[2], 'LT', ARGV[4], ARGV[1])
        redis.call(ARGV[6], ARGV[7], '1')
        return 'accepted'
        """;

    /// <summary>The processing queue; a job's id is the request id.</summary>
    public DurableQueue Queue { get; } = new(redis, "callbacks", time);

    private RedisKey MarksKey(int partition, string requestId) => redis.PartitionKey(partition, "callbacks:seen:" + requestId);

    /// <summary>
    /// Plans a look at a new request in <paramref name="after"/>, as if Reka had called back then:
    /// should its callback never come (dropped, lost), the request is still confirmed with Reka,
    /// cached and delivered. The callback, when it comes, makes the same job due at once.
    /// <paramref name="traceParent"/>, the submit's, lets the job ask Reka while it reads the request's record.
    /// To call once the request is bound to <paramref name="submissionId"/>: the job names it, which
    /// is what spares the callback its own bind. Confirmed by a replica before it returns: the
    /// callers then drop the submission's check, which on a cluster lives on another primary, so
    /// a failover must not be able to lose the look and keep the check's removal.
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed in time: keep the check.</exception>
    public async Task ExpectAsync(string requestId, string submissionId, TimeSpan after, string? traceParent)
    {
        var write = redis.Confirmations.Begin();
        await Queue.AddAsync(write.Database, requestId, time.GetUtcNow() + after,
            [
                new(JobFields.RequestId, requestId), new(JobFields.Status, ""), new(JobFields.ReceivedAt, ""), new(JobFields.Tries, "0"),
                new(JobFields.TraceParent, traceParent ?? ""), new(JobFields.Submission, submissionId),
            ]);
        await write.ConfirmAsync([Queue.DueKey(Queue.PartitionOf(requestId))]);
    }

    /// <summary>Records a callback for <paramref name="requestId"/> reporting <paramref name="status"/>, confirmed by a replica.</summary>
    /// <exception cref="RedisException">Redis failed: the sender should retry (what was written is written again, harmlessly).</exception>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed in time: the sender should retry.</exception>
    public async Task<CallbackOutcome> AcceptAsync(string submissionId, string requestId, string? status)
    {
        var write = redis.Confirmations.Begin();
        var partition = Queue.PartitionOf(requestId);
        // Usually the job planned at the submit proves the bind: one script. Without planned
        // jobs, the bind is checked first.
        var outcome = options.Value.ReconcileAfterSeconds > 0
            ? await RecordAsync(write.Database, partition, requestId, status, submissionId, proven: false)
            : Unproven;
        RedisKey[] written = [Queue.DueKey(partition)];
        if (outcome == Unproven)
        {
            // Usually the submit bound the request already: one call instead of the two-step bind.
            var rebound = !await records.TouchIfBoundAsync(write.Database, submissionId, requestId);
            if (rebound)
            {
                var bind = await records.BindAsync(submissionId, requestId, write.Database);
                if (bind.Outcome is BindOutcome.Mismatch or BindOutcome.Foreign)
                {
                    return CallbackOutcome.Mismatch;
                }
                if (bind is { First: true, Owner: { } owner, EndpointId: { } endpointId })
                {
                    // The callback came before the submit's answer was read (its caller left, or it is that quick).
                    usage.CountSubmit(owner, endpointId);
                }
            }
            outcome = await RecordAsync(write.Database, partition, requestId, status, submissionId, proven: true);
            written = rebound
                ? [records.SubmissionKey(submissionId), records.RequestKey(requestId), Queue.DueKey(partition)]
                : [records.RequestKey(requestId), Queue.DueKey(partition)];
        }
        // A repeat is confirmed too: the first one may have been refused for want of a replica.
        await write.ConfirmAsync(written);
        return outcome == "duplicate" ? CallbackOutcome.Duplicate : CallbackOutcome.Accepted;
    }

    private async Task<string?> RecordAsync(IDatabaseAsync db, int partition, string requestId, string? status, string submissionId, bool proven)
    {
        var now = time.GetUtcNow();
        return (string?)await db.ScriptEvaluateAsync(AcceptScript,
            [MarksKey(partition, requestId), Queue.DueKey(partition), Queue.JobKey(partition, requestId)],
            [
                requestId, (status ?? "").ToUpperInvariant(), now.ToString("O"), now.ToUnixTimeMilliseconds(),
                (long)records.Ttl.TotalSeconds, redis.PublishCommand, (string)Queue.WakeChannel(partition)!, proven ? "0" : "1", submissionId,
            ]);
    }

    /// <summary>Forgets that a callback with <paramref name="status"/> came, so the next one is processed.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public Task ForgetCallbackAsync(string requestId, string status) =>
        redis.Database.HashDeleteAsync(MarksKey(Queue.PartitionOf(requestId), requestId), status.ToUpperInvariant());
}
