#!/usr/bin/env bash
# Packages a release build of hermes-runtime for Linux x86_64: a tarball laid out like /usr/local and a
# .deb, each with a .sha256 file. Installing either needs no Swift toolchain and no librocm_smi64.
#   scripts/package.sh                        release build (scripts/release-build.sh), then package it into dist/
#   scripts/package.sh --binary PATH          package this already built binary instead
#   scripts/package.sh --out DIR              write the packages to DIR instead of dist/
#   scripts/package.sh --revision N           the .deb's Debian revision (default 1): a rebuilt package of one commit
#   scripts/package.sh --allow-dynamic-swift  package a debug build, whose Swift runtime stays in the toolchain
#                                             (the suite's own binary; never for a package you hand out)
# Prints the two package paths on stdout, one a line; everything else goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
say() { printf '[package] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

binary=""; out="$repo/dist"; revision=1; allow_dynamic_swift=0
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --revision) revision="${2:?--revision needs a number}"; shift 2 ;;
    --allow-dynamic-swift) allow_dynamic_swift=1; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
case "$revision" in ''|*[!0-9]*) die "--revision takes a number, not '$revision'" ;; esac
for tool in readelf strip dpkg-deb tar gzip sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install binutils dpkg tar gzip coreutils)"
done
[ -n "$binary" ] || binary="$(scripts/release-build.sh)"
[ -x "$binary" ] || die "no executable at $binary"

# What the binary needs from the system: every Linux has these (libc6, libstdc++6 with libgcc-s1, zlib1g).
readelf -h "$binary" | grep -q 'Machine:.*X86-64' || die "$binary is not an x86_64 ELF binary"
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
portable='^(libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libz\.so\.1|ld-linux-x86-64\.so\.2)$'
swift_runtime='^(libswift.*|libFoundation.*|lib_FoundationICU|libdispatch|libBlocksRuntime)\.so$'
extra=$(printf '%s\n' "$needed" | grep -Ev "$portable" || true)
if [ -n "$extra" ]; then
  if [ "$allow_dynamic_swift" = 1 ] && ! printf '%s\n' "$extra" | grep -Evq "$swift_runtime"; then
    say "note: $binary links the Swift runtime dynamically (a debug build): this package needs the toolchain's runtime libraries"
  else
    die "$binary needs $(echo $extra) at load time; a package needs only libc, libstdc++, libgcc_s and zlib (build it with scripts/release-build.sh: --static-swift-stdlib)"
  fi
fi

# Version and commit as `--version` prints them: "hermes-runtime 0.5.0 (commit 1a2b3c4d5e6f[-dirty])".
line="$("$binary" --version)"
version=$(printf '%s' "$line" | sed -n 's/^hermes-runtime \([0-9][0-9A-Za-z.+~]*\) (commit \(.*\))$/\1/p')
commit=$(printf '%s' "$line" | sed -n 's/^hermes-runtime \([0-9][0-9A-Za-z.+~]*\) (commit \(.*\))$/\2/p')
[ -n "$version" ] && [ -n "$commit" ] || die "cannot read a version from '$line'"
# The .deb's version orders by commit: VERSION+gitN.HASH, N commits in the history of HASH.
hash="${commit%-dirty}"
debversion="$version"
if count=$(git -C "$repo" rev-list --count "$hash" 2>/dev/null); then debversion="$version+git$count.$hash"; fi
[ "$hash" = "$commit" ] || debversion="$debversion.dirty"
debversion="$debversion-$revision"
# Timestamps in the packages: the commit's, so one commit packs the same files with the same dates.
epoch=$(git -C "$repo" log -1 --format=%ct "$hash" 2>/dev/null || date +%s)

mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/hermes-package.XXXXXX")"
trap 'rm -rf "$work"' EXIT
name="hermes-runtime-$version-linux-x86_64"
# Debug info is most of a release binary; the symbol table stays, so a crash backtrace keeps its names.
stripped="$work/hermes-runtime"
strip --strip-debug -o "$stripped" "$binary"

