namespace Reka.Gateway.Proxy;

/// <summary>Names of the gateway's routes, used in configuration, logs and metrics.</summary>
internal static class ProxyRouteNames
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
