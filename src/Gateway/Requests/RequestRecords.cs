using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Requests;

/// <summary>What the gateway knows of a submit before Reka has named the request.</summary>
/// <param name="Owner">The client that submitted it.</param>
/// <param name="Subscriber">The caller's own <c>webhook_url</c>, or null.</param>
/// <param name="EndpointId"><c>{model}/{capability}</c>.</param>
/// <param name="TraceParent">W3C <c>traceparent</c> of the submit, so the callback and its deliveries join its trace.</param>
/// <param name="IdempotencyKey">The <c>Idempotency-Key</c> it goes upstream with.</param>
/// <param name="Body">The body exactly as it goes upstream, kept until the request is bound, so it can be sent again.</param>
/// <param name="QuotaDay">The UTC day (yyyy-MM-dd) on which its client's <c>daily_submits</c> counted it, or null when no daily quota did.</param>
internal sealed record Submission(string Owner, string? Subscriber, string EndpointId, string? TraceParent, string IdempotencyKey, byte[] Body,
    string? QuotaDay = null);

/// <summary>A submission as recorded: the request Reka named for it, if it is known yet, and what to send again to learn it.</summary>
/// <param name="Owner">The client that submitted it.</param>
/// <param name="EndpointId"><c>{model}/{capability}</c>.</param>
/// <param name="RequestId">The request bound to it, or null.</param>
/// <param name="IdempotencyKey">Its <c>Idempotency-Key</c>.</param>
/// <param name="Body">Its body as sent upstream; null once the request is bound.</param>
/// <param name="QuotaDay">The UTC day on which its client's <c>daily_submits</c> counted it, or null.</param>
internal sealed record SubmissionState(string Owner, string EndpointId, string? RequestId, string? IdempotencyKey, byte[]? Body, string? QuotaDay);

/// <summary>What the gateway knows of one request: who owns it, where its own webhook goes, which submit made it.</summary>
internal sealed record RequestRecord(string? Owner, string? Subscriber, string? EndpointId, string? TraceParent, string? SubmissionId);

/// <summary>Outcome of binding a request id to a submission.</summary>
internal enum BindOutcome
{
    /// <summary>The submission now names this request (or already did).</summary>
    Bound,

    /// <summary>The submission names another request: the call is not about this submit.</summary>
    Mismatch,

    /// <summary>
    /// The request was made by an earlier submit of the same client with the same
    /// <c>Idempotency-Key</c>: Reka answered that submit again, nothing new started.
    /// </summary>
    Replayed,

    /// <summary>
    /// The request belongs to another client: Reka answered with another client's request (keys
    /// are scoped per client upstream, so only a key sent unscoped by an older build, or an
    /// upstream fault, leads here).
    /// </summary>
    Foreign,

    /// <summary>No record of the submission (expired, or lost with Redis' data).</summary>
    UnknownSubmission,
}

/// <summary>What binding a request to its submission found and did.</summary>
/// <param name="Outcome">How the bind went.</param>
/// <param name="First">
/// Whether this call completed the bind: the request's record named no submission before it. Of
/// the submit's own path, its check and its callback, the first to bind a request counts its
/// submit in the client's usage; a bind whose response was lost counts for none.
/// </param>
/// <param name="Owner">The submission's owner, when its record was found.</param>
/// <param name="EndpointId">The submission's <c>{model}/{capability}</c>, when its record was found.</param>
internal readonly record struct BindResult(BindOutcome Outcome, bool First = false, string? Owner = null, string? EndpointId = null);

/// <summary>
/// Records of submits and requests in Redis, and the result cache: <c>submission:{id}</c> holds
/// a submit until Reka names the request; <c>request:{request_id}</c> holds its owner, its own
/// subscriber and its cached terminal answers (<c>answer:result</c>, <c>answer:status</c>,
/// <c>answer:status_logs</c>), all for <c>Cache:ResultTtl</c>. Each record is one key, tagged by
/// its id, so records spread over a Redis Cluster and each script touches one of them.
/// </summary>
internal sealed class RequestRecords(RedisStore redis, IOptions<CacheOptions> cache)
{
    // Hash fields of the records, spelled once: the scripts below interpolate them.
    private const string Owner = "owner";
    private const string Subscriber = "subscriber";
    private const string EndpointId = "endpoint_id";
    private const string TraceParent = "traceparent";
    private const string RequestId = "request_id";
    private const string SubmissionId = "submission";
    private const string IdempotencyKey = "idempotency_key";
    private const string Body = "body";
    private const string QuotaDay = "quota_day";

