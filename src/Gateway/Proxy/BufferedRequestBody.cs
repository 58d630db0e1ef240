using Yarp.ReverseProxy.Transforms;

namespace Reka.Gateway.Proxy;

/// <summary>
/// A request body the gateway read and checked itself (a submit's JSON), sent upstream in place
/// of the original. Being in memory, it can be sent again by a retry
/// (<see cref="UpstreamRetryHandler"/>).
/// </summary>
internal static class BufferedRequestBody
{
    private static readonly HttpRequestOptionsKey<byte[]> OptionsKey = new("reka-gateway.buffered-body");

    /// <summary>
    /// Makes <paramref name="content"/> the body of the request to forward. YARP builds the
    /// outgoing body from the incoming request (replacing its content in a transform is refused),
    /// so the incoming body is swapped for the bytes.
    /// </summary>
    public static void Replace(HttpContext context, byte[] content)
    {
        context.Request.Body = new MemoryStream(content, writable: false);
        context.Request.ContentLength = content.Length;
        context.Features.Set(new Buffered(content));
    }

    /// <summary>Request transform: lets the retry handler resend a replaced body.</summary>
    public static ValueTask ApplyAsync(RequestTransformContext context)
    {
        if (context.HttpContext.Features.Get<Buffered>() is { } body)
        {
            context.ProxyRequest.Options.Set(OptionsKey, body.Content);
        }
        return default;
    }

    /// <summary>
    /// Swaps the outgoing body of <paramref name="request"/> for its buffered bytes, which can be
    /// sent more than once; false when the body was not buffered by the gateway.
    /// </summary>
    public static bool TryMakeResendable(HttpRequestMessage request)
    {
        if (!request.Options.TryGetValue(OptionsKey, out var content))
        {
            return false;
        }
        if (request.Content is not ByteArrayContent)
        {
            var resendable = new ByteArrayContent(content);
            foreach (var header in request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
            {
                resendable.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
            resendable.Headers.ContentLength = content.Length;
            request.Content = resendable;
        }
        return true;
    }

    private sealed record Buffered(byte[] Content);
}
