#!/usr/bin/env bash
# Runs a command against a SIMULATED Radeon 8060S (gfx1151, Strix Halo APU) so that the REAL librocm_smi
# (and the sysfs probe) read numbers we chose. Needs root (or CAP_SYS_ADMIN) for `unshare --mount`.
#
#   scripts/gpu/simulate-gfx1151.sh [options] -- COMMAND [ARGS...]
#   scripts/gpu/simulate-gfx1151.sh [options] --tree-only DIR     # build the fake tree in DIR, run nothing
#
# Options (each also readable from the environment variable in brackets; sizes take a K/M/G/T suffix,
# binary units, or plain bytes):
#   --vram-total SIZE      BIOS carve-out ("VRAM")             [SIM_VRAM_TOTAL, default 512M]
#   --vram-used SIZE                                           [SIM_VRAM_USED, default 96M]
#   --vis-vram-total SIZE  CPU-visible VRAM                    [SIM_VIS_VRAM_TOTAL, default = vram total]
#   --vis-vram-used SIZE                                       [SIM_VIS_VRAM_USED, default = vram used]
#   --gtt-total SIZE       system RAM the GPU may map          [SIM_GTT_TOTAL, default 96G]
#   --gtt-used SIZE                                            [SIM_GTT_USED, default 40G]
#   --busy PERCENT         gpu_busy_percent                    [SIM_BUSY, default 37]
#   --temp MILLI_C         edge temperature, millidegrees C    [SIM_TEMP, default 48000]
#   --device-id HEX        PCI device id                       [SIM_DEVICE_ID, default 0x1586]
#   --pci ADDRESS          PCI address DDDD:BB:DD.F            [SIM_PCI, default 0000:c5:00.0]
#   --gpu-id N             KFD gpu_id                          [SIM_GPU_ID, default 45678]
#   --product-name TEXT    product_name (APUs usually have none) [SIM_PRODUCT_NAME, default: no file]
#   --process PID:SIZE     a fake KFD process using SIZE; repeatable [SIM_PROCESSES, space-separated]
#   --stale-lock           leave /dev/shm/rocm_smi_card0 locked, as a crashed rocm_smi user would
#   --no-gpu               simulate a machine WITHOUT a GPU instead: no drm, kfd or hwmon at all
#   --keep                 keep the fake tree (its path goes to stderr)
#
# Inside the private mount namespace: /sys/class is a tmpfs, every real entry is bind-mounted back, the
# fake drm, kfd and hwmon take their place, and /dev/shm is a fresh tmpfs so a stale rocm_smi lock file on
# the host cannot stall the library (and --stale-lock cannot leak out). What the library insists on is in
# ../shared/FACTS.md ("AMD GPU memory"); each item is marked "librocm_smi:" below.
set -euo pipefail

die() { printf 'simulate-gfx1151: %s\n' "$*" >&2; exit 2; }

size() { # SIZE -> bytes
  local v="$1" n unit
  [[ "$v" =~ ^([0-9]+)([KkMmGgTt]?)(i?[Bb]?)$ ]] || die "not a size: '$v' (use e.g. 512M, 96G or bytes)"
  n="${BASH_REMATCH[1]}"; unit="${BASH_REMATCH[2]}"
  case "$unit" in
    "") echo "$n" ;;
    K|k) echo $((n * 1024)) ;;
    M|m) echo $((n * 1024 * 1024)) ;;
    G|g) echo $((n * 1024 * 1024 * 1024)) ;;
    T|t) echo $((n * 1024 * 1024 * 1024 * 1024)) ;;
  esac
}

VRAM_TOTAL="${SIM_VRAM_TOTAL:-512M}"
VRAM_USED="${SIM_VRAM_USED:-96M}"
VIS_VRAM_TOTAL="${SIM_VIS_VRAM_TOTAL:-}"
VIS_VRAM_USED="${SIM_VIS_VRAM_USED:-}"
GTT_TOTAL="${SIM_GTT_TOTAL:-96G}"
GTT_USED="${SIM_GTT_USED:-40G}"
BUSY="${SIM_BUSY:-37}"
TEMP="${SIM_TEMP:-48000}"
DEVICE_ID="${SIM_DEVICE_ID:-0x1586}"
PCI="${SIM_PCI:-0000:c5:00.0}"
GPU_ID="${SIM_GPU_ID:-45678}"
PRODUCT_NAME="${SIM_PRODUCT_NAME:-}"
read -r -a PROCESSES <<< "${SIM_PROCESSES:-}"
STALE_LOCK=0
NO_GPU=0
KEEP=0
TREE_ONLY=""

