using System.Diagnostics;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// Slowloris against the gateway's own Kestrel settings (production's: headers within 30 s,
/// request bodies at 240 bytes/s after a 5 s grace): many connections trickle their headers, or
/// their body, a few bytes at a time. Each is cut off by Kestrel (408), and ordinary calls made
/// meanwhile are all served while every slow connection is still held open.
/// </summary>
public sealed class SlowClientTests(HostileStack stack, ITestOutputHelper output) : IClassFixture<HostileStack>
{
    private const int SlowConnections = 48;

    [Fact]
    public async Task SlowHeaders_AreCutOffByKestrel_WhileOrdinaryCallsAreServed()
    {
        var marker = Guid.NewGuid().ToString("N");
        var head = $"GET /v2/inference/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Hostile-Case: {marker}\r\n";
        await RunAsync("slowloris headers", marker, head, trickle: i => $"X-Slow-{i}: x\r\n", expectedStatus: 408, problemDetails: false, normalCalls: 10);
    }

    [Fact]
    public async Task SlowBody_IsCutOffByKestrel_WhileOrdinaryCallsAreServed()
    {
        var marker = Guid.NewGuid().ToString("N");
        var head = "POST /v2/inference/sora-2-pro/image-to-video HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
            $"X-Api-Key: {TestClients.Alice.Key}\r\nX-Hostile-Case: {marker}\r\nContent-Length: 100000\r\n\r\n{{\"input\":{{\"prompt\":\"";
        await RunAsync("slowloris body", marker, head, trickle: _ => "a", expectedStatus: 408, problemDetails: true, normalCalls: 3);
    }

    // Opens the slow connections, each sending `head` then `trickle` every second (the attacker's
    // pace) until Kestrel answers or closes; once all are open, makes `normalCalls` ordinary calls,
    // each of which must be answered 200 while slow connections are still held (within the 5 s of
    // the body's grace period, fewer fit); then waits for Kestrel to cut off every slow connection.
    private async Task RunAsync(string name, string marker, string head, Func<int, string> trickle, int expectedStatus, bool problemDetails, int normalCalls)
    {
        var opened = 0;
        var cut = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var slow = Enumerable.Range(0, SlowConnections).Select(async i =>
        {
            using var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync(IPAddress.Loopback, stack.Port);
            using var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), stop.Token);
            Interlocked.Increment(ref opened);
            var received = new MemoryStream();
            var reading = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                try
                {
                    int read;
                    while ((read = await stream.ReadAsync(buffer, stop.Token)) > 0)
                    {
                        received.Write(buffer, 0, read);
                    }
                }
                catch (IOException)
                {
                }
            });
            var sent = 0;
            while (!reading.IsCompleted)
            {
                await Task.WhenAny(reading, Task.Delay(1000, stop.Token));
                if (reading.IsCompleted)
                {
                    break;
                }
                try
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(trickle(sent++)), stop.Token);
                }
                catch (IOException)
                {
                    break;
                }
            }
            await reading;
            Interlocked.Increment(ref cut);
            return RawHttp.Parse(received.ToArray()).Responses.FirstOrDefault();
        }).ToList();

        await Eventually.ThatAsync(() => Task.FromResult(Volatile.Read(ref opened) == SlowConnections), 30, "every slow connection to be open");
        using var alice = stack.CreateClient();
        var latencies = new List<double>();
        var held = SlowConnections;
        for (var i = 0; i < normalCalls; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await alice.GetAsync("/v2/inference/models");
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            // Held: not yet cut off. (The body's 5 s grace may run out for some of them on a busy machine.)
            var stillHeld = SlowConnections - Volatile.Read(ref cut);
            held = Math.Min(held, stillHeld);
            Assert.True(stillHeld > 0, $"ordinary call {i + 1} was answered only after every slow connection had been cut off");
        }
        output.WriteLine($"{name}: {normalCalls} ordinary calls served while at least {held} of {SlowConnections} slow connections were held, " +
            $"in {latencies.Min():0} to {latencies.Max():0} ms");

        var answers = await Task.WhenAll(slow);
        for (var i = 0; i < answers.Length; i++)
        {
            var answer = answers[i];
            var status = answer?.Status ?? 0;
            var problem = answer is null ? null : HostileStack.ProblemDetailsOf(status, answer.Header("content-type")?.Split(';')[0], answer.Text);
            var leaks = answer is null ? 0 : stack.Secrets.Find(Encoding.Latin1.GetString(answer.Raw), name).Count;
            HostileFigures.Record(new CaseOutcome(HostileFigures.SlowClientsArea, $"{name} #{i + 1}", status, problem is not null,
                KestrelRefusal: !problemDetails && answer is { Body.Length: 0 }, FromReka: false, leaks));
            Assert.True(status == expectedStatus, $"{name} #{i + 1}: expected {expectedStatus}, got {(answer is null ? "no answer" : Encoding.Latin1.GetString(answer.Raw))}");
            Assert.True(!problemDetails || problem is not null, $"{name} #{i + 1}: not problem details: {answer!.Text}");
            Assert.Equal(0, leaks);
        }
        output.WriteLine($"{name}: all {SlowConnections} slow connections cut off by Kestrel with {expectedStatus}");
        Assert.Empty(stack.RequestsOf(marker));
        Assert.Empty(stack.ScanLogs());
        stack.AssertNoErrorLogs();
    }
}
