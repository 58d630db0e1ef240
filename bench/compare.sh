#!/usr/bin/env bash
# Side-by-side cost of gateway builds or settings on the proxied list GET: every variant runs at
# once against one Redis and one simulator, and they are probed in turn, ROUNDS rounds (default 3)
# of COST_SECONDS (default 6) after a 3 s warm-up, printing requests/s, p99, CPU us/request and
# bytes allocated/request of each. As the ordinary client (its page filtered), or the admin with
# AB_KEY=admin. Needs the Release builds of the simulator and bench/Gateway.Bench (bench/run.sh
# makes them).
# Usage: bench/compare.sh "name|/path/to/Gateway.dll|extra arguments|extra environment" ...
[ $# -gt 0 ] || { echo "usage: $0 'name|Gateway.dll|arguments|environment' ..." >&2; exit 2; }
source "$(dirname "$0")/lib.sh"
rounds=${ROUNDS:-3}; duration=${COST_SECONDS:-6}; key=${AB_KEY:-client}
bench_tool() { dotnet "$root/bench/Gateway.Bench/bin/Release/net10.0/Gateway.Bench.dll" "$@"; }
start_redis
start_simulator --Simulator:QueueSeconds=0 --Simulator:RunSeconds=0 --Simulator:Webhook:DropRate=1 --Simulator:MaxJobs=1000000
list="/v2/inference/requests?limit=5"
names=(); ports=(); pids=()
for spec in "$@"; do
  IFS="|" read -r name gateway_dll extra venv <<<"$spec"
  read -r -a gateway_env <<<"${venv:-}"
  read -r -a extra_args <<<"${extra:-}"
  start_gateway "${extra_args[@]}"
  names+=("$name"); ports+=("$gateway_port"); pids+=("$gateway_pid")
done
gw="http://127.0.0.1:${ports[0]}"
submit() { curl -s -H "X-Api-Key: $1" -H 'Content-Type: application/json' -d '{"input":{"prompt":"bench"}}' "$gw/v2/inference/sora-2-pro/image-to-video" >/dev/null; }
for _ in 1 2 3 4 5; do submit "$client_key"; submit "$admin_key"; done
k=$client_key; [ "$key" = admin ] && k=$admin_key
for i in "${!names[@]}"; do wrk -t2 -c64 -d10s -H "X-Api-Key: $k" "http://127.0.0.1:${ports[$i]}$list" >/dev/null; done
for r in $(seq "$rounds"); do
  for i in "${!names[@]}"; do
    pid=${pids[$i]}; url="http://127.0.0.1:${ports[$i]}$list"
    wrk -t2 -c64 -d3s -H "X-Api-Key: $k" "$url" >/dev/null
    bench_tool gc-snapshot --pid "$pid" >"$work/b.json"
    t0=$(cpu_ticks "$pid")
    wrk -t2 -c64 -d"${duration}s" --latency -H "X-Api-Key: $k" "$url" >"$work/w.txt"
    t1=$(cpu_ticks "$pid")
    bench_tool gc-snapshot --pid "$pid" >"$work/a.json"
    python3 - "${names[$i]}" "$work" $((t1 - t0)) "$r" <<'PY'
import json,re,sys,os
name,work,ticks,r=sys.argv[1],sys.argv[2],int(sys.argv[3]),sys.argv[4]
w=open(f"{work}/w.txt").read()
req=int(re.search(r"(\d+) requests in",w).group(1)); rps=float(re.search(r"Requests/sec:\s+([\d.]+)",w).group(1))
non2xx=re.search(r"Non-2xx or 3xx responses: (\d+)",w)
p99=re.search(r"99%\s+([\d.]+\w+)",w).group(1)
b=json.load(open(f"{work}/b.json")); a=json.load(open(f"{work}/a.json"))
tck=os.sysconf('SC_CLK_TCK')
print(f"round {r} {name:16} rps {rps:8.0f} p99 {p99:>8} cpu {ticks/tck/req*1e6:7.1f} us/req alloc {(a['allocated_bytes']-b['allocated_bytes'])/req:8.0f} B/req" + (f" NON2XX {non2xx.group(1)}" if non2xx else ""), flush=True)
PY
  done
done
