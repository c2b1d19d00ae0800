#!/bin/sh
# install-deps.sh - install what voxtile needs to build and test: Debian packages, and the runtimes that come as
# PyPI wheels, unpacked (pinned) into a prefix of the project's own (.deps/ at the repository root, or
# $VXT_DEPS_DIR), where CMake looks for them. Nothing is installed that is already there. Runs apt-get
# non-interactively (as root, or through sudo when available).
#
#   tools/install-deps.sh            build + test dependencies
#   tools/install-deps.sh --ci       also clang (build-time OpenCL C syntax check of the kernels) and its
#                                    runtime libraries (libFuzzer and sanitizers, tests/fuzz/run-fuzz.sh)
#
# Why each one is needed: docs/DEPENDENCIES.md.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS=${VXT_DEPS_DIR:-$ROOT/.deps}

PACKAGES="build-essential cmake pkg-config
ocl-icd-opencl-dev opencl-headers ocl-icd-libopencl1 pocl-opencl-icd
zlib1g-dev libcmocka-dev libcjson-dev libpng-dev
libdeflate-dev libnifti2-dev
python3-pip unzip"
# DICOM (host/dicom): GDCM reads the headers; CharLS, OpenJPEG and libjpeg-turbo decode compressed pixel data; GDCM's
# tools and Python binding, pydicom and dcm2niix make and check the test series
PACKAGES="$PACKAGES libgdcm-dev libcharls-dev libopenjp2-7-dev libjpeg62-turbo-dev"
PACKAGES="$PACKAGES libgdcm-tools python3-gdcm dcm2niix python3-pydicom python3-numpy"
# the Triton backend's tests (tests/test_triton.c): a venv for Triton's HTTP client; libpython3.11 for the server's
# python backend stub (Debian's python3 3.11 brings it); valgrind for the backend's leak check inside the server
PACKAGES="$PACKAGES python3-venv valgrind"
# the C++ client example of the Triton backend (tools/examples/triton_client.cpp): HTTP through libcurl
PACKAGES="$PACKAGES libcurl4-openssl-dev"
# a second, strict OpenCL implementation for the OpenCL tests (tools/oclgrind-tests.sh): Oclgrind
PACKAGES="$PACKAGES oclgrind"
# runner modules' runtimes from Debian (runtime/runners/)
# libtorch-dev: the torchscript runner module (libtorch 1.13, CPU only; runtime/runners/torchscript)
PACKAGES="$PACKAGES libtorch-dev"

for arg in "$@"; do
    case "$arg" in
        --ci) PACKAGES="$PACKAGES clang libclang-rt-dev" ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 2 ;;
    esac
done

# ---- Debian packages ---------------------------------------------------------------------------------------
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
        echo "install-deps.sh: missing packages:$missing; run as root (or install sudo)" >&2
        exit 1
    fi
    echo "install-deps.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
else
    echo "install-deps.sh: all Debian packages present"
fi

# ---- wheels, unpacked into $DEPS ------------------------------------------------------------------------------
# wheel NAME VERSION SHA256: $DEPS/NAME-VERSION/ holds the unpacked wheel (for Debian 12's python3 3.11, manylinux
# x86_64), checked against its SHA-256 before it is unpacked; nothing is done when it is there already. Unpacking
# (not pip install) keeps Debian's python untouched.
wheel() {
    dest="$DEPS/$1-$2"
    [ -f "$dest/.complete" ] && return 0
    echo "install-deps.sh: fetching the $1 $2 wheel into $dest"
    tmp=$(mktemp -d)
    py=$(python3 -c 'import sys; print("%d%d" % sys.version_info[:2])')
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$py" \
        --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_35_x86_64 \
        --dest "$tmp" "$1==$2"
    sum=$(sha256sum "$tmp"/*.whl | cut -d' ' -f1)
    if [ "$sum" != "$3" ]; then
        echo "install-deps.sh: $(basename "$tmp"/*.whl) has SHA-256 $sum, expected $3 (another python than" \
             "Debian 12's 3.11 gets another wheel)" >&2
        rm -rf "$tmp"
        exit 1
    fi
    rm -rf "$dest"
    mkdir -p "$dest"
    unzip -q "$tmp"/*.whl -d "$dest"
    rm -rf "$tmp"
    touch "$dest/.complete"
}

# ---- test material of the torchscript runner module: deepbet's networks (tests/test_runner_torchscript.c) ---------
# deepbet's brain-extraction networks (MIT), TorchScript files in its wheel: data/models/model.pt and bbox_model.pt
# (8.7 MB each; the package's python code is not used). Pinned: the test states the brain volume they give.
wheel deepbet 1.0.2 1999e2ea00ec48f6233b95b96f3901a962d3f70431c63aeb985e8a49a198473c

# ---- test material of the DICOM reader: pydicom-data's real scans (tests/test_dicom.c) ------------------------------
# PyPI's pydicom-data (MIT): real CT, MR and NM files, some in JPEG 2000 beside the uncompressed file of the same
# image (data_store/data; 34 MB). tools/make_dicom_testdata.py --pydicom-data makes codec pairs of them.
wheel pydicom-data 1.0.0 622ac97265f1d91f76b5120b5bd6eb0f57737c392ef863b72c71779c91e33637

# ---- the Triton backend's tests: Triton Inference Server 2.51 and its HTTP client (tests/test_triton.c) ----------
# The server comes in PyPI's nvidia-pytriton 0.7.0 wheel (53 MB): pytriton/tritonserver/bin/tritonserver, its
# libraries in nvidia_pytriton.libs (found through the program's own RPATH), the python backend and its stubs.
# Unpacked like the wheels above: none of pytriton's Python is used. Pinned: the backend is tested against 2.51.
wheel nvidia-pytriton 0.7.0 21f063ff93bb426d0c06b7a55e7eb9efcfe62c0dddd9a908e9877e18710128df
# The client, tritonclient[http,grpc] (pinned to the server's release; gRPC is how a client cancels a request), in a
# venv of its own: $DEPS/tritonclient-2.51.0. grpcio and protobuf pinned to what that release resolves to here.
client="$DEPS/tritonclient-2.51.0"
if [ ! -f "$client/.complete-grpc" ]; then
    echo "install-deps.sh: making the tritonclient 2.51.0 venv in $client"
    rm -rf "$client"
    python3 -m venv "$client"
    "$client/bin/pip" install --quiet --disable-pip-version-check "tritonclient[http,grpc]==2.51.0" "numpy==1.26.4" \
        "grpcio==1.85.4" "protobuf==4.25.9"
    touch "$client/.complete-grpc"
fi

# ---- the onnx runner module: OpenVINO (runtime/runners/onnx, docs/RUNNERS.md) ------------------------------------
# The openvino wheel carries OpenVINO's C library (openvino/libs/libopenvino_c.so.*), its headers
# (openvino/include/openvino/c) and CMake package (openvino/cmake), and everything it loads at run time beside it in
# openvino/libs (the CPU plugin, the ONNX frontend, TBB; they find each other through $ORIGIN): nothing else to
# install. Pinned: the module is built and tested against this version (docs/DEPENDENCIES.md).
wheel openvino 2025.4.0 6b581cf1c3fa759495eb051d1ec5be4b5cb61a4e15265db7b9d56260ea5925d0
