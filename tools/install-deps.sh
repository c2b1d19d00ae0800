#!/bin/sh
# install-deps.sh - install what voxtile needs to build and test, from Debian packages; nothing when all of it
# is already present. Runs apt-get non-interactively (as root, or through sudo when available).
#
#   tools/install-deps.sh            build + test dependencies
#   tools/install-deps.sh --ci       also clang (build-time OpenCL C syntax check of the kernels) and its
#                                    runtime libraries (libFuzzer and sanitizers, tests/fuzz/run-fuzz.sh)
#
# Why each package is needed: docs/DEPENDENCIES.md.
set -eu

PACKAGES="build-essential cmake pkg-config
ocl-icd-opencl-dev opencl-headers ocl-icd-libopencl1 pocl-opencl-icd
zlib1g-dev libcmocka-dev libcjson-dev libpng-dev
libdeflate-dev libnifti2-dev"

for arg in "$@"; do
    case "$arg" in
        --ci) PACKAGES="$PACKAGES clang libclang-rt-dev" ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 2 ;;
    esac
done

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps.sh: all dependencies present"
    exit 0
fi

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
