#!/usr/bin/env bash
# Routing front benchmark, in ONE run: the upstream called directly (nginx `return 200` with a realistic
# chat.completion body), nginx as a reverse proxy in front of it, and the front (hermes-bench front
# --serve, the real buildFront wiring with one local profile whose server is that nginx). Then three
# floors that say where the front's cost lies: Hummingbird answering a fixed body itself (hb-static),
# Hummingbird passing the request on with the front's own upstream client and nothing else
# (hb+client), and the same with AsyncHTTPClient (hb+ahc).
# At concurrency 1, 8, 64: requests/s, p50/p99, latency added over direct, CPU time per request of the
# proxy process, RSS before/after. Then agent-sized requests (150 KB and 600 KB: 40 tool schemas, an 8 KB
# system prompt, 30 tool-call turns, written by scripts/bench/agent-body.py) through direct, nginx and
# the front at concurrency 1 and 8. Then the request path's pure parts (decode, decide, edit, hash)
# next to what they were chosen over. Prints Markdown tables.
#
#   scripts/bench/front.sh            # DURATION=10s by default; needs wrk and nginx (nginx-light)
#   DURATION=5s SMALL="1 8" AGENT="1 8" FLOORS=0 DECISIONS=0 scripts/bench/front.sh   # a shorter run:
#     SMALL / AGENT: the concurrencies of the small and agent-sized rows ("" skips them; defaults
#     "1 8 64" and "1 8"); FLOORS=0 leaves out the Hummingbird floors, DECISIONS=0 the pure-parts table.
#   BENCH_BIN=/path/to/hermes-bench scripts/bench/front.sh   # that build instead of building one (A/B
#     of two commits: copy each one's .build-release/release/hermes-bench aside, run both in a row)
#
# Everything runs on loopback ports 18081-18083 with its own temporary nginx config; the system nginx
# is never touched. Stops everything it started on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${DURATION:-10s}
SCRATCH=${SCRATCH:-.build-release}
SMALL=${SMALL-1 8 64}
AGENT=${AGENT-1 8}
FLOORS=${FLOORS:-1}
DECISIONS=${DECISIONS:-1}
UP=18081 PROXY=18082 FRONT=18083 HB_STATIC=18084 HB_CLIENT=18085 HB_AHC=18086 FRONT_NOLEDGER=18087
WORK=$(mktemp -d /tmp/hermes-bench-front.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/up/nginx.pid" ] && kill "$(cat "$WORK/up/nginx.pid")" 2>/dev/null || true
  [ -f "$WORK/proxy/nginx.pid" ] && kill "$(cat "$WORK/proxy/nginx.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
command -v nginx >/dev/null || { echo "nginx is missing: apt-get install nginx-light" >&2; exit 1; }

if [ -n "${BENCH_BIN:-}" ]; then
  BENCH=$BENCH_BIN
else
  swift build -c release --scratch-path "$SCRATCH" --product hermes-bench >&2
  BENCH=$("$ROOT/$SCRATCH/release/hermes-bench" --help >/dev/null 2>&1 && echo "$ROOT/$SCRATCH/release/hermes-bench")
fi

# A realistic non-streamed answer, as llama-server sends it (usage and timings included).
BODY='{"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"Renamed `count` to `total` in Sources/App/main.swift; the tests pass."}}],"created":1764000000,"model":"gemma-3-270m","system_fingerprint":"b11434","object":"chat.completion","usage":{"completion_tokens":17,"prompt_tokens":42,"total_tokens":59},"id":"chatcmpl-3xYkq0bench","timings":{"prompt_n":42,"prompt_ms":110.3,"prompt_per_second":380.7,"predicted_n":17,"predicted_ms":212.5,"predicted_per_second":80.0}}'

nginx_conf() { # name port server-block
  mkdir -p "$WORK/$1"
  cat > "$WORK/$1/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $WORK/$1/nginx.pid;
error_log $WORK/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/$1/body; proxy_temp_path $WORK/$1/proxy;
  fastcgi_temp_path $WORK/$1/fcgi; uwsgi_temp_path $WORK/$1/uwsgi; scgi_temp_path $WORK/$1/scgi;
  keepalive_requests 1000000;
  client_max_body_size 8m; client_body_buffer_size 1m;
  $3
}
CONF
  nginx -c "$WORK/$1/nginx.conf" -p "$WORK/$1"
}
nginx_conf up $UP "server { listen 127.0.0.1:$UP; location / { default_type application/json; return 200 '$BODY'; } }"
nginx_conf proxy $PROXY "upstream up { server 127.0.0.1:$UP; keepalive 128; }
  server { listen 127.0.0.1:$PROXY; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"

"$BENCH" front --serve "http://127.0.0.1:$UP" --port $FRONT > "$WORK/front.log" 2>&1 &
FRONT_PID=$!
PIDS+=("$FRONT_PID")
# The same front without the spend ledger (no usage recorded, no budget check): what cost tracking adds.
"$BENCH" front --serve "http://127.0.0.1:$UP" --port $FRONT_NOLEDGER --no-ledger > "$WORK/front-noledger.log" 2>&1 &
FRONT_NOLEDGER_PID=$!
PIDS+=("$FRONT_NOLEDGER_PID")
declare -A FLOOR_PID
FLOOR_NAMES="static client forward" FLOOR_TARGETS="hb-static hb+client hb+ahc"
[ "$FLOORS" = 1 ] || FLOOR_NAMES="" FLOOR_TARGETS=""
for floor in $FLOOR_NAMES; do
  case $floor in static) p=$HB_STATIC ;; client) p=$HB_CLIENT ;; forward) p=$HB_AHC ;; esac
  "$BENCH" front --serve "http://127.0.0.1:$UP" --floor $floor --port $p > "$WORK/floor-$floor.log" 2>&1 &
  FLOOR_PID[$floor]=$!
  PIDS+=("$!")
