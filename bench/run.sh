#!/usr/bin/env bash
# The performance suite: the gateway beside direct calls, nginx and a bare YARP app, every side
# in one run, measuring what each proxied call costs as well as how fast it is.
#
# Builds in Release; starts redis-server, the simulator (no added latency, jobs finish at once),
# nginx configured as the same proxy (drops the caller's credentials, sets the team key), bare
# YARP (bench/BareYarp: one route, the same header transform, no logs) and the gateway; then
# measures in 3 rounds (medians), with wrk -t2 -c64 (10 s, after a 15 s warm-up in the first
# round and 3 s in the others):
#   proxied GET (list): direct, nginx, bare YARP, gateway as an ordinary client (its page holds
#     other clients' requests, which it filters out) and as an admin (unfiltered); for the
#     proxies also the CPU time per request, and for the .NET ones the bytes allocated per
#     request and the GCs by generation during the measured run
#   cached result GET: gateway
#   callback ingest: genuine callbacks, -c32, 5 s each round after a 15 s warm-up on callbacks
#     of its own
#   fan-out latency: callback 2xx -> subscriber, 10 s each round after a 20 s warm-up, with the
#     CPU time each process (gateway, Redis, simulator, this load generator and subscriber) and
#     the whole machine took per callback, and how busy the machine's cores were
#   upload of a 1 GiB video: direct, gateway and bare YARP
#   start-up of bare YARP and the gateway (each started once a round): time from the exec to the
#     first 200 on the list call, and the idle memory once that one call is served and the
#     process has sat still 5 s
# Prints markdown tables with the ratios and the targets, and writes latest.md, latest.json and
# latest.png (a chart of the throughput, latency and CPU figures) to bench/results.
#
# Runtime settings: DOTNET_ variables set when calling this script (DOTNET_TieredPGO=0,
# DOTNET_gcServer=0, ...) are given to bare YARP and the gateway alike, and to nothing else
# (lib.sh); the notes under the tables name them.
# Usage: bench/run.sh     (about 14 minutes on 2 cores)
#   BENCH_ROUNDS (3): rounds of each measure; BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (15): each
#   wrk run, and the first round's warm-up; BENCH_FANOUT_RATE (1000);
#   BENCH_RESULTS_DIR (bench/results): where the results go (point short trial runs elsewhere).
source "$(dirname "$0")/lib.sh"
results=${BENCH_RESULTS_DIR:-$root/bench/results}
mkdir -p "$results"
rounds=${BENCH_ROUNDS:-3}
duration=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP_SECONDS:-15}
# The later rounds' warm-up: the processes are warm; this opens wrk's connections again.
round_warmup=3
fanout_rate=${BENCH_FANOUT_RATE:-1000}
# 20 s: after 10 s the gateway was still compiling the delivery path's hot methods again at
# tier 1 (21 % of its CPU samples 13-19 s into the fan-out, 2026-12-02: bench/HISTORY.md).
fanout_warmup=20

need=()
for tool in wrk nginx gnuplot; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  packages=("${need[@]/gnuplot/gnuplot-nox}")
  echo "bench: installing ${packages[*]} from Debian's packages"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

echo "bench: building (Release)"
build_release
dotnet build "$root/bench/Gateway.Bench" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
dotnet build "$root/bench/BareYarp" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
bench_tool() { dotnet "$root/bench/Gateway.Bench/bin/Release/net10.0/Gateway.Bench.dll" "$@"; }
printf '%s\n' "${runtime_env[@]}" >"$work/runtime-env.txt"
echo "bench: runtime settings of bare YARP and the gateway: ${runtime_env[*]:-defaults (no DOTNET_ variables)}"

start_redis
start_simulator --Simulator:QueueSeconds=0 --Simulator:RunSeconds=0 --Simulator:Webhook:DropRate=1 --Simulator:MaxJobs=1000000

list="/v2/inference/requests?limit=5"

# startup <name> <process: gateway or bare_yarp> <key>: picks the process's port, then times from
# just before launch_<process> to its first 200 on the list call (polled every 10 ms); lets it
# sit still 5 s after that one call, reads its RSS (the idle memory) and stops it. Writes
# startup-<name>-<round>.json.
startup() {
  local name=$1 process=$2 key=$3 started code=000 first_ms port_var=${2}_port pid_var=${2}_pid
  printf -v "$port_var" '%s' "$(free_port)"
  started=$(date +%s%N)
  "launch_$process"
  for _ in $(seq 3000); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: $key" "http://127.0.0.1:${!port_var}$list" || true)
    [ "$code" = 200 ] && break
    sleep 0.01
  done
  first_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  [ "$code" = 200 ] || { echo "bench: $name never answered the list call with 200 (last: $code)" >&2; return 1; }
  sleep 5
  printf '{"first_200_ms": %d, "idle_kib": %d}\n' "$first_ms" "$(rss_kib "${!pid_var}")" >"$work/startup-$name-$round.json"
  stop_process "${!pid_var}"
  echo "bench: $name: first 200 on the list call $first_ms ms after the start"
}
for round in $(seq "$rounds"); do
  startup gateway gateway "$client_key"
  startup bare-yarp bare_yarp any-caller-key