    // KEYS: submission; ARGV: request id. Names the submission's request (first writer wins; its
    // body is no longer needed) and returns the fields copied to the request, or 'unknown' (no
    // record) or 'mismatch' (another request).
    private const string BindSubmissionScript = $$"""
        if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
        local current = redis.call('HGET', KEYS[1], '{{RequestId}}')
        if current and current ~= ARGV[1] then return 'mismatch' end
        if not current then redis.call('HSET', KEYS[1], '{{RequestId}}', ARGV[1]) end
        redis.call('HDEL', KEYS[1], '{{Body}}')
        return redis.call('HMGET', KEYS[1], '{{Owner}}', '{{Subscriber}}', '{{EndpointId}}', '{{TraceParent}}')
        """;

    // KEYS: request; ARGV: ttl, submission id, owner, then field/value pairs. Copies a submission
    // to the request's record (first writer wins); 'foreign' when another client owns it, 'replayed'
    // when an earlier submit made it, 'first' when this call named the submission.
    private const string BindRequestScript = $$"""
        local owner = redis.call('HGET', KEYS[1], '{{Owner}}')
        if owner and owner ~= ARGV[3] then return 'foreign' end
        redis.call('HSETNX', KEYS[1], '{{Owner}}', ARGV[3])
        for i = 4, #ARGV, 2 do
          if ARGV[i + 1] ~= '' then redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
        end
        local first = redis.call('HSETNX', KEYS[1], '{{SubmissionId}}', ARGV[2])
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        if redis.call('HGET', KEYS[1], '{{SubmissionId}}') ~= ARGV[2] then return 'replayed' end
        if first == 1 then return 'first' end
        return 'bound'
        """;

    // KEYS: request; ARGV: submission id, ttl.
    private const string TouchIfBoundScript = $$"""
        if redis.call('HGET', KEYS[1], '{{SubmissionId}}') ~= ARGV[1] then return 0 end
        redis.call('EXPIRE', KEYS[1], ARGV[2])
        return 1
        """;

    private static readonly string[] CopiedFields = [Subscriber, EndpointId, TraceParent];

    /// <summary>Hash field of a cached answer.</summary>
    internal static class Answers
    {
        /// <summary>The result call's answer.</summary>
        public const string Result = "answer:result";
        /// <summary>The status call's answer without logs.</summary>
        public const string Status = "answer:status";
        /// <summary>The status call's answer with <c>with_logs=true</c>.</summary>
        public const string StatusWithLogs = "answer:status_logs";
    }

    /// <summary>Key of a submission's record.</summary>
    public RedisKey SubmissionKey(string submissionId) => redis.KeyFor("submission", submissionId);

    /// <summary>Key of a request's record.</summary>
    public RedisKey RequestKey(string requestId) => redis.KeyFor("request", requestId);

    /// <summary>Time records are kept.</summary>
    public TimeSpan Ttl => cache.Value.ResultTtl;

    /// <summary>
    /// Records a submit before it goes upstream, on <paramref name="db"/> (the caller confirms it
    /// with a replica: the callback that routes its result depends on it).
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task RecordSubmissionAsync(IDatabaseAsync db, string submissionId, Submission submission)
    {
        var key = SubmissionKey(submissionId);
        var record = db.HashSetAsync(key,
        [
            new(Owner, submission.Owner),
            new(Subscriber, submission.Subscriber ?? ""),
            new(EndpointId, submission.EndpointId),
            new(TraceParent, submission.TraceParent ?? ""),
            new(IdempotencyKey, submission.IdempotencyKey),
            new(Body, submission.Body),
            .. submission.QuotaDay is { } day ? [new HashEntry(QuotaDay, day)] : Array.Empty<HashEntry>(),
        ]);
        var expire = db.KeyExpireAsync(key, Ttl);
        await record;
        await expire;
    }

    /// <summary>Drops a submission's body, once nothing will send it upstream again (its check removed).</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public Task ForgetBodyAsync(string submissionId) => redis.Database.HashDeleteAsync(SubmissionKey(submissionId), Body);

    /// <summary>A submission's record, or null when there is none (expired, or lost with Redis' data).</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<SubmissionState?> GetSubmissionAsync(string submissionId)
    {
        var values = await redis.Database.HashGetAsync(SubmissionKey(submissionId), [Owner, EndpointId, RequestId, IdempotencyKey, Body, QuotaDay]);
        if (values[0].IsNull)
        {
            return null;
        }
        static string? Text(RedisValue value) => value.IsNullOrEmpty ? null : (string?)value;
        return new SubmissionState((string)values[0]!, (string?)values[1] ?? "", Text(values[2]), Text(values[3]), values[4].IsNull ? null : (byte[])values[4]!, Text(values[5]));
    }