done
FLOOR_PORTS="$HB_STATIC $HB_CLIENT $HB_AHC"
[ "$FLOORS" = 1 ] || FLOOR_PORTS=""
for port in $FRONT $FRONT_NOLEDGER $FLOOR_PORTS; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done

# The request an agent sends (small; streaming off so every server answers the same JSON).
cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"gemma","messages":[{"role":"system","content":"You are a coding agent."},{"role":"user","content":"Rename the variable count to total in Sources/App/main.swift and run the tests."}],"max_tokens":256,"temperature":0.2}'
LUA

# Agent-sized bodies, the same bytes every run.
for kb in 150 600; do
  python3 "$ROOT/scripts/bench/agent-body.py" $kb > "$WORK/agent-$kb.json"
  cat > "$WORK/agent-$kb.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$WORK/agent-$kb.json", "rb")
wrk.body = f:read("*a")
f:close()
LUA
done

proxy_pid() { # the process doing the proxying: nginx's worker, or the front
  case $1 in
    proxy) pgrep -P "$(cat "$WORK/proxy/nginx.pid")" | head -1 ;;
    front) echo "$FRONT_PID" ;;
    front-noledger) echo "$FRONT_NOLEDGER_PID" ;;
    hb-static) echo "${FLOOR_PID[static]}" ;;
    hb+client) echo "${FLOOR_PID[client]}" ;;
    hb+ahc) echo "${FLOOR_PID[forward]}" ;;
    *) echo "" ;;
  esac
}
cpu_ticks() { [ -n "$1" ] && awk '{print $14+$15}' "/proc/$1/stat" || echo 0; }
rss_kb() { [ -n "$1" ] && awk '/VmRSS/{print $2}' "/proc/$1/status" || echo 0; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
anon_kb() { [ -n "$1" ] && awk '/RssAnon/{print $2}' "/proc/$1/status" || echo 0; }  # heap and stacks: RSS without code pages
to_ms() { # wrk latency like 52.00us / 1.20ms / 1.01s -> ms
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v }'
}
HZ=$(getconf CLK_TCK)
FRONT_RSS_START=$(rss_kb "$FRONT_PID")
FRONT_ANON_START=$(anon_kb "$FRONT_PID")
NGINX_RSS_START=$(rss_kb "$(proxy_pid proxy)")
declare -A P50 TOTAL