done

start_gateway
bare_yarp_port=$(free_port)
launch_bare_yarp
wait_http "http://127.0.0.1:$bare_yarp_port$list"

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  # nginx logs each request, as the gateway does and as both would in production (bare YARP,
  # the bare baseline, logs nothing).
  access_log $work/nginx/access.log combined buffer=64k flush=1s;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  upstream simulator { server 127.0.0.1:$simulator_port; keepalive 128; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://simulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Api-Key "$team_key";
      proxy_set_header Authorization "";
      proxy_set_header Cookie "";
    }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
children+=($nginx_pid)
wait_http "http://127.0.0.1:$nginx_port/v2/inference/models"

gateway_url="http://127.0.0.1:$gateway_port"
submit() { curl -s -H "X-Api-Key: ${1:-$client_key}" -H 'Content-Type: application/json' -d '{"input":{"prompt":"bench"}}' "$gateway_url/v2/inference/sora-2-pro/image-to-video"; }
# The list page: requests of the ordinary client and of the admin, alternately, so the
# ordinary client's page holds other clients' requests for the gateway to filter out (the
# common case), and the admin's page all of them.
for _ in 1 2 3 4 5; do submit >/dev/null; submit "$admin_key" >/dev/null; done
page_items() { curl -s -H "X-Api-Key: $1" "$gateway_url$list" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'; }
client_items=$(page_items "$client_key"); admin_items=$(page_items "$admin_key")
echo "bench: the list page holds $admin_items requests; the ordinary client sees $client_items of them"
if [ "$client_items" -ge "$admin_items" ] || [ "$client_items" -eq 0 ]; then
  echo "bench: the ordinary client's page should hold some, not all, of the page's requests" >&2; exit 1
fi

# run_wrk <name> <url> <key>: in round $round (set by the caller's loop), warm up (the first
# round: $warmup s; later ones: $round_warmup s), then measure; keeps wrk's report
# (wrk-<name>-<round>.txt).
# run_wrk <name> <url> <key> <.NET pid or -> <pid>...: the same, and the cost of the measured
# run: the CPU time the pids used during it (cpu-<name>-<round>.ticks), read just before and just
# after it, and the .NET process's cumulative allocated bytes and GC counts, read while it is
# idle just before and just after it (gc-<name>-<round>-before.json, gc-<name>-<round>-after.json).
run_wrk() {
  local name=$1-$round url=$2 key=$3 dotnet_pid=${4:--} ticks="" warm=$round_warmup
  local pids=("${@:5}")
  [ "$round" -gt 1 ] || warm=$warmup
  wrk -t2 -c64 -d"${warm}s" -H "X-Api-Key: $key" "$url" >/dev/null
  [ "$dotnet_pid" = - ] || bench_tool gc-snapshot --pid "$dotnet_pid" >"$work/gc-$name-before.json"
  [ ${#pids[@]} -eq 0 ] || ticks=$(cpu_ticks "${pids[@]}")
  wrk -t2 -c64 -d"${duration}s" --latency -H "X-Api-Key: $key" "$url" >"$work/wrk-$name.txt"
  [ ${#pids[@]} -eq 0 ] || echo $(( $(cpu_ticks "${pids[@]}") - ticks )) >"$work/cpu-$name.ticks"
  [ "$dotnet_pid" = - ] || bench_tool gc-snapshot --pid "$dotnet_pid" >"$work/gc-$name-after.json"
  echo "bench: $name: $(grep -E 'Requests/sec' "$work/wrk-$name.txt" | tr -s ' ')"
}

cached_id=$(submit | python3 -c 'import json,sys; print(json.load(sys.stdin)["request_id"])')
for _ in $(seq 50); do
  curl -s -D - -o /dev/null -H "X-Api-Key: $client_key" "$gateway_url/v2/inference/requests/$cached_id" | grep -qi '^x-cache: HIT' && break
  sleep 0.2
done
# nginx's CPU time: its master's and its workers'.
mapfile -t nginx_workers < <(pgrep -P "$nginx_pid")
[ ${#nginx_workers[@]} -eq 2 ] || { echo "bench: nginx runs ${#nginx_workers[@]} workers, not 2" >&2; exit 1; }
# Each round measures every side once, in turn, so that a slower or faster stretch of the
# machine falls on all of them.
for round in $(seq "$rounds"); do
  echo "bench: proxied and cached GET, round $round of $rounds"
  run_wrk direct "http://127.0.0.1:$simulator_port$list" "$team_key"
  run_wrk nginx "http://127.0.0.1:$nginx_port$list" any-caller-key - "$nginx_pid" "${nginx_workers[@]}"
  run_wrk bare-yarp "http://127.0.0.1:$bare_yarp_port$list" any-caller-key "$bare_yarp_pid" "$bare_yarp_pid"
  run_wrk gateway "$gateway_url$list" "$client_key" "$gateway_pid" "$gateway_pid"
  run_wrk gateway-admin "$gateway_url$list" "$admin_key" "$gateway_pid" "$gateway_pid"
  run_wrk cached "$gateway_url/v2/inference/requests/$cached_id" "$client_key"
done
stop_process "$bare_yarp_pid"

echo "bench: preparing genuine callbacks"
# A callback is sent once: each measured ingest round has fresh ones, enough for 5 s at the rates
# seen here (past them wrk would send repeats, which cost less: the report counts them and the
# target then fails). Its warm-up has fresh ones too; repeats there only warm up less.
prepare_callbacks() {
  bench_tool prepare-callbacks --gateway "$gateway_url" --key "$client_key" --simulator "http://127.0.0.1:$simulator_port" \
    --count "$1" --out "$2"
}
prepare_callbacks 160000 "$work/ingest-warmup.tsv"
for round in $(seq "$rounds"); do prepare_callbacks 80000 "$work/ingest-$round.tsv"; done
prepare_callbacks $((fanout_rate * (fanout_warmup + rounds * duration))) "$work/fanout.tsv"
cat >"$work/callbacks.lua" <<'LUA'
-- Each wrk thread posts its own share of the prepared callbacks, in order, each once; past its
-- share it starts over, and the report says how many it sent more than once.
local threads, lines, next_line = {}, {}, 0
sent, prepared = 0, 0
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args)
  local n = 0
  for line in io.lines(args[1]) do
    if n % tonumber(args[2]) == id then
      local path, body = line:match("([^\t]+)\t(.*)")
      lines[#lines + 1] = wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
    end
    n = n + 1
  end
  prepared = #lines
end
function request() next_line = next_line % #lines + 1; sent = sent + 1; return lines[next_line] end
function done(summary, latency, requests)
  local repeats = 0
  for _, thread in ipairs(threads) do repeats = repeats + math.max(0, thread:get("sent") - thread:get("prepared")) end
  io.write(string.format("callbacks sent more than once: %d\n", repeats))
end
LUA
# Ingested callbacks are processed in the background (Reka asked, answers cached): each run
# after ingest starts once that backlog is gone, so it measures its own work, not the backlog.
# Jobs due (or leased) within 2 minutes are the backlog; each submit also left a reconciliation
# job due Webhooks:ReconcileAfterSeconds (10 minutes) after it, which stays out of the count.
backlog() {
  local horizon total=0 partition
  horizon=$(( $(date +%s%3N) + 120000 ))
  # One due set per queue partition (Redis:QueuePartitions, 8 by default).
  for partition in $(seq 0 7); do
    total=$(( total + $(redis-cli -p "$redis_port" zcount "gateway:{q$partition}:callbacks:due" -inf "$horizon") ))
  done
  echo "$total"
}
wait_for_backlog() {
  for _ in $(seq 300); do
    [ "$(backlog)" = "0" ] && return
    sleep 1
  done
  echo "bench: the callback backlog is not gone after 300 s; going on" >&2
}
# Warmed up as long as the other runs (the receiver's and the worker's code compiled at their final
# tier: with 5 s, the rate was still rising), on callbacks of its own.
wrk -t2 -c32 -d"${warmup}s" -s "$work/callbacks.lua" "$gateway_url" -- "$work/ingest-warmup.tsv" 2 >"$work/wrk-ingest-warmup.txt"
echo "bench: ingest warm-up: $(grep -E 'Requests/sec' "$work/wrk-ingest-warmup.txt" | tr -s ' ')"
wait_for_backlog
for round in $(seq "$rounds"); do
  wrk -t2 -c32 -d5s --latency -s "$work/callbacks.lua" "$gateway_url" -- "$work/ingest-$round.tsv" 2 >"$work/wrk-ingest-$round.txt"
  echo "bench: ingest, round $round of $rounds: $(grep -E 'Requests/sec' "$work/wrk-ingest-$round.txt" | tr -s ' ')"
  wait_for_backlog
done

echo "bench: fan-out at $fanout_rate callbacks/s to 10 subscriptions, $rounds rounds"
bench_tool fanout --gateway "$gateway_url" --key "$admin_key" --pid "$gateway_pid" --callbacks "$work/fanout.tsv" \
  --rate "$fanout_rate" --seconds "$duration" --warmup "$fanout_warmup" --subscriptions 10 --rounds "$rounds" \
  --cpu "redis=$redis_pid,simulator=$simulator_pid" >"$work/fanout.json"
cat "$work/fanout.json"

echo "bench: upload of 1 GiB, $rounds rounds"
bare_yarp_port=$(free_port)
launch_bare_yarp
wait_http "http://127.0.0.1:$bare_yarp_port$list"
measure_upload 1G "$rounds"
stop_process "$bare_yarp_pid"

BENCH_ROUNDS=$rounds BENCH_SECONDS=$duration BENCH_WARMUP_SECONDS=$warmup BENCH_ROUND_WARMUP_SECONDS=$round_warmup \
  BENCH_FANOUT_WARMUP_SECONDS=$fanout_warmup python3 "$root/bench/report.py" "$work" "$results" \
  "$upload_idle_kib" "$upload_peak_kib" "$upload_bytes" "$fanout_rate"
gnuplot "$work/latest.gnuplot" && echo "bench: wrote $results/latest.md, latest.json and latest.png"
