#!/usr/bin/env bash
# Runs every neuvis command that writes files with fixed seeds and lists the md5 of each output, so
# two builds (before and after a refactor) can be compared byte for byte:
#
#   tools/same_outputs.sh OLD/neuvis /tmp/before
#   tools/same_outputs.sh NEW/neuvis /tmp/after
#   diff /tmp/before.md5 /tmp/after.md5     # only amr/history.* may differ (wall-time columns)
#
# Covers: render (IR, DVR), compress (with QAT), decompress, eval --csv, raycast prepare (store
# both, network trained), raycast render (neural, exact under a 1 MB budget, mesh), isosurface
# (VTP), raycast orbit (frames; its stats.json holds wall times and is left out), a sharded
# raycast prepare and its merge, amr (VTU, PNG, history) and inr fit (spec + safetensors). Small
# sizes: about a minute.
# Compare builds with the same features: with `zfp`, `--store both` also stores ZFP bricks.
set -euo pipefail
B=$(realpath "$1")
O=$2
F=$(realpath "$(dirname "$0")/../crates/neuvis-amr/fixtures")
rm -rf "$O"
mkdir -p "$O"
cd "$O"
{
  "$B" render --volume tornado --dims 32 --times 0:2 --size 32 --theta-step 45 --phi-step 90 -o r.cdb -q
  "$B" render --volume tornado --dims 32 --times 0 --mode dvr --size 32 --theta-step 60 --phi-step 90 -o dvr.cdb -q
  "$B" compress r.cdb -o m.nrvi --c1 8 --c0 4 --c2 8 --epochs 3 --qat-epochs 1 --seed 1
  "$B" decompress m.nrvi -o d.cdb
  "$B" eval r.cdb m.nrvi --csv e.csv
  "$B" raycast prepare turbulence --dims 33 --brick 8 --base-factor 2 --train-steps 5 --store both -o s.nvb
  "$B" raycast render s.nvb --iso 0 --size 64 --method neural -o f.png
  "$B" raycast render s.nvb --iso 0 --size 64 --method exact --budget-mb 1 -o fe.png
  "$B" raycast render s.nvb --iso 0 --size 64 --method mesh -o fm.png
  "$B" raycast orbit s.nvb --iso 0 --size 32 --views 3 --method exact --budget-mb 1 -o orbit
  "$B" raycast orbit s.nvb --iso 0 --size 32 --views 2 --method mesh -o orbit-mesh
  "$B" raycast prepare turbulence --dims 33 --brick 8 --base-factor 2 --train-steps 5 --store neural --shard 0/2 -o s2.nvb
  "$B" raycast prepare turbulence --dims 33 --brick 8 --base-factor 2 --train-steps 5 --store neural --shard 1/2 -o s2.nvb
  "$B" merge s2.nvb --remove-parts
  "$B" isosurface tornado --dims 32 --iso 0.5 -o iso.vtp
  "$B" amr "$F/sin_inv_r.json" -o amr --max-it 3 --seed 2
  "$B" inr fit --function sin-inv-r --steps 30 --hidden 8,8 -o inr.json
} > log.txt 2>&1
find . -type f ! -name log.txt ! -name stats.json | sort | xargs md5sum > "../$(basename "$O").md5"
echo "$(wc -l < "../$(basename "$O").md5") files listed in $(dirname "$O")/$(basename "$O").md5"
