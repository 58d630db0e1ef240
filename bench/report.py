"""Turns bench/run.sh's raw figures into the markdown table, a JSON record and a gnuplot chart.

Usage (by bench/run.sh): report.py WORK RESULTS idle_kib upload_idle_kib upload_peak_kib
                         upload_gateway_s upload_direct_s upload_bytes fanout_rate
"""
import datetime
import json
import os
import re
import sys

work, results = sys.argv[1], sys.argv[2]
idle_kib, upload_idle_kib, upload_peak_kib = (int(v) for v in sys.argv[3:6])
upload_gateway_s, upload_direct_s = float(sys.argv[6]), float(sys.argv[7])
upload_bytes, fanout_rate = int(sys.argv[8]), int(sys.argv[9])

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(name):
    """Requests per second, p50 and p99 in ms, requests and non-2xx answers of one wrk report."""
    text = open(os.path.join(work, f"wrk-{name}.txt")).read()
    percentile = lambda p: float(re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).group(1)) * UNITS[
        re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50_ms": percentile(50),
        "p99_ms": percentile(99),
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


direct, nginx, gateway, cached, ingest = (wrk(n) for n in ("direct", "nginx", "gateway", "cached", "ingest"))
fanout = json.load(open(os.path.join(work, "fanout.json")))
mb = upload_bytes / 1e6
upload = {
    "gateway_mb_s": mb / upload_gateway_s,
    "direct_mb_s": mb / upload_direct_s,
    "peak_growth_mib": (upload_peak_kib - upload_idle_kib) / 1024,
}
idle_mib = idle_kib / 1024

def met(ok):
    return "yes" if ok else "**no**"

rows = [
    ("Proxied GET (list), requests/s", f"{direct['rps']:,.0f}", f"{nginx['rps']:,.0f}", f"{gateway['rps']:,.0f}",
     f"{gateway['rps'] / nginx['rps']:.2f}", f"{gateway['rps'] / direct['rps']:.2f}", ">= 0.8x nginx",
     met(gateway["rps"] >= 0.8 * nginx["rps"])),
    ("Proxied GET p50, ms", f"{direct['p50_ms']:.2f}", f"{nginx['p50_ms']:.2f}", f"{gateway['p50_ms']:.2f}",
     f"{gateway['p50_ms'] / nginx['p50_ms']:.2f}", f"{gateway['p50_ms'] / direct['p50_ms']:.2f}", "", ""),
    ("Proxied GET p99, ms", f"{direct['p99_ms']:.2f}", f"{nginx['p99_ms']:.2f}", f"{gateway['p99_ms']:.2f}",
     f"{gateway['p99_ms'] / nginx['p99_ms']:.2f}", f"{gateway['p99_ms'] / direct['p99_ms']:.2f}", "<= nginx + 1 ms",
     met(gateway["p99_ms"] <= nginx["p99_ms"] + 1)),
    ("Cached result GET, requests/s", "", "", f"{cached['rps']:,.0f}", "", "",
     ">= 2x proxied GET", f"{met(cached['rps'] >= 2 * gateway['rps'])} ({cached['rps'] / gateway['rps']:.2f}x)"),
    ("Cached result GET p99, ms", "", "", f"{cached['p99_ms']:.2f}", "", "", "", ""),
    ("Callback ingest, callbacks/s", "", "", f"{ingest['rps']:,.0f}", "", "", ">= 5,000",
     met(ingest["rps"] >= 5000 and ingest["non_2xx"] == 0)),
    ("Callback ingest p99, ms", "", "", f"{ingest['p99_ms']:.2f}", "", "", "< 20 ms", met(ingest["p99_ms"] < 20)),
    (f"Fan-out p50, ms ({fanout['rate_achieved']:,.0f} callbacks/s, {fanout['subscriptions']} subscriptions)", "", "",
     f"{fanout['p50_ms']:.1f}", "", "", "", ""),
    ("Fan-out p99, ms", "", "", f"{fanout['p99_ms']:.1f}", "", "", "< 100 ms",
     met(fanout["p99_ms"] < 100 and fanout["deliveries_received"] == fanout["deliveries_expected"])),
    ("Upload 1 GiB, MB/s", f"{upload['direct_mb_s']:,.0f}", "", f"{upload['gateway_mb_s']:,.0f}", "",
     f"{upload['gateway_mb_s'] / upload['direct_mb_s']:.2f}", ">= 0.8x direct",
     met(upload["gateway_mb_s"] >= 0.8 * upload["direct_mb_s"])),
    ("Upload peak memory growth, MiB", "", "", f"{upload['peak_growth_mib']:.1f}", "", "", "< 64",
     met(upload["peak_growth_mib"] < 64)),
    ("Idle memory, MiB", "", "", f"{idle_mib:.1f}", "", "", "< 150", met(idle_mib < 150)),
]

header = ("| Measure | Direct | nginx | Gateway | Gateway/nginx | Gateway/direct | Target | Met |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
table = header + "".join("| " + " | ".join(row) + " |\n" for row in rows)
when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
notes = (f"`bench/run.sh`, {when}, {os.cpu_count()} cores, load generator on the same machine. "
         f"wrk -t2 -c64 (ingest -c32), medians of one run. Fan-out: {fanout['deliveries_received']:,} of "
         f"{fanout['deliveries_expected']:,} deliveries received, {fanout['callbacks_failed']} callbacks refused. "
         f"Ingest: {ingest['requests']:,} callbacks, {ingest['non_2xx']} not 2xx.\n")
print()
print(table)
print(notes)

with open(os.path.join(results, "latest.md"), "w") as f:
    f.write(table + "\n" + notes)
with open(os.path.join(results, "latest.json"), "w") as f:
    json.dump({"when": when, "direct": direct, "nginx": nginx, "gateway": gateway, "cached": cached,
               "ingest": ingest, "fanout": fanout, "upload": upload, "idle_mib": idle_mib}, f, indent=2)

with open(os.path.join(work, "throughput.dat"), "w") as f:
    for label, value in (("direct list", direct["rps"]), ("nginx list", nginx["rps"]), ("gateway list", gateway["rps"]),
                         ("gateway cached", cached["rps"]), ("callback ingest", ingest["rps"])):
        f.write(f'"{label}" {value:.0f}\n')
with open(os.path.join(work, "latency.dat"), "w") as f:
    for label, p50, p99 in (("direct list", direct["p50_ms"], direct["p99_ms"]), ("nginx list", nginx["p50_ms"], nginx["p99_ms"]),
                            ("gateway list", gateway["p50_ms"], gateway["p99_ms"]), ("gateway cached", cached["p50_ms"], cached["p99_ms"]),
                            ("callback ingest", ingest["p50_ms"], ingest["p99_ms"]), ("fan-out", fanout["p50_ms"], fanout["p99_ms"])):
        f.write(f'"{label}" {p50:.2f} {p99:.2f}\n')
with open(os.path.join(work, "latest.gnuplot"), "w") as f:
    f.write(f"""set terminal png size 1200,500 font ",10"
set output "{os.path.join(results, 'latest.png')}"
set multiplot layout 1,2 title "Reka gateway beside direct calls and nginx ({when})"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set grid ytics
set xtics rotate by -30
set yrange [0:*]
set title "Throughput (requests/s, higher is better)"
plot "{os.path.join(work, 'throughput.dat')}" using 2:xtic(1) notitle linecolor rgb "#3b7dd8"
set style histogram clustered gap 1
set title "Latency (ms, lower is better)"
set logscale y
set yrange [0.1:*]
plot "{os.path.join(work, 'latency.dat')}" using 2:xtic(1) title "p50" linecolor rgb "#7fb77e", "" using 3 title "p99" linecolor rgb "#d8743b"
unset multiplot
""")
