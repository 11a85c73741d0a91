#!/usr/bin/env bash
# The demo, set-up included: the small gemma 3 270M model on CPU as `demo-local` (2 slots x 1024 tokens),
# a second llama-server `demo-burst` (8192 tokens) standing in for the cloud, and the routing front on
# 127.0.0.1:8082 in front of them, with its status page at http://127.0.0.1:8082/. The repository itself
# is the config root (runtime.yaml, runtimes/).
#   scripts/demo.sh          set up, build, start, show a local and a burst answer
#   scripts/demo.sh stop     stop the servers and the daemon
#
# It runs the release build (the front is ~40x faster than a debug build), made by scripts/release-build.sh
# into the cache beside the tests' build and shared with scripts/install.sh: compiled once, incremental
# after. Set-up and compiler output go to log files; the demo prints its own lines only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
export HERMES_RUNTIME_HOME="$PWD"
scratch="${HERMES_RUNTIME_SWIFT_BUILD_RELEASE:-$HERMES_CACHE/swift-build-release}"
bin="$scratch/release/hermes-runtime"
if [ "${1:-}" = "stop" ]; then
  exec "$bin" daemon stop
fi
setuplog="$HERMES_CACHE/demo-setup.log"
echo "setting up (packages, llama-server, test model; cached; log: $setuplog)"
if ! scripts/setup.sh >"$setuplog" 2>&1; then tail -n 30 "$setuplog"; exit 1; fi
echo "building the release binary (cached; compiler output: $scratch/build.log)"
bin="$(scripts/release-build.sh 2>>"$setuplog")" || { tail -n 30 "$setuplog"; exit 1; }
"$bin" --version
"$bin" config validate
"$bin" start demo-local
"$bin" start demo-burst
"$bin" status
front=$("$bin" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["front"] or "")')
echo
if [ -z "$front" ] || ! curl -sf "${front%/v1}/health" >/dev/null 2>&1; then
  echo "the routing front is not listening; the servers answer directly on 127.0.0.1:8090 and :8091"
  exit 0
fi
short='{"messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":16}'
long=$(python3 -c 'import json; print(json.dumps({"messages":[{"role":"user","content":"Summarise: " + "the local box keeps private work cheap and fast. " * 160}],"max_tokens":16}))')
echo "== a short prompt stays local =="
echo "curl -s -D - $front/chat/completions -H 'Content-Type: application/json' -d '$short'"
curl -s -D - "$front/chat/completions" -H 'Content-Type: application/json' -d "$short" | grep -iE '^x-hermes|"content"' | head -8
echo
echo "== a prompt longer than a local slot (1024 tokens) bursts =="
curl -s -D - "$front/chat/completions" -H 'Content-Type: application/json' -d "$long" | grep -iE '^x-hermes' | head -8
echo
echo "Front: $front   (point any OpenAI client at it; model names: demo-local, demo-burst, local, cloud)"
echo "Status page: ${front%/v1}/   Metrics: ${front%/v1}/metrics"
# The demo's config and state are this clone (HERMES_RUNTIME_HOME): another shell needs it said.
cli="HERMES_RUNTIME_HOME=$PWD $bin"
echo "Status: $cli status"
echo "Logs:   $cli logs demo-local -f"
echo "Stop:   scripts/demo.sh stop"
