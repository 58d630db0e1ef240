using System.Net.Sockets;

namespace Reka.Gateway.Tests.Support;

/// <summary>One HTTP/1.1 response as read off the wire.</summary>
/// <param name="Status">The status code.</param>
/// <param name="Headers">Header lines, names lowercased, in order.</param>
/// <param name="Body">The body, de-chunked.</param>
/// <param name="Raw">The bytes of the whole response, as sent.</param>
public sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, byte[] Raw)
{
    /// <summary>The first value of a header, or null.</summary>
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>The body as UTF-8 text.</summary>
    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>What came back on one connection: the responses in order, and whether the server closed it.</summary>
/// <param name="Responses">Every complete response read.</param>
/// <param name="Closed">Whether the server closed the connection (end of stream or reset).</param>
/// <param name="Trailing">Bytes after the last complete response (none when the server speaks HTTP/1.1 properly).</param>
public sealed record RawExchange(IReadOnlyList<RawResponse> Responses, bool Closed, byte[] Trailing);

/// <summary>
/// HTTP/1.1 over a plain TCP socket, for requests no HTTP client library would send: smuggling
/// attempts, malformed framing, absolute-form targets, oversized headers.
/// </summary>
public static class RawHttp
{
    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/>, sends <paramref name="request"/>, then, when
    /// <paramref name="probe"/> is given and the connection is still open, sends it too (a request
    /// asking the server to close the connection after answering), and reads until the server closes
    /// the connection: every response the server wrote. Fails after <paramref name="timeoutSeconds"/>.
    /// </summary>
    public static async Task<RawExchange> ExchangeAsync(int port, byte[] request, byte[]? probe = null, double timeoutSeconds = 20)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, port);
        using var stream = client.GetStream();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        var received = new MemoryStream();
        var closed = false;
        // Read while writing: a server that answers before taking the whole request (a 413) and
        // closes must not have its answer lost to a reset.
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            try
            {
                while (true)
                {
                    var read = await stream.ReadAsync(buffer, deadline.Token);
                    if (read == 0)
                    {
                        closed = true;
                        return;
                    }
                    received.Write(buffer, 0, read);
                }
            }
            catch (IOException)
            {
                closed = true; // reset after the answer
            }
            catch (OperationCanceledException)
            {
                // Still open at the deadline: reported as not closed.
            }
        });
        try
        {
            await stream.WriteAsync(request, deadline.Token);
            if (probe is not null)
            {
                await stream.WriteAsync(probe, deadline.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The server closed the connection before taking everything: what it answered is read.
        }
        await reading;
        var (responses, trailing) = Parse(received.ToArray());
        return new RawExchange(responses, closed, trailing);
    }

    /// <summary>A request that only asks for <c>/healthz</c> and the connection's close: sent after an attack, it shows whether the connection still serves requests in order.</summary>
    public static readonly byte[] HealthProbe = Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");

    /// <summary>Splits <paramref name="data"/> into the HTTP/1.1 responses it holds; what follows the last complete one is returned apart.</summary>
    public static (IReadOnlyList<RawResponse> Responses, byte[] Trailing) Parse(byte[] data)
    {
        var responses = new List<RawResponse>();
        var position = 0;
        while (position < data.Length)
        {
            var start = position;
            var headEnd = IndexOf(data, "\r\n\r\n"u8, position);
            if (headEnd < 0)
            {
                break;
            }
            var head = Encoding.Latin1.GetString(data, position, headEnd - position).Split("\r\n");
            var statusParts = head[0].Split(' ', 3);
            if (statusParts.Length < 2 || !statusParts[0].StartsWith("HTTP/", StringComparison.Ordinal) || !int.TryParse(statusParts[1], out var status))
            {
                break;
            }
            var headers = head.Skip(1).Select(line =>
            {
                var colon = line.IndexOf(':');
                return colon < 0 ? new KeyValuePair<string, string>(line.ToLowerInvariant(), "")
                    : new KeyValuePair<string, string>(line[..colon].Trim().ToLowerInvariant(), line[(colon + 1)..].Trim());
            }).ToList();
            position = headEnd + 4;
            string? Find(string name) => headers.FirstOrDefault(h => h.Key == name).Value;
            byte[] body;
            if (Find("transfer-encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                var chunks = new MemoryStream();
                var complete = false;
                while (true)
                {
                    var lineEnd = IndexOf(data, "\r\n"u8, position);
                    if (lineEnd < 0)
                    {
                        break;
                    }
                    var sizeText = Encoding.Latin1.GetString(data, position, lineEnd - position).Split(';')[0].Trim();
                    if (!int.TryParse(sizeText, System.Globalization.NumberStyles.HexNumber, null, out var size) || lineEnd + 2 + size + 2 > data.Length)
                    {
                        break;
                    }
                    position = lineEnd + 2;
                    if (size == 0)
                    {
                        // Trailers (none from Kestrel), then the blank line.
                        var end = IndexOf(data, "\r\n"u8, position);
                        position = end < 0 ? data.Length : end + 2;
                        complete = true;
                        break;
                    }
                    chunks.Write(data, position, size);
                    position += size + 2;
                }
                if (!complete)
                {
                    position = start;
                    break;
                }
                body = chunks.ToArray();
            }
            else if (Find("content-length") is null && status is >= 200 and not 204 and not 304)
            {
                // Neither framing: the body runs to the close of the connection (an HTTP/1.0 answer).
                body = data[position..];
                position = data.Length;
            }
            else
            {
                var length = int.TryParse(Find("content-length"), out var declared) ? declared : 0;
                if (position + length > data.Length)
                {
                    position = start;
                    break;
                }
                body = data[position..(position + length)];
                position += length;
            }
            responses.Add(new RawResponse(status, headers, body, data[start..position]));
        }
        return (responses, data[position..]);
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> value, int from)
    {
        var found = data.AsSpan(from).IndexOf(value);
        return found < 0 ? -1 : from + found;
    }
}
