#!/usr/bin/env bash
# Installs everything hermes-runtime's demo and tests need on a fresh Debian machine. Idempotent, cached.
source "$(dirname "$0")/common.sh"
here="$(cd "$(dirname "$0")" && pwd)"
"$here/setup-system.sh"
"$here/setup-python-tools.sh"
"$here/setup-model.sh"
"$here/setup-llama-server.sh"
log "ready: llama-server $LLAMA_SERVER_DIR/bin/llama-server, model $MODEL_FILE"
