using System.Globalization;
using Microsoft.Extensions.Primitives;
using Reka.Simulator.Api;

namespace Reka.Simulator.Jobs;

/// <summary>Which jobs a list call asks for; every field is optional and all must match.</summary>
/// <remarks>
/// <para><see cref="Start"/>: Inclusive lower bound on <c>created_at</c>, UTC.</para>
/// <para><see cref="End"/>: Exclusive upper bound on <c>created_at</c>, UTC.</para>
/// </remarks>
public sealed record JobFilter(
    string? EndpointId,
    string? ModelId,
    string? Capability,
    string? Status,
    DateTime? Start,
    DateTime? End)
{
    /// <summary>True when the exact-match fields match; the time bounds are applied by <see cref="JobStore"/>.</summary>
    public bool Matches(Job job) =>
        (EndpointId is null || EndpointId == job.EndpointId)
        && (ModelId is null || ModelId == job.ModelId)
        && (Capability is null || Capability == job.Capability)
        && (Status is null || Status == job.Status);
}

/// <summary>The parsed query string of <c>GET /v2/inference/requests</c>.</summary>
/// <remarks>
/// <para><see cref="WithPayloads"/>: True when <c>expand</c> names <c>payloads</c>.</para>
/// <para><see cref="Limit"/>: Page size, 1..100.</para>
/// <para><see cref="Offset"/>: Matching jobs to skip, >= 0.</para>
/// </remarks>
public sealed record ListQuery(JobFilter Filter, bool WithPayloads, int Limit, int Offset)
{
    private const int DefaultLimit = 25;
    private const int MaxLimit = 100;
    private const string PayloadsExpansion = "payloads";

    /// <summary>Parses <paramref name="query"/>; on a bad value returns null and a 400 naming the parameter.</summary>
    public static ListQuery? Parse(IQueryCollection query, out IResult? error)
    {
        error = null;
        var limit = DefaultLimit;
        var offset = 0;
        DateTime? start = null, end = null;
        if (query.TryGetValue("limit", out var limitText) && !TryParseInt(limitText, 1, MaxLimit, out limit))
            error = ApiErrors.Validation($"limit must be an integer within 1..{MaxLimit}.", "limit");
        else if (query.TryGetValue("offset", out var offsetText) && !TryParseInt(offsetText, 0, int.MaxValue, out offset))
            error = ApiErrors.Validation("offset must be an integer >= 0.", "offset");
        else if (query.TryGetValue("start", out var startText) && !TryParseInstant(startText, out start))
            error = ApiErrors.Validation("start must be an ISO 8601 date-time.", "start");
        else if (query.TryGetValue("end", out var endText) && !TryParseInstant(endText, out end))
            error = ApiErrors.Validation("end must be an ISO 8601 date-time.", "end");

        var withPayloads = false;
        foreach (var expansion in Expansions(query["expand"]))
        {
            if (expansion == PayloadsExpansion) withPayloads = true;
            else error ??= ApiErrors.Validation($"expand supports only {PayloadsExpansion}.", "expand");
        }
        if (error is not null) return null;

        var filter = new JobFilter(
            Optional(query, "endpoint_id"), Optional(query, "model_id"), Optional(query, "capability"),
            Optional(query, "status"), start, end);
        return new ListQuery(filter, withPayloads, limit, offset);
    }

    // expand may repeat (?expand=a&expand=b) or be comma separated (?expand=a,b).
    private static IEnumerable<string> Expansions(StringValues values)
    {
        foreach (var value in values)
        {
            if (value is null) continue;
            foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                yield return part;
        }
    }

    private static string? Optional(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var value) && !StringValues.IsNullOrEmpty(value) ? value.ToString() : null;

    private static bool TryParseInt(StringValues text, int min, int max, out int value) =>
        int.TryParse(text.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out value)
        && value >= min && value <= max;

    private static bool TryParseInstant(StringValues text, out DateTime? instant)
    {
        var parsed = DateTimeOffset.TryParse(
            text.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value);
        instant = parsed ? value.UtcDateTime : null;
        return parsed;
    }
}
