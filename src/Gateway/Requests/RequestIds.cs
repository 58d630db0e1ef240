using System.Text.RegularExpressions;

namespace Reka.Gateway.Requests;

/// <summary>
/// What the gateway accepts as a request id, wherever one arrives (a path, a callback body): one
/// path segment of RFC 3986 unreserved characters, 1 to <see cref="MaxLength"/> long, and not
/// <c>.</c> or <c>..</c>, so it can never change which upstream path a call reaches nor break
/// out of a Redis hash tag.
/// </summary>
internal static partial class RequestIds
{
    /// <summary>Longest request id accepted, in characters.</summary>
    public const int MaxLength = 128;

    /// <summary>The rule in words, for error details.</summary>
    public static readonly string Rule = $"1-{MaxLength} characters of A-Z, a-z, 0-9, '-', '.', '_' or '~'";

    /// <summary>Whether <paramref name="id"/> is a request id by the rule.</summary>
    public static bool IsValid(string id) => Pattern().IsMatch(id) && id is not ("." or "..");

    // \z, not $: $ also matches before a final line feed, so "abc\n" would pass.
    [GeneratedRegex(@"^[A-Za-z0-9._~-]{1,128}\z")]
    private static partial Regex Pattern();
}
