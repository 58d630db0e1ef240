using System.Globalization;

namespace Reka.Gateway.Subscriptions;

/// <summary>
/// One entry of <c>Webhooks:AllowedSubscriberHosts</c>: <c>host</c>, <c>host:port</c>,
/// <c>*.suffix</c> or <c>*.suffix:port</c>, where port is 1-65535 or <c>*</c> (any port, for local
/// setups). A host without a port allows 80 and 443 only, the default ports of http and https,
/// so that naming a host does not open its other services (Redis on 6379, say). IPv6 addresses
/// go in brackets (<c>[::1]:8080</c>).
/// </summary>
internal sealed record AllowedSubscriberHost(string Host, bool Suffix, int? Port, bool AnyPort)
{
    private static readonly int[] DefaultPorts = [80, 443];

    /// <summary>The entry, or null when it is none of the forms above.</summary>
    public static AllowedSubscriberHost? Parse(string entry)
    {
        var host = entry;
        string? port = null;
        var close = entry.StartsWith('[') ? entry.IndexOf(']') : -1;
        var colon = entry.IndexOf(':', close + 1);
        if (colon >= 0)
        {
            (host, port) = (entry[..colon], entry[(colon + 1)..]);
        }
        int? number = null;
        if (port is not null and not "*")
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed is < 1 or > 65535)
            {
                return null;
            }
            number = parsed;
        }
        var suffix = host.StartsWith("*.", StringComparison.Ordinal);
        var name = suffix ? host[2..] : host;
        // Read by Uri, as subscriber URLs are, so that both compare in one form ([0:0::1] is [::1]).
        var type = Uri.CheckHostName(name);
        if (type is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6) || (suffix && type != UriHostNameType.Dns)
            || !Uri.TryCreate($"http://{name}/", UriKind.Absolute, out var uri))
        {
            return null;
        }
        return new AllowedSubscriberHost(uri.Host, suffix, number, port == "*");
    }

    /// <summary>Whether <paramref name="url"/>'s host and port are the entry's.</summary>
    public bool Allows(Uri url) =>
        (Suffix ? url.Host.EndsWith("." + Host, StringComparison.OrdinalIgnoreCase) : url.Host.Equals(Host, StringComparison.OrdinalIgnoreCase))
        && (AnyPort || (Port is { } port ? url.Port == port : DefaultPorts.Contains(url.Port)));
}