    /// <summary>
    /// Names the request of a submission (after upstream's 202, from its callback, or from its
    /// check) on <paramref name="db"/> (by default the main connection), and copies the submission's owner and subscriber to the request's
    /// record. Two steps, each on its own key and each idempotent, so a failure between them is
    /// repaired by doing it again.
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<BindResult> BindAsync(string submissionId, string requestId, IDatabaseAsync? db = null)
    {
        db ??= redis.Database;
        var named = await db.ScriptEvaluateAsync(BindSubmissionScript, [SubmissionKey(submissionId)], [requestId]);
        if (named.Resp2Type != ResultType.Array)
        {
            return new((string?)named == "mismatch" ? BindOutcome.Mismatch : BindOutcome.UnknownSubmission);
        }
        // Owner, then the copied fields, in the order the script names them.
        var fields = (RedisResult[])named!;
        var arguments = new List<RedisValue> { (long)Ttl.TotalSeconds, submissionId, (string?)fields[0] ?? "" };
        for (var i = 0; i < CopiedFields.Length; i++)
        {
            arguments.Add(CopiedFields[i]);
            arguments.Add((string?)fields[i + 1] ?? "");
        }
        var bound = (string?)await db.ScriptEvaluateAsync(BindRequestScript, [RequestKey(requestId)], [.. arguments]);
        var outcome = bound switch
        {
            "foreign" => BindOutcome.Foreign,
            "replayed" => BindOutcome.Replayed,
            _ => BindOutcome.Bound,
        };
        return new(outcome, bound == "first", (string?)fields[0], (string?)fields[1 + Array.IndexOf(CopiedFields, EndpointId)]);
    }

    /// <summary><see cref="BindAsync"/>, its writes confirmed by a replica.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    /// <exception cref="ReplicaNotConfirmedException">No replica confirmed in time.</exception>
    public async Task<BindOutcome> BindConfirmedAsync(string submissionId, string requestId)
    {
        var write = redis.Confirmations.Begin();
        var outcome = (await BindAsync(submissionId, requestId, write.Database)).Outcome;
        await write.ConfirmAsync(SubmissionKey(submissionId), RequestKey(requestId));
        return outcome;
    }

    /// <summary>
    /// Whether the request is already bound to <paramref name="submissionId"/> (its record names
    /// that submission), the common case of a callback after the submit's own bind when no planned
    /// look proves it (<c>CallbackInbox</c>); if so, its record's TTL starts again. That write, made
    /// on <paramref name="db"/>, comes after the bind in the primary's replication stream, so
    /// confirming it confirms the bind too.
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<bool> TouchIfBoundAsync(IDatabaseAsync db, string submissionId, string requestId) =>
        (long)await db.ScriptEvaluateAsync(TouchIfBoundScript, [RequestKey(requestId)], [submissionId, (long)Ttl.TotalSeconds]) == 1;

    /// <summary>The owner of a request and one cached answer (null when not cached), in one round trip.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<(string? Owner, byte[]? Answer)> LookupAsync(string requestId, string? answer)
    {
        var values = await redis.Database.HashGetAsync(RequestKey(requestId), answer is null ? [Owner] : [Owner, answer]);
        return ((string?)values[0], answer is null ? null : (byte[]?)values[1]);
    }

    /// <summary>The owners of several requests (null where there is no record), pipelined.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<string?[]> OwnersAsync(IReadOnlyList<string> requestIds)
    {
        var db = redis.Database;
        var owners = await Task.WhenAll(requestIds.Select(id => db.HashGetAsync(RequestKey(id), Owner)));
        return [.. owners.Select(o => (string?)o)];
    }

    /// <summary>The record of a request.</summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    public async Task<RequestRecord> GetAsync(string requestId)
    {
        var values = await redis.Database.HashGetAsync(RequestKey(requestId), [Owner, Subscriber, EndpointId, TraceParent, SubmissionId]);
        static string? Text(RedisValue value) => value.IsNullOrEmpty ? null : (string?)value;
        return new RequestRecord(Text(values[0]), Text(values[1]), Text(values[2]), Text(values[3]), Text(values[4]));
    }

    /// <summary>
    /// Caches terminal answers of a request (field to body) for <c>Cache:ResultTtl</c>; with
    /// <paramref name="confirm"/>, confirmed by a replica (the answers of a processed callback,
    /// which nothing else would store again).
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    /// <exception cref="ReplicaNotConfirmedException">With <paramref name="confirm"/>: no replica confirmed in time.</exception>
    public async Task StoreAnswersAsync(string requestId, IReadOnlyList<KeyValuePair<string, byte[]>> answers, bool confirm = false)
    {
        var write = redis.Confirmations.Begin();
        var db = confirm ? write.Database : redis.Database;
        var key = RequestKey(requestId);
        var stored = db.HashSetAsync(key, [.. answers.Select(a => new HashEntry(a.Key, a.Value))]);
        var expire = db.KeyExpireAsync(key, Ttl);
        await stored;
        await expire;
        if (confirm)
        {
            await write.ConfirmAsync(key);
        }
    }
}
