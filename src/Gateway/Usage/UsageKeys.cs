using System.Globalization;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Usage;

/// <summary>
/// Where a client's usage and quota counts live: every key of a client is in the hash slot of
/// its name, so one script reads and writes them together.
/// </summary>
internal sealed class UsageKeys(RedisStore redis)
{
    /// <summary>The UTC day of <paramref name="at"/>, as usage is kept (yyyy-MM-dd).</summary>
    public static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A client's usage of one day: a hash of counters (<see cref="UsageFields"/>).</summary>
    public RedisKey Daily(string client, string day) => redis.KeyFor("usage:" + day, client);

    /// <summary>The id of the last batch of a client's day that one replica process added (so that a batch sent again is not added twice), kept 2 days.</summary>
    public RedisKey Flushed(string client, string day, string replica) => redis.KeyFor("usage-flushed:" + day + ":" + replica, client);

    /// <summary>Marks an event already counted for its client (so a repeat is not counted twice).</summary>
    public RedisKey Counted(string client, string eventId) => redis.KeyFor("usage-counted:" + eventId, client);

    /// <summary>A client's inferences in flight: submission ids by submit time (Unix ms).</summary>
    public RedisKey InFlight(string client) => redis.KeyFor("quota-in-flight", client);

    /// <summary>A client's submits admitted on one UTC day.</summary>
    public RedisKey DailySubmits(string client, string day) => redis.KeyFor("quota-submits:" + day, client);

    /// <summary>The submission ids whose count among a client's submits of one UTC day was given back (so that each is given back once).</summary>
    public RedisKey DailyGivenBack(string client, string day) => redis.KeyFor("quota-given-back:" + day, client);
}

/// <summary>The counters of a day's usage: a kind and, for some, what it is counted by.</summary>
internal static class UsageFields
{
    public const string Submits = "submits";
    public const string Ended = "ended";
    public const string VideoSeconds = "video_seconds";
    public const string UploadBytes = "upload_bytes";
    public const string Calls = "calls";
    public const string Deliveries = "deliveries";

    /// <summary>The hash field of a counter: <c>kind</c>, or <c>kind:by</c>.</summary>
    public static string Of(string kind, string? by = null) => by is null ? kind : kind + ":" + by;
}
