#!/usr/bin/env bash
# The GPU measurements of issues #21 and #32, as one script for a bare GPU machine without network.
#
# Prepare here (a machine with the registries):
#   cargo build --release -p neuvis -p neuvis-bench   # the default build has the wgpu and CUDA backends
#   bash bench/gpu_measure.sh --stage      # copies both binaries and this machine's Vulkan loader into gpu-kit/
# Run there (the working tree with gpu-kit/ carried; writes gpu-results/ or $OUT):
#   bash bench/gpu_measure.sh
#
# Each backend in DEVICES (default "gpu cuda": wgpu/WGSL and CUDA/NVRTC; CUDA finds NVRTC and the
# headers in the nvidia wheels of the machine's PyTorch, see `neuvis devices`) is measured in turn;
# every command runs under `timeout` (STEP_TIMEOUT, default 240 s) so one stuck backend cannot eat
# the lease. BIG=1 adds the 1024² training step; SERIES=1 the 48-step run below.
#
# What it measures (each table is printed by a neuvis command, the baseline in the same run):
#  1. `neuvis devices --probe`: the adapter wgpu picks, what CUDA finds, a computation on each.
#  2. `bench train --device D` against PyTorch CUDA (when python3 with CUDA torch is there): the
#     `--ratio 200` NeRVI network at 128² (batch 16) and a Table-1-sized one (c1 128, C0 512, c2 1024,
#     paper plan) at 512² (batch 4) (and 1024², batch 1, with BIG=1); each twice: cold (empty kernel
#     cache) then warm (the cache the first run left on disk).
#  3. `bench decode --device D`: images/s of GPU decoding (cold and warm) next to the CPU engine, at
#     256² and 1024².
#  4. `render` 800 tornado views at 128², `compress --device gpu --ratio 200 --epochs 200` (time,
#     PSNR), `eval` of the file, `decompress --device gpu` throughput.
#  5. `bench loader`: images/s of the streaming loader at 256² and 1024² against the training step.
#  6. with SERIES=1: 48 steps × 800 views at 128² trained into one model on the GPU (every 4th step
#     held out, streamed, SERIES_EPOCHS epochs, default 20) and `eval --holdout`.
#  7. with RAYCAST=1 (the default): the raycaster (issue #33): turbulence 512³ prepared there
#     (`--store both`, the network trained RAYCAST_MINUTES, default 2, on the first device), then
#     `bench raycast --devices cpu,gpu` over 36 views of 512² at a quarter budget (full, exact,
#     neural, trilinear on the CPU and the GPU, PSNR against the CPU's full); BIG=1 adds 1024³
#     within 700 MB. TRAIN=0 skips 2.–3. (the codec's training and decoding), APP=0 skips 4.–5.
#     (`TRAIN=0 APP=0 bash bench/gpu_measure.sh` measures the raycaster alone, ~6 min).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
kit=$here/gpu-kit
if [ "${1:-}" = "--stage" ]; then
  # the stripped binaries (neuvis, and neuvis-bench, which `neuvis bench` runs), xz-compressed
  # (the gpu build is ~180 MB, ~20 MB so), and the Debian
  # packages of the Vulkan loader and glvnd: NVIDIA's Vulkan driver (libGLX_nvidia.so.0) needs
  # glvnd's libGLdispatch, without which wgpu finds no adapter
  mkdir -p "$kit/deb"
  for b in neuvis neuvis-bench; do strip -o "$kit/$b" "$here/target/release/$b" && xz -f -T2 "$kit/$b"; done
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial && apt-get $o update -qq && (cd "$kit/deb" && apt-get $o download libvulkan1 libglvnd0 libegl1 libgl1 libglx0)
  du -sh "$kit"
  exit 0
fi
# on the GPU machine: unpack what --stage packed
for f in "$kit"/deb/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done; ldconfig 2>/dev/null
for b in neuvis neuvis-bench; do
  [ -f "$kit/$b.xz" ] && [ ! -x "$kit/$b" ] && xz -d -k -c "$kit/$b.xz" > "$kit/$b" && chmod +x "$kit/$b"
