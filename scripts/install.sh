#!/usr/bin/env bash
# Installs hermes-runtime for this user: a release build (cached), the binary in ~/.local/bin, shell
# completions for bash, zsh and fish, and the systemd user unit (written by `hermes-runtime service
# install`; enabling it stays your call). Nothing is installed system-wide unless --prefix says so.
# Over a running daemon of the installed binary it ends in `daemon restart`: loaded models stay loaded.
#   scripts/install.sh [--prefix DIR] [--no-service]      install (or upgrade) into DIR/bin (default ~/.local)
#   scripts/install.sh --uninstall [--prefix DIR]        remove the binary, completions and unit (config and state stay)
#   scripts/install.sh --binary PATH ...                 install this already built binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
say() { printf '%s\n' "$*"; }

prefix="$HOME/.local"; uninstall=0; service=1; binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --uninstall) uninstall=1; shift ;;
    --no-service) service=0; shift ;;
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) say "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
prefix="$(mkdir -p "$prefix" && cd "$prefix" && pwd)"
dest="$prefix/bin/hermes-runtime"
data="$prefix/share"
completions=("$data/bash-completion/completions/hermes-runtime" "$data/zsh/site-functions/_hermes-runtime"
             "$data/fish/vendor_completions.d/hermes-runtime.fish")

if [ "$uninstall" = 1 ]; then
  if [ -x "$dest" ]; then
    "$dest" service uninstall || say "the systemd unit was left in place (see above)"
  fi
  for f in "$dest" "${completions[@]}"; do
    if [ -e "$f" ]; then rm -f "$f"; say "removed $f"; fi
  done
  say "hermes-runtime is uninstalled. Config (~/.config/hermes-runtime) and state (~/.local/state/hermes-runtime) are kept; remove them by hand if you want them gone."
  exit 0
fi

if [ -z "$binary" ]; then
  # The GPU probe links librocm_smi64 (Debian: librocm-smi-dev); nothing else outside the toolchain.
  if ! dpkg-query -W -f='${Status}' librocm-smi-dev 2>/dev/null | grep -q "install ok installed"; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    log "installing librocm-smi-dev libdrm-dev (the GPU probe links rocm_smi)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends librocm-smi-dev libdrm-dev >/dev/null
  fi
  binary="$(scripts/release-build.sh)"
fi
[ -x "$binary" ] || { say "no executable at $binary" >&2; exit 1; }

mkdir -p "$prefix/bin"
# Copy then rename: a running daemon keeps its old inode, and no one ever runs a half-written file.
# Debug info is most of a release binary (175 MB -> 112 MB); symbols stay, so a crash backtrace keeps its names.
cp "$binary" "$dest.new" && chmod 755 "$dest.new"
if command -v strip >/dev/null; then strip --strip-debug "$dest.new"; fi
mv -f "$dest.new" "$dest"
say "installed $dest: $("$dest" --version)"

shells=(bash zsh fish)
for i in 0 1 2; do
  mkdir -p "$(dirname "${completions[$i]}")"
  "$dest" --generate-completion-script "${shells[$i]}" > "${completions[$i]}"
done
say "completions: bash ${completions[0]}, zsh ${completions[1]}, fish ${completions[2]}"

# An upgrade over a running daemon of this binary: it moves to the new file, loaded models stay loaded.
guard_pid=$("$dest" status --json 2>/dev/null | sed -n 's/^ *"guard_pid" *: *\([0-9]*\).*/\1/p' | head -n 1)
if [ -n "$guard_pid" ]; then
  case "$(readlink "/proc/$guard_pid/exe" 2>/dev/null)" in
    "$dest"|"$dest (deleted)") "$dest" daemon restart | sed 's/^/  /' ;;
    *) say "note: the running daemon is another binary's; 'hermes-runtime daemon restart' moves it" ;;
  esac
fi

if [ "$service" = 1 ]; then
  "$dest" service install | sed 's/^/  /'
fi

case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) say "note: $prefix/bin is not on your PATH; add it, e.g. echo 'export PATH=\"$prefix/bin:\$PATH\"' >> ~/.bashrc" ;;
esac
case "${SHELL:-}" in
  */zsh) say "zsh: add 'fpath=($data/zsh/site-functions \$fpath)' before compinit in ~/.zshrc for completions" ;;
esac
say "next: hermes-runtime init (writes ~/.config/hermes-runtime), hermes-runtime doctor, then systemctl --user enable --now hermes-runtime"
