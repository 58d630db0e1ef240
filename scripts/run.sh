#!/usr/bin/env bash
# Runs the gateway at http://127.0.0.1:8080 and prints a demo client key.
#
# Without REKA_API_KEY, the upstream is the local simulator (src/Reka.Simulator) at
# http://127.0.0.1:8081. With it, the upstream is Reka (REKA_BASE_URL, default
# https://vision-agent.api.reka.ai). Redis: the one answering on 127.0.0.1:6379, else a
# redis-server started here with its data in .run/redis (Debian's package, installed if missing).
# Everything started here stops with Ctrl+C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state="$root/.run"
mkdir -p "$state/redis"

./scripts/install-prerequisites.sh
dotnet build Gateway.sln -c Release -nologo -v quiet -clp:ErrorsOnly

children=()
cleanup() { for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

random() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --port 6379 --bind 127.0.0.1 --dir "$state/redis" --appendonly yes --save '' >"$state/redis.log" 2>&1 &
  children+=($!)
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

if [ -z "${REKA_API_KEY:-}" ]; then
  team_key="sim-$(random)"
  dotnet src/Reka.Simulator/bin/Release/net10.0/Reka.Simulator.dll --urls http://127.0.0.1:8081 \
    --Simulator:ApiKey="$team_key" >"$state/simulator.log" 2>&1 &
  children+=($!)
  export Upstream__BaseUrl=http://127.0.0.1:8081 Upstream__ApiKey="$team_key"
  upstream="the local simulator at http://127.0.0.1:8081"
else
  export Upstream__BaseUrl="${REKA_BASE_URL:-https://vision-agent.api.reka.ai}"
  upstream="Reka at $Upstream__BaseUrl"
fi

# The callback secret must outlive restarts while Redis keeps the submissions it signed.
[ -f "$state/callback-secret" ] || random >"$state/callback-secret"
demo_key="demo-$(random)"
export Webhooks__CallbackSecret="$(cat "$state/callback-secret")"
# Local subscribers on any port (a host without :port would allow 80 and 443 only).
export Webhooks__AllowedSubscriberHosts__0='127.0.0.1:*' Webhooks__AllowedSubscriberHosts__1='localhost:*'
export Clients__demo__KeySha256="$(printf '%s' "$demo_key" | sha256sum | cut -d' ' -f1)"
export Clients__demo__Admin=true
export Clients__demo__WebhookSecret="whsec_$(head -c 32 /dev/urandom | base64)"
export Gateway__PublicBaseUrl=http://127.0.0.1:8080

cat <<MSG
Gateway: http://127.0.0.1:8080 (Swagger UI: http://127.0.0.1:8080/swagger), upstream: $upstream
Console: http://127.0.0.1:8080/console (sign in with the demo key)
Demo client key (admin): $demo_key
  curl -H "X-Api-Key: $demo_key" http://127.0.0.1:8080/v2/inference/models
Demo client's webhook secret: $Clients__demo__WebhookSecret
MSG
dotnet src/Gateway/bin/Release/net10.0/Gateway.dll --urls http://127.0.0.1:8080 &
children+=($!)
wait "${children[-1]}"
