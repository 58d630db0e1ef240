using System.Globalization;
using System.Text;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Usage;

/// <summary>What a client used in a period, or on one day.</summary>
/// <param name="Submits">Inferences submitted and accepted upstream, by <c>{model}/{capability}</c>.</param>
/// <param name="Ended">Inferences that reached a terminal status, by status.</param>
/// <param name="VideoSeconds">Seconds of video produced (the results' <c>output.duration_seconds</c>).</param>
/// <param name="UploadBytes">Bytes of images and videos uploaded.</param>
/// <param name="Calls">Calls forwarded to Reka, by route (<c>submit</c>, <c>list</c>, <c>status</c>, <c>result</c>, ...).</param>
/// <param name="Deliveries">Webhook deliveries about its requests, by how they ended (<c>succeeded</c>, <c>dead</c>, ...).</param>
public record UsageCounts(
    IReadOnlyDictionary<string, long> Submits,
    IReadOnlyDictionary<string, long> Ended,
    double VideoSeconds,
    long UploadBytes,
    IReadOnlyDictionary<string, long> Calls,
    IReadOnlyDictionary<string, long> Deliveries);

/// <summary>What a client used on one UTC day (the counts as in <see cref="UsageCounts"/>).</summary>
/// <param name="Date">The UTC day, <c>yyyy-MM-dd</c>.</param>
/// <param name="Submits">Submits by endpoint.</param>
/// <param name="Ended">Inferences ended, by status.</param>
/// <param name="VideoSeconds">Seconds of video produced.</param>
/// <param name="UploadBytes">Bytes uploaded.</param>
/// <param name="Calls">Forwarded calls by route.</param>
/// <param name="Deliveries">Deliveries by outcome.</param>
public sealed record UsageDay(
    string Date,
    IReadOnlyDictionary<string, long> Submits,
    IReadOnlyDictionary<string, long> Ended,
    double VideoSeconds,
    long UploadBytes,
    IReadOnlyDictionary<string, long> Calls,
    IReadOnlyDictionary<string, long> Deliveries)
    : UsageCounts(Submits, Ended, VideoSeconds, UploadBytes, Calls, Deliveries);

/// <summary>Answer of <c>GET /clients/{name}/usage</c>: each day of the period, and the totals.</summary>
/// <param name="Client">The client.</param>
/// <param name="From">The first UTC day.</param>
/// <param name="To">The last UTC day.</param>
/// <param name="Days">Every day of the period, oldest first.</param>
/// <param name="Totals">The period's totals.</param>
public sealed record UsageReport(string Client, string From, string To, IReadOnlyList<UsageDay> Days, UsageCounts Totals);

/// <summary>
/// <c>GET /clients/{name}/usage?from=YYYY-MM-DD&amp;to=YYYY-MM-DD</c>: a client's usage per UTC
/// day, for an admin client or the client itself; JSON, or CSV (<c>date,metric,key,value</c>) with
/// <c>Accept: text/csv</c>. Days are kept for <c>Usage:Retention</c>.
/// </summary>
internal static class UsageApi
{
    /// <summary>Longest period one call covers, in days.</summary>
    public const int MaxDays = 400;

    public static RouteHandlerBuilder MapUsageApi(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/clients/{name}/usage", ReadAsync)
            .WithTags("Clients")
            .WithName("GetClientUsage")
            .WithSummary("A client's usage per UTC day (admin, or the client itself)")
            .WithDescription($"`from` and `to` are UTC days (`YYYY-MM-DD`, at most {MaxDays} days apart; default: the last 30 days). `Accept: text/csv` answers CSV rows `date,metric,key,value`. The last second of usage may not be counted yet.")
            .Produces<UsageReport>(StatusCodes.Status200OK, "application/json", "text/csv")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WhenRedisIsUnavailable("The usage could not be read.")
            .RequireAuthorization()
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit);

