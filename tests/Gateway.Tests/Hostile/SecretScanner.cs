using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// Every key, token and secret a hostile run knows of, and the shapes of those it may not know
/// (gateway keys <c>gk_…</c>, Standard Webhooks secrets <c>whsec_…</c>, callback tokens
/// <c>{submission}.{mac}</c>), to look for in answers and log lines. A secret shown on purpose
/// (a new client's key, a new subscription's secret, in the answer that creates it) is learnt
/// there and must never be seen again.
/// </summary>
public sealed partial class SecretScanner
{
    private readonly ConcurrentDictionary<string, string> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    /// <summary>Starts with the secrets every test gateway holds: the clients' keys, the team key, the callback secret, alice's signing secret.</summary>
    public SecretScanner()
    {
        foreach (var client in TestClients.All)
        {
            Learn(client.Key, $"{client.Name}'s key");
            if (client.WebhookSecret is { } secret)
            {
                Learn(secret, $"{client.Name}'s webhook secret");
                Learn(secret["whsec_".Length..], $"{client.Name}'s webhook secret (base64)");
            }
        }
        Learn(TestClients.TeamKey, "the team's Reka key");
        Learn(TestClients.CallbackSecret, "Webhooks:CallbackSecret");
    }

    /// <summary>How many secrets were learnt so far (see <see cref="FindLearntSince"/>).</summary>
    public int Count => _order.Count;

    /// <summary>Adds a secret to look for.</summary>
    public void Learn(string secret, string what)
    {
        if (secret.Length >= 8 && _known.TryAdd(secret, what))
        {
            _order.Enqueue(secret);
        }
    }

    /// <summary>Learns the callback tokens in the bodies upstream received (the <c>webhook_url</c> the gateway put in each submit).</summary>
    public void LearnTokensFrom(IEnumerable<RecordedRequest> upstreamRequests)
    {
        foreach (var request in upstreamRequests)
        {
            if (request.Body.Length == 0)
            {
                continue;
            }
            var body = System.Text.Encoding.UTF8.GetString(request.Body);
            foreach (Match token in CallbackTokenInUrl().Matches(body))
            {
                Learn(token.Groups[1].Value, "a callback token");
                Learn(token.Groups[2].Value, "a callback token's MAC");
            }
        }
    }

    /// <summary>
    /// The <c>gk_</c> keys and <c>whsec_</c> secrets in <paramref name="text"/> not known yet: what
    /// an answer creating a client, a key or a subscription reveals on purpose (to <see cref="Learn"/> then).
    /// </summary>
    public IReadOnlyList<string> Unknown(string text) =>
        [.. GatewayKey().Matches(text).Concat(WebhookSecret().Matches(text)).Select(m => m.Value).Where(v => !_known.ContainsKey(v)).Distinct()];

    /// <summary>Every known secret, or secret-shaped string, in <paramref name="text"/>: its value and a description (to report, never the value).</summary>
    public IReadOnlyList<(string Value, string Description)> Find(string text, string where) =>
        Find(text, where, _known, patterns: true);

    /// <summary>As <see cref="Find(string, string)"/>, looking only for the secrets learnt after the first <paramref name="known"/>.</summary>
    public IReadOnlyList<(string Value, string Description)> FindLearntSince(int known, string text, string where) =>
        Find(text, where, _order.Skip(known).ToDictionary(v => v, v => _known[v]), patterns: false);

    private IReadOnlyList<(string Value, string Description)> Find(string text, string where, IReadOnlyDictionary<string, string> secrets, bool patterns)
    {
        var found = new List<(string, string)>();
        foreach (var (secret, what) in secrets)
        {
            if (text.Contains(secret, StringComparison.Ordinal) || text.Contains(Uri.EscapeDataString(secret), StringComparison.Ordinal))
            {
                found.Add((secret, $"{what} in {where}"));
            }
        }
        if (!patterns)
        {
            return found;
        }
        foreach (var pattern in new[] { GatewayKey(), WebhookSecret(), CallbackToken() })
        {
            foreach (Match match in pattern.Matches(text))
            {
                if (!_known.ContainsKey(match.Value) && !_known.ContainsKey(match.Groups["mac"].Value))
                {
                    found.Add((match.Value, $"a string shaped like a secret ({match.Value[..Math.Min(6, match.Value.Length)]}…) in {where}"));
                }
            }
        }
        return found;
    }

    // Group 1: the whole token; group 2: its MAC.
    [GeneratedRegex(@"token=([A-Za-z0-9_-]{22}\.([A-Za-z0-9_-]{22}))")]
    private static partial Regex CallbackTokenInUrl();

    [GeneratedRegex(@"gk_[A-Za-z0-9_-]{43}")]
    private static partial Regex GatewayKey();

    [GeneratedRegex(@"whsec_[A-Za-z0-9+/]{20,}={0,2}")]
    private static partial Regex WebhookSecret();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{22}\.(?<mac>[A-Za-z0-9_-]{22})(?![A-Za-z0-9_-])")]
    private static partial Regex CallbackToken();
}
