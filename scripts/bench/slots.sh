#!/usr/bin/env bash
# Warm prompt caches (issue 17), two figures on the test model (CPU):
# 1. The front's slot choice (`warm_cache: true`: longest recorded prefix, else an empty slot, else LRU;
#    it sends id_slot) against llama-server's own (no id_slot: prompt similarity > 0.10, else LRU).
#    Three agent conversations on two-slot profiles, through the front, interleaved round-robin and
#    with one conversation hot, each with distinct system prompts and with one shared system prompt.
#    Both profiles run with --swa-full (same KV layout) and no checkpoints (only live slots count).
# 2. How long a request that arrives while a slot is being saved (a checkpoint) waits: directly
#    against a llama-server with --slot-save-path, a save of slot 0 holding N tokens, a one-token
#    request to slot 1 sent 5 ms after it, against the same request with nothing saving.
#   scripts/bench/slots.sh [cache_ram MiB] [sizes] [repeats] [probe]   (default 0, "1024 4096 8192", 5, 0)
# probe: the supervisor's health.generation_interval; 0 (off) by default, because its one-token
# generation names no slot and overwrites whichever idle slot llama-server gives it (see benchmarks.md).
# The daemon is the release build (scripts/release-build.sh; HERMES_RUNTIME_BIN=PATH to use another).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
export BENCH_CACHE_RAM="${1:-0}" BENCH_SIZES="${2:-1024 4096 8192}" BENCH_REPEATS="${3:-5}" BENCH_PROBE="${4:-0}"
scripts/setup.sh >/dev/null
export BENCH_HERMES="${HERMES_RUNTIME_BIN:-$(scripts/release-build.sh)}"
export BENCH_LLAMA="${HERMES_RUNTIME_LLAMA_SERVER:-$(ls -d "$HERMES_CACHE"/llama-server/b*/bin/llama-server | sort | tail -1)}"
export BENCH_MODEL="${HERMES_RUNTIME_TEST_MODEL:-$MODEL_FILE}"
exec "$TOOLS_VENV/bin/python" - <<'PY'
import json, os, random, shutil, statistics, subprocess, tempfile, threading, time, urllib.request

hermes, llama, model = os.environ["BENCH_HERMES"], os.environ["BENCH_LLAMA"], os.environ["BENCH_MODEL"]
cache_ram, repeats = int(os.environ["BENCH_CACHE_RAM"]), int(os.environ["BENCH_REPEATS"])
sizes = [int(s) for s in os.environ["BENCH_SIZES"].split()]
root = tempfile.mkdtemp(prefix="hermes-slots-bench-")
front, p_ours, p_theirs, p_direct = (20000 + random.randrange(10000) + 10000 * i for i in range(4))
words = "agent tool file line patch build test error value module request answer cache token slot".split()

def post(url, body, timeout=900):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r), r.headers

def text(seed, n):  # n pseudo-random words, the same for the same seed
    rng = random.Random(seed)
    return " ".join(rng.choice(words) + str(rng.randrange(100)) for _ in range(n))

# ---- 1. slot choice, through the front ----
os.makedirs(root + "/runtimes")
open(root + "/runtime.yaml", "w").write(f"front:\n  listen: 127.0.0.1:{front}\n  default: ours\nkv_cache:\n  checkpoint_idle: 0\n")
common = f"kind: llama-server\nmodel: {model}\ncontext: 8192\nslots: 2\nthreads: 2\ngpu_layers: 0\ncache_ram: {cache_ram}\n" \
    f"health:\n  generation_interval: {os.environ['BENCH_PROBE']}\n"
open(root + "/runtimes/ours.yaml", "w").write(common + f"port: {p_ours}\nwarm_cache: true\n")
open(root + "/runtimes/theirs.yaml", "w").write(common + f"port: {p_theirs}\nargs: [--swa-full]\n")
env = dict(os.environ, HERMES_RUNTIME_HOME=root, HERMES_RUNTIME_LLAMA_SERVER=llama)
env.pop("HERMES_RUNTIME_STATE", None)

def cli(*args):
    return subprocess.run([hermes, *args], env=env, capture_output=True, text=True, check=True).stdout

def start(profile):  # until the front's /health says it is ready
    cli("start", profile)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 300:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{front}/health", timeout=2) as r:
                if f'"{profile}":"ready"' in r.read().decode(): return
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{profile} not ready within 300 s")

def conversations(tag, shared):
    tools = "You are a coding agent. Tools: read_file, edit_file, run_tests. " + text(tag if shared else 0, 220)
    convs = []
    for c in range(3):
        system = tools if shared else f"Agent {c} of run {tag}. " + text(f"{tag}-{c}", 220)
        convs.append([{"role": "system", "content": system},
                      {"role": "user", "content": f"Task {c}: " + text(f"{tag}-{c}-task", 30)}])
    return convs

