#!/usr/bin/env bash
# How fast the front answers again when the daemon goes away, with one model loaded (the test model on
# CPU): after `kill -9` of the daemon (the guard starts a new one, which adopts the running server) beside
# a planned `daemon restart` (the reference: the same adoption, asked for). Time from the kill (or from
# the command) until the front's /health says the profile is ready again; the server's pid must not
# change (nothing reloaded).
#   scripts/bench/survival.sh [runs]     (default 5 runs of each; the release build, cached)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
export BENCH_RUNS="${1:-5}"
scripts/setup.sh >/dev/null
export BENCH_HERMES="$(scripts/release-build.sh)"
export BENCH_LLAMA="${HERMES_RUNTIME_LLAMA_SERVER:-$(ls -d "$HERMES_CACHE"/llama-server/b*/bin/llama-server | sort | tail -1)}"
export BENCH_MODEL="${HERMES_RUNTIME_TEST_MODEL:-$MODEL_FILE}"
exec "$TOOLS_VENV/bin/python" - <<'PY'
import json, os, random, signal, statistics, subprocess, tempfile, time, urllib.request

hermes, runs = os.environ["BENCH_HERMES"], int(os.environ["BENCH_RUNS"])
root = tempfile.mkdtemp(prefix="hermes-survival-bench-")
port, front = 20000 + random.randrange(10000), 30000 + random.randrange(10000)
os.makedirs(root + "/runtimes")
open(root + "/runtime.yaml", "w").write(f"front:\n  listen: 127.0.0.1:{front}\n  default: demo\n")
open(root + "/runtimes/demo.yaml", "w").write(
    f"kind: llama-server\nmodel: {os.environ['BENCH_MODEL']}\nport: {port}\ncontext: 1024\nslots: 1\nthreads: 1\ngpu_layers: 0\n")
env = dict(os.environ, HERMES_RUNTIME_HOME=root, HERMES_RUNTIME_LLAMA_SERVER=os.environ["BENCH_LLAMA"])
env.pop("HERMES_RUNTIME_STATE", None)

def cli(*args):
    return subprocess.run([hermes, *args], env=env, capture_output=True, text=True, check=True).stdout

def status():
    return json.loads(cli("status", "--json"))

def ready():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{front}/health", timeout=2) as r:
            return r.status == 200 and '"demo":"ready"' in r.read().decode()
    except Exception:
        return False

def back_after(t0, timeout=120):
    while time.monotonic() - t0 < timeout:
        if ready(): return time.monotonic() - t0
        time.sleep(0.005)
    raise SystemExit("the front did not answer again within 120 s")

try:
    cli("start", "demo")
    s = status()
    pid = s["servers"][0]["pid"]
    rows = {"daemon restart (planned, reference)": [], "kill -9 of the daemon": []}
    for _ in range(runs):
        while not ready(): time.sleep(0.01)
        t0 = time.monotonic()
        subprocess.run([hermes, "daemon", "restart"], env=env, capture_output=True, check=True)
        rows["daemon restart (planned, reference)"].append(back_after(t0))
        while not ready(): time.sleep(0.01)
        worker = status()["daemon"]["pid"]
        t0 = time.monotonic()
        os.kill(worker, signal.SIGKILL)
        # The old worker's front may still be answering for an instant: wait for it to be gone first.
        while True:
            try: os.kill(worker, 0)
            except ProcessLookupError: break
            time.sleep(0.001)
        rows["kill -9 of the daemon"].append(back_after(t0))
    assert status()["servers"][0]["pid"] == pid, "the server was reloaded"
    print(f"load average: {os.getloadavg()[0]:.1f}; {runs} runs each; the server kept pid {pid} throughout")
    print("| front ready again after | median | min | max |")
    print("|---|---|---|---|")
    for name, xs in rows.items():
        print(f"| {name} | {statistics.median(xs):.3f} s | {min(xs):.3f} s | {max(xs):.3f} s |")
finally:
    subprocess.run([hermes, "daemon", "stop"], env=env, capture_output=True)
PY
