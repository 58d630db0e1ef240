using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Usage;

/// <summary>A submit admitted under its client's quotas; release it if the inference does not go ahead.</summary>
/// <param name="Client">The client.</param>
/// <param name="SubmissionId">The submit's submission id, its slot among the client's inferences in flight.</param>
/// <param name="Day">The UTC day its daily submit counted on.</param>
/// <param name="DailyCounted">Whether its client's <c>daily_submits</c> counted it.</param>
internal sealed record QuotaReservation(string Client, string SubmissionId, string Day, bool DailyCounted);

/// <summary>Why a submit was refused: which quota, and when to try again.</summary>
/// <param name="Quota">The quota refusing it: <c>max_in_flight</c> or <c>daily_submits</c> (the metric's tag).</param>
/// <param name="Detail">The problem details' <c>detail</c>: which quota, its limit, when it frees.</param>
/// <param name="RetryAfterSeconds">The answer's <c>Retry-After</c>.</param>
internal sealed record QuotaRefusal(string Quota, string Detail, int RetryAfterSeconds);

/// <summary>
/// A client's quotas, counted in Redis so that every replica shares them: <c>max_in_flight</c>
/// (inferences submitted and not yet terminal: a sorted set of submission ids, each removed when
/// its inference ends, is cancelled, or was not accepted upstream after all; one older than
/// <c>Usage:InFlightTimeout</c> no longer counts) and <c>daily_submits</c> (submits per UTC day).
/// Checked and counted by one script before anything reaches Reka.
/// </summary>
internal sealed class QuotaGate(UsageKeys keys, RedisStore redis, IOptions<UsageOptions> options, TimeProvider time)
{
    // KEYS: in flight, day's submits; ARGV: now ms, oldest counted ms, max in flight ('' none),
    // daily limit ('' none), submission id, TTL of the day's counter (s).
    private const string AdmitScript = """
        if ARGV[3] ~= '' then
          redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
          if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 'in_flight' end
        end
        if ARGV[4] ~= '' then
          if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[4]) then return 'daily' end
          redis.call('INCR', KEYS[2])
          redis.call('EXPIRE', KEYS[2], ARGV[6])
        end
        if ARGV[3] ~= '' then redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5]) end
        return 'ok'
        """;

    // KEYS: in flight, day's submits, day's submits given back; ARGV: submission id, undo the
    // day's count (1/0), TTL of the day's keys (s). A submission's count is given back once,
    // whichever of the submit's path and its check (or both, or a retry) gives it back.
    private const string ReleaseScript = """
        redis.call('ZREM', KEYS[1], ARGV[1])
        if ARGV[2] == '1' and redis.call('SADD', KEYS[3], ARGV[1]) == 1 then
          redis.call('EXPIRE', KEYS[3], ARGV[3])
          if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
        end
        return 1
        """;

    /// <summary>
    /// Admits a submit under <paramref name="client"/>'s quotas, counting it; a refusal says which
    /// quota. A client without quotas is admitted without a Redis call (null reservation).
    /// </summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis failed: the submit must not go ahead.</exception>
    public async Task<(QuotaReservation? Reservation, QuotaRefusal? Refusal)> AdmitAsync(GatewayClient client, string submissionId)
    {
        if (client.Quotas is not { } quotas || (quotas.MaxInFlight is null && quotas.DailySubmits is null))
        {
            return (null, null);
        }
        var now = time.GetUtcNow();
        var day = UsageKeys.Day(now);
        var tomorrow = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var outcome = (string?)await redis.Database.ScriptEvaluateAsync(AdmitScript, [keys.InFlight(client.Name), keys.DailySubmits(client.Name, day)],
        [
            now.ToUnixTimeMilliseconds(), (now - options.Value.InFlightTimeout).ToUnixTimeMilliseconds(),
            quotas.MaxInFlight?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
            quotas.DailySubmits?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", submissionId, DayKeysTtlSeconds,
        ]);
        var untilTomorrow = Math.Max(1, (int)Math.Ceiling((tomorrow - now).TotalSeconds));
        return outcome switch
        {
            "in_flight" => (null, new QuotaRefusal("max_in_flight",
                $"Client '{client.Name}' has {quotas.MaxInFlight} inferences in flight, its max_in_flight quota: a slot frees when one of them completes, fails or is cancelled.",
                InFlightRetryAfterSeconds)),
            "daily" => (null, new QuotaRefusal("daily_submits",
                $"Client '{client.Name}' has used its daily_submits quota of {quotas.DailySubmits} submits for {day} (UTC); it frees at {tomorrow:O}.",
                untilTomorrow)),
            _ => (new QuotaReservation(client.Name, submissionId, day, quotas.DailySubmits is not null), null),
        };
    }

    /// <summary>
    /// Gives a reservation back, its day's count included when it made one: the submit was not
    /// accepted upstream, or it repeated one already counted.
    /// </summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis failed.</exception>
    public Task ReleaseAsync(QuotaReservation reservation) =>
        redis.Database.ScriptEvaluateAsync(ReleaseScript,
            [keys.InFlight(reservation.Client), keys.DailySubmits(reservation.Client, reservation.Day), keys.DailyGivenBack(reservation.Client, reservation.Day)],
            [reservation.SubmissionId, reservation.DailyCounted ? "1" : "0", DayKeysTtlSeconds]);

    // A day's counters outlive the day by one, for the submits that end or are given back after midnight.
    private const int DayKeysTtlSeconds = 2 * 86_400;

    /// <summary>Ends the slot of <paramref name="submissionId"/> among <paramref name="client"/>'s inferences in flight.</summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis failed.</exception>
    public Task EndAsync(string client, string submissionId) => redis.Database.SortedSetRemoveAsync(keys.InFlight(client), submissionId);

    /// <summary>Seconds a client at its <c>max_in_flight</c> is asked to wait: when a slot frees is not known.</summary>
    public const int InFlightRetryAfterSeconds = 10;
}
