"""Turns bench/run.sh's raw figures into markdown tables, a JSON record and a gnuplot chart.

Usage (by bench/run.sh): report.py WORK RESULTS upload_idle_kib upload_peak_kib upload_bytes fanout_rate
with BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_ROUND_WARMUP_SECONDS and
BENCH_FANOUT_WARMUP_SECONDS in the environment (the rounds and the durations). It reads from WORK, for each round r (1 to BENCH_ROUNDS): wrk-<run>-<r>.txt (wrk's
reports), cpu-<run>-<r>.ticks (CPU time of the proxy's processes during the measured run, in
clock ticks), gc-<run>-<r>-before.json and gc-<run>-<r>-after.json (Gateway.Bench gc-snapshot
readings of a .NET proxy just before and after it) and startup-<name>-<r>.json; and fanout.json
(one entry per round), upload.tsv (lib.sh's measure_upload: "side seconds" per upload) and
runtime-env.txt (the DOTNET_ variables given to bare YARP and the gateway).

Each figure reported is the median of its rounds (with an even count, the mean of the middle two);
a ratio is between two such medians. Counts that must be zero (answers not 2xx, socket errors,
callbacks sent twice, deliveries missing) are summed over the rounds. latest.json keeps every
round's figures.
"""
import datetime
import json
import os
import re
import statistics
import sys

# Bytes the gateway allocated per proxied GET (the list call) before the work on its cost, the
# figure the target "half of it or less" is measured against: main at c5877ff (2026-11-29), same
# harness and wrk load, as an ordinary client (its page filtered) and as an admin.
BASELINE_ALLOC_BYTES_PER_GET = 19018
BASELINE_ALLOC_BYTES_PER_GET_ADMIN = 15982

work, results = sys.argv[1], sys.argv[2]
upload_idle_kib, upload_peak_kib = int(sys.argv[3]), int(sys.argv[4])
upload_bytes, fanout_rate = int(sys.argv[5]), int(sys.argv[6])
rounds = int(os.environ["BENCH_ROUNDS"])
seconds, warmup_seconds = int(os.environ["BENCH_SECONDS"]), int(os.environ["BENCH_WARMUP_SECONDS"])
round_warmup_seconds, fanout_warmup_seconds = int(os.environ["BENCH_ROUND_WARMUP_SECONDS"]), int(os.environ["BENCH_FANOUT_WARMUP_SECONDS"])

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def read(name):
    with open(os.path.join(work, name)) as f:
        return f.read()


def wrk(name):
    """Requests per second, p50 and p99 in ms, requests and non-2xx answers of one wrk report."""
    text = read(f"wrk-{name}.txt")

    def percentile(p):
        match = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        return float(match.group(1)) * UNITS[match.group(2)]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50_ms": percentile(50),
        "p99_ms": percentile(99),
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def proxied(name, dotnet):
    """A proxied GET run: wrk's figures, the CPU time per request, and for a .NET proxy the bytes
    allocated per request and the collections by generation during the measured run."""
    run = wrk(name)
    ticks = int(read(f"cpu-{name}.ticks"))
    run["cpu_seconds"] = ticks / CLK_TCK
    run["cpu_us_per_request"] = run["cpu_seconds"] * 1e6 / run["requests"]
    if dotnet:
        before, after = (json.loads(read(f"gc-{name}-{moment}.json")) for moment in ("before", "after"))
        run["allocated_bytes"] = after["allocated_bytes"] - before["allocated_bytes"]
        run["alloc_bytes_per_request"] = run["allocated_bytes"] / run["requests"]
        run["gc"] = {gen: after[gen] - before[gen] for gen in ("gen0", "gen1", "gen2")}
    return run


SUMMED = ("requests", "non_2xx", "socket_errors", "repeats", "callbacks_sent", "callbacks_accepted", "callbacks_failed",
          "deliveries_expected", "deliveries_received")


def medians(runs):
    """One run's shape with the median of each figure over the rounds (counts that must stay zero,
    and the totals, summed), and every round's own figures under "rounds"."""
    summary = {}
    for key, value in runs[0].items():
        if key in SUMMED:
            summary[key] = sum(run[key] for run in runs)
        elif isinstance(value, (int, float)):
            summary[key] = statistics.median(run[key] for run in runs)
        elif key == "gc":
            summary[key] = {gen: statistics.median(run["gc"][gen] for run in runs) for gen in value}
    summary["rounds"] = runs
    return summary


def ingest_round(r):
    run = wrk(f"ingest-{r}")
    # Callbacks wrk sent more than once (past its share of the prepared ones), from run.sh's script.
    run["repeats"] = int(re.search(r"callbacks sent more than once: (\d+)", read(f"wrk-ingest-{r}.txt")).group(1))
    return run


