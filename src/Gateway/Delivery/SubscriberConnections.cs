using System.Net;
using System.Net.Sockets;

namespace Reka.Gateway.Delivery;

/// <summary>
/// Connects the webhook sender to a subscriber named by a host name only at an address deliveries
/// may reach: not loopback (unless the name is <c>localhost</c>), not link-local
/// (169.254.0.0/16, fe80::/10: where most clouds' metadata services answer), nor the metadata
/// addresses outside it (AWS's fd00:ec2::254, Alibaba Cloud's 100.100.100.200), not
/// unspecified, not multicast, and none of these in NAT64's form (64:ff9b::/96).
/// <c>Webhooks:AllowedSubscriberHosts</c> names hosts; this keeps a name under an allowed suffix
/// (an ExternalName service, a CNAME, DNS that changes between attempts) from reaching the node
/// itself or the cloud's metadata. Private ranges stay reachable: in-cluster subscribers live
/// there. An IP address written in the URL is connected to as it is, since the allowlist named it.
/// </summary>
internal static class SubscriberConnections
{
    private static readonly byte[] Nat64Prefix = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly IPAddress AwsMetadataV6 = IPAddress.Parse("fd00:ec2::254");
    private static readonly IPAddress AlibabaMetadata = IPAddress.Parse("100.100.100.200");

    /// <summary>The <see cref="SocketsHttpHandler.ConnectCallback"/> of the webhook sender's handler.</summary>
    /// <exception cref="HttpRequestException">The name resolves to no address deliveries may reach.</exception>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        IPAddress[] addresses = IPAddress.TryParse(host.Trim('[', ']'), out var written)
            ? [written]
            : Reachable(host, await Dns.GetHostAddressesAsync(host, cancellationToken));
        if (addresses.Length == 0)
        {
            throw new HttpRequestException($"'{host}' resolves to no address deliveries may reach (loopback, link-local, unspecified and multicast addresses are refused).");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Of the addresses <paramref name="host"/> resolved to, those deliveries may reach.</summary>
    public static IPAddress[] Reachable(string host, IEnumerable<IPAddress> addresses) =>
        [.. addresses.Where(address => IsReachable(host, address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address))];

    private static bool IsReachable(string host, IPAddress address)
    {
        if (IPAddress.IsLoopback(address))
        {
            return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase);
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var v6 = address.GetAddressBytes();
            // NAT64's well-known prefix (64:ff9b::/96, RFC 6052) carries an IPv4 address in its last four bytes.
            if (v6.AsSpan(0, 12).SequenceEqual(Nat64Prefix))
            {
                return IsReachable(host, new IPAddress(v6.AsSpan(12)));
            }
            return !(address.Equals(IPAddress.IPv6Any) || address.IsIPv6LinkLocal || address.IsIPv6Multicast || address.Equals(AwsMetadataV6));
        }
        var bytes = address.GetAddressBytes();
        // 0.0.0.0/8 (this network), 169.254.0.0/16 (link-local: most clouds' metadata),
        // 100.100.100.200 (Alibaba Cloud's metadata), 224.0.0.0 and up (multicast, reserved).
        return !(bytes[0] == 0 || (bytes[0] == 169 && bytes[1] == 254) || address.Equals(AlibabaMetadata) || bytes[0] >= 224);
    }
}
