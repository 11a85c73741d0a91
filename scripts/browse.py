#!/usr/bin/env python3
"""Drives a real headless chromium through a list of steps and prints what it saw, as JSON.

Used by the status page's test (Tests/HermesCLITests/StatusPageCLITests.swift) and to take the
screenshot in docs/. Talks the Chrome DevTools Protocol over --remote-debugging-pipe (file
descriptors 3 and 4, messages ending in NUL), so it needs nothing beyond the Python standard library
and Debian's chromium (scripts/setup-system.sh installs it).

    scripts/browse.py STEPS.json        (or '-' for standard input)

STEPS is a list; each step is one of
    {"navigate": URL}
    {"eval": JS, "timeout": SECONDS}     its value (promises awaited, up to SECONDS, 60 by default) goes
                                         to the output
    {"wait": JS, "timeout": SECONDS}     until JS is truthy; fails with the page's text if it never is
    {"screenshot": FILE}                 a PNG of the viewport
and the output is {"ok": bool, "results": [{"step": i, "value": ..., "ms": ...}], "error": ...}.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

WIDTH, HEIGHT = 1440, 1120


class Browser:
    def __init__(self):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            raise SystemExit("chromium is missing: run scripts/setup-system.sh (apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="hermes-browse-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                 "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
                 f"--window-size={WIDTH},{HEIGHT}", "about:blank"]
        # The browser reads commands from fd 3 and answers on fd 4; a shell puts the pipes there.
        wire = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", wire, exe] + flags,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("BROWSE_LOG", os.devnull), "ab"),
            pass_fds=(to_browser_r, from_browser_w))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def call(self, method, params=None, timeout=120, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{method}: no answer from chromium in {timeout} s")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self.buffer += chunk

    def open(self):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})

    def evaluate(self, expression, timeout=120):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError(f"script failed: {r['exceptionDetails'].get('exception', {}).get('description', r['exceptionDetails'])}")
        return r.get("result", {}).get("value")

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def run(steps):
    out = {"ok": True, "results": []}
    b = Browser()
    try:
        b.open()
        for i, step in enumerate(steps):
            start = time.monotonic()
            value = None
            if "navigate" in step:
                b.call("Page.navigate", {"url": step["navigate"]})
            elif "eval" in step:
                value = b.evaluate(step["eval"], timeout=float(step.get("timeout", 60)))
            elif "wait" in step:
                deadline = start + float(step.get("timeout", 30))
                while True:
                    try:
                        value = b.evaluate(step["wait"])
                    except RuntimeError:
                        value = None
                    if value:
                        break
                    if time.monotonic() > deadline:
                        text = b.evaluate("document.body ? document.body.innerText.slice(0, 3000) : ''")
                        raise TimeoutError(f"step {i}: never true within {step.get('timeout', 30)} s: {step['wait']}\npage:\n{text}")
                    time.sleep(0.1)
            elif "screenshot" in step:
                shot = b.call("Page.captureScreenshot", {"format": "png"})
                with open(step["screenshot"], "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                value = step["screenshot"]
            else:
                raise ValueError(f"step {i}: unknown step {step}")
            out["results"].append({"step": i, "value": value, "ms": round((time.monotonic() - start) * 1000)})
    except Exception as e:  # the caller reads the error from the JSON
        out["ok"] = False
        out["error"] = str(e)
    finally:
        b.close()
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    source = sys.stdin if sys.argv[1] == "-" else open(sys.argv[1])
    result = run(json.load(source))
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)