ROUNDS = range(1, rounds + 1)
direct = medians([wrk(f"direct-{r}") for r in ROUNDS])
nginx = medians([proxied(f"nginx-{r}", dotnet=False) for r in ROUNDS])
bare = medians([proxied(f"bare-yarp-{r}", dotnet=True) for r in ROUNDS])
gateway = medians([proxied(f"gateway-{r}", dotnet=True) for r in ROUNDS])
admin = medians([proxied(f"gateway-admin-{r}", dotnet=True) for r in ROUNDS])
cached = medians([wrk(f"cached-{r}") for r in ROUNDS])
ingest = medians([ingest_round(r) for r in ROUNDS])
fanout_rounds = json.loads(read("fanout.json"))["rounds"]
fanout = medians(fanout_rounds)
fanout["subscriptions"] = min(run["subscriptions"] for run in fanout_rounds)
fanout["machine_cpu_source"] = fanout_rounds[0]["machine_cpu_source"]
# The stages table shows the round whose fan-out p99 is the median (with an even count, the
# higher of the middle two): quantiles of different rounds do not combine.
fanout["stages"] = sorted(fanout_rounds, key=lambda run: run["p99_ms"])[len(fanout_rounds) // 2]["stages"]
startup = {}
for name in ("bare-yarp", "gateway"):
    figures = [json.loads(read(f"startup-{name}-{r}.json")) for r in ROUNDS]
    startup[name] = {"first_200_ms": statistics.median(f["first_200_ms"] for f in figures),
                     "idle_mib": statistics.median(f["idle_kib"] for f in figures) / 1024,
                     "rounds": [{"first_200_ms": f["first_200_ms"], "idle_mib": f["idle_kib"] / 1024} for f in figures]}
runtime_env = [line for line in read("runtime-env.txt").splitlines() if line]
upload_seconds = {}
for line in read("upload.tsv").splitlines():
    side, elapsed = line.split()
    upload_seconds.setdefault(side, []).append(float(elapsed))
mb = upload_bytes / 1e6
upload = {
    "rounds": len(upload_seconds["gateway"]),
    # Medians of the rounds, each side's own.
    "direct_mb_s": mb / statistics.median(upload_seconds["direct"]),
    "gateway_mb_s": mb / statistics.median(upload_seconds["gateway"]),
    "bare_yarp_mb_s": mb / statistics.median(upload_seconds["bare-yarp"]),
    "seconds": upload_seconds,
    "peak_growth_mib": (upload_peak_kib - upload_idle_kib) / 1024,
}

# --- Tables -------------------------------------------------------------------------------------


def table(header, rows, numbers=True):
    aligns = ["---"] + ["---:" if numbers else "---"] * (len(header) - 1)
    lines = [header, aligns] + rows
    return "".join("| " + " | ".join(line) + " |\n" for line in lines)


def gcs(run):
    return " / ".join(f"{run['gc'][gen]:g}" for gen in ("gen0", "gen1", "gen2"))


PROXIES = (("nginx", nginx), ("bare YARP", bare), ("gateway, ordinary client", gateway), ("gateway, admin", admin))
proxied_rows = [["direct (simulator, no proxy)", f"{direct['rps']:,.0f}", f"{direct['p50_ms']:.2f}",
                 f"{direct['p99_ms']:.2f}", "", "", ""]]
for label, run in PROXIES:
    proxied_rows.append([label, f"{run['rps']:,.0f}", f"{run['p50_ms']:.2f}", f"{run['p99_ms']:.2f}",
                         f"{run['cpu_us_per_request']:.1f}",
                         f"{run['alloc_bytes_per_request']:,.0f}" if "gc" in run else "",
                         gcs(run) if "gc" in run else ""])
proxied_table = table(["Proxied GET (list)", "requests/s", "p50, ms", "p99, ms", "CPU µs/request",
                       "bytes allocated/request", "GCs gen0 / gen1 / gen2"], proxied_rows)

startup_table = table(["Start-up", "first 200 on the list call, ms", "idle memory, MiB"],
                      [[label, f"{startup[name]['first_200_ms']:,.0f}", f"{startup[name]['idle_mib']:.1f}"]
                       for label, name in (("bare YARP", "bare-yarp"), ("gateway", "gateway"))])

other_table = table(["Measure", "Gateway", "Direct", "Bare YARP"], [
    ["Cached result GET, requests/s", f"{cached['rps']:,.0f}", "", ""],
    ["Cached result GET p99, ms", f"{cached['p99_ms']:.2f}", "", ""],
    ["Callback ingest, callbacks/s", f"{ingest['rps']:,.0f}", "", ""],
    ["Callback ingest p99, ms", f"{ingest['p99_ms']:.2f}", "", ""],
    [f"Fan-out p50, ms ({fanout['rate_achieved']:,.0f} callbacks/s, {fanout['subscriptions']} subscriptions)",
     f"{fanout['p50_ms']:.1f}", "", ""],
    ["Fan-out p99, ms", f"{fanout['p99_ms']:.1f}", "", ""],
    ["Fan-out CPU µs/callback: gateway / Redis / simulator / load generator and subscriber / whole machine",
     " / ".join(f"{fanout['cpu_us_per_callback_' + name]:,.0f}" for name in ("gateway", "redis", "simulator", "load_generator", "machine")), "", ""],
    ["Fan-out: the machine's cores busy, % (to the last delivery)", f"{fanout['machine_busy_percent']:.0f}", "", ""],
    [f"Upload 1 GiB, MB/s (median of {upload['rounds']} rounds)", f"{upload['gateway_mb_s']:,.0f}",
     f"{upload['direct_mb_s']:,.0f}", f"{upload['bare_yarp_mb_s']:,.0f}"],
    ["Upload peak memory growth, MiB", f"{upload['peak_growth_mib']:.1f}", "", ""],
])

# Where a delivery's time goes: the gateway's own histograms of each stage over the fan-out run's
# measured window (FanOut.cs, StageTimes.cs). Each stage's p99 is its own; they do not add up.
stages_table = table(["Fan-out stage (gateway's histograms)", "measurements", "p50, ms", "p99, ms"],
                     [[s["stage"], f"{s['count']:,}", f"{s['p50_ms']:.2f}", f"{s['p99_ms']:.2f}"] for s in fanout["stages"]])

# --- Targets ------------------------------------------------------------------------------------

targets = []  # (target, measured, met)


def target(text, measured, met):
    targets.append((text, measured, met))


def by_round(figure, *sides):
    """Each round's figure, from the sides' figures of that round: "by round: a, b, c"."""
    return "by round: " + ", ".join(figure(*runs) for runs in zip(*(side["rounds"] for side in sides)))


for label, run, baseline in (("ordinary client", gateway, BASELINE_ALLOC_BYTES_PER_GET),
                             ("admin", admin, BASELINE_ALLOC_BYTES_PER_GET_ADMIN)):
    # A run with answers other than 2xx measured something else than the list call.
    clean = run["non_2xx"] == 0 and bare["non_2xx"] == 0 and nginx["non_2xx"] == 0
    cpu_ratio = run["cpu_us_per_request"] / bare["cpu_us_per_request"]
    target(f"Proxied GET, gateway ({label}): CPU per request <= 1.3x bare YARP's",
           f"{cpu_ratio:.2f}x ({run['cpu_us_per_request']:.1f} µs against {bare['cpu_us_per_request']:.1f} µs; "
           + by_round(lambda g, b: f"{g['cpu_us_per_request'] / b['cpu_us_per_request']:.2f}x", run, bare) + ")",
           clean and cpu_ratio <= 1.3)
    target(f"Proxied GET, gateway ({label}): requests/s >= 0.8x bare YARP's and >= 0.7x nginx's",
           f"{run['rps'] / bare['rps']:.2f}x bare YARP, {run['rps'] / nginx['rps']:.2f}x nginx ("
           + by_round(lambda g, b, n: f"{g['rps'] / b['rps']:.2f}x and {g['rps'] / n['rps']:.2f}x", run, bare, nginx) + ")",
           clean and run["rps"] >= 0.8 * bare["rps"] and run["rps"] >= 0.7 * nginx["rps"])
    target(f"Proxied GET, gateway ({label}): p99 <= bare YARP's + 1 ms",
           f"{run['p99_ms']:.2f} ms against {bare['p99_ms']:.2f} ms ("
           + by_round(lambda g, b: f"{g['p99_ms'] - b['p99_ms']:+.2f} ms", run, bare) + ")",
           clean and run["p99_ms"] <= bare["p99_ms"] + 1)
    alloc = run["alloc_bytes_per_request"]
    target(f"Bytes allocated per proxied GET, gateway ({label}): half of the baseline or less",
           f"{alloc:,.0f} B against {baseline:,.0f} B ({alloc / baseline:.2f}x)", clean and alloc <= 0.5 * baseline)
target("Cached result GET >= 3x the proxied GET (gateway, ordinary client)",
       f"{cached['rps'] / gateway['rps']:.2f}x (" + by_round(lambda c, g: f"{c['rps'] / g['rps']:.2f}x", cached, gateway) + ")",
       cached["non_2xx"] == 0 and cached["rps"] >= 3 * gateway["rps"])
target("Callback ingest >= 10,000 callbacks/s, p99 < 10 ms, every callback 2xx (and new)",
       f"{ingest['rps']:,.0f}/s, p99 {ingest['p99_ms']:.2f} ms ("
       + by_round(lambda i: f"{i['rps']:,.0f}/s and {i['p99_ms']:.2f} ms", ingest) + f"), {ingest['non_2xx']} not 2xx, "
       f"{ingest['repeats']:,} sent more than once",
       ingest["rps"] >= 10000 and ingest["p99_ms"] < 10 and ingest["non_2xx"] == 0 and ingest["repeats"] == 0)
target("Fan-out p99 < 100 ms at 1,000 callbacks/s x 10 subscriptions, every delivery received",
       f"{fanout['p99_ms']:.1f} ms at {fanout['rate_achieved']:,.0f}/s x {fanout['subscriptions']} ("
       + by_round(lambda f: f"{f['p99_ms']:.1f} ms", fanout) + f"), "
       f"{fanout['deliveries_received']:,} of {fanout['deliveries_expected']:,} received; the whole machine took "
       f"{fanout['cpu_us_per_callback_machine']:,.0f} µs of CPU per callback, {fanout['cpu_us_per_callback_machine'] * fanout['rate_achieved'] / 1e6:.1f} "
       f"cores at this rate, of its {os.cpu_count()}",
       fanout_rate >= 1000 and fanout["rate_achieved"] >= 0.98 * fanout_rate and fanout["subscriptions"] >= 10
       and fanout["p99_ms"] < 100 and fanout["deliveries_received"] == fanout["deliveries_expected"])
target("Upload of 1 GiB >= 0.9x direct",
       f"{upload['gateway_mb_s'] / upload['direct_mb_s']:.2f}x (bare YARP {upload['bare_yarp_mb_s'] / upload['direct_mb_s']:.2f}x)",
       upload["gateway_mb_s"] >= 0.9 * upload["direct_mb_s"])
target("Upload peak memory growth < 16 MiB", f"{upload['peak_growth_mib']:.1f} MiB", upload["peak_growth_mib"] < 16)
idle_ratio = startup["gateway"]["idle_mib"] / startup["bare-yarp"]["idle_mib"]
target("Idle memory, gateway <= 1.5x bare YARP's",
       f"{idle_ratio:.2f}x ({startup['gateway']['idle_mib']:.1f} MiB against {startup['bare-yarp']['idle_mib']:.1f} MiB; "
       + by_round(lambda g, b: f"{g['idle_mib'] / b['idle_mib']:.2f}x", startup["gateway"], startup["bare-yarp"]) + ")",
       idle_ratio <= 1.5)


def met(ok):
    return "yes" if ok else "**no**"


targets_table = table(["Target", "Measured", "Met"], [[text, measured, met(ok)] for text, measured, ok in targets],
                      numbers=False)

when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
not_2xx = ", ".join(f"{label} {run['non_2xx']:,}" for label, run in (("direct", direct),) + PROXIES if run["non_2xx"])
socket_errors = ", ".join(f"{label} {run['socket_errors']:,}" for label, run in (("direct", direct),) + PROXIES
                          if run["socket_errors"])
notes = (f"`bench/run.sh`, {when}, {os.cpu_count()} cores, load generator on the same machine. "
         f"{rounds} rounds in one run, each side measured once a round, in turn; every figure is the median of its rounds "
         f"(the fan-out stages: the round of the median p99), counts of failures their sum. "
         f"wrk -t2 -c64, {seconds} s after a {warmup_seconds} s warm-up in the first round and {round_warmup_seconds} s in the others "
         f"(ingest: -c32, 5 s a round after one {warmup_seconds} s warm-up on callbacks of its own; fan-out: {seconds} s a round after one {fanout_warmup_seconds} s warm-up). "
         f"Runtime settings of bare YARP and the gateway: "
         f"{' '.join(runtime_env) if runtime_env else 'defaults (no DOTNET_ variables)'}. "
         f"CPU µs/request: the proxy's user + system CPU time during the measured run (nginx: master and workers) "
         f"over the requests wrk counted; bytes allocated/request and GCs: the .NET process's allocated bytes and "
         f"collections over the same run (each counted once, under the generation it collected), read while it "
         f"was idle just before and after. "
         f"The ordinary client's list page holds other clients' requests, which the gateway filters out. "
         f"Proxied GET answers not 2xx: {not_2xx or 'none'}; wrk socket errors: {socket_errors or 'none'}. "
         f"Fan-out: {fanout['deliveries_received']:,} of {fanout['deliveries_expected']:,} deliveries received, "
         f"{fanout['callbacks_failed']} callbacks refused; its CPU per callback is each process's user + system "
         f"time (the machine's: " + ("every task's run time in the root cgroup's cpuacct.usage" if fanout["machine_cpu_source"] == "cpuacct.usage"
                                 else "every core's busy time in /proc/stat, sampled at each clock tick") + ") from the first measured callback to the last "
         f"delivery, over the callbacks sent; its stages are the gateway's own histograms "
         f"(gateway.queue.wait.duration, gateway.queue.job.duration, gateway.delivery.attempt.duration, http.server.request.duration), "
         f"read over EventPipe with one interval covering the measured window plus 3 s (a stage of several series, such as the callback request by status, counts them all and gives the quantiles of its largest). Ingest: {ingest['requests']:,} callbacks, "
         f"{ingest['non_2xx']} not 2xx.\n")
report = "\n".join((proxied_table, startup_table, other_table, stages_table, targets_table, notes))
print()
print(report)

with open(os.path.join(results, "latest.md"), "w") as f:
    f.write(report)
with open(os.path.join(results, "latest.json"), "w") as f:
    json.dump({
        "when": when, "cores": os.cpu_count(), "runtime_env": runtime_env,
        "rounds": rounds, "wrk": {"threads": 2, "connections": 64, "seconds": seconds, "warmup_seconds": warmup_seconds},
        "proxied_get": {"direct": direct, "nginx": nginx, "bare_yarp": bare, "gateway": gateway, "gateway_admin": admin},
        "startup": {"bare_yarp": startup["bare-yarp"], "gateway": startup["gateway"]},
        "cached": cached, "ingest": ingest, "fanout": fanout, "upload": upload,
        "baseline_alloc_bytes_per_get": {"gateway": BASELINE_ALLOC_BYTES_PER_GET, "gateway_admin": BASELINE_ALLOC_BYTES_PER_GET_ADMIN},
        "targets": [{"target": text, "measured": measured, "met": ok} for text, measured, ok in targets],
    }, f, indent=2, ensure_ascii=False)

# --- Chart --------------------------------------------------------------------------------------

with open(os.path.join(work, "throughput.dat"), "w") as f:
    for label, run in (("direct list", direct), ("nginx list", nginx), ("bare YARP list", bare), ("gateway list, client", gateway),
                       ("gateway list, admin", admin), ("gateway cached", cached), ("callback ingest", ingest)):
        f.write(f'"{label}" {run["rps"]:.0f}\n')
with open(os.path.join(work, "latency.dat"), "w") as f:
    for label, run in (("direct list", direct), ("nginx list", nginx), ("bare YARP list", bare), ("gateway list, client", gateway),
                       ("gateway list, admin", admin), ("gateway cached", cached), ("callback ingest", ingest),
                       ("fan-out", fanout)):
        f.write(f'"{label}" {run["p50_ms"]:.2f} {run["p99_ms"]:.2f}\n')
with open(os.path.join(work, "cpu.dat"), "w") as f:
    for label, run in (("nginx", nginx), ("bare YARP", bare), ("gateway, client", gateway), ("gateway, admin", admin)):
        f.write(f'"{label}" {run["cpu_us_per_request"]:.1f}\n')
with open(os.path.join(work, "latest.gnuplot"), "w") as f:
    f.write(f"""set terminal png size 1600,500 font ",10"
set output "{os.path.join(results, 'latest.png')}"
set multiplot layout 1,3 title "Reka gateway beside direct calls, nginx and bare YARP ({when})"
set tmargin 4
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set grid ytics
set xtics rotate by -30
set yrange [0:*]
set title "Throughput (requests/s, higher is better)"
plot "{os.path.join(work, 'throughput.dat')}" using 2:xtic(1) notitle linecolor rgb "#3b7dd8"
set title "CPU per proxied GET (microseconds, lower is better)"
plot "{os.path.join(work, 'cpu.dat')}" using 2:xtic(1) notitle linecolor rgb "#8a6fc1"
set style histogram clustered gap 1
set title "Latency (ms, lower is better)"
set logscale y
set yrange [0.1:*]
plot "{os.path.join(work, 'latency.dat')}" using 2:xtic(1) title "p50" linecolor rgb "#7fb77e", "" using 3 title "p99" linecolor rgb "#d8743b"
unset multiplot
""")
