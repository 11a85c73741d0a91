#!/usr/bin/env bash
# llama-server's own --sleep-idle-seconds against a full stop and a cold start, on the test model:
# wake time vs cold start to first token, and resident memory awake, asleep and stopped.
#   scripts/bench/sleep-idle.sh [runs]      (default 3 runs; each takes a few seconds on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
runs="${1:-3}"
bin="${HERMES_RUNTIME_LLAMA_SERVER:-$(ls -d "$HERMES_CACHE"/llama-server/b*/bin/llama-server | sort | tail -1)}"
model="${HERMES_RUNTIME_TEST_MODEL:-$HERMES_CACHE/models/gemma-3-270m-q4_k_m.gguf}"
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
body='{"messages":[{"role":"user","content":"Say hi"}],"max_tokens":1}'
now() { date +%s.%N; }
rss() { awk '/^VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }
first_token() { curl -sf -o /dev/null -H 'Content-Type: application/json' -d "$body" "$url/v1/chat/completions"; }
launch() {
  "$bin" -m "$model" --host 127.0.0.1 --port "$port" -c 1024 -np 1 -t 2 "$@" >/dev/null 2>&1 &
  pid=$!
}
wait_ready() { until curl -sf -o /dev/null "$url/health"; do sleep 0.02; done; }

echo "binary: $bin ($("$bin" --version 2>&1 | grep -m1 version || true))"
for i in $(seq "$runs"); do
  t0=$(now); launch; wait_ready; first_token; t1=$(now)
  awake=$(rss "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  cold=$(echo "$t1 - $t0" | bc)

  launch --sleep-idle-seconds 1; wait_ready; first_token
  # Asleep once /props says so.
  until curl -sf "$url/props" | grep -q '"is_sleeping":true'; do sleep 0.1; done
  asleep=$(rss "$pid")
  t0=$(now); first_token; t1=$(now)
  wake=$(echo "$t1 - $t0" | bc)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf 'run %d: cold start to first token %.3f s (RSS %s MiB awake) | wake from sleep to first token %.3f s (RSS %s MiB asleep)\n' \
    "$i" "$cold" "$awake" "$wake" "$asleep"
done