while [ $# -gt 0 ]; do
  case "$1" in
    --vram-total) VRAM_TOTAL="$2"; shift 2 ;;
    --vram-used) VRAM_USED="$2"; shift 2 ;;
    --vis-vram-total) VIS_VRAM_TOTAL="$2"; shift 2 ;;
    --vis-vram-used) VIS_VRAM_USED="$2"; shift 2 ;;
    --gtt-total) GTT_TOTAL="$2"; shift 2 ;;
    --gtt-used) GTT_USED="$2"; shift 2 ;;
    --busy) BUSY="$2"; shift 2 ;;
    --temp) TEMP="$2"; shift 2 ;;
    --device-id) DEVICE_ID="$2"; shift 2 ;;
    --pci) PCI="$2"; shift 2 ;;
    --gpu-id) GPU_ID="$2"; shift 2 ;;
    --product-name) PRODUCT_NAME="$2"; shift 2 ;;
    --process) PROCESSES+=("$2"); shift 2 ;;
    --stale-lock) STALE_LOCK=1; shift ;;
    --no-gpu) NO_GPU=1; shift ;;
    --keep) KEEP=1; shift ;;
    --tree-only) TREE_ONLY="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

VRAM_TOTAL=$(size "$VRAM_TOTAL"); VRAM_USED=$(size "$VRAM_USED")
VIS_VRAM_TOTAL=$(size "${VIS_VRAM_TOTAL:-$VRAM_TOTAL}"); VIS_VRAM_USED=$(size "${VIS_VRAM_USED:-$VRAM_USED}")
GTT_TOTAL=$(size "$GTT_TOTAL"); GTT_USED=$(size "$GTT_USED")
[[ "$PCI" =~ ^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$ ]] || die "--pci wants DDDD:BB:DD.F in lower-case hex, got '$PCI'"
PCI_DOMAIN=$((16#${BASH_REMATCH[1]})); PCI_BUS=$((16#${BASH_REMATCH[2]}))
PCI_DEV=$((16#${BASH_REMATCH[3]})); PCI_FN=$((16#${BASH_REMATCH[4]}))
# librocm_smi: the KFD node's location_id/domain must equal the drm device's address, else it drops the device.
LOCATION_ID=$(( (PCI_BUS << 8) | (PCI_DEV << 3) | PCI_FN ))
[[ "$GPU_ID" =~ ^[1-9][0-9]*$ ]] || die "--gpu-id wants a positive integer (0 means a CPU node)"
[ -z "$TREE_ONLY" ] && [ $# -eq 0 ] && die "no command given (put it after --), or use --tree-only DIR"

# ---------------------------------------------------------------------------------------------------------
# The fake tree, laid out like /sys so it also serves as a sysfs root for `--sysfs-root`.
build_tree() {
  local root="$1"
  local dev="$root/devices/pci0000:00/0000:00:08.1/$PCI"
  mkdir -p "$dev/drm/card0" "$dev/drm/renderD128" "$dev/hwmon/hwmon0" "$root/class/drm" "$root/class/hwmon"
  printf '0x1002\n' > "$dev/vendor"                # librocm_smi: else the card is silently skipped
  printf '%s\n' "$DEVICE_ID" > "$dev/device"
  printf '0x1002\n' > "$dev/subsystem_vendor"
  printf '0x0001\n' > "$dev/subsystem_device"
  printf '0xc1\n' > "$dev/revision"
  printf '113-STRXLGEN-001\n' > "$dev/vbios_version" # librocm_smi: else the card is silently skipped
  [ -n "$PRODUCT_NAME" ] && printf '%s\n' "$PRODUCT_NAME" > "$dev/product_name"
  printf '%s\n' "$VRAM_TOTAL" > "$dev/mem_info_vram_total"
  printf '%s\n' "$VRAM_USED" > "$dev/mem_info_vram_used"
  printf '%s\n' "$VIS_VRAM_TOTAL" > "$dev/mem_info_vis_vram_total"
  printf '%s\n' "$VIS_VRAM_USED" > "$dev/mem_info_vis_vram_used"
  printf '%s\n' "$GTT_TOTAL" > "$dev/mem_info_gtt_total"
  printf '%s\n' "$GTT_USED" > "$dev/mem_info_gtt_used"
  printf '%s\n' "$BUSY" > "$dev/gpu_busy_percent"
  # librocm_smi: an amdgpu hwmon with in0_label=vddgfx and an "edge" temp label, else temperature reads abort.
  local hw="$dev/hwmon/hwmon0"
  printf 'amdgpu\n' > "$hw/name"
  printf 'edge\n' > "$hw/temp1_label"
  printf '%s\n' "$TEMP" > "$hw/temp1_input"
  printf 'vddgfx\n' > "$hw/in0_label"
  printf '1050\n' > "$hw/in0_input"
  ln -s "$dev" "$hw/device"
  ln -s "$hw" "$root/class/hwmon/hwmon0"
  # librocm_smi: drm/card0 must be a SYMLINK whose target holds the PCI address (absolute, because the
  # tree is bind-mounted somewhere else and a relative link would then point into the real /sys).
  ln -s "$dev" "$dev/drm/card0/device"
  ln -s "$dev" "$dev/drm/renderD128/device"
  ln -s "$dev/drm/card0" "$root/class/drm/card0"
  ln -s "$dev/drm/renderD128" "$root/class/drm/renderD128"

  # KFD topology: node 0 is the CPU (gpu_id 0), node 1 the GPU. librocm_smi wants properties, gpu_id,
  # name and io_links/ on every node, and hive_id, simd_arrays_per_engine, array_count, cu_per_simd_array
  # on the GPU's.
  local kfd="$root/class/kfd/kfd"
  mkdir -p "$kfd/topology/nodes/0/io_links" "$kfd/topology/nodes/1/io_links/0" "$kfd/proc"
  printf 'platform_oem 0\nplatform_id 0\nplatform_rev 0\n' > "$kfd/topology/system_properties"
  printf '1\n' > "$kfd/topology/generation_id"
  printf '0\n' > "$kfd/topology/nodes/0/gpu_id"
  printf '\n' > "$kfd/topology/nodes/0/name"
  cat > "$kfd/topology/nodes/0/properties" <<EOF
cpu_cores_count 32
simd_count 0
mem_banks_count 1
caches_count 0
io_links_count 0
cpu_core_id_base 0
simd_id_base 0
max_waves_per_simd 0
lds_size_in_kb 0
gds_size_in_kb 0
num_gws 0
wave_front_size 0
array_count 0
simd_arrays_per_engine 0
cu_per_simd_array 0
simd_per_cu 0
max_slots_scratch_cu 0
gfx_target_version 0
vendor_id 0
device_id 0
location_id 0
domain 0
drm_render_minor 0
hive_id 0
num_sdma_engines 0
num_sdma_xgmi_engines 0
num_sdma_queues_per_engine 0
num_cp_queues 0
max_engine_clk_ccompute 5100
EOF
  printf '%s\n' "$GPU_ID" > "$kfd/topology/nodes/1/gpu_id"
  printf 'gfx1151\n' > "$kfd/topology/nodes/1/name"
  cat > "$kfd/topology/nodes/1/properties" <<EOF
cpu_cores_count 0
simd_count 80
mem_banks_count 1
caches_count 104
io_links_count 1
p2p_links_count 0
cpu_core_id_base 0
simd_id_base 2147487744
max_waves_per_simd 16
lds_size_in_kb 64
gds_size_in_kb 0
num_gws 64
wave_front_size 32
array_count 4
simd_arrays_per_engine 2
cu_per_simd_array 10
simd_per_cu 2
max_slots_scratch_cu 32
gfx_target_version 110501
vendor_id 4098
device_id $((DEVICE_ID))
location_id $LOCATION_ID
domain $PCI_DOMAIN
drm_render_minor 128
hive_id 0
num_sdma_engines 2
num_sdma_xgmi_engines 0
num_sdma_queues_per_engine 6
num_cp_queues 8
max_engine_clk_fcompute 2900
local_mem_size 0
fw_version 34
capability 671744640
debug_prop 1495
sdma_fw_version 14
unique_id 0
num_xcc 1
max_engine_clk_ccompute 5100
EOF
  cat > "$kfd/topology/nodes/1/io_links/0/properties" <<EOF
type 2
version_major 0
version_minor 0
node_from 1
node_to 0
weight 20
min_latency 0
max_latency 0
min_bandwidth 312
max_bandwidth 64000
recommended_transfer_size 0
flags 1
EOF

  # Per-process GPU memory: kfd/proc/<pid>/{pasid,vram_<gpu_id>,sdma_<gpu_id>} (+ queues/ for the device map).
  local p pid bytes pasid=32769
  for p in "${PROCESSES[@]}"; do
    [ -n "$p" ] || continue
    [[ "$p" =~ ^([0-9]+):(.+)$ ]] || die "--process wants PID:SIZE, got '$p'"
    pid="${BASH_REMATCH[1]}"; bytes=$(size "${BASH_REMATCH[2]}")
    mkdir -p "$kfd/proc/$pid/queues/0"
    printf '%s\n' "$pasid" > "$kfd/proc/$pid/pasid"
    printf '%s\n' "$bytes" > "$kfd/proc/$pid/vram_$GPU_ID"
    printf '0\n' > "$kfd/proc/$pid/sdma_$GPU_ID"
    printf '%s\n' "$GPU_ID" > "$kfd/proc/$pid/queues/0/gpuid"
    pasid=$((pasid + 1))
  done
}

if [ -n "$TREE_ONLY" ]; then
  mkdir -p "$TREE_ONLY"
  [ -z "$(ls -A "$TREE_ONLY")" ] || die "--tree-only wants an empty or new directory: $TREE_ONLY"
  build_tree "$TREE_ONLY"
  printf '%s\n' "$TREE_ONLY"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "needs root for 'unshare --mount' (running as uid $(id -u))"
command -v unshare >/dev/null || die "unshare not found (Debian: apt-get install util-linux)"

WORK=$(mktemp -d /tmp/hermes-gfx1151.XXXXXX)
# Keep the work path free of anything that parses as a PCI address: the library takes the LAST such
# path element of the card0 link target as the device's address.
cleanup() { if [ "$KEEP" -eq 1 ]; then printf 'simulate-gfx1151: tree kept at %s/sys\n' "$WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
if [ "$NO_GPU" -eq 1 ]; then mkdir -p "$WORK/sys/class"; else build_tree "$WORK/sys"; fi
mkdir -p "$WORK/realclass"

# Inside the namespace. Arguments: WORK STALE_LOCK NO_GPU COMMAND...
INNER='
set -euo pipefail
work="$1"; stale="$2"; nogpu="$3"; shift 3
mount --make-rprivate / 2>/dev/null || true
mount --bind /sys/class "$work/realclass"
mount -t tmpfs -o mode=0755 hermes-sim-class /sys/class
for entry in "$work"/realclass/*; do
  name="${entry##*/}"
  case "$name" in drm|kfd|hwmon) continue ;; esac
  mkdir "/sys/class/$name"
  mount --bind "$entry" "/sys/class/$name"
done
if [ "$nogpu" != 1 ]; then
  for name in drm kfd hwmon; do
    mkdir "/sys/class/$name"
    mount --bind "$work/sys/class/$name" "/sys/class/$name"
  done
fi
mount -t tmpfs -o mode=1777 hermes-sim-shm /dev/shm
if [ "$stale" = 1 ]; then
  # A pthread mutex (40 bytes on x86-64) whose lock word says "held": what a rocm_smi user that died
  # inside a call leaves behind. rsmi_init then waits 5 s on it and fails.
  { printf "\001\000\000\000"; head -c 36 /dev/zero; } > /dev/shm/rocm_smi_card0
  chmod 0777 /dev/shm/rocm_smi_card0
fi
exec "$@"
'
status=0
unshare --mount --propagation private bash -c "$INNER" simulate-gfx1151 "$WORK" "$STALE_LOCK" "$NO_GPU" "$@" || status=$?
exit "$status"