done
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json   # where containers mount NVIDIA's driver
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
# libcuda.so.1 (the CUDA backend loads it at run time) sits beside the mounted Vulkan driver
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
N=${NEUVIS:-$kit/neuvis}
[ -x "$N" ] || N=$here/target/release/neuvis
OUT=${OUT:-$here/gpu-results}
mkdir -p "$OUT"
work=$(mktemp -d)
log=$OUT/gpu_measure.log
# burn/cubecl keep compiled kernels and autotune results here between runs (the "warm" runs)
export NEUVIS_KERNEL_CACHE=$work/kernel-cache
timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -f "[%e s wall, %M KB peak RSS]")
run() { echo "\$ $*" | tee -a "$log"; ( cd "$work" && timeout "${STEP_TIMEOUT:-240}" "${timer[@]}" "$@" ) 2>&1 | tee -a "$log"; }
DEVICES=${DEVICES:-gpu cuda}
{ date; uname -a; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1; nproc; } | tee -a "$log"
run "$N" --version
run "$N" devices --probe
py=${PYTHON:-python3}   # PYTHON=... picks another interpreter (one with CUDA torch)
if $py -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then torch=(); else torch=(--no-torch); echo "PyTorch with CUDA not found: neuvis only" | tee -a "$log"; fi
for dev in $DEVICES; do
  [ "${TRAIN:-1}" = 1 ] || break
  tb() { run "$N" bench train --device "$dev" --script "$here/bench/torch_train.py" --python "$py" "${torch[@]}" "$@"; }
  for pass in cold warm; do
    [ $pass = cold ] && rm -rf "$NEUVIS_KERNEL_CACHE"
    echo "## bench train --device $dev, $pass" | tee -a "$log"
    tb --size 128 --c1 55 --c0 28 --c2 55 --start-grid 8 --batch 16 --steps 30   # what `compress --ratio 200` picks for 800 × 128²
    tb --size 512 --c1 128 --c0 512 --c2 1024 --start-grid 0 --batch 4 --steps 20
    [ "${BIG:-0}" = 1 ] && tb --size 1024 --c1 128 --c0 512 --c2 1024 --start-grid 0 --batch 1 --steps 10
  done
  run "$N" bench decode --size 256 --images 480 --device "$dev"
  run "$N" bench decode --size 1024 --images 64 --batch 4 --device "$dev"
done
if [ "${APP:-1}" = 1 ]; then
  dev=${DEVICES%% *}
  run "$N" render --volume tornado --size 128 --theta-step 9 --phi-step 9 --times 0 -o "$work/t128.cdb" -q
  run "$N" compress "$work/t128.cdb" -o "$work/t128.nrvi" --ratio 200 --epochs 200 --device "$dev" -q
  run "$N" eval "$work/t128.cdb" "$work/t128.nrvi" -q
  run "$N" decompress "$work/t128.nrvi" -o "$work/t128_dec.cdb" --device "$dev" --batch 32 -q
  run "$N" bench loader --size 256 --images 800 --device "$dev"
  run "$N" bench loader --size 1024 --images 96 --batch 4 --device "$dev"
fi
# optional (SERIES=1): the paper's setting, 48 steps x 800 views at 128^2 in one model, every 4th step held out
if [ "${SERIES:-0}" = 1 ]; then
  run "$N" render --volume tornado --size 128 --times all -o "$work/t48.cdb" -q
  run "$N" render --volume tornado --size 128 --theta-step 36 --phi-step 36 --times all -o "$work/t48eval.cdb" -q
  run "$N" compress "$work/t48.cdb" -o "$work/t48.nrvi" --ratio 1000 --holdout-times 4 --load stream --epochs "${SERIES_EPOCHS:-20}" --device gpu -q
  run "$N" eval "$work/t48eval.cdb" "$work/t48.nrvi" --holdout -q
fi
if [ "${RAYCAST:-1}" = 1 ]; then
  dev=${DEVICES%% *}
  STEP_TIMEOUT=420 run "$N" raycast prepare --volume turbulence --dims 512 --store both --train-minutes "${RAYCAST_MINUTES:-2}" --device "$dev" -o "$work/t512.nvb" -q
  run "$N" bench raycast --store "$work/t512.nvb" --iso 0.5 --methods full,exact,neural,trilinear --devices cpu,gpu --budget-mb 134 -o "$OUT/raycast512" --overwrite
  if [ "${BIG:-0}" = 1 ]; then
    STEP_TIMEOUT=540 run "$N" raycast prepare --volume turbulence --dims 1024 --store both --train-minutes "${RAYCAST_MINUTES:-2}" --device "$dev" -o "$work/t1024.nvb" -q
    run "$N" bench raycast --store "$work/t1024.nvb" --iso 0.5 --methods full,exact,neural --devices cpu,gpu --budget-mb 700 -o "$OUT/raycast1024" --overwrite
  fi
  rm -f "$work"/t512.nvb "$work"/t1024.nvb
fi
cp "$log" "$OUT/" 2>/dev/null
echo "results: $log"
