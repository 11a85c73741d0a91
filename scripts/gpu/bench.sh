#!/usr/bin/env bash
# The GPU probe benchmark (docs/benchmarks.md, "GPU memory probe"): a release build of hermes-bench, then
# `hermes-bench gpu-probe` under the simulated gfx1151, so both the sysfs path and the REAL librocm_smi
# path have a device to read. Needs root (the simulation uses `unshare --mount`).
#   scripts/gpu/bench.sh [RESULTS.json] [extra gpu-probe options, e.g. --iterations 5000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SCRATCH="${SCRATCH:-.build-release}"
OUT="${1:-/tmp/hermes-gpu-probe.json}"
shift || true
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --scratch-path "$SCRATCH" --product hermes-bench >&2
exec scripts/gpu/simulate-gfx1151.sh --process 4242:8G -- \
  "$ROOT/$SCRATCH/release/hermes-bench" gpu-probe --output "$OUT" "$@"
