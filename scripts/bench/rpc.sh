#!/usr/bin/env bash
# What llama.cpp's RPC backend costs on this box: load time and tokens/s of the test model (CPU, 1 thread
# per process) in one llama-server, split over two ggml-rpc-server workers on loopback, and over one
# worker across a veth link between two network namespaces, then with added latency on that link
# (`tc qdisc ... netem delay 0.1/0.5/1ms`, when the kernel has netem). The engine's own binaries, no
# hermes-runtime in between: this measures what a split costs, not the supervisor. Needs root (netns).
#   scripts/bench/rpc.sh [runs]     (default 3 runs of each; medians)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
export BENCH_RUNS="${1:-3}"
scripts/setup.sh >/dev/null
export BENCH_BIN="$(dirname "${HERMES_RUNTIME_LLAMA_SERVER:-$(ls -d "$HERMES_CACHE"/llama-server/b*/bin/llama-server | sort | tail -1)}")"
export BENCH_MODEL="${HERMES_RUNTIME_TEST_MODEL:-$MODEL_FILE}"
exec python3 - <<'PY'
import json, os, random, statistics, subprocess, time, urllib.request

BIN, MODEL, RUNS = os.environ["BENCH_BIN"], os.environ["BENCH_MODEL"], int(os.environ["BENCH_RUNS"])
tag = f"hrb{os.getpid() % 100000}"
A, B, VA, VB = tag + "a", tag + "b", tag + "va", tag + "vb"
ADDR_A, ADDR_B = "10.231.8.1", "10.231.8.2"
procs = []

def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)

def spawn(ns, *args):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    return p

def stop_all():
    for p in procs:
        p.kill()
        p.wait()
    procs.clear()

def http(ns, url, body=None, timeout=120):
    if ns:  # the namespace's loopback is its own: ask from inside it
        cmd = ["ip", "netns", "exec", ns, "curl", "-s", "-m", str(timeout), "-w", "\n%{http_code}"]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        out = sh(*cmd, url, check=False).stdout.rsplit("\n", 1)
        return (int(out[1]) if len(out) == 2 and out[1].isdigit() else 0), out[0]
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except Exception:
        return 0, ""

def port():
    return 20000 + random.randrange(20000)

def run(ns, main_args, workers):
    """Starts the workers, then the main; returns (load seconds, generated tokens/s, prompt tokens/s)."""
    for wns, host, p in workers:
        spawn(wns, f"{BIN}/ggml-rpc-server", "-H", host, "-p", str(p), "-d", "CPU", "-t", "1")
    time.sleep(0.5)  # ggml-rpc-server prints nothing to wait on; a HELLO would take its one connection
    mp = port()
    began = time.monotonic()
    spawn(ns, f"{BIN}/llama-server", "-m", MODEL, "--host", "127.0.0.1", "--port", str(mp), "-c", "1024",
          "-t", "1", "-np", "1", *main_args)
    while http(ns, f"http://127.0.0.1:{mp}/health", timeout=2)[0] != 200:
        if time.monotonic() - began > 300:
            raise SystemExit("llama-server not ready in 300 s")
        time.sleep(0.05)
    load = time.monotonic() - began
    body = {"prompt": "Once upon a time", "n_predict": 64, "temperature": 0, "ignore_eos": True, "cache_prompt": False}
    status, text = http(ns, f"http://127.0.0.1:{mp}/completion", body)
    stop_all()
    if status != 200:
        raise SystemExit(f"completion answered {status}: {text[:200]}")
    t = json.loads(text)["timings"]
    return load, t["predicted_per_second"], t["prompt_per_second"]

rows = []
def measure(name, ns, main_args, workers):
    got = [run(ns, main_args, workers) for _ in range(RUNS)]
    rows.append((name, *(statistics.median(x[i] for x in got) for i in range(3))))
    print(f"  {name}: {rows[-1][1:]}", flush=True)

rpc = ["-ngl", "all", "--fit", "off", "--cache-ram", "0"]
try:
    measure("one process (CPU)", None, ["-ngl", "0"], [])
    w0, w1 = port(), port()
    measure("two workers on loopback", None, rpc + ["--rpc", f"127.0.0.1:{w0},127.0.0.1:{w1}", "-dev", "RPC0,RPC1", "-ts", "1,1"],
            [(None, "127.0.0.1", w0), (None, "127.0.0.1", w1)])
    sh("ip", "netns", "add", A); sh("ip", "netns", "add", B)
    sh("ip", "link", "add", VA, "type", "veth", "peer", "name", VB)
    sh("ip", "link", "set", VA, "netns", A); sh("ip", "link", "set", VB, "netns", B)
    sh("ip", "-n", A, "addr", "add", ADDR_A + "/30", "dev", VA); sh("ip", "-n", B, "addr", "add", ADDR_B + "/30", "dev", VB)
    for ns, v in ((A, VA), (B, VB)):
        sh("ip", "-n", ns, "link", "set", "lo", "up"); sh("ip", "-n", ns, "link", "set", v, "up")
    wl = port()
    link = rpc + ["--rpc", f"{ADDR_B}:{wl}", "-dev", "RPC0"]
    measure("one worker over the veth link", A, link, [(B, ADDR_B, wl)])
    for delay in ("0.1ms", "0.5ms", "1ms"):
        # netem on both ends: the round trip grows by twice the delay.
        r = sh("ip", "netns", "exec", A, "tc", "qdisc", "replace", "dev", VA, "root", "netem", "delay", delay, check=False)
        if r.returncode != 0:
            rows.append((f"link + netem {delay} each way", None, None, None))
            print(f"  netem {delay}: {r.stderr.strip()} (this kernel has no netem: CONFIG_NET_SCH_NETEM)", flush=True)
            continue
        sh("ip", "netns", "exec", B, "tc", "qdisc", "replace", "dev", VB, "root", "netem", "delay", delay)
        measure(f"link + netem {delay} each way", A, link, [(B, ADDR_B, wl)])
finally:
    stop_all()
    sh("ip", "netns", "del", A, check=False); sh("ip", "netns", "del", B, check=False)

base = rows[0][2]
print(f"\n| setup | load (s) | generation (tokens/s) | vs one process | prompt (tokens/s) |")
print("|---|---|---|---|---|")
for name, load, gen, pp in rows:
    if load is None:
        print(f"| {name} | not measured: no netem in this kernel | | | |")
    else:
        print(f"| {name} | {load:.2f} | {gen:.1f} | {gen / base:.2f}x | {pp:.1f} |")
print(f"\n{RUNS} runs each, medians; 64 tokens generated, 1 thread per process.")
PY
