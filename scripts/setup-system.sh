#!/usr/bin/env bash
# Debian packages the build, the GPU probe and the tests need. Idempotent: apt runs only when one is missing.
source "$(dirname "$0")/common.sh"
# chromium: the status page's test renders it in a real headless browser. binutils (strip, readelf) and
# dpkg: scripts/package.sh; systemd: systemd-analyze verifies the units the packages ship.
PACKAGES=(librocm-smi-dev libdrm-dev util-linux procps iproute2 nginx-light wrk curl chromium fonts-dejavu-core
          binutils dpkg systemd)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A first chromium start builds its font cache (seconds on a loaded box); the status page's test should
# not pay for it inside its step budgets. Once per machine: fc-cache writes to /var/cache/fontconfig.
warm_chromium() {
  local stamp="$HERMES_CACHE/chromium-warm" profile
  [ -f "$stamp" ] && return 0
  profile=$(mktemp -d)
  fc-cache >/dev/null 2>&1 || true
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$profile" --dump-dom 'data:text/html,<p>warm</p>' >/dev/null 2>&1 && touch "$stamp" \
    || log "chromium did not start once for warming (the status page's test will say why)"
  rm -rf "$profile"
}
if [ ${#missing[@]} -eq 0 ]; then
  log "system packages present"
  warm_chromium
  exit 0
fi
log "installing: ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx-light is for the front's benchmark only; do not leave a system nginx running.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true; fi
$SUDO pkill -x nginx >/dev/null 2>&1 || true
log "system packages installed"
warm_chromium
