using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Inference;

/// <summary>What the gateway knows of a submit before Reka has named the request.</summary>
/// <param name="Owner">The client that submitted it.</param>
/// <param name="Subscriber">The caller's own <c>webhook_url</c>, or null.</param>
/// <param name="EndpointId"><c>{model}/{capability}</c>.</param>
/// <param name="TraceParent">W3C <c>traceparent</c> of the submit, so the callback and its deliveries join its trace.</param>
public sealed record Submission(string Owner, string? Subscriber, string EndpointId, string? TraceParent);

/// <summary>What the gateway knows of one request: who owns it and where its own webhook goes.</summary>
public sealed record RequestRecord(string? Owner, string? Subscriber, string? EndpointId, string? TraceParent);

/// <summary>Outcome of binding a request id to a submission.</summary>
public enum BindOutcome
{
    /// <summary>The submission now names this request (or already did).</summary>
    Bound,

    /// <summary>The submission names another request: the call is not about this submit.</summary>
    Mismatch,

    /// <summary>
    /// The request belongs to another client: Reka replayed another client's submit for a reused
    /// <c>Idempotency-Key</c> (Reka scopes keys per API key, and all clients share the team's).
    /// </summary>
    Foreign,

    /// <summary>No record of the submission (expired, or lost with Redis' data).</summary>
    UnknownSubmission,
}

/// <summary>
/// Records of submits and requests in Redis, and the result cache: <c>submission:{id}</c> holds
/// a submit until Reka names the request; <c>request:{request_id}</c> holds its owner, its own
/// subscriber and its cached terminal answers (<c>answer:result</c>, <c>answer:status</c>,
/// <c>answer:status_logs</c>), all for <c>Cache:ResultTtl</c>.
/// </summary>
public sealed class RequestRecords(RedisStore redis, IOptions<CacheOptions> cache)
{
    /// <summary>
    /// Lua: <c>bind(submissionKey, requestKey, requestId, submissionId, ttl)</c> names the request
    /// of a submission and copies the submission's owner and subscriber to the request's record
    /// (first writer wins). Returns 'bound', 'mismatch' (the submission names another request),
    /// 'foreign' (the request belongs to another client: a replayed Idempotency-Key) or 'unknown'.
    /// Shared with the callback receiver.
    /// </summary>
    public const string BindFunction = """
        local function bind(submission_key, request_key, request_id, submission_id, ttl)
          local fields = redis.call('HGETALL', submission_key)
          if #fields == 0 then return 'unknown' end
          local submission = {}
          for i = 1, #fields, 2 do submission[fields[i]] = fields[i + 1] end
          if submission.request_id and submission.request_id ~= request_id then return 'mismatch' end
          local owner = redis.call('HGET', request_key, 'owner')
          if owner and owner ~= submission.owner then return 'foreign' end
          redis.call('HSET', submission_key, 'request_id', request_id)
          for _, field in ipairs({'owner', 'subscriber', 'endpoint_id', 'traceparent'}) do
            if submission[field] and submission[field] ~= '' then redis.call('HSETNX', request_key, field, submission[field]) end
          end
          redis.call('HSETNX', request_key, 'submission', submission_id)
          redis.call('EXPIRE', request_key, ttl)
          return 'bound'
        end
        """;

    private const string BindScript = BindFunction + "\nreturn bind(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])";

    /// <summary>Hash field of a cached answer.</summary>
    public static class Answers
    {
        /// <summary>The result call's answer.</summary>
        public const string Result = "answer:result";
        /// <summary>The status call's answer without logs.</summary>
        public const string Status = "answer:status";
        /// <summary>The status call's answer with <c>with_logs=true</c>.</summary>
        public const string StatusWithLogs = "answer:status_logs";
    }

    /// <summary>Key of a submission's record.</summary>
    public RedisKey SubmissionKey(string submissionId) => redis.Key("submission:" + submissionId);

    /// <summary>Key of a request's record.</summary>
    public RedisKey RequestKey(string requestId) => redis.Key("request:" + requestId);

    /// <summary>Time records are kept.</summary>
    public TimeSpan Ttl => cache.Value.ResultTtl;

    /// <summary>Records a submit before it goes upstream.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public Task RecordSubmissionAsync(string submissionId, Submission submission) =>
        redis.CallAsync(async db =>
        {
            var key = SubmissionKey(submissionId);
            var write = db.HashSetAsync(key,
            [
                new("owner", submission.Owner),
                new("subscriber", submission.Subscriber ?? ""),
                new("endpoint_id", submission.EndpointId),
                new("traceparent", submission.TraceParent ?? ""),
            ]);
            var expire = db.KeyExpireAsync(key, Ttl);
            await write;
            return await expire;
        });

    /// <summary>Names the request of a submission (after upstream's 202, or from its callback).</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public async Task<BindOutcome> BindAsync(string submissionId, string requestId)
    {
        var outcome = (string?)await redis.CallAsync(db => db.ScriptEvaluateAsync(BindScript,
            [SubmissionKey(submissionId), RequestKey(requestId)],
            [requestId, submissionId, (long)Ttl.TotalSeconds]));
        return ParseBind(outcome);
    }

    /// <summary>Maps the bind function's answer.</summary>
    public static BindOutcome ParseBind(string? outcome) => outcome switch
    {
        "bound" => BindOutcome.Bound,
        "mismatch" => BindOutcome.Mismatch,
        "foreign" => BindOutcome.Foreign,
        _ => BindOutcome.UnknownSubmission,
    };

    /// <summary>The owner of a request and one cached answer (null when not cached), in one round trip.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public async Task<(string? Owner, byte[]? Answer)> LookupAsync(string requestId, string? answer)
    {
        var values = await redis.CallAsync(db => db.HashGetAsync(RequestKey(requestId), answer is null ? ["owner"] : ["owner", answer]));
        return ((string?)values[0], answer is null ? null : (byte[]?)values[1]);
    }

    /// <summary>The owners of several requests (null where there is no record), in one round trip.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public Task<string?[]> OwnersAsync(IReadOnlyList<string> requestIds) =>
        redis.CallAsync(async db =>
        {
            var owners = await Task.WhenAll(requestIds.Select(id => db.HashGetAsync(RequestKey(id), "owner")));
            return owners.Select(o => (string?)o).ToArray();
        });

    /// <summary>The record of a request.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public async Task<RequestRecord> GetAsync(string requestId)
    {
        var values = await redis.CallAsync(db => db.HashGetAsync(RequestKey(requestId), ["owner", "subscriber", "endpoint_id", "traceparent"]));
        static string? Text(RedisValue value) => value.IsNullOrEmpty ? null : (string?)value;
        return new RequestRecord(Text(values[0]), Text(values[1]), Text(values[2]), Text(values[3]));
    }

    /// <summary>Caches a terminal answer of a request for <c>Cache:ResultTtl</c>.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public Task StoreAnswerAsync(string requestId, string answer, byte[] body) =>
        redis.CallAsync(async db =>
        {
            var key = RequestKey(requestId);
            var write = db.HashSetAsync(key, answer, body);
            var expire = db.KeyExpireAsync(key, Ttl);
            await write;
            return await expire;
        });

    /// <summary>Forgets that a callback with <paramref name="status"/> came, so the next one is processed.</summary>
    /// <exception cref="RedisUnavailableException">Redis failed.</exception>
    public Task ForgetCallbackAsync(string requestId, string status) =>
        redis.CallAsync(db => db.HashDeleteAsync(RequestKey(requestId), "callback:" + status.ToUpperInvariant()));
}
