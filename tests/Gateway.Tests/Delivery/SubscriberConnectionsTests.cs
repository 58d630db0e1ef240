using System.Net;
using Reka.Gateway.Delivery;

namespace Reka.Gateway.Tests.Delivery;

/// <summary>
/// A subscriber's host name reaches only addresses deliveries may reach: never the cloud's
/// metadata service or another link-local address, nor loopback unless the name is localhost;
/// private ranges, where in-cluster subscribers live, stay reachable.
/// </summary>
public sealed class SubscriberConnectionsTests
{
    [Fact]
    public void ANameUnderAnAllowedSuffix_ReachesNeitherMetadataNorLoopback_ButPrivateAndPublicAddresses()
    {
        string[] resolved =
        [
            "169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "fd00:ec2::254", "100.100.100.200",
            "127.0.0.1", "127.1.2.3", "::1", "fe80::1", "0.0.0.0", "::", "224.0.0.1", "ff02::1",
            "10.1.2.3", "192.168.1.5", "172.16.0.9", "203.0.113.7", "2001:db8::1", "64:ff9b::cb00:7107",
        ];

        var reachable = SubscriberConnections.Reachable("hooks.webhooks.svc.cluster.local", resolved.Select(IPAddress.Parse));

        Assert.Equal(["10.1.2.3", "192.168.1.5", "172.16.0.9", "203.0.113.7", "2001:db8::1", "64:ff9b::cb00:7107"], reachable.Select(a => a.ToString()));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("LOCALHOST")]
    public void Localhost_ReachesLoopback(string host)
    {
        var reachable = SubscriberConnections.Reachable(host, [IPAddress.Loopback, IPAddress.IPv6Loopback]);

        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], reachable);
    }
}
