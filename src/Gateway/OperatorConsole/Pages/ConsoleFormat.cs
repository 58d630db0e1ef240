using System.Globalization;

namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>How the console writes times, durations and statuses.</summary>
internal static class ConsoleFormat
{
    /// <summary>A time in UTC, to the second: <c>2026-11-21 08:22:05Z</c>.</summary>
    public static string Time(DateTimeOffset? at) => at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "—";

    /// <summary>The machine-readable form of a time, for <c>&lt;time datetime&gt;</c>.</summary>
    public static string Iso(DateTimeOffset? at) => at?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) ?? "";

    /// <summary>A span in words: <c>850 ms</c>, <c>12.4 s</c>, <c>3 min 5 s</c>, <c>2 h 10 min</c>, <c>3 d 4 h</c>.</summary>
    public static string Span(TimeSpan span) => span.TotalMilliseconds switch
    {
        < 1000 => $"{span.TotalMilliseconds:0} ms",
        < 60_000 => $"{span.TotalSeconds:0.#} s",
        < 3_600_000 => $"{(int)span.TotalMinutes} min {span.Seconds} s",
        < 86_400_000 => $"{(int)span.TotalHours} h {span.Minutes} min",
        _ => $"{(int)span.TotalDays} d {span.Hours} h",
    };

    /// <summary>The badge class of a request or delivery status (the text says the status too: colour is never the only sign).</summary>
    public static string Badge(string? status) => (status ?? "").ToUpperInvariant() switch
    {
        "COMPLETED" or "SUCCEEDED" => "badge ok",
        "FAILED" or "DEAD" or "GONE" => "badge bad",
        "CANCELLED" or "CANCELED" or "DISABLED" or "SKIPPED" => "badge off",
        "IN_PROGRESS" or "PENDING" => "badge busy",
        _ => "badge wait",
    };

    /// <summary>A ratio as a percentage, or "no data".</summary>
    public static string Percent(double? ratio) => ratio is { } r ? $"{r * 100:0.#} %" : "no data";
}
