#!/usr/bin/env bash
# install-bench-deps.sh - install what the reference sides of the benchmarks need on Debian 12: the brainchop
# benchmark (tools/bench/monai_brainchop.py: the MeshNet networks rebuilt in torch, run through MONAI's
# sliding_window_inference) and the cubic resampling benchmark and test data (tools/bench/bench_cubic.py,
# tools/make_cubic_testdata.py: scipy, scikit-image and nnU-Net's own resampling):
#
#   Debian packages   python3-torch (1.13.1), python3-onnx (1.12), python3-nibabel, python3-numpy, python3-venv,
#                     python3-scipy, python3-skimage, python3-pandas (apt-get, as root or through sudo; only those
#                     missing)
#   a venv            ${VXT_DEPS_DIR:-<repo>/.deps}/bench-venv, made from Debian's /usr/bin/python3 with
#                     --system-site-packages (so it sees Debian's packages), holding MONAI and nnunetv2 (pinned,
#                     below; nnunetv2 without its dependencies: only its resampling module is imported, and it needs
#                     nothing Debian does not have)
#
# Nothing outside the repository (or $VXT_DEPS_DIR) is written except by apt. Idempotent: what is there already is
# left alone. The last line printed is the python to run the benchmark with:
#
#   tools/bench/install-bench-deps.sh
#   "$(tools/bench/install-bench-deps.sh | tail -n 1)" tools/bench/monai_brainchop.py --help
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEPS=${VXT_DEPS_DIR:-$ROOT/.deps}
VENV=$DEPS/bench-venv
# Debian's interpreter, not whatever python3 is first on PATH: the Debian packages live in its dist-packages.
SYSPY=/usr/bin/python3

# MONAI 1.4.0 (2024-09) declares torch>=1.9 and numpy>=1.24,<2.0: it installs and imports against Debian 12's
# torch 1.13.1 and numpy 1.24.2, and its sliding_window_inference runs (checked when this script was written;
# the import check below fails the script if that ever stops being true). Pinned so that the figures compare
# with tools/bench/bench_stitch_monai.py's, which also ran MONAI 1.4.
MONAI_VERSION=1.4.0
# nnunetv2 2.6.2: its preprocessing/resampling/default_resampling.py imports numpy, pandas, torch, scipy, skimage and
# batchgenerators only for resize_segmentation (installed with it, --no-deps too); 2.5.x imported sklearn there.
NNUNET_VERSION=2.6.2
BATCHGENERATORS_VERSION=0.25.1

PACKAGES="python3-torch python3-onnx python3-nibabel python3-numpy python3-venv python3-scipy python3-skimage python3-pandas"

say() { echo "install-bench-deps.sh: $*" >&2; }

# ---- Debian packages ------------------------------------------------------------------------------------------
missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        say "missing Debian packages:$missing; run as root (or install sudo)"
        exit 1
    fi
    say "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # apt's progress to stderr: stdout carries only the python path (last line)
    $SUDO apt-get update -qq >&2
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
else
    say "all Debian packages present"
fi

# ---- the venv ---------------------------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV (--system-site-packages, from $SYSPY)"
    mkdir -p "$DEPS"
    "$SYSPY" -m venv --system-site-packages "$VENV" >&2
fi

installed=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("monai"))' 2>/dev/null || true)
if [ "$installed" != "$MONAI_VERSION" ]; then
    say "installing monai==$MONAI_VERSION into $VENV"
    # --upgrade-strategy only-if-needed: keep Debian's torch and numpy (they satisfy MONAI's requirements); pip must
    # not pull a second torch from PyPI into the venv. --no-cache-dir: nothing written to ~/.cache.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-cache-dir \
        --upgrade-strategy only-if-needed "monai==$MONAI_VERSION" >&2
else
    say "monai $MONAI_VERSION already in $VENV"
fi

installed=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("nnunetv2"))' 2>/dev/null || true)
if [ "$installed" != "$NNUNET_VERSION" ]; then
    say "installing nnunetv2==$NNUNET_VERSION and batchgenerators==$BATCHGENERATORS_VERSION (--no-deps) into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-cache-dir --no-deps \
        "nnunetv2==$NNUNET_VERSION" "batchgenerators==$BATCHGENERATORS_VERSION" >&2
else
    say "nnunetv2 $NNUNET_VERSION already in $VENV"
fi

# ---- check: everything imports, and torch/numpy are Debian's --------------------------------------------------------
"$VENV/bin/python" - <<'EOF' >&2
import monai, nibabel, numpy, onnx, torch
from monai.inferers import sliding_window_inference  # noqa: F401
from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_spacing  # noqa: F401
for mod in (torch, numpy, onnx, nibabel):
    if not mod.__file__.startswith("/usr/lib/python3/dist-packages/"):
        raise SystemExit(f"install-bench-deps.sh: {mod.__name__} comes from {mod.__file__}, not Debian's package")
print(f"install-bench-deps.sh: monai {monai.__version__}, torch {torch.__version__}, numpy {numpy.__version__}, "
      f"onnx {onnx.__version__}, nibabel {nibabel.__version__}")
EOF

echo "$VENV/bin/python"
