namespace Reka.Gateway.Proxy;

/// <summary>Settings of one route.</summary>
public sealed class ProxyRouteOptions
{
    /// <summary>
    /// Seconds upstream may stay silent (no response headers, no body bytes either way) before
    /// the call fails with 504. For uploads and streams it bounds inactivity, not total time.
    /// </summary>
    public double? TimeoutSeconds { get; set; }

    /// <summary>Largest request body accepted, in bytes; larger ones get 413.</summary>
    public long? MaxBodyBytes { get; set; }
}
