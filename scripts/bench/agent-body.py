#!/usr/bin/env python3
"""Writes an agent-sized chat request, shaped as a coding agent sends one on every turn.

    scripts/bench/agent-body.py KB > body.json     # e.g. 150 or 600

40 tool schemas, an 8 KB system prompt, 30 tool-call turns (assistant tool_calls + tool results, the
results padded so the whole body is KB kilobytes), max_tokens as the Hermes agent sends it (its whole
context), streaming off so every server in the benchmark answers the same JSON. Deterministic: the same
KB gives the same bytes, so runs compare.
"""
import json
import random
import sys

kb = int(sys.argv[1]) if len(sys.argv) > 1 else 150
rng = random.Random(kb)
words = ("the file function test build error line value return module import class struct async await "
         "request response profile server token context slot stream model route burst config path").split()


def text(n):
    out = []
    size = 0
    while size < n:
        w = rng.choice(words)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


tools = []
for i in range(40):
    tools.append({"type": "function", "function": {
        "name": f"tool_{i}_{rng.choice(words)}",
        "description": text(400),
        "parameters": {"type": "object", "properties": {
            f"arg{j}": {"type": rng.choice(["string", "integer", "boolean"]), "description": text(120)} for j in range(6)
        }, "required": ["arg0", "arg1"]},
    }})

messages = [{"role": "system", "content": text(8192)}, {"role": "user", "content": "Fix the failing test in Sources/App/main.swift. " + text(300)}]
base = len(json.dumps({"model": "coding", "messages": messages, "tools": tools}))
per_turn = max(200, (kb * 1024 - base) // 30 - 300)
for t in range(30):
    call = f"call_{t:03d}"
    messages.append({"role": "assistant", "content": None, "tool_calls": [{"id": call, "type": "function", "function": {
        "name": tools[t % 40]["function"]["name"], "arguments": json.dumps({"arg0": text(40), "arg1": t})}}]})
    messages.append({"role": "tool", "tool_call_id": call, "content": text(per_turn) + "\n\u2713 done \"ok\""})

body = {"model": "coding", "messages": messages, "tools": tools, "max_tokens": 131072, "stream": False,
        "temperature": 0.2, "metadata": {"platform": "cli", "source_kind": "owner"}}
sys.stdout.write(json.dumps(body, ensure_ascii=False))
