#!/usr/bin/env bash
# Uploads a video through the gateway and straight to the simulator, and prints the throughput
# of both and the gateway's memory: idle RSS, peak RSS during the upload, and the growth.
# Usage: bench/upload.sh [size, default 1G]
source "$(dirname "$0")/lib.sh"
size=${1:-1G}

build_release
start_redis
start_simulator
start_gateway

video="$work/video.mp4"
truncate -s "$size" "$video"   # sparse: read from disk without filling it
upload() { # upload <base url> <key>: prints seconds
  curl -s -o "$work/upload.json" -w '%{time_total}' -H "X-Api-Key: $2" -F video_name=bench -F "file=@$video;type=video/mp4" "$1/v2/videos"
}
bytes=$(stat -c %s "$video")

# Warm up both paths, then measure idle memory with the peak counter reset.
curl -s -o /dev/null -H "X-Api-Key: $client_key" "http://127.0.0.1:$gateway_port/v2/inference/models"
upload "http://127.0.0.1:$simulator_port" "$team_key" >/dev/null
sleep 1
reset_peak "$gateway_pid"
idle=$(rss_kib "$gateway_pid")

gateway_seconds=$(upload "http://127.0.0.1:$gateway_port" "$client_key")
grep -q '"video_id"' "$work/upload.json" || { echo "gateway upload failed: $(cat "$work/upload.json")" >&2; exit 1; }
peak=$(peak_kib "$gateway_pid")
direct_seconds=$(upload "http://127.0.0.1:$simulator_port" "$team_key")

python3 - "$bytes" "$gateway_seconds" "$direct_seconds" "$idle" "$peak" <<'PY'
import sys
size, gw, direct, idle, peak = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
mb = size / 1e6
print(f"upload of {size / 2**30:.2f} GiB")
print(f"  through the gateway: {mb / gw:8.1f} MB/s ({gw:.2f} s)")
print(f"  direct to upstream:  {mb / direct:8.1f} MB/s ({direct:.2f} s)   ratio gateway/direct: {direct / gw:.2f}")
print(f"  gateway memory: idle {idle / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, growth {(peak - idle) / 1024:.1f} MiB (target < 64 MiB)")
PY
