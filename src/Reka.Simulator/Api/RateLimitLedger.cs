using System.Collections.Concurrent;

namespace Reka.Simulator.Api;

/// <summary>A key's quota as reported in the <c>x-ratelimit-requests-*</c> headers.</summary>
/// <remarks>
/// <para><see cref="Remaining"/>: Calls left in the window, never below 0.</para>
/// <para><see cref="ResetSeconds"/>: Whole seconds until the window starts over.</para>
/// </remarks>
public readonly record struct QuotaState(long Remaining, long ResetSeconds);

/// <summary>
/// Counts calls per API key over a 24 h window that starts with the key's first call, like Reka's
/// daily limits. It only reports; rejections come from the fault settings.
/// </summary>
public sealed class RateLimitLedger(SimulatorOptions options)
{
    private const long WindowMilliseconds = 24 * 60 * 60 * 1000;

    private readonly ConcurrentDictionary<string, KeyWindow> _windows = new(StringComparer.Ordinal);

    /// <summary>Counts one call for <paramref name="apiKey"/> (empty for anonymous calls).</summary>
    public QuotaState Consume(string apiKey)
    {
        var window = _windows.GetOrAdd(apiKey, static _ => new KeyWindow());
        var now = Environment.TickCount64;
        long used, resetAt;
        lock (window)
        {
            if (now >= window.ResetAt)
            {
                window.ResetAt = now + WindowMilliseconds;
                window.Used = 0;
            }
            used = ++window.Used;
            resetAt = window.ResetAt;
        }
        return new QuotaState(Math.Max(0, options.RateLimitPerDay - used), (resetAt - now + 999) / 1000);
    }

    private sealed class KeyWindow
    {
        public long ResetAt;
        public long Used;
    }
}
