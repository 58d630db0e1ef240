namespace Reka.Gateway.Proxy;

/// <summary>Routing settings of the proxy (section <c>Proxy</c>).</summary>
public sealed class ProxyOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Proxy";

    /// <summary>
    /// Path prefixes of Reka's Vision API forwarded as they are, beyond the routes the gateway
    /// defines itself (e.g. <c>/v1/</c>, <c>/v2/videos</c>). Empty means <c>/v1/</c> and <c>/v2/</c>.
    /// <c>/v2/inference/</c> is never forwarded this way: only its documented routes are.
    /// </summary>
    public List<string> ForwardedPrefixes { get; set; } = [];

    /// <summary>Per-route settings, by route name (<see cref="ProxyRouteNames"/>).</summary>
    public Dictionary<string, ProxyRouteOptions> Routes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Timeout of routes without their own, in seconds.</summary>
    public double DefaultTimeoutSeconds { get; set; } = 100;

    /// <summary>Request body cap of routes without their own, in bytes (30 MB, Kestrel's default).</summary>
    public long DefaultMaxBodyBytes { get; set; } = 30_000_000;

    /// <summary>The settings of route <paramref name="name"/>, defaults filled in.</summary>
    public (TimeSpan Timeout, long MaxBodyBytes) For(string name)
    {
        Routes.TryGetValue(name, out var route);
        return (TimeSpan.FromSeconds(route?.TimeoutSeconds ?? DefaultTimeoutSeconds), route?.MaxBodyBytes ?? DefaultMaxBodyBytes);
    }
}

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

/// <summary>Names of the gateway's routes, used in configuration, logs and metrics.</summary>
public static class ProxyRouteNames
{
    /// <summary><c>POST /v2/inference/{model}/{capability}</c>.</summary>
    public const string Submit = "submit";
    /// <summary><c>GET /v2/inference/requests</c>.</summary>
    public const string List = "list";
    /// <summary><c>GET /v2/inference/requests/{request_id}/status</c>.</summary>
    public const string Status = "status";
    /// <summary><c>GET /v2/inference/requests/{request_id}</c>.</summary>
    public const string Result = "result";
    /// <summary><c>POST /v2/inference/requests/{request_id}/cancel</c>.</summary>
    public const string Cancel = "cancel";
    /// <summary><c>GET /v2/inference/models</c>.</summary>
    public const string Models = "models";
    /// <summary><c>POST /v2/inference/chat/completions</c>.</summary>
    public const string Chat = "chat";
    /// <summary><c>POST /v1/images/upload</c>.</summary>
    public const string ImageUpload = "image-upload";
    /// <summary><c>POST /v2/videos</c>.</summary>
    public const string VideoUpload = "video-upload";
    /// <summary>Everything under <see cref="ProxyOptions.ForwardedPrefixes"/>.</summary>
    public const string Passthrough = "passthrough";
}
