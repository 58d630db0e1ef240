using System.Buffers;
using System.Net.Http.Headers;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Transforms;

namespace Reka.Gateway.Proxy;

/// <summary>
/// A YARP response transform for small JSON answers: it reads a 2xx JSON body (up to
/// <see cref="MaxBufferedBytes"/>), rewrites upstream URLs in it, lets the route act on it
/// (cache a terminal result, drop another client's items, refuse the answer), and writes what
/// remains to the caller. Other answers, errors included, stream through untouched, unless the
/// route's handler must see every 2xx answer (then a 2xx it cannot read is refused with 502).
/// </summary>
internal sealed class JsonResponseTransform(UpstreamUrlRewriter urlRewriter)
{
    /// <summary>Largest body buffered, in bytes; a larger one streams through unchanged (or is refused, above).</summary>
    public const int MaxBufferedBytes = 8 * 1024 * 1024;

    /// <summary>
    /// Called with each buffered 2xx JSON body, after URL rewriting, before it is written.
    /// Returns the body to write, or null when it wrote the response itself (a problem, say).
    /// </summary>
    public delegate ValueTask<ReadOnlyMemory<byte>?> BodyHandler(HttpContext context, HttpResponseMessage response, ReadOnlyMemory<byte> body);

    /// <summary>
    /// Applies the transform to <paramref name="context"/>; <paramref name="handle"/> is optional.
    /// With <paramref name="handleEvery2xx"/>, a 2xx answer that cannot be buffered as JSON (another
    /// media type, an encoding, more than <see cref="MaxBufferedBytes"/>) is not passed on: the
    /// transform throws <see cref="InvalidDataException"/>, which the forwarder answers with 502
    /// problem details. Meant for a handler without which the caller must not be served (the list's
    /// ownership filter).
    /// </summary>
    public async ValueTask ApplyAsync(ResponseTransformContext context, BodyHandler? handle = null, bool handleEvery2xx = false)
    {
        var response = context.ProxyResponse;
        if (response is null || !response.IsSuccessStatusCode)
        {
            return;
        }
        if (!IsJson(response.Content.Headers) || IsEncoded(response.Content.Headers)
            || response.Content.Headers.ContentLength > MaxBufferedBytes)
        {
            if (handleEvery2xx)
            {
                throw Unreadable();
            }
            return;
        }

        context.SuppressResponseBody = true;
        var http = context.HttpContext;
        // The response's own stream, without a task: HttpClient's response content hands it over
        // without reading (the asynchronous form wraps it in a new task per call).
        await using var upstreamBody = response.Content.ReadAsStream(context.CancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent((int)(response.Content.Headers.ContentLength ?? 16 * 1024) + 1);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    // The pool's sizes are powers of two: MaxBufferedBytes (8 MiB) itself is one.
                    if (buffer.Length >= MaxBufferedBytes)
                    {
                        if (handleEvery2xx)
                        {
                            throw Unreadable();
                        }
                        // Too big to buffer: send what was read and stream the rest as it is.
                        http.Response.ContentLength = null;
                        await http.Response.Body.WriteAsync(buffer.AsMemory(0, length), context.CancellationToken);
                        await upstreamBody.CopyToAsync(http.Response.Body, context.CancellationToken);
                        return;
                    }
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await upstreamBody.ReadAsync(buffer.AsMemory(length), context.CancellationToken);
                if (read == 0)
                {
                    break;
                }
                length += read;
            }

            ReadOnlyMemory<byte> body = urlRewriter.Rewrite(buffer.AsSpan(0, length)) ?? buffer.AsMemory(0, length);
            if (handle is not null)
            {
                if (await handle(http, response, body) is not { } handled)
                {
                    return;
                }
                body = handled;
            }
            http.Response.ContentLength = body.Length;
            await http.Response.Body.WriteAsync(body, context.CancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static InvalidDataException Unreadable() =>
        new($"The answer is not a JSON body of at most {MaxBufferedBytes} bytes without Content-Encoding, which this route must read before passing it on.");

    // An encoding named in Content-Encoding as sent; a header of empty list elements names none
    // (RFC 9110 section 5.6.1), as HttpClient's parsed form counted them.
    private static bool IsEncoded(HttpContentHeaders headers)
    {
        if (headers.NonValidated.TryGetValues(HeaderNames.ContentEncoding, out var values))
        {
            foreach (var value in values)
            {
                if (value.AsSpan().IndexOfAnyExcept(", \t") >= 0)
                {
                    return true;
                }
            }
        }
        return false;
    }

    // The media type as sent (RFC 9110 section 8.3.1: type "/" subtype, then parameters after ";"),
    // read without HttpClient's parsed form, which builds the value and its parameters on every
    // call; YARP copies the headers as sent anyway.
    private static bool IsJson(HttpContentHeaders headers)
    {
        if (!headers.NonValidated.TryGetValues(HeaderNames.ContentType, out var values) || values.Count != 1)
        {
            return false;
        }
        var value = values.ToString().AsSpan();
        var parameters = value.IndexOf(';');
        var type = (parameters < 0 ? value : value[..parameters]).Trim();
        return type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }
}
