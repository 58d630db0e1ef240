using Reka.Gateway.Inference;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Webhooks;

/// <summary>What happened to a callback.</summary>
public enum CallbackOutcome
{
    /// <summary>Recorded; it will be processed.</summary>
    Accepted,

    /// <summary>The same request and status came before: nothing new to do.</summary>
    Duplicate,

    /// <summary>Its request id is not the one its token's submit was given.</summary>
    Mismatch,
}

/// <summary>
/// Records genuine callbacks durably in Redis before they are answered: one Lua script binds the
/// request to its submission, drops a repeat of the same request and status, and queues the
/// request for processing (<see cref="DurableQueue"/> <c>callbacks</c>, one job per request) and
/// wakes the workers. With Redis' AOF on, an accepted callback survives a Redis restart.
/// </summary>
public sealed class CallbackInbox(RedisStore redis, RequestRecords records)
{
    // KEYS: submission, request, due; ARGV: request id, submission id, ttl, status, now ms,
    // job key, received at, wake channel.
    private const string AcceptScript = RequestRecords.BindFunction + "\n" + """
        local bound = bind(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
        if bound == 'mismatch' or bound == 'foreign' then return 'mismatch' end
        if redis.call('HSETNX', KEYS[2], 'callback:' .. ARGV[4], ARGV[7]) == 0 then return 'duplicate' end
        redis.call('EXPIRE', KEYS[2], ARGV[3])
        if redis.call('EXISTS', ARGV[6]) == 0 then
          redis.call('HSET', ARGV[6], 'request_id', ARGV[1], 'status', ARGV[4], 'received_at', ARGV[7], 'tries', '0')
        else
          -- A job for this request is waiting or in hand: this callback is news, and starts its tries over.
          redis.call('HSET', ARGV[6], 'status', ARGV[4], 'received_at', ARGV[7], 'tries', '0', 'due_now', '1')
        end
        -- LT: a job already waiting for a later retry becomes due now, this callback is news (Redis >= 6.2).
        redis.call('ZADD', KEYS[3], 'LT', ARGV[5], ARGV[1])
        redis.call('PUBLISH', ARGV[8], '1')
        return 'accepted'
        """;

    // KEYS: due, job; ARGV: request id, due ms.
    private const string ExpectScript = """
        if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        redis.call('HSET', KEYS[2], 'request_id', ARGV[1], 'status', '', 'received_at', '', 'tries', '0')
        redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
        return 1
        """;

    /// <summary>The processing queue; a job's id is the request id.</summary>
    public DurableQueue Queue { get; } = new(redis, "callbacks");

    /// <summary>
    /// Plans a look at a new request in <paramref name="after"/>, as if Reka had called back then:
    /// should its callback never come (dropped, lost), the request is still confirmed with Reka,
    /// cached and delivered. The callback, when it comes, makes the same job due at once.
    /// </summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public Task ExpectAsync(string requestId, TimeSpan after) =>
        redis.CallAsync(db => db.ScriptEvaluateAsync(ExpectScript, [Queue.DueKey, Queue.JobKey(requestId)],
            [requestId, (DateTimeOffset.UtcNow + after).ToUnixTimeMilliseconds()]));

    /// <summary>Records a callback for <paramref name="requestId"/> reporting <paramref name="status"/>.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed: nothing was recorded, the sender should retry.</exception>
    public async Task<CallbackOutcome> AcceptAsync(string submissionId, string requestId, string? status)
    {
        var now = DateTimeOffset.UtcNow;
        var outcome = (string?)await redis.CallAsync(db => db.ScriptEvaluateAsync(AcceptScript,
            [records.SubmissionKey(submissionId), records.RequestKey(requestId), Queue.DueKey],
            [
                requestId, submissionId, (long)records.Ttl.TotalSeconds, (status ?? "").ToUpperInvariant(),
                now.ToUnixTimeMilliseconds(), (string)Queue.JobKey(requestId)!, now.ToString("O"), (string)Queue.WakeChannel!,
            ]));
        return outcome switch
        {
            "mismatch" => CallbackOutcome.Mismatch,
            "duplicate" => CallbackOutcome.Duplicate,
            _ => CallbackOutcome.Accepted,
        };
    }
}
