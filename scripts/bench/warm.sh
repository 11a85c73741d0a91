#!/usr/bin/env bash
# Warm prompt caches (issue 17) on the test model: a scripted agent session (a system prompt with tool
# schemas, then turns that each add a tool result), the server stopped between turns. Time to first
# token per turn for a server never stopped / stopped with its slot saved and restored (what warm_cache
# does) / stopped without; and save and restore time per MB, from llama-server's own timings.
#   scripts/bench/warm.sh [turns] [head-repeats]   (default 5 turns, 30 repeats of the tool block ~2K tokens)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
export BENCH_TURNS="${1:-5}" BENCH_REPEATS="${2:-30}"
export BENCH_BIN="${HERMES_RUNTIME_LLAMA_SERVER:-$(ls -d "$HERMES_CACHE"/llama-server/b*/bin/llama-server | sort | tail -1)}"
export BENCH_MODEL="${HERMES_RUNTIME_TEST_MODEL:-$MODEL_FILE}"
exec "$TOOLS_VENV/bin/python" - <<'PY'
import json, os, subprocess, tempfile, time, urllib.request, random

binary, model = os.environ["BENCH_BIN"], os.environ["BENCH_MODEL"]
turns, repeats = int(os.environ["BENCH_TURNS"]), int(os.environ["BENCH_REPEATS"])
port = 20000 + random.randrange(20000)
url = f"http://127.0.0.1:{port}"
slots = tempfile.mkdtemp(prefix="hermes-warm-bench-")
env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(binary))

def post(path, body, timeout=600):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)

def launch():
    p = subprocess.Popen([binary, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-c", "8192", "-np", "1", "-t", "2",
                          "--slot-save-path", slots + "/", "--swa-full", "--no-cache-idle-slots"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200: return p
        except Exception:
            time.sleep(0.05)

def stop(p):
    p.terminate(); p.wait()

tool = ("Tool read_file(path: string, offset: integer, limit: integer) reads a file of the repository and returns "
        "its lines with numbers; use it before editing. ")
system = "You are a coding agent. " + tool * repeats
conversation = [{"role": "system", "content": system}, {"role": "user", "content": "Find the bug in main.swift."}]

def turn():
    t0 = time.monotonic()
    a = post("/v1/chat/completions", {"messages": conversation, "max_tokens": 1, "temperature": 0, "id_slot": 0})
    return time.monotonic() - t0, a["timings"]

results = {}
io = []
for mode in ["never stopped", "stopped, warm cache", "stopped, no cache"]:
    del conversation[2:]
    p = launch()
    times = []
    for i in range(turns):
        if i > 0 and mode != "never stopped":
            if mode == "stopped, warm cache":
                s = post("/slots/0?action=save", {"filename": "s.bin"})
                io.append(("save", s["n_written"], s["timings"]["save_ms"]))
            stop(p); p = launch()
            if mode == "stopped, warm cache":
                r = post("/slots/0?action=restore", {"filename": "s.bin"})
                io.append(("restore", r["n_read"], r["timings"]["restore_ms"]))
        took, t = turn()
        times.append((took, t["prompt_n"], t["cache_n"]))
        conversation += [{"role": "assistant", "content": f"Calling read_file on part {i}."},
                         {"role": "user", "content": f"Tool result {i}: " + "let x = compute(y) // line\n" * 8}]
    stop(p)
    results[mode] = times

prompt_total = results["never stopped"][-1][1] + results["never stopped"][-1][2]
print(f"llama-server {binary}, test model, -c 8192 -np 1 -t 2 --swa-full; head ~{results['never stopped'][0][1]} tokens, last turn {prompt_total} tokens")
print("| turn | " + " | ".join(f"{m}: time to first token (prefilled / reused tokens)" for m in results) + " |")
print("|---|" + "---|" * len(results))
for i in range(turns):
    print(f"| {i + 1} | " + " | ".join(f"{r[i][0]:.2f} s ({r[i][1]} / {r[i][2]})" for r in results.values()) + " |")
for kind in ["save", "restore"]:
    rows = [(b, ms) for k, b, ms in io if k == kind]
    mb = sum(b for b, _ in rows) / 1e6; ms = sum(ms for _, ms in rows)
    print(f"{kind}: {len(rows)} times, {mb:.1f} MB in {ms:.0f} ms = {ms / mb if mb else 0:.2f} ms/MB")
PY
