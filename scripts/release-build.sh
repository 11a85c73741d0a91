#!/usr/bin/env bash
# The release build of hermes-runtime, in the cache (~/.cache/hermes-runtime/swift-build-release, or
# $HERMES_RUNTIME_SWIFT_BUILD_RELEASE), shared by scripts/install.sh and scripts/demo.sh: the dependencies
# are compiled for release once, later builds are incremental. The Swift runtime and Foundation are linked
# in (--static-swift-stdlib), so the installed binary does not depend on the toolchain staying where it is.
# Compiler output goes to a log file; prints the binary's path on stdout and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
command -v swift >/dev/null || { log "no swift on PATH: install Swift 6.3 (swift.org) first"; exit 1; }
scratch="${HERMES_RUNTIME_SWIFT_BUILD_RELEASE:-$HERMES_CACHE/swift-build-release}"
mkdir -p "$scratch"
buildlog="$scratch/build.log"
[ -x "$scratch/release/hermes-runtime" ] || log "first release build: the dependencies are compiled once (several minutes on 2 cores)"
start=$(date +%s)
if ! swift build -c release --product hermes-runtime --static-swift-stdlib --scratch-path "$scratch" >"$buildlog" 2>&1; then
  tail -n 40 "$buildlog" >&2
  log "the release build failed; its whole output is in $buildlog"
  exit 1
fi
log "release build ready in $(( $(date +%s) - start )) s (compiler output: $buildlog)"
echo "$scratch/release/hermes-runtime"
