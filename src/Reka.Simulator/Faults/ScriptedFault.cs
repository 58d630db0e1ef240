using System.Text.Json;

namespace Reka.Simulator.Faults;

/// <summary>
/// Body of <c>POST /_simulator/faults</c>: the next <see cref="Count"/> API calls that match
/// <see cref="Method"/> and <see cref="PathPrefix"/> are answered <see cref="Status"/>.
/// </summary>
public sealed class ScriptedFault
{
    /// <summary>HTTP method to match (any case); null matches every method.</summary>
    public string? Method { get; set; }

    /// <summary>Path prefix to match (ordinal), e.g. <c>/v2/inference</c>; null matches every path.</summary>
    public string? PathPrefix { get; set; }

    /// <summary>HTTP status to answer, 400..599.</summary>
    public int Status { get; set; }

    /// <summary>How many matching calls get the fault; at least 1.</summary>
    public int Count { get; set; } = 1;

    /// <summary>Seconds for the <c>retry-after</c> header; null means 1 for a 429 and 0 otherwise.</summary>
    public int? RetryAfter { get; set; }

    /// <summary>
    /// Body to answer instead of Reka's error body: a JSON string is sent as plain text (an HTML
    /// error page from a load balancer, say), any other JSON value as <c>application/json</c>.
    /// </summary>
    public JsonElement? Body { get; set; }

    /// <summary>Describes what is wrong with the request, or returns null when it is valid.</summary>
    public string? FindError() =>
        Status is < 400 or > 599 ? "status must be within 400..599."
        : Count < 1 ? "count must be >= 1."
        : RetryAfter < 0 ? "retry_after must be >= 0."
        : null;

    internal bool Matches(string method, string path) =>
        (Method is null || string.Equals(Method, method, StringComparison.OrdinalIgnoreCase))
        && (PathPrefix is null || path.StartsWith(PathPrefix, StringComparison.Ordinal));
}
