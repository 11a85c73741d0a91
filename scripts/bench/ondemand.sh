#!/usr/bin/env bash
# Models on demand, measured through the front: cold start to first token for an on-demand profile
# (admission + load + first token), a swap (evict the idle model + load another + first token), and a
# warm request, against starting the same llama-server by hand and asking it directly.
# Two on-demand profiles of the test model on a simulated Strix Halo whose GTT holds one of them.
#   scripts/bench/ondemand.sh [runs]    (default 3; HERMES=path to a built hermes-runtime)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
runs="${1:-3}"
HERMES="${HERMES:-$HOME/.cache/hermes-runtime/swift-build/debug/hermes-runtime}"
bin="${HERMES_RUNTIME_LLAMA_SERVER:-$(ls -d "$HERMES_CACHE"/llama-server/b*/bin/llama-server | sort | tail -1)}"
model="$MODEL_FILE"
WORK=$(mktemp -d /tmp/hermes-bench-ondemand.XXXXXX)
front=$((20000 + RANDOM % 10000)); pa=$((front + 1)); pb=$((front + 2)); ph=$((front + 3))
cleanup() {
  HERMES_RUNTIME_HOME="$WORK/root" "$HERMES" daemon stop >/dev/null 2>&1 || true
  [ -n "${hand:-}" ] && kill "$hand" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "failed at line $LINENO" >&2; tail -20 "$WORK/daemon.log" >&2; cat "$WORK/root/state/model-events.jsonl" >&2 || true' ERR

# A gfx1151 with a 512 MiB carve-out and 1200 MiB of GTT: one ~780 MiB model fits, two do not.
dev="$WORK/sys/class/drm/card0/device"; mkdir -p "$dev"
for kv in vendor=0x1002 device=0x1586 mem_info_vram_total=536870912 mem_info_vram_used=0 \
          mem_info_gtt_total=$((1200 << 20)) mem_info_gtt_used=0; do echo "${kv#*=}" > "$dev/${kv%%=*}"; done
mkdir -p "$WORK/root/runtimes"
printf 'front:\n  listen: 127.0.0.1:%s\n  default: a\n' "$front" > "$WORK/root/runtime.yaml"
for p in a:$pa b:$pb; do
  printf 'kind: llama-server\nmodel: %s\nport: %s\ncontext: 1024\nslots: 1\nthreads: 2\nload: on-demand\nidle_unload: 0\nhealth:\n  generation_interval: 0\n' \
    "$model" "${p#*:}" > "$WORK/root/runtimes/${p%%:*}.yaml"
done
export HERMES_RUNTIME_HOME="$WORK/root" HERMES_RUNTIME_SYSFS_ROOT="$WORK/sys" HERMES_RUNTIME_LLAMA_SERVER="$bin"
"$HERMES" serve >"$WORK/daemon.log" 2>&1 &
until curl -sf -o /dev/null "http://127.0.0.1:$front/health"; do sleep 0.05; done

chat() {
  local out code
  out=$(curl -s -o "$WORK/reply" -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' \
    -d "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hi\"}],\"max_tokens\":1}" "$2/v1/chat/completions")
  code=${out%% *}
  [ "$code" = 200 ] || { echo "request for $1 answered $code: $(head -c 400 "$WORK/reply")" >&2; return 1; }
  echo "${out#* }"
}
now() { date +%s.%N; }

echo "| run | by hand: launch + ready + first token | on demand: cold (load + first token) | warm | swap (evict + load + first token) |"
echo "|---|---|---|---|---|"
for i in $(seq "$runs"); do
  t0=$(now)
  "$bin" -m "$model" --host 127.0.0.1 --port "$ph" -c 1024 -np 1 -t 2 >/dev/null 2>&1 & hand=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$ph/health"; do sleep 0.02; done
  chat x "http://127.0.0.1:$ph" >/dev/null; t1=$(now)
  kill "$hand"; wait "$hand" 2>/dev/null || true; hand=
  byhand=$(echo "$t1 - $t0" | bc)
  cold=$(chat a "http://127.0.0.1:$front")
  warm=$(chat a "http://127.0.0.1:$front")
  swap=$(chat b "http://127.0.0.1:$front")
  "$HERMES" unload b >/dev/null
  printf '| %d | %.2f s | %.2f s | %.3f s | %.2f s |\n' "$i" "$byhand" "$cold" "$warm" "$swap"
done
grep -c '"event":"unload","profile":"a","reason":"evicted_for=b"' "$WORK/root/state/model-events.jsonl" | sed 's/^/evictions recorded: /'
