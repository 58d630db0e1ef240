# Shared by the benchmark scripts: builds in Release, starts redis-server, the simulator, the
# gateway and bare YARP on free loopback ports, and stops them on exit. Source it; do not run it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/gateway-bench.XXXXXX)
children=()
cleanup() { for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
# An interrupt or a termination ends the script (through the EXIT trap), rather than running
# the clean-up and carrying on without the processes.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# stop_process PID: stops a child started here, waits for it, and forgets it, so that the exit
# trap never signals a process id the system has since given to another process.
stop_process() {
  local pid kept=()
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for pid in "${children[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  children=("${kept[@]}")
}

# Runtime settings: the caller's DOTNET_ variables (DOTNET_TieredPGO=0, DOTNET_gcServer=0, ...),
# apart from the SDK's and the host's own, are taken out of this script's environment, so the
# build, the simulator and the benchmark tool run with the defaults, and given to the two
# measured .NET processes alike: the gateway and bare YARP (launch_gateway, launch_bare_yarp).
runtime_env=()
gateway_env=()
for name in $(compgen -e); do
  case $name in
    DOTNET_CLI_*|DOTNET_ROOT*|DOTNET_NOLOGO|DOTNET_SKIP_FIRST_TIME_EXPERIENCE|DOTNET_GENERATE_ASPNET_CERTIFICATE|\
    DOTNET_ADD_GLOBAL_TOOLS_TO_PATH|DOTNET_MULTILEVEL_LOOKUP|DOTNET_HOST_*|DOTNET_INSTALL_DIR|DOTNET_NUGET_*|\
    DOTNET_TOOLS_*|DOTNET_SDK_*|DOTNET_RUNNING_IN_CONTAINER|DOTNET_WATCH*) ;;
    DOTNET_*) runtime_env+=("$name=${!name}"); unset "$name" ;;
  esac
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
peak_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# Resets the kernel's peak-RSS counter (VmHWM) of a process to its current RSS.
reset_peak() { echo 5 > "/proc/$1/clear_refs"; }
# cpu_ticks PID...: user + system CPU time those processes have used so far (all their threads),
# in clock ticks (getconf CLK_TCK a second): fields 14 and 15 of /proc/PID/stat, counted after
# the command name's closing parenthesis (a name may hold spaces).
cpu_ticks() {
  local pid total=0
  for pid in "$@"; do total=$(( total + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}') )); done
  echo "$total"
}

build_release() {
  (cd "$root" && ./scripts/install-prerequisites.sh \
    && dotnet build Gateway.sln -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null)
}

team_key="bench-team-key-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# Two clients: an ordinary one (its lists are filtered to its own requests, as in production)
# and an admin (unfiltered lists; also sets up the fan-out tool's subscriptions).
client_key="bench-client-key-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
admin_key="bench-admin-key-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
client_key_sha256=$(printf '%s' "$client_key" | sha256sum | cut -d' ' -f1)
admin_key_sha256=$(printf '%s' "$admin_key" | sha256sum | cut -d' ' -f1)

# start_redis: sets redis_port and redis_pid; waits until it answers.
start_redis() {
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no >/dev/null 2>&1 &
  redis_pid=$!
  children+=($redis_pid)
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
}

start_simulator() {
  simulator_port=$(free_port)
  dotnet "$root/src/Reka.Simulator/bin/Release/net10.0/Reka.Simulator.dll" --urls "http://127.0.0.1:$simulator_port" \
    --Simulator:ApiKey="$team_key" --Simulator:LatencyMs=0 "$@" >"$work/simulator.log" 2>&1 &
  simulator_pid=$!
  children+=($simulator_pid)
  wait_http "http://127.0.0.1:$simulator_port/_simulator/stats"
}

# launch_gateway [extra configuration arguments...]: starts the gateway on gateway_port (set by
# the caller) with the runtime settings, and sets gateway_pid; does not wait for it. gateway_dll
# (default: this repository's Release build) and gateway_env (more VAR=value) may be set first.
launch_gateway() {
  env "${runtime_env[@]}" "${gateway_env[@]}" Upstream__BaseUrl="http://127.0.0.1:$simulator_port" Upstream__ApiKey="$team_key" \
  Redis__Configuration="127.0.0.1:$redis_port" Webhooks__CallbackSecret="bench-callback-secret-0123456789abcdef" \
  Webhooks__AllowedSubscriberHosts__0='127.0.0.1:*' Gateway__PublicBaseUrl="http://127.0.0.1:$gateway_port" \
  Clients__bench__KeySha256="$client_key_sha256" \
  Clients__benchadmin__KeySha256="$admin_key_sha256" Clients__benchadmin__Admin=true \
  RateLimiting__Default__PermitLimit=100000000 \
  dotnet "${gateway_dll:-$root/src/Gateway/bin/Release/net10.0/Gateway.dll}" --urls "http://127.0.0.1:$gateway_port" "$@" >"$work/gateway-$gateway_port.log" 2>&1 &
  gateway_pid=$!
  children+=($gateway_pid)
}

# start_gateway [extra configuration arguments...]: sets gateway_port and gateway_pid; waits
# until it is healthy.
start_gateway() {
  gateway_port=$(free_port)
  launch_gateway "$@"
  wait_http "http://127.0.0.1:$gateway_port/healthz"
}

# launch_bare_yarp: starts bench/BareYarp (built by the caller: dotnet build bench/BareYarp -c
# Release) on bare_yarp_port (set by the caller), forwarding to the simulator with the team key,
# with the same runtime settings as the gateway; sets bare_yarp_pid; does not wait for it.
launch_bare_yarp() {
  env "${runtime_env[@]}" Upstream__BaseUrl="http://127.0.0.1:$simulator_port" Upstream__ApiKey="$team_key" \
  dotnet "$root/bench/BareYarp/bin/Release/net10.0/BareYarp.dll" --urls "http://127.0.0.1:$bare_yarp_port" >"$work/bare-yarp.log" 2>&1 &
  bare_yarp_pid=$!
  children+=($bare_yarp_pid)
}

# measure_upload [size] [rounds]: uploads a video of that size (default 1G; a sparse file) straight
# to the simulator, through the gateway and, when bare_yarp_port is set (bare YARP started by the
# caller), through bare YARP: each side once per round, in turn, for rounds rounds (default 3),
# after one warm-up upload each. Writes upload.tsv to the work folder: one line per measured
# upload, "side seconds" (side: direct, gateway or bare-yarp). Sets upload_bytes, and the gateway's
# RSS before its first measured upload (upload_idle_kib) and its peak over all of them (upload_peak_kib).
measure_upload() {
  local video="$work/video.mp4" round side url key seconds
  truncate -s "${1:-1G}" "$video"
  upload_bytes=$(stat -c %s "$video")
  local sides=(direct gateway)
  [ -z "${bare_yarp_port:-}" ] || sides+=(bare-yarp)
  upload() {
    case $1 in
      direct) url="http://127.0.0.1:$simulator_port" key=$team_key ;;
      gateway) url="http://127.0.0.1:$gateway_port" key=$client_key ;;
      bare-yarp) url="http://127.0.0.1:$bare_yarp_port" key=any-caller-key ;;
      *) echo "measure_upload: no side '$1'" >&2; return 2 ;;
    esac
    rm -f "$work/upload.json"
    seconds=$(curl -sS -o "$work/upload.json" -w '%{time_total}' -H "X-Api-Key: $key" -F video_name=bench -F "file=@$video;type=video/mp4" "$url/v2/videos") \
      || { echo "the upload ($1) failed: curl could not finish it" >&2; return 1; }
    grep -q '"video_id"' "$work/upload.json" || { echo "the upload ($1) failed: $(cat "$work/upload.json")" >&2; return 1; }
  }
  # Warm-up: every side once, so none is measured with code still being compiled.
  for side in "${sides[@]}"; do upload "$side"; done
  sleep 2
  reset_peak "$gateway_pid"
  upload_idle_kib=$(rss_kib "$gateway_pid")
  : >"$work/upload.tsv"
  for round in $(seq "${2:-3}"); do
    for side in "${sides[@]}"; do
      upload "$side"
      echo "$side $seconds" >>"$work/upload.tsv"
    done
  done
  upload_peak_kib=$(peak_kib "$gateway_pid")
}