    private static async Task<IResult> ReadAsync(string name, string? from, string? to, HttpContext context, UsageKeys keys, RedisStore redis, TimeProvider time)
    {
        var caller = context.GetClient();
        if (!caller.Admin && caller.Name != name)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden,
                detail: $"Client '{caller.Name}' may read only its own usage; another client's needs an admin client.");
        }
        var errors = new Dictionary<string, string[]>();
        if (!ClientNames.IsValid(name))
        {
            errors["name"] = [$"'name' is {ClientNames.Rule}."];
        }
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var last = ParseDay(to, "to", today, errors);
        // The default period ends at 'to'; near DateOnly.MinValue it starts there (AddDays would throw).
        var first = ParseDay(from, "from", DateOnly.FromDayNumber(Math.Max(0, last.DayNumber - 29)), errors);
        if (errors.Count == 0 && (first > last || last.DayNumber - first.DayNumber >= MaxDays))
        {
            errors["from"] = [$"'from' must be on or before 'to', at most {MaxDays} days before it."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: $"Invalid {string.Join(", ", errors.Keys)}: {errors.First().Value[0]}");
        }

        var report = await ReadReportAsync(name, first, last, keys, redis);
        var accept = context.Request.GetTypedHeaders().Accept;
        return accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase))
            ? TypedResults.Text(Csv(report.Days), "text/csv; charset=utf-8")
            : TypedResults.Ok(report);
    }

    /// <summary>
    /// <paramref name="name"/>'s usage from <paramref name="first"/> to <paramref name="last"/>
    /// (UTC days, in order, at most <see cref="MaxDays"/>); also what the operator console charts.
    /// </summary>
    /// <exception cref="RedisException">Redis failed.</exception>
    internal static async Task<UsageReport> ReadReportAsync(string name, DateOnly first, DateOnly last, UsageKeys keys, RedisStore redis)
    {
        var db = redis.Database;
        var dates = Enumerable.Range(0, last.DayNumber - first.DayNumber + 1).Select(i => first.AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList();
        var hashes = await Task.WhenAll(dates.Select(date => db.HashGetAllAsync(keys.Daily(name, date))));
        var days = dates.Zip(hashes, Day).ToList();
        return new UsageReport(name, dates[0], dates[^1], days, Total(days));
    }

    private static DateOnly ParseDay(string? value, string field, DateOnly fallback, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return fallback;
        }
        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return day;
        }
        errors[field] = [$"'{field}' must be a UTC day, YYYY-MM-DD."];
        return fallback;
    }

    private static UsageDay Day(string date, HashEntry[] fields)
    {
        Dictionary<string, long> submits = new(StringComparer.Ordinal), ended = new(StringComparer.Ordinal), calls = new(StringComparer.Ordinal), deliveries = new(StringComparer.Ordinal);
        double video = 0;
        long upload = 0;
        foreach (var field in fields)
        {
            var (kind, by) = Split(field.Name!);
            var amount = double.Parse((string)field.Value!, CultureInfo.InvariantCulture);
            switch (kind)
            {
                case UsageFields.Submits: submits[by] = (long)amount; break;
                case UsageFields.Ended: ended[by] = (long)amount; break;
                case UsageFields.Calls: calls[by] = (long)amount; break;
                case UsageFields.Deliveries: deliveries[by] = (long)amount; break;
                case UsageFields.VideoSeconds: video = amount; break;
                case UsageFields.UploadBytes: upload = (long)amount; break;
            }
        }
        return new UsageDay(date, submits, ended, Math.Round(video, 3), upload, calls, deliveries);
    }

    private static (string Kind, string By) Split(string field) =>
        field.IndexOf(':') is var colon and >= 0 ? (field[..colon], field[(colon + 1)..]) : (field, "");

    private static UsageCounts Total(IReadOnlyList<UsageDay> days)
    {
        static IReadOnlyDictionary<string, long> Sum(IEnumerable<IReadOnlyDictionary<string, long>> counts) =>
            counts.SelectMany(c => c).GroupBy(c => c.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(c => c.Value), StringComparer.Ordinal);
        return new UsageCounts(Sum(days.Select(d => d.Submits)), Sum(days.Select(d => d.Ended)), Math.Round(days.Sum(d => d.VideoSeconds), 3),
            days.Sum(d => d.UploadBytes), Sum(days.Select(d => d.Calls)), Sum(days.Select(d => d.Deliveries)));
    }

    /// <summary>The days as CSV rows <c>date,metric,key,value</c> under a header row.</summary>
    internal static string Csv(IEnumerable<UsageDay> days)
    {
        var csv = new StringBuilder("date,metric,key,value\n");
        foreach (var day in days)
        {
            void Rows(string metric, IReadOnlyDictionary<string, long> counts)
            {
                foreach (var (key, value) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
                {
                    csv.Append(CultureInfo.InvariantCulture, $"{day.Date},{metric},{Quoted(key)},{value}\n");
                }
            }
            Rows(UsageFields.Submits, day.Submits);
            Rows(UsageFields.Ended, day.Ended);
            Rows(UsageFields.Calls, day.Calls);
            Rows(UsageFields.Deliveries, day.Deliveries);
            if (day.VideoSeconds > 0)
            {
                csv.Append(CultureInfo.InvariantCulture, $"{day.Date},{UsageFields.VideoSeconds},,{day.VideoSeconds}\n");
            }
            if (day.UploadBytes > 0)
            {
                csv.Append(CultureInfo.InvariantCulture, $"{day.Date},{UsageFields.UploadBytes},,{day.UploadBytes}\n");
            }
        }
        return csv.ToString();
    }

    // RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
    private static string Quoted(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
