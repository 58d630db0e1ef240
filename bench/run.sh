#!/usr/bin/env bash
# The performance suite: the gateway beside direct calls and nginx, every side in one run.
#
# Builds in Release; starts redis-server, the simulator (no added latency, jobs finish at once),
# nginx configured as the same proxy (drops the caller's credentials, sets the team key) and
# the gateway; then measures with wrk (-t2 -c64, 10 s after a warm-up):
#   proxied GET (list): direct, nginx, gateway    cached result GET: gateway
#   callback ingest (genuine callbacks, -c32)     fan-out latency: callback 2xx -> subscriber
#   upload of a 1 GiB video: gateway and direct   idle memory of a started gateway
# Prints a markdown table with the ratios and the targets, and writes bench/results/latest.md,
# latest.json and latest.png (a chart of the throughput and latency figures).
# Usage: bench/run.sh     (about 3.5 minutes on 2 cores)
source "$(dirname "$0")/lib.sh"
results="$root/bench/results"
mkdir -p "$results"
duration=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP_SECONDS:-15}
fanout_rate=${BENCH_FANOUT_RATE:-1000}
fanout_warmup=10

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
bench_tool() { dotnet "$root/bench/Gateway.Bench/bin/Release/net10.0/Gateway.Bench.dll" "$@"; }

start_redis
start_simulator --Simulator:QueueSeconds=0 --Simulator:RunSeconds=0 --Simulator:Webhook:DropRate=1 --Simulator:MaxJobs=1000000

# Idle memory: a gateway that has started and served one call, then sat still.
start_gateway
curl -s -o /dev/null -H "X-Api-Key: $client_key" "http://127.0.0.1:$gateway_port/v2/inference/models"
sleep 5
idle_kib=$(rss_kib "$gateway_pid")
kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true

start_gateway

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  # Both proxies log each request, as they would in production.
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
children+=($!)
wait_http "http://127.0.0.1:$nginx_port/v2/inference/models"

gateway_url="http://127.0.0.1:$gateway_port"
submit() { curl -s -H "X-Api-Key: $client_key" -H 'Content-Type: application/json' -d '{"input":{"prompt":"bench"}}' "$gateway_url/v2/inference/sora-2-pro/image-to-video"; }
for _ in 1 2 3 4 5; do submit >/dev/null; done

# run_wrk <name> <url> <key> [wrk args...]: warm up, then measure; keeps wrk's report.
run_wrk() {
  local name=$1 url=$2 key=$3; shift 3
  wrk -t2 -c64 -d"${warmup}s" -H "X-Api-Key: $key" "$@" "$url" >/dev/null
  wrk -t2 -c64 -d"${duration}s" --latency -H "X-Api-Key: $key" "$@" "$url" >"$work/wrk-$name.txt"
  echo "bench: $name: $(grep -E 'Requests/sec' "$work/wrk-$name.txt" | tr -s ' ')"
}

list="/v2/inference/requests?limit=5"
run_wrk direct "http://127.0.0.1:$simulator_port$list" "$team_key"
run_wrk nginx "http://127.0.0.1:$nginx_port$list" "any-caller-key"
run_wrk gateway "$gateway_url$list" "$client_key"

cached_id=$(submit | python3 -c 'import json,sys; print(json.load(sys.stdin)["request_id"])')
for _ in $(seq 50); do
  curl -s -D - -o /dev/null -H "X-Api-Key: $client_key" "$gateway_url/v2/inference/requests/$cached_id" | grep -qi '^x-cache: HIT' && break
  sleep 0.2
done
run_wrk cached "$gateway_url/v2/inference/requests/$cached_id" "$client_key"

echo "bench: preparing genuine callbacks"
bench_tool prepare-callbacks --gateway "$gateway_url" --key "$client_key" --simulator "http://127.0.0.1:$simulator_port" \
  --count 60000 --out "$work/ingest.tsv"
bench_tool prepare-callbacks --gateway "$gateway_url" --key "$client_key" --simulator "http://127.0.0.1:$simulator_port" \
  --count $((fanout_rate * (duration + fanout_warmup))) --out "$work/fanout.tsv"
cat >"$work/callbacks.lua" <<'LUA'
-- Each wrk thread posts its own share of the prepared callbacks, in order, each once.
local threads, lines, next_line = {}, {}, 0
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
end
function request() next_line = next_line % #lines + 1; return lines[next_line] end
LUA
# Callbacks are processed in the background (Reka is asked, answers cached); ingest runs no warm-up
# so that no callback is sent twice: 60,000 prepared cover the run at the rates seen here.
wrk -t2 -c32 -d5s --latency -s "$work/callbacks.lua" "$gateway_url" -- "$work/ingest.tsv" 2 >"$work/wrk-ingest.txt"
echo "bench: ingest: $(grep -E 'Requests/sec' "$work/wrk-ingest.txt" | tr -s ' ')"
# The ingested callbacks are processed in the background (Reka asked, answers cached): the
# fan-out run starts once that backlog is gone, so it measures fan-out, not the ingest's backlog.
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
for _ in $(seq 300); do
  [ "$(backlog)" = "0" ] && break
  sleep 1
done

echo "bench: fan-out at $fanout_rate callbacks/s to 10 subscriptions"
bench_tool fanout --gateway "$gateway_url" --key "$admin_key" --callbacks "$work/fanout.tsv" \
  --rate "$fanout_rate" --seconds "$duration" --warmup "$fanout_warmup" --subscriptions 10 >"$work/fanout.json"
cat "$work/fanout.json"

echo "bench: upload of 1 GiB"
measure_upload 1G

python3 "$root/bench/report.py" "$work" "$results" \
  "$idle_kib" "$upload_idle_kib" "$upload_peak_kib" "$upload_gateway_s" "$upload_direct_s" "$upload_bytes" "$fanout_rate"
gnuplot "$work/latest.gnuplot" && echo "bench: wrote $results/latest.md, latest.json and latest.png"