# Warm up connections and code paths.
for port in $UP $PROXY $FRONT $FRONT_NOLEDGER $FLOOR_PORTS; do wrk -t1 -c8 -d2s -s "$WORK/post.lua" "http://127.0.0.1:$port/v1/chat/completions" >/dev/null; done
FRONT_RSS_WARM=$(rss_kb "$FRONT_PID")
FRONT_ANON_WARM=$(anon_kb "$FRONT_PID")

echo "| request | target | conc. | req/s | p50 ms | p99 ms | added p50 ms | CPU us/req | errors |"
echo "|---|---|---|---|---|---|---|---|---|"
run() { # label script concurrency targets...
  local label=$1 script=$2 c=$3; shift 3
  local t=$(( c < 2 ? 1 : 2 ))
  for target in "$@"; do
    case $target in
      direct) port=$UP ;; proxy) port=$PROXY ;; front) port=$FRONT ;; front-noledger) port=$FRONT_NOLEDGER ;;
      hb-static) port=$HB_STATIC ;; hb+client) port=$HB_CLIENT ;; hb+ahc) port=$HB_AHC ;;
    esac
    pid=$(proxy_pid $target)
    before=$(cpu_ticks "$pid")
    out=$(wrk -t$t -c$c -d"$DURATION" --latency -s "$script" "http://127.0.0.1:$port/v1/chat/completions")
    after=$(cpu_ticks "$pid")
    reqs=$(echo "$out" | awk '/requests in/{print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    p50=$(to_ms "$(echo "$out" | awk '$1=="50%"{print $2}')")
    p99=$(to_ms "$(echo "$out" | awk '$1=="99%"{print $2}')")
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/{s=s $0 "; "} END{print (s==""?"0":s)}')
    P50[$target]=$p50
    TOTAL[$target]=$(( ${TOTAL[$target]:-0} + reqs ))
    added="-"; cpu="-"
    [ "$target" != direct ] && added=$(awk -v a="$p50" -v b="${P50[direct]}" 'BEGIN{printf "%.3f", a-b}')
    [ -n "$pid" ] && cpu=$(awk -v d=$((after-before)) -v n="$reqs" -v hz="$HZ" 'BEGIN{printf "%.1f", d/hz*1e6/n}')
    echo "| $label | $target | $c | $rps | $p50 | $p99 | $added | $cpu | $errs |"
  done
}
for c in $SMALL; do run small "$WORK/post.lua" $c direct proxy front front-noledger $FLOOR_TARGETS; done
for kb in 150 600; do
  [ -n "$AGENT" ] || break
  for target in $UP $PROXY $FRONT; do wrk -t1 -c2 -d1s -s "$WORK/agent-$kb.lua" "http://127.0.0.1:$target/v1/chat/completions" >/dev/null; done
  for c in $AGENT; do run "agent $kb KB" "$WORK/agent-$kb.lua" $c direct proxy front; done
done
FRONT_RSS_END=$(rss_kb "$FRONT_PID")
FRONT_ANON_END=$(anon_kb "$FRONT_PID")
NGINX_RSS_END=$(rss_kb "$(proxy_pid proxy)")
echo
echo "| process | RSS at start | RSS after warm-up | RSS at end | requests served |"
echo "|---|---|---|---|---|"
echo "| front | $(mib "$FRONT_RSS_START") MiB | $(mib "$FRONT_RSS_WARM") MiB | $(mib "$FRONT_RSS_END") MiB | ${TOTAL[front]} |"
echo "| front, anonymous only (heap, stacks) | $(mib "$FRONT_ANON_START") MiB | $(mib "$FRONT_ANON_WARM") MiB | $(mib "$FRONT_ANON_END") MiB | ${TOTAL[front]} |"
echo "| nginx proxy worker | $(mib "$NGINX_RSS_START") MiB | - | $(mib "$NGINX_RSS_END") MiB | ${TOTAL[proxy]} |"
for floor in $FLOOR_NAMES; do
  echo "| floor $floor | - | - | $(mib "$(rss_kb "${FLOOR_PID[$floor]}")") MiB | - |"
done
[ "$DECISIONS" = 1 ] || exit 0
echo
"$BENCH" front --decisions --config "$ROOT" --body "$WORK/agent-150.json" --body "$WORK/agent-600.json"
