using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reka.Gateway.Events;

namespace Reka.Gateway.Bench;

/// <summary>
/// Fan-out latency: creates <c>subscriptions</c> subscriptions pointing at a subscriber hosted
/// here, sends genuine callbacks at a steady <c>rate</c> for <c>seconds</c>, and times each
/// delivery from the moment its callback's 2xx came back to the moment the subscriber got it.
/// The first <c>warmup</c> seconds of callbacks are sent the same way but not measured, so the
/// figures are the steady state, not the just-in-time compilation of a cold process. Then it
/// measures <c>rounds</c> windows in a row (default 1), each once every delivery of the one before
/// has arrived. Prints one JSON object: <c>rounds</c>, one entry per window with the rate
/// achieved, deliveries expected and received, p50/p99/max in ms and where the time went: the
/// histograms of each stage that the gateway (process <c>pid</c>) recorded over that window
/// (<see cref="StageTimes"/>), and the CPU time each process took over it per callback
/// (<see cref="CpuShares"/>): the gateway, the processes named by <c>cpu</c>
/// (<c>name=pid,name=pid</c>), this tool (the load generator and the subscriber) and the whole
/// machine, with the share of the machine's cores that was busy.
/// </summary>
public static class FanOut
{
    /// <summary>Runs the measurement; returns the exit code.</summary>
    public static async Task<int> RunAsync(Arguments args)
    {
        var rate = args.Int("rate");
        var seconds = args.Int("seconds");
        var warmup = args.Int("warmup");
        var subscriptionCount = args.Int("subscriptions");
        var roundCount = args.Int("rounds", 1);
        var callbacks = (await File.ReadAllLinesAsync(args["callbacks"])).Select(l => l.Split('\t')).ToList();
        if (callbacks.Count < rate * (warmup + roundCount * seconds))
        {
            throw new ArgumentException($"{callbacks.Count} callbacks prepared; {rate * (warmup + roundCount * seconds)} are needed.");
        }

        // The subscriber: records when each (event, subscription) arrives. It reads only the
        // webhook-id header (the event id): the load generator must stay cheap beside the gateway.
        var arrivals = new ConcurrentDictionary<(string EventId, string Path), long>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        await using var subscriber = builder.Build();
        subscriber.Run(context =>
        {
            arrivals.TryAdd((context.Request.Headers["webhook-id"].ToString(), context.Request.Path), Stopwatch.GetTimestamp());
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
        await subscriber.StartAsync();
        var subscriberUrl = subscriber.Urls.First();

        using var gateway = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(args["gateway"]) };
        using var admin = new HttpClient { BaseAddress = new Uri(args["gateway"]) };
        admin.DefaultRequestHeaders.Add("X-Api-Key", args["key"]);
        for (var n = 0; n < subscriptionCount; n++)
        {
            (await admin.PostAsJsonAsync("/subscriptions", new { url = $"{subscriberUrl}/hooks/{n}" })).EnsureSuccessStatusCode();
        }
        await Task.Delay(TimeSpan.FromSeconds(3)); // every replica's subscription snapshot (2 s) now has them

        var warmupEnd = await SendAsync(gateway, callbacks[..(rate * warmup)], rate, new ConcurrentDictionary<string, long>());
        var warmupDeadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        while (arrivals.Count < warmupEnd * subscriptionCount && Stopwatch.GetTimestamp() < warmupDeadline)
        {
            await Task.Delay(100);
        }

        var cpuProcesses = new Dictionary<string, int> { ["gateway"] = args.Int("pid"), ["load_generator"] = Environment.ProcessId };
        foreach (var named in args.Optional("cpu")?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? [])
        {
            var nameAndPid = named.Split('=', 2);
            cpuProcesses[nameAndPid[0]] = int.Parse(nameAndPid[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        var total = rate * seconds;
        var rounds = new List<object>();
        for (var round = 0; round < roundCount; round++)
        {
            arrivals.Clear();
            var measured = callbacks.Skip(rate * warmup + round * total).Take(total).ToList();
            rounds.Add(await MeasureAsync(gateway, measured, rate, seconds, subscriptionCount, cpuProcesses, arrivals));
        }
        Console.WriteLine(JsonSerializer.Serialize(new { rounds }));
        await subscriber.StopAsync();
        return 0;
    }

    // One measured window: sends the callbacks at the rate, waits for their deliveries (60 s at
    // most) and the gateway's stage histograms over the window.
    // cpuProcesses names the gateway's process "gateway".
    private static async Task<object> MeasureAsync(HttpClient gateway, List<string[]> callbacks, int rate, int seconds, int subscriptionCount,
        IReadOnlyDictionary<string, int> cpuProcesses, ConcurrentDictionary<(string EventId, string Path), long> arrivals)
    {
        var accepted = new ConcurrentDictionary<string, long>();
        // The window: the measured sends and a few seconds for their last deliveries.
        var window = TimeSpan.FromSeconds(seconds + 3);
        await using var stages = StageTimes.Start(cpuProcesses["gateway"], window);
        var cpu = CpuShares.Read(cpuProcesses);
        var start = Stopwatch.GetTimestamp();
        var failures = callbacks.Count - await SendAsync(gateway, callbacks, rate, accepted);
        var sendSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

        var expected = accepted.Count * subscriptionCount;
        var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        while (arrivals.Count < expected && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(100);
        }
        // Up to the last delivery: the CPU the measured callbacks took, their backlog included.
        var cpuPerCallback = CpuShares.Read(cpuProcesses).PerCallbackSince(cpu, callbacks.Count);
        var latencies = arrivals
            .Where(a => accepted.ContainsKey(a.Key.EventId))
            .Select(a => (a.Value - accepted[a.Key.EventId]) * 1000.0 / Stopwatch.Frequency)
            .Order()
            .ToList();
        var stageTimes = await stages.ReadAsync(window + TimeSpan.FromSeconds(30));
        // Null without deliveries (no subscriptions): JSON has no NaN.
        double? Percentile(double p) => latencies.Count == 0 ? null : Math.Round(latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)], 2);
        return new
        {
            callbacks_sent = callbacks.Count,
            callbacks_accepted = accepted.Count,
            callbacks_failed = failures,
            rate_achieved = Math.Round(callbacks.Count / sendSeconds, 1),
            subscriptions = subscriptionCount,
            deliveries_expected = expected,
            deliveries_received = latencies.Count,
            p50_ms = Percentile(0.50),
            p99_ms = Percentile(0.99),
            max_ms = Percentile(1.0),
            cpu_us_per_callback_gateway = cpuPerCallback.Processes["gateway"],
            cpu_us_per_callback_redis = cpuPerCallback.Processes.TryGetValue("redis", out var redis) ? redis : (double?)null,
            cpu_us_per_callback_simulator = cpuPerCallback.Processes.TryGetValue("simulator", out var simulator) ? simulator : (double?)null,
            cpu_us_per_callback_load_generator = cpuPerCallback.Processes["load_generator"],
            cpu_us_per_callback_machine = cpuPerCallback.Machine,
            machine_busy_percent = cpuPerCallback.BusyPercent,
            machine_cpu_source = CpuShares.MachineSource,
            stages = stageTimes.Select(s => new { stage = s.Stage, count = s.Count, p50_ms = s.P50Ms, p99_ms = s.P99Ms }),
        };
    }

    // Open-loop pacing: callback i leaves at i / rate seconds, whatever the earlier ones do.
    // Returns how many were accepted (2xx); their 2xx times go to accepted, by the event id the
    // gateway gives a request's completion (Reka.Gateway.Events.InferenceEvent.IdFor).
    private static async Task<int> SendAsync(HttpClient gateway, List<string[]> callbacks, int rate, ConcurrentDictionary<string, long> accepted)
    {
        var start = Stopwatch.GetTimestamp();
        var succeeded = 0;
        var sends = new List<Task>(callbacks.Count);
        for (var i = 0; i < callbacks.Count; i++)
        {
            var due = start + (long)(i * (double)Stopwatch.Frequency / rate);
            while (Stopwatch.GetTimestamp() < due - Stopwatch.Frequency / 1000)
            {
                await Task.Delay(1);
            }
            var (path, body) = (callbacks[i][0], callbacks[i][1]);
            var eventId = InferenceEvent.IdFor(JsonDocument.Parse(body).RootElement.GetProperty("request_id").GetString()!, "COMPLETED");
            sends.Add(Task.Run(async () =>
            {
                using var response = await gateway.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
                if (response.IsSuccessStatusCode)
                {
                    accepted[eventId] = Stopwatch.GetTimestamp();
                    Interlocked.Increment(ref succeeded);
                }
            }));
        }
        await Task.WhenAll(sends);
        return succeeded;
    }

    /// <summary>
    /// CPU time: each process's user + system time, all its threads
    /// (<see cref="Process.TotalProcessorTime"/>), and the whole machine's, with the moment they
    /// were read. The machine's is the root cgroup's <c>cpuacct.usage</c> (the scheduler's own
    /// count, in ns, of every task's run time) where cgroup v1's cpuacct is mounted; else its busy
    /// clock ticks from <c>/proc/stat</c> (user, nice, system, irq, softirq, steal; idle: idle,
    /// iowait), which are sampled at each tick and read low when the cores go idle between short
    /// bursts (at 600 callbacks/s, 1,274 µs per callback against 2,169 for the processes alone).
    /// </summary>
    private sealed record CpuShares(IReadOnlyDictionary<string, TimeSpan> Processes, long MachineBusy, long MachineIdle, long Timestamp)
    {
        private const string CpuacctUsage = "/sys/fs/cgroup/cpuacct/cpuacct.usage";
        private static readonly bool FromCpuacct = File.Exists(CpuacctUsage);

        /// <summary>Where the machine's CPU time is read: <c>cpuacct.usage</c> or <c>/proc/stat</c>.</summary>
        public static string MachineSource => FromCpuacct ? "cpuacct.usage" : "/proc/stat";

        public static CpuShares Read(IReadOnlyDictionary<string, int> processes)
        {
            var times = processes.ToDictionary(p => p.Key, p =>
            {
                using var process = Process.GetProcessById(p.Value);
                return process.TotalProcessorTime;
            });
            if (FromCpuacct)
            {
                // Nanoseconds of CPU; no idle count: the share is taken against the elapsed time.
                return new CpuShares(times, long.Parse(File.ReadAllText(CpuacctUsage).Trim()), 0, Stopwatch.GetTimestamp());
            }
            var machine = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            return new CpuShares(times, machine[0] + machine[1] + machine[2] + machine[5] + machine[6] + machine[7], machine[3] + machine[4],
                Stopwatch.GetTimestamp());
        }

        /// <summary>
        /// µs of CPU per callback of each process and of the machine since <paramref name="before"/>, and the busy share of
        /// the machine's cores (%). From <c>/proc/stat</c>, the machine's is its busy share of every core's time since then,
        /// so no tick length is assumed.
        /// </summary>
        public (Dictionary<string, double> Processes, double Machine, double BusyPercent) PerCallbackSince(CpuShares before, int callbacks)
        {
            var cores = Stopwatch.GetElapsedTime(before.Timestamp, Timestamp).TotalMicroseconds * Environment.ProcessorCount;
            var busy = MachineBusy - before.MachineBusy;
            var machine = FromCpuacct
                ? busy / 1000.0
                : (double)busy / Math.Max(1, busy + MachineIdle - before.MachineIdle) * cores;
            return (Processes.ToDictionary(p => p.Key, p => Math.Round((p.Value - before.Processes[p.Key]).TotalMicroseconds / callbacks, 0)),
                Math.Round(machine / callbacks, 0), Math.Round(100 * machine / cores, 1));
        }
    }
}
