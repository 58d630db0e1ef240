using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Proxy;

/// <summary>
/// Rewrites the URLs Reka puts in its answers (<c>status_url</c>, <c>response_url</c>,
/// <c>cancel_url</c>; "Submit" reference page) to the gateway's <c>Gateway:PublicBaseUrl</c>,
/// so that no caller is sent around the gateway, and answers a <c>webhook_url</c> that names the
/// gateway itself as null: that is the callback URL the gateway handed upstream, whose token is
/// the gateway's alone (Reka's pages do not say whether it echoes the field; if it does, the token
/// stays in). Only those fields change; everything else in the body is left as upstream wrote it.
/// </summary>
internal sealed class UpstreamUrlRewriter(IOptions<UpstreamOptions> upstream, IOptions<GatewayOptions> gateway)
{
    private static readonly string[] UrlFields = ["status_url", "response_url", "cancel_url"];
    private const string WebhookField = "webhook_url";
    private static readonly byte[][] Markers = [.. UrlFields.Append(WebhookField).Select(f => System.Text.Encoding.UTF8.GetBytes($"\"{f}\""))];

    private readonly string _upstreamPath = new Uri(upstream.Value.BaseUrl).AbsolutePath.TrimEnd('/');
    private readonly string _publicBase = gateway.Value.PublicBaseUrl.TrimEnd('/');
    private readonly string _gatewayPrefix = gateway.Value.PublicBaseUrl.TrimEnd('/') + "/";

    /// <summary>
    /// The body with its URL fields rewritten, or null when it has none to rewrite (the common
    /// case, found without parsing).
    /// </summary>
    public byte[]? Rewrite(ReadOnlySpan<byte> json)
    {
        if (!ContainsAnyMarker(json))
        {
            return null;
        }
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return null; // Not JSON after all: pass it through untouched.
        }
        return root is not null && RewriteNode(root) ? JsonSerializer.SerializeToUtf8Bytes(root) : null;
    }

    /// <summary>Maps one upstream URL to the gateway's public base URL, keeping path and query.</summary>
    public string ToPublicUrl(string upstreamUrl)
    {
        if (!Uri.TryCreate(upstreamUrl, UriKind.Absolute, out var uri))
        {
            return upstreamUrl;
        }
        var path = uri.AbsolutePath;
        if (_upstreamPath.Length > 0 && path.StartsWith(_upstreamPath, StringComparison.Ordinal))
        {
            path = path[_upstreamPath.Length..];
        }
        return _publicBase + path + uri.Query;
    }

    private static bool ContainsAnyMarker(ReadOnlySpan<byte> json)
    {
        foreach (var marker in Markers)
        {
            if (json.IndexOf(marker) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    private bool RewriteNode(JsonNode node)
    {
        var changed = false;
        switch (node)
        {
            case JsonObject obj:
                foreach (var field in UrlFields)
                {
                    if (obj[field] is JsonValue value && value.TryGetValue<string>(out var url))
                    {
                        obj[field] = ToPublicUrl(url);
                        changed = true;
                    }
                }
                if (obj[WebhookField] is JsonValue webhook && webhook.TryGetValue<string>(out var callback)
                    && callback.StartsWith(_gatewayPrefix, StringComparison.OrdinalIgnoreCase))
                {
                    obj[WebhookField] = null;
                    changed = true;
                }
                foreach (var (_, child) in obj)
                {
                    changed |= child is not null && RewriteNode(child);
                }
                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    changed |= child is not null && RewriteNode(child);
                }
                break;
        }
        return changed;
    }
}