def run(profile, tag, shared, order):
    convs, rows, warm = conversations(tag, shared), [], []
    for i, c in enumerate(order):
        a, h = post(f"http://127.0.0.1:{front}/v1/chat/completions",
                    {"model": profile, "messages": convs[c], "max_tokens": 4, "temperature": 0})
        t = a["timings"]
        rows.append((t["prompt_n"], t["cache_n"], t["prompt_ms"]))
        warm.append(h.get("X-Hermes-Warm", "-"))
        convs[c] += [{"role": "assistant", "content": f"Calling read_file, step {i}."},
                     {"role": "user", "content": f"Tool result {i}: " + text(f"{tag}-{i}", 40)}]
    return rows, warm

orders = {"round-robin (A B C A B C ...)": [0, 1, 2] * 4,
          "one hot (A B A C A B ...)": [0, 1, 0, 2] * 3}
table = []
try:
    for p in ("ours", "theirs"): start(p)
    n = 0
    for shared in (False, True):
        for oname, order in orders.items():
            n += 1
            for p in ("ours", "theirs"):
                rows, warm = run(p, f"r{n}", shared, order)
                table.append((("one shared" if shared else "distinct"), oname, p, rows, warm))
                cli("stop", p); start(p)  # empty slots for the next run
finally:
    subprocess.run([hermes, "daemon", "stop"], env=env, capture_output=True)

print(f"load average {os.getloadavg()[0]:.1f}; test model, CPU, 2 slots, -c 8192, --swa-full, cache_ram {cache_ram}, "
      f"generation probe {os.environ['BENCH_PROBE']}; "
      "3 conversations, 12 requests per run")
print("| system prompts | interleaving | slot choice | prompt tokens | reused (cache_n) | reuse | prefill ms |")
print("|---|---|---|---|---|---|---|")
for sp, oname, p, rows, warm in table:
    total = sum(a + b for a, b, _ in rows); reused = sum(b for _, b, _ in rows); ms = sum(m for _, _, m in rows)
    who = "front (warm_cache)" if p == "ours" else "llama-server (similarity)"
    print(f"| {sp} | {oname} | {who} | {total} | {reused} | {reused / total:.0%} | {ms:.0f} |")
for sp, oname, p, rows, warm in table:
    print(f"  {sp}, {oname}, {p}: cache_n per request {[b for _, b, _ in rows]}" + (f", slots {warm}" if p == "ours" else ""))

# ---- 2. a request that arrives during a save ----
saves = tempfile.mkdtemp(prefix="hermes-slots-save-")
base = f"http://127.0.0.1:{p_direct}"
per_slot = max(sizes) + 512
server = subprocess.Popen([llama, "-m", model, "--host", "127.0.0.1", "--port", str(p_direct), "-c", str(2 * per_slot),
                           "-np", "2", "-t", "2", "--slot-save-path", saves + "/", "--swa-full", "--no-cache-idle-slots",
                           "--cache-ram", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env=dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(llama)))
try:
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200: break
        except Exception:
            time.sleep(0.05)
    ids = post(base + "/tokenize", {"content": text("long", max(sizes))})[0]["tokens"]
    probe = post(base + "/tokenize", {"content": "Say yes. " + text("probe", 20)})[0]["tokens"]

    def ask():  # one token to slot 1; its prompt is cached there after the first call
        t0 = time.monotonic()
        post(base + "/completion", {"prompt": probe, "n_predict": 1, "id_slot": 1, "cache_prompt": True})
        return time.monotonic() - t0

    ask()
    rows = []
    for n in sizes:
        post(base + "/completion", {"prompt": ids[:n], "n_predict": 1, "id_slot": 0, "cache_prompt": True})
        ask()
        idle, during, save = [], [], []
        for _ in range(repeats):  # alternating, so that the load of the box weighs on both alike
            idle.append(ask())
            out = {}
            th = threading.Thread(target=lambda: out.update(post(base + "/slots/0?action=save", {"filename": "s.bin"})[0]))
            th.start(); time.sleep(0.005)
            during.append(ask()); th.join()
            save.append((out["n_written"], out["timings"]["save_ms"]))
        mb = save[0][0] / 1e6
        save_ms = statistics.median(s for _, s in save)
        stall = (statistics.median(during) - statistics.median(idle)) * 1000
        rows.append((n, mb, save_ms, statistics.median(idle) * 1000, statistics.median(during) * 1000, stall))
finally:
    server.terminate(); server.wait()
    shutil.rmtree(saves); shutil.rmtree(root)

print(f"\nload average {os.getloadavg()[0]:.1f}; llama-server -np 2 -c {2 * per_slot} -t 2 --swa-full; median of {repeats}; "
      "a one-token request to slot 1 sent 5 ms after a save of slot 0 starts")
print("| slot 0 holds | file | save_ms | request, nothing saving | request during the save | stall | stall per MB |")
print("|---|---|---|---|---|---|---|")
for n, mb, save_ms, idle, during, stall in rows:
    print(f"| {n} tokens | {mb:.1f} MB | {save_ms:.0f} ms | {idle:.0f} ms | {during:.0f} ms | {stall:.0f} ms | {stall / mb:.2f} ms/MB |")
PY
