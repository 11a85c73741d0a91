#!/usr/bin/env bash
# The whole test suite, set-up included: installs what is missing (cached), builds, runs every test.
#   scripts/test.sh [extra `swift test` arguments, e.g. --filter ConfigLoaderTests]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"
# Products (hermes-runtime, hermes-bench) first: the end-to-end tests run the built binary.
swift build --build-tests
swift test --skip-build "$@"
