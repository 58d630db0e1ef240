using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Reka.Gateway.Tests.Infrastructure;

/// <summary>
/// Kestrel's connection cap, set as the README says (<c>Kestrel__Limits__MaxConcurrentConnections</c>),
/// on a gateway process of its own.
/// </summary>
[Collection(ProxyCollection.Name)]
public sealed class ConnectionLimitTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task AConnectionOverKestrelsCap_IsClosedUnanswered_AndItsSlotFreesWhenAnotherCloses()
    {
        await using var gateway = GatewayProcess.Start(await Stack.GatewaySettingsAsync(("Kestrel:Limits:MaxConcurrentConnections", "1")));
        await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));

        // The start-up probe's connection may still hold the one slot for a moment: wait for a
        // connection that is answered, and keep it open.
        TcpClient? held = null;
        try
        {
            await Eventually.ThatAsync(async () =>
            {
                held?.Dispose();
                held = await ConnectAsync(gateway);
                return await HealthzAsync(held) is not null;
            }, 30, "a connection answered while no other is open");

            using (var refused = await ConnectAsync(gateway))
            {
                Assert.Null(await HealthzAsync(refused));
            }
            Assert.StartsWith("HTTP/1.1 200", await HealthzAsync(held!)); // the held one is still served
            await Eventually.ThatAsync(() => Task.FromResult(gateway.StandardOutput.Contains("maximum number of concurrent connections")),
                30, "the refusal logged for whoever is on call");
        }
        finally
        {
            held?.Dispose();
        }

        await Eventually.ThatAsync(async () =>
        {
            using var next = await ConnectAsync(gateway);
            return await HealthzAsync(next) is not null;
        }, 30, "a new connection answered once the held one closed");
    }

    private static async Task<TcpClient> ConnectAsync(GatewayProcess gateway)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, gateway.BaseAddress.Port);
        return client;
    }

    // The status line of GET /healthz on this connection (kept alive), or null when the gateway
    // closed the connection without an answer. The whole response is read, however the socket
    // splits it, so that the next call on the connection starts at the next response.
    private static async Task<string?> HealthzAsync(TcpClient connection)
    {
        var stream = connection.GetStream();
        try
        {
            await stream.WriteAsync("GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"u8.ToArray());
            var response = new StringBuilder();
            var buffer = new byte[4096];
            while (!IsComplete(response.ToString()))
            {
                var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                if (read == 0)
                {
                    return response.Length == 0 ? null : throw new InvalidOperationException($"closed in the middle of a response: {response}");
                }
                response.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
            return response.ToString().Split("\r\n")[0];
        }
        catch (IOException)
        {
            return null; // reset by the gateway
        }
    }

    // Whether a response's head and body (by Content-Length, or chunks up to the last) have all come.
    private static bool IsComplete(string response)
    {
        var end = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }
        var head = response[..end];
        var body = response[(end + 4)..];
        var length = head.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is not null
            ? body.Length >= int.Parse(length["Content-Length:".Length..].Trim())
            : !head.Contains("chunked", StringComparison.OrdinalIgnoreCase) || body.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
    }
}
