#!/usr/bin/env bash
# Install time from the packages against scripts/install.sh from source, and the binary's size. The
# packages are installed in a private mount namespace where the Swift toolchain and librocm_smi64 do not
# exist at all (/opt/swift is an empty folder; the library files are hidden by overlay whiteouts; /usr,
# /etc and /var are throwaway overlays, so `dpkg -i` runs for real and leaves nothing), then
# `--version`, `gpu` and `doctor` run there. Needs root (unshare, mount).
#   scripts/bench/install.sh [--binary PATH] [runs]   (default: the release build, 3 runs of each)
# The source install is timed on the build cache as it is now (say which in docs/benchmarks.md: warm
# or cold); it never touches ~/.local (a prefix and HOME of its own).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/common.sh
binary=""
if [ "${1:-}" = "--binary" ]; then binary="$2"; shift 2; fi
runs="${1:-3}"
[ -n "$binary" ] || binary="$(scripts/release-build.sh)"
work="$(mktemp -d "${TMPDIR:-/tmp}/hermes-install-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mapfile -t packages < <(scripts/package.sh --binary "$binary" --out "$work/dist")
tarball="${packages[0]}"; deb="${packages[1]}"
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# One namespace per run; prints "tar SECONDS" and "deb SECONDS" and the checks' first lines.
cat > "$work/in-namespace.sh" <<'SH'
set -eu
d="$1"; tarball="$2"; deb="$3"
mkdir -p "$d/empty"
mount --bind "$d/empty" /opt/swift
for r in /opt/rocm*; do if [ -d "$r" ]; then mount --bind "$d/empty" "$r"; fi; done
for t in usr etc var; do mkdir -p "$d/$t.upper" "$d/$t.work"; done
find /usr -name 'librocm_smi64*' | while read -r f; do
  rel="${f#/usr/}"; mkdir -p "$d/usr.upper/$(dirname "$rel")"; mknod "$d/usr.upper/$rel" c 0 0
done
for t in usr etc var; do mount -t overlay overlay -o "lowerdir=/$t,upperdir=$d/$t.upper,workdir=$d/$t.work" "/$t"; done
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
[ ! -e /opt/swift/usr/bin/swift ] && ! command -v swift >/dev/null && [ -z "$(find /usr -name 'librocm_smi64*')" ] || { echo "toolchain or library still visible"; exit 1; }
sync; a=$(date +%s.%N); tar xzf "$tarball" -C /usr/local --strip-components=1; b=$(date +%s.%N)
echo "tar $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }')"
sync; a=$(date +%s.%N); dpkg -i "$deb" >/dev/null; b=$(date +%s.%N)
echo "deb $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }')"
export HERMES_RUNTIME_HOME="$d/root"
mkdir -p "$d/root/runtimes"
printf 'front:\n  listen: 127.0.0.1:18082\n' > "$d/root/runtime.yaml"
/usr/local/bin/hermes-runtime --version
/usr/bin/hermes-runtime --version
/usr/bin/hermes-runtime gpu --json | grep '"source_detail"'
/usr/bin/hermes-runtime doctor | grep ' gpu:' || true
SH

tars=(); debs=()
for i in $(seq 1 "$runs"); do
  mkdir -p "$work/ns$i"
  out=$(unshare --mount --propagation private /bin/sh "$work/in-namespace.sh" "$work/ns$i" "$tarball" "$deb")
  tars+=("$(echo "$out" | sed -n 's/^tar //p')"); debs+=("$(echo "$out" | sed -n 's/^deb //p')")
  [ "$i" = 1 ] && echo "$out" | grep -v '^tar \|^deb ' | sed 's/^/  inside: /' >&2
  rm -rf "$work/ns$i"
done

srcs=()
for i in $(seq 1 "$runs"); do
  a=$(now)
  scripts/install.sh --prefix "$work/prefix" --no-service >/dev/null 2>&1
  b=$(now); srcs+=("$(elapsed "$a" "$b")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
stripped="$work/stripped"; strip --strip-debug -o "$stripped" "$binary"
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
echo "$("$binary" --version), $runs runs each, median (all runs)"
echo "| install | seconds |"
echo "|---|---|"
echo "| \`tar xzf $(basename "$tarball") -C /usr/local --strip-components=1\` | $(median "${tars[@]}") (${tars[*]}) |"
echo "| \`dpkg -i $(basename "$deb")\` (maintainer scripts included) | $(median "${debs[@]}") (${debs[*]}) |"
echo "| \`scripts/install.sh --prefix P --no-service\` on the build cache as it is | $(median "${srcs[@]}") (${srcs[*]}) |"
echo
echo "| file | size |"
echo "|---|---|"
echo "| binary as built | $(mb "$binary") |"
echo "| binary, debug info stripped (what the packages hold) | $(mb "$stripped") |"
echo "| $(basename "$tarball") | $(mb "$tarball") |"
echo "| $(basename "$deb") | $(mb "$deb") |"
