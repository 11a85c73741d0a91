#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of every reader of outside input. Targets are the folders under
# Fuzz/ (Fuzz/README.md says how to add one).
#   scripts/fuzz.sh TARGET [SECONDS]   fuzz one target (default 60 s)
#   scripts/fuzz.sh all [SECONDS]      every target, one after the other (CI: .ci/run)
#   scripts/fuzz.sh list               the target names
# SECONDS 0 only replays the committed corpus (seeds and every saved crash) once.
#
# The build lives in $HERMES_CACHE/fuzz-build (release, -sanitize=fuzzer; HERMES_FUZZ=1 makes
# Package.swift declare the fuzz-* products), so only the first run compiles the dependencies.
# Every run first replays Fuzz/TARGET/corpus/ (committed) and $HERMES_CACHE/fuzz-corpus/TARGET/ (what
# earlier runs found, not committed). A crash, a timeout (one input over 10 s) or an out-of-memory
# (over 2 GiB) saves its input as Fuzz/TARGET/corpus/crash-*|timeout-*|oom-*: commit it with the fix;
# the next runs and the unit tests replay it. Exits non-zero on any finding.
# One libFuzzer process at a time (the box has two cores). HERMES_FUZZ_SANITIZERS=fuzzer,address adds
# AddressSanitizer (slower).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
export PATH="/opt/swift/usr/bin:$PATH"

targets() { for d in Fuzz/*/; do if compgen -G "$d*.swift" >/dev/null; then basename "$d"; fi; done; }

what="${1:-}"
seconds="${2:-60}"
case "$what" in
  ""|-h|--help) sed -n '2,17p' "$0"; exit 2 ;;
  list) targets; exit 0 ;;
esac
[[ "$seconds" =~ ^[0-9]+$ ]] || { log "SECONDS must be a whole number, not '$seconds'"; exit 2; }
if [ "$what" = all ]; then
  mapfile -t chosen < <(targets)
else
  [ -d "Fuzz/$what" ] || { log "no fuzz target '$what' (targets: $(targets | tr '\n' ' '))"; exit 2; }
  chosen=("$what")
fi

scratch="${HERMES_RUNTIME_FUZZ_BUILD:-$HERMES_CACHE/fuzz-build}"
sanitizers="${HERMES_FUZZ_SANITIZERS:-fuzzer}"
# Logs beside the build, so two clones fuzzing with their own HERMES_RUNTIME_FUZZ_BUILD never write
# one log; the found corpus is shared on purpose (libFuzzer only adds files to it).
logs="$scratch/logs"
mkdir -p "$scratch" "$HERMES_CACHE/fuzz-corpus" "$logs"

build() {
  # -parse-as-library: a target has no top-level code; its `fuzz_<name>_main` (what SwiftPM aliases
  # main to) hands the process to libFuzzer (Fuzz/CFuzzDriver).
  # -fsanitize=fuzzer-no-link instruments the C code too (libyaml inside Yams), so coverage guides
  # the fuzzer through the YAML scanner as well as through our Swift.
  local out="$logs/build-$1.log" rc=0
  compile() {
    HERMES_FUZZ=1 swift build -c release --scratch-path "$scratch" --product "fuzz-$1" \
      -Xswiftc "-sanitize=$sanitizers" -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link >"$out" 2>&1
  }
  compile "$1" || rc=$?
  # A build folder copied or moved from another path keeps precompiled modules that name the old path
  # ("was compiled with module cache path ..."): start that build over once, from an empty folder.
  if [ "$rc" -ne 0 ] && grep -qE "compiled with module cache path|missing required module" "$out"; then
    log "the fuzz build folder $scratch holds modules built elsewhere; building it again from scratch"
    empty_folder "$scratch" ! -name logs
    rc=0
    compile "$1" || rc=$?
  fi
  # A failed build must not leave an older binary to be fuzzed in its place.
  if [ "$rc" -ne 0 ]; then
    grep -E "error" "$out" | sort -u | head -20 >&2
    log "the fuzz build of $1 failed (exit $rc; $out)"
    return 1
  fi
}

failed=0; passed=0
for t in "${chosen[@]}"; do
  build "$t" || { failed=$((failed + 1)); continue; }
  bin="$scratch/release/fuzz-$t"
  seeds="Fuzz/$t/corpus"
  work="$HERMES_CACHE/fuzz-corpus/$t"
  logfile="$logs/$t.log"
  artifacts="$(mktemp -d)"
  mkdir -p "$work" "$seeds"
  options=()
  [ -f "Fuzz/$t/options" ] && read -r -a options < "Fuzz/$t/options"
  [ -f "Fuzz/$t/dictionary" ] && options+=("-dict=Fuzz/$t/dictionary")
  if [ "$seconds" = 0 ]; then
    run=(-runs=0)
  else
    run=(-max_total_time="$seconds")
  fi
  log "fuzz $t: ${seconds}s (log: $logfile)"
  rc=0
  # New interesting inputs go to the first folder (the cache); the committed corpus is only read.
  # SWIFT_BACKTRACE=enable=no: Swift's own crash handler would take the trap (SIGILL) before
  # libFuzzer's, and the process would die without libFuzzer saving the input.
  SWIFT_BACKTRACE=enable=no "$bin" "$work" "$seeds" "${run[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${options[@]}" >"$logfile" 2>&1 || rc=$?
  runs="$(grep -a -o 'stat::number_of_executed_units: *[0-9]*' "$logfile" | grep -o '[0-9]*$' || echo '?')"
  cov="$(grep -a -oE 'cov: [0-9]+' "$logfile" | tail -1 | grep -oE '[0-9]+' || echo '?')"
  found=("$artifacts"/*)
  if [ "$rc" -ne 0 ] || [ -e "${found[0]}" ]; then
    failed=$((failed + 1))
    log "fuzz $t: FAILED (exit $rc) after $runs runs; the input is saved as:"
    for f in "$artifacts"/*; do
      [ -e "$f" ] || continue
      cp "$f" "$seeds/$(basename "$f")"
      log "  $seeds/$(basename "$f")   (replay: $bin $seeds/$(basename "$f"))"
    done
    grep -a -E "ERROR|Fatal error|fatal error|Swift runtime failure|SUMMARY|#[0-9]+ 0x" "$logfile" | head -20 >&2 \
      || tail -15 "$logfile" >&2
  else
    passed=$((passed + 1))
    log "fuzz $t: $runs runs in ${seconds}s, coverage $cov edges, corpus $(ls "$work" | wc -l) + $(ls "$seeds" | wc -l) committed: no crash"
  fi
  rm -rf "$artifacts"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