# Lays out one tree: PREFIX/bin, PREFIX/share/{completions,doc}, PREFIX/lib/systemd/{system,user}.
# $2 is the path the units run; $3 the zsh completion folder under share/.
layout() {
  local root="$1" executable="$2" zsh="$3"
  install -d "$root/bin" "$root/share/bash-completion/completions" "$root/share/$zsh" \
    "$root/share/fish/vendor_completions.d" "$root/lib/systemd/system" "$root/lib/systemd/user" "$root/share/doc/hermes-runtime"
  install -m 755 "$stripped" "$root/bin/hermes-runtime"
  "$binary" --generate-completion-script bash > "$root/share/bash-completion/completions/hermes-runtime"
  "$binary" --generate-completion-script zsh > "$root/share/$zsh/_hermes-runtime"
  "$binary" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/hermes-runtime.fish"
  # The units come from the binary (the values tested in HermesCore/Service), for the installed path.
  # HOME=/nonexistent: the user unit's default root is written as systemd's %h, whoever packs it.
  env -u HERMES_RUNTIME_HOME HOME=/nonexistent "$binary" service install --print --executable "$executable" \
    > "$root/lib/systemd/user/hermes-runtime.service"
  "$binary" service install --system --print --executable "$executable" > "$root/lib/systemd/system/hermes-runtime.service"
  cp README.md "$root/share/doc/hermes-runtime/README.md"
  cp docs/operations.md "$root/share/doc/hermes-runtime/operations.md"
  printf '%s\n' "$line" > "$root/share/doc/hermes-runtime/VERSION"
}

# The tarball: one folder shaped like /usr/local (`tar xzf ... -C /usr/local --strip-components=1`).
layout "$work/$name" /usr/local/bin/hermes-runtime zsh/site-functions
tarball="$out/$name.tar.gz"
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - "$name" | gzip -n -6 > "$tarball.new"
mv -f "$tarball.new" "$tarball"

# The .deb: the same files under /usr (zsh's Debian folder is vendor-completions), and the maintainer scripts.
deb_root="$work/deb"
layout "$deb_root/usr" /usr/bin/hermes-runtime zsh/vendor-completions
install -d "$deb_root/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$deb_root" | cut -f1)
# The oldest glibc the binary asks for (its highest GLIBC_x.y symbol version).
glibc=$(readelf -V --wide "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
cat > "$deb_root/DEBIAN/control" <<CONTROL
Package: hermes-runtime
Version: $debversion
Architecture: amd64
Maintainer: hermes-runtime developers <hermes-runtime@localhost>
Installed-Size: $installed_kb
Depends: libc6${glibc:+ (>= $glibc)}, libstdc++6, zlib1g
Suggests: librocm-smi64-1
Section: utils
Priority: optional
Description: llama-server supervisor and OpenAI-compatible routing front
 hermes-runtime keeps llama.cpp's llama-server processes running (health, restarts, memory checks,
 models kept loaded across daemon restarts and upgrades) and routes OpenAI and Anthropic API requests
 to them or to cloud profiles. Built from commit $commit.
 .
 A system service (hermes-runtime.service) runs as the user hermes-runtime with its config in
 /etc/hermes-runtime and state in /var/lib/hermes-runtime; a user unit of the same name is provided
 for running it as yourself. rocm_smi is loaded at run time when present (sysfs otherwise).
CONTROL
install -m 755 scripts/package/postinst scripts/package/prerm scripts/package/postrm "$deb_root/DEBIAN/"
find "$deb_root" -exec touch -h -d "@$epoch" {} +
deb="$out/hermes-runtime_${debversion}_amd64.deb"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$deb_root" "$deb.new" >/dev/null
mv -f "$deb.new" "$deb"

for f in "$tarball" "$deb"; do
  (cd "$out" && sha256sum "$(basename "$f")" > "$(basename "$f").sha256")
done
say "$line: $(du -h "$tarball" | cut -f1) $tarball, $(du -h "$deb" | cut -f1) $deb (needs: $(echo $needed))"
echo "$tarball"
echo "$deb"
