using System.Net.Http.Headers;
using Yarp.ReverseProxy.Transforms;

namespace Reka.Gateway.Proxy;

/// <summary>
/// A request body the gateway read and checked itself (a submit's JSON), sent upstream in place
/// of the streamed original. Being in memory, it can be sent again by a retry.
/// </summary>
/// <param name="Content">The bytes to send.</param>
/// <param name="ContentType">Their media type.</param>
public sealed record BufferedRequestBody(byte[] Content, string ContentType)
{
    /// <summary>Request transform: sends the request's <see cref="BufferedRequestBody"/>, if it has one.</summary>
    public static ValueTask ApplyAsync(RequestTransformContext context)
    {
        if (context.HttpContext.Features.Get<BufferedRequestBody>() is { } body)
        {
            context.ProxyRequest.Content = new ByteArrayContent(body.Content)
            {
                Headers = { ContentType = MediaTypeHeaderValue.Parse(body.ContentType) },
            };
        }
        return default;
    }
}
