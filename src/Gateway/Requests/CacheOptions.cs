using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Reka.Gateway.Requests;

/// <summary>Settings of the result cache (section <c>Cache</c>).</summary>
public sealed class CacheOptions
{
    internal const string SectionName = "Cache";

    /// <summary>Statuses used when <see cref="TerminalStatuses"/> is empty.</summary>
    public static readonly IReadOnlyList<string> DefaultTerminalStatuses = ["COMPLETED", "FAILED", "CANCELLED", "CANCELED"];

    /// <summary>
    /// How long a terminal result, and the record of who submitted a request, stay in Redis
    /// (default 7 days). Start-up refuses a TTL not longer than the gateway's latest look at a
    /// request (about 46 h with the default <c>Webhooks</c> settings; see the webhooks' ResultTtlValidator).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan ResultTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Statuses after which a request never changes. Reka's API reference does not list its status
    /// values, so this is a setting; any other value counts as not finished. Empty means
    /// <see cref="DefaultTerminalStatuses"/>.
    /// </summary>
    public List<string> TerminalStatuses { get; set; } = [];

    /// <summary>Memory each replica may use to keep terminal answers it served, in bytes (32 MiB).</summary>
    [Range(0, long.MaxValue)]
    public long MemoryLimitBytes { get; set; } = 32L << 20;

    /// <summary>Whether <paramref name="status"/> is terminal (case-insensitive).</summary>
    public bool IsTerminal(string? status) =>
        status is not null && (TerminalStatuses.Count > 0 ? TerminalStatuses : DefaultTerminalStatuses)
            .Contains(status, StringComparer.OrdinalIgnoreCase);
}

[OptionsValidator]
internal sealed partial class CacheOptionsValidator : IValidateOptions<CacheOptions>;
