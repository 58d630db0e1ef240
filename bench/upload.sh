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

measure_upload "$size"

python3 - "$upload_bytes" "$upload_gateway_s" "$upload_direct_s" "$upload_idle_kib" "$upload_peak_kib" <<'PY'
import sys
size, gw, direct, idle, peak = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
mb = size / 1e6
print(f"upload of {size / 2**30:.2f} GiB")
print(f"  through the gateway: {mb / gw:8.1f} MB/s ({gw:.2f} s)")
print(f"  direct to upstream:  {mb / direct:8.1f} MB/s ({direct:.2f} s)   ratio gateway/direct: {direct / gw:.2f} (target >= 0.9)")
print(f"  gateway memory: idle {idle / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, growth {(peak - idle) / 1024:.1f} MiB (target < 16 MiB)")
PY
