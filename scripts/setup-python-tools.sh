#!/usr/bin/env bash
# A private venv with cmake, ninja (llama-server build), the openai and anthropic clients (front tests;
# anthropic pinned: the tests read its streaming helpers and error classes) and prometheus-client (its
# text parser checks the daemon's /metrics in the tests).
source "$(dirname "$0")/common.sh"
if [ -x "$TOOLS_VENV/bin/cmake" ] && [ -x "$TOOLS_VENV/bin/ninja" ] && "$TOOLS_VENV/bin/python" -c 'import openai, anthropic, setuptools_scm, prometheus_client' 2>/dev/null; then
  log "python tools present"
  exit 0
fi
log "creating tools venv at $TOOLS_VENV"
[ -x "$TOOLS_VENV/bin/pip" ] || python3 -m venv "$TOOLS_VENV"
"$TOOLS_VENV/bin/pip" install -q --disable-pip-version-check cmake ninja openai "anthropic==$ANTHROPIC_VERSION" "prometheus-client==0.26.0" "setuptools>=77" "setuptools-scm>=8" wheel
log "python tools installed"
