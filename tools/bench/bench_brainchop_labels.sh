#!/usr/bin/env bash
# bench_brainchop_labels.sh - the 104-class brainchop network (FreeSurfer aparc+aseg) on the real 256^3 T1, labels
# only, in each blending mode: the peak resident memory of the whole `voxtile run` process (the kernel's ru_maxrss
# at exit, through /usr/bin/time: OpenVINO's memory included), its wall time, and how many voxels' labels equal
# those of whole-volume inference (crop blending with tiles overlapping by the network's receptive field, the
# shipped plan, which tests/test_brainchop.c checks against torch). Prints one line per configuration and a JSON
# summary at the end. Needs a Release build with the onnx runner (OpenVINO: tools/install-deps.sh) and python3.
#
#   tools/bench/bench_brainchop_labels.sh [BUILD_DIR (default build)] [OUT_DIR (default out/brainchop-labels)] [NAME...]
#
# NAMEs pick configurations (default: all); the whole-volume reference (crop-174) is made first when OUT_DIR lacks it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
OUT=${2:-$ROOT/out/brainchop-labels}
shift $(($# < 2 ? $# : 2))
PICK=" $* "
mkdir -p "$OUT"
cd "$ROOT"
IN=tests/data/brainchop/t1_crop.nii.gz
PLAN=tools/plans/brainchop_aparc104.json

# name | flags added to the shipped plan's
CONFIGS=(
  "crop-174|"
  "crop-146|--roi 146"
  "crop-128|--roi 128"
  "crop-120|--roi 120"
  "gaussian-128-0.5|--importance gaussian --receptive-field none --roi 128 --overlap 0.5"
  "gaussian-64-0.5|--importance gaussian --receptive-field none --roi 64 --overlap 0.5"
  "constant-64-0.5|--importance constant --receptive-field none --roi 64 --overlap 0.5"
)
summary="["
for c in "${CONFIGS[@]}"; do
  name=${c%%|*}
  flags=${c#*|}
  if [ "$PICK" != "  " ] && [[ "$PICK" != *" $name "* ]] && { [ "$name" != crop-174 ] || [ -e "$OUT/crop-174.nii.gz" ]; }; then
    continue
  fi
  # shellcheck disable=SC2086
  /usr/bin/time -f "%M %e" -o "$OUT/$name.time" "$BUILD/voxtile" run "$IN" -o "$OUT/$name.nii.gz" --plan "$PLAN" \
    $flags --json > "$OUT/$name.json"
  read -r kib secs < "$OUT/$name.time"
  agree=$(python3 - "$OUT/crop-174.nii.gz" "$OUT/$name.nii.gz" <<'EOF'
import gzip, struct, sys
def voxels(path):  # the uint8 labels of a NIfTI-1 file as voxtile writes it
    b = gzip.open(path).read()
    return b[int(struct.unpack("<f", b[108:112])[0]):]
a, b = voxels(sys.argv[1]), voxels(sys.argv[2])
assert len(a) == len(b)
print(f"{sum(x == y for x, y in zip(a, b)) / len(a):.6f}")
EOF
)
  printf '%-18s peak %6.0f MiB  %6.1f s  labels equal to whole-volume inference: %s\n' "$name" \
    "$(echo "$kib / 1024" | bc -l)" "$secs" "$agree"
  summary+="{\"config\":\"$name\",\"flags\":\"$flags\",\"peak_rss_kib\":$kib,\"seconds\":$secs,\"agreement\":$agree},"
done
echo "${summary%,}]" | tee "$OUT/summary.json"
