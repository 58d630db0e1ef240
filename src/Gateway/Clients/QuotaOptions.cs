using System.ComponentModel.DataAnnotations;

namespace Reka.Gateway.Clients;

/// <summary>
/// A client's quotas: over either, a submit is refused with 429 before anything reaches Reka.
/// Absent values mean no limit.
/// </summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed class QuotaOptions
{
    /// <summary>Inferences submitted and not yet terminal (counted by every replica together).</summary>
    [Range(1, 1_000_000)]
    public int? MaxInFlight { get; set; }

    /// <summary>Submits per UTC day.</summary>
    [Range(1, 100_000_000)]
    public int? DailySubmits { get; set; }
}
