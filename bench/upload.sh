#!/usr/bin/env bash
# Uploads a video straight to the simulator, through the gateway and through bare YARP, in turn
# for a few rounds, and prints each side's median throughput and the gateway's memory: idle RSS,
# peak RSS over its uploads, and the growth.
# Usage: bench/upload.sh [size, default 1G] [rounds, default 3]
source "$(dirname "$0")/lib.sh"
size=${1:-1G}

build_release
dotnet build "$root/bench/BareYarp" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
start_redis
start_simulator
start_gateway
bare_yarp_port=$(free_port)
launch_bare_yarp
wait_http "http://127.0.0.1:$bare_yarp_port/v2/inference/requests"

measure_upload "$size" "${2:-3}"

python3 - "$upload_bytes" "$work/upload.tsv" "$upload_idle_kib" "$upload_peak_kib" <<'PY'
import statistics, sys
size, rounds, idle, peak = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seconds = {}
for line in open(rounds):
    side, elapsed = line.split()
    seconds.setdefault(side, []).append(float(elapsed))
median = {side: statistics.median(values) for side, values in seconds.items()}
mb = size / 1e6
print(f"upload of {size / 2**30:.2f} GiB, median of {len(seconds['gateway'])} rounds")
for side in ("direct", "gateway", "bare-yarp"):
    print(f"  {side:9}: {mb / median[side]:8.1f} MB/s ({median[side]:.2f} s; rounds {', '.join(f'{s:.2f}' for s in seconds[side])})")
print(f"  gateway/direct {median['direct'] / median['gateway']:.2f} (target >= 0.9), bare YARP/direct {median['direct'] / median['bare-yarp']:.2f}")
print(f"  gateway memory: idle {idle / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, growth {(peak - idle) / 1024:.1f} MiB (target < 16 MiB)")
PY
