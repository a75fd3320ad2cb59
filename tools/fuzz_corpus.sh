#!/usr/bin/env bash
# Writes the seed corpus of the fuzz harness (crates/neuvis-fuzz/corpus/) from scratch: small valid
# files of every format neuvis reads, made by neuvis itself (.nrvi, .nvb, Cinema database) and by
# tools/fuzz_corpus.py (NRRD raw/gzip/ASCII/detached, NIfTI .nii/.nii.gz, VTK legacy ASCII/binary, VTK XML .vti),
# plus the 4-D/vector NRRD and NIfTI fixtures nibabel/pynrrd wrote, the INR weight fixtures that other tools wrote (safetensors from the reference's export,
# PyTorch .pt from torch.save). Usage: tools/fuzz_corpus.sh [path/to/neuvis]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/neuvis}
OUT=crates/neuvis-fuzz/corpus
rm -rf "$OUT"
mkdir -p "$OUT"/{nrvi,nvb,nrrd,nifti,vtk,vti,weights,cinema}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# a 16² collection of two views, its model, and a tiny brick store
"$BIN" render --volume tornado --dims 16 --size 16 --theta-step 90 --phi-step 180 --times 0 --iso 0.2 -o "$TMP/c.cdb" -q
"$BIN" compress "$TMP/c.cdb" -o "$OUT/nrvi/tiny.nrvi" --c1 4 --epochs 1 --batch 2 --seed 1 -q >/dev/null
"$BIN" raycast prepare turbulence --dims 9 --brick 4 --base-factor 2 --store both --train-steps 1 --train-bricks 4 \
  --channels 4 --zfp-rate 0 -o "$OUT/nvb/both.nvb" >/dev/null 2>&1
"$BIN" raycast prepare turbulence --dims 9 --brick 4 --base-factor 2 --store exact -o "$OUT/nvb/exact.nvb" >/dev/null 2>&1
mkdir -p "$OUT/cinema/db"
cp "$TMP/c.cdb/data.csv" "$OUT/cinema/db/"
(cd "$TMP/c.cdb" && find . -name '*.png' | while read -r f; do mkdir -p "$OLDPWD/$OUT/cinema/db/$(dirname "$f")"; cp "$f" "$OLDPWD/$OUT/cinema/db/$f"; done)
python3 tools/fuzz_corpus.py "$OUT"
cp crates/neuvis-amr/fixtures/tiny_fourier_silu.pt "$OUT/weights/"
cp crates/neuvis-amr/fixtures/sin_inv_r.safetensors "$OUT/weights/"
# time series and vector volumes as nibabel and pynrrd write them (tools/nd_fixtures.py)
cp crates/neuvis-volume/tests/fixtures/nd/{ts,vec}.nrrd "$OUT/nrrd/"
cp crates/neuvis-volume/tests/fixtures/nd/{ts.nii.gz,vec.nii} "$OUT/nifti/"
find "$OUT" -type f | sort | xargs ls -l | awk '{print $5, $9}'
