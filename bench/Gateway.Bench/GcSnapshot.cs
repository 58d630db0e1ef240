using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text.Json;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Reka.Gateway.Bench;

/// <summary>
/// One reading of a running .NET (9 or later) process's cumulative GC figures, taken over
/// EventPipe from the runtime's <c>System.Runtime</c> meter: the bytes it has allocated since it
/// started (<c>dotnet.gc.heap.total_allocated</c>, <c>GC.GetTotalAllocatedBytes()</c>) and its
/// collections by generation (<c>dotnet.gc.collections</c>: a gen1 collection counts as gen1
/// only, not also as gen0). Prints <c>{"allocated_bytes": N, "gen0": N, "gen1": N, "gen2": N}</c>.
/// bench/run.sh reads a process while it is idle just before and just after a measured run and
/// takes the differences; the reading itself (a short metrics session) happens outside the run.
/// </summary>
public static class GcSnapshot
{
    private static readonly string[] Keys = ["allocated_bytes", "gen0", "gen1", "gen2"];

    /// <summary>Reads process <c>pid</c> once; returns the exit code.</summary>
    public static async Task<int> RunAsync(Arguments args)
    {
        var pid = args.Int("pid");
        var sessionId = Guid.NewGuid().ToString("N");
        // MetricsEventSource (what dotnet-counters listens to): keyword 0x2 is its time series.
        // Observable counters publish their cumulative value at every interval, the first one
        // included; the first interval ends RefreshInterval seconds after the session starts.
        var provider = new EventPipeProvider("System.Diagnostics.Metrics", EventLevel.Informational, keywords: 0x2,
            arguments: new Dictionary<string, string>
            {
                ["SessionId"] = sessionId,
                ["Metrics"] = @"System.Runtime\dotnet.gc.heap.total_allocated;System.Runtime\dotnet.gc.collections",
                ["RefreshInterval"] = "0.2",
                ["MaxTimeSeries"] = "100",
                ["MaxHistograms"] = "10",
            });
        var values = new Dictionary<string, long>();
        var read = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var session = new DiagnosticsClient(pid).StartEventPipeSession(provider, requestRundown: false);
        using var source = new EventPipeEventSource(session.EventStream);
        source.Dynamic.All += e =>
        {
            if (e.ProviderName != "System.Diagnostics.Metrics")
            {
                return;
            }
            if (e.EventName is "Error" or "MultipleSessionsNotSupportedError" or "ObservableInstrumentCallbackError")
            {
                read.TrySetResult($"{e.EventName}: {string.Join(", ", e.PayloadNames.Select(n => $"{n}={e.PayloadByName(n)}"))}");
                return;
            }
            if (e.EventName != "CounterRateValuePublished" || e.PayloadByName("sessionId") as string != sessionId
                || e.PayloadByName("value") is not string value || value.Length == 0)
            {
                return;
            }
            var key = (e.PayloadByName("instrumentName") as string, e.PayloadByName("tags") as string) switch
            {
                ("dotnet.gc.heap.total_allocated", _) => "allocated_bytes",
                ("dotnet.gc.collections", { } tags) => tags.Replace("gc.heap.generation=", "", StringComparison.Ordinal),
                _ => null,
            };
            if (key is not null)
            {
                values[key] = (long)double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
            if (Keys.All(values.ContainsKey))
            {
                read.TrySetResult(null);
            }
        };
        var processing = Task.Run(source.Process);
        var error = await read.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await session.StopAsync(CancellationToken.None);
        await processing;
        if (error is not null)
        {
            Console.Error.WriteLine($"gc-snapshot: process {pid}: {error}");
            return 1;
        }
        Console.WriteLine(JsonSerializer.Serialize(Keys.ToDictionary(k => k, k => values[k])));
        return 0;
    }
}
