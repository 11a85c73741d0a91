#!/usr/bin/env bash
# The whole test suite, set-up included: installs what is missing (cached), builds, runs every test.
#   scripts/test.sh [extra `swift test` arguments, e.g. --filter ConfigLoaderTests]
#
# The Swift build lives in the cache (~/.cache/hermes-runtime/swift-build, or $HERMES_RUNTIME_SWIFT_BUILD)
# so a fresh clone reuses the dependencies already built (~6 minutes on 2 cores the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"
scratch="${HERMES_RUNTIME_SWIFT_BUILD:-$HERMES_CACHE/swift-build}"
mkdir -p "$scratch"
# Products (hermes-runtime, hermes-bench) first: the end-to-end tests run the built binary.
if ! swift build --build-tests --scratch-path "$scratch"; then
  log "the cached Swift build failed; building once more from a clean cache ($scratch)"
  empty_folder "$scratch"
  swift build --build-tests --scratch-path "$scratch"
fi
swift test --skip-build --scratch-path "$scratch" "$@"
