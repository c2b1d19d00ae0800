#!/bin/sh
# run-fuzz.sh - build the libFuzzer targets with clang (ASan + UBSan) and fuzz each for a bounded time from its
# committed seeds (tests/fuzz/README.md says what each target checks):
#   fuzz_nifti_read     the NIfTI reader: tests/data/nifti, tests/fuzz/corpus/fuzz_nifti_read, tests/fuzz/regressions
#   fuzz_npy_read       the .npy reader: tests/data/npy, tests/fuzz/corpus/fuzz_npy_read (and regressions-npy when
#                       there is one); the header's tokens in npy.dict
#   fuzz_plan_load      the plan loader: tools/plans, tests/fuzz/corpus/fuzz_plan_load; the field names in plan.dict
#   fuzz_nnunet_load    the nnU-Net folder loader: tests/fuzz/corpus/fuzz_nnunet_load (plans.json and dataset.json
#                       joined by a line "---"); plan.dict
#   fuzz_cli_args       every command's option parsing: tests/fuzz/corpus/fuzz_cli_args, regressions-cli; every flag
#                       of every command in cli.dict
#   fuzz_program_cache  the loader of the OpenCL program cache: tests/fuzz/corpus/fuzz_program_cache,
#                       regressions-cache; one allocation at most 64 MiB (an entry of a few KiB must not allocate more)
#   fuzz_dicom_read     the DICOM reader (through GDCM): tests/fuzz/corpus/fuzz_dicom_read (files of the test
#                       series), regressions-dicom
#   fuzz_dicom_decode   the decoders of compressed pixel data (JPEG lossless and lossy, JPEG-LS, JPEG 2000, RLE, the
#                       fragment splitter): tests/fuzz/corpus/fuzz_dicom_decode
#
#   tests/fuzz/run-fuzz.sh [SECONDS] [JOBS] [TARGET...]
#
# SECONDS: for each target (default 30; CI gives each 60); JOBS: libFuzzer jobs per target (default 1); TARGET: the
# targets to run (default all eight). Exit status 0 when no target found a crash (every target runs; otherwise the
# first failing target's status). A crash, leak, out-of-memory or timeout leaves its input as
# build-fuzz/<target>-crash-* (-leak-*, -oom-*, -timeout-*): fix the bug, then keep the input as the next crash-NNN of
# the target's regressions directory, which a unit test replays on every test run. New coverage is kept in
# build-fuzz/corpus-<target> (not committed) and reused by the next run.
set -eu
cd "$(dirname "$0")/../.."
secs="${1:-30}"
jobs="${2:-1}"
if [ $# -gt 2 ]; then shift 2; else set --; fi
targets="${*:-fuzz_nifti_read fuzz_npy_read fuzz_plan_load fuzz_nnunet_load fuzz_cli_args fuzz_program_cache fuzz_dicom_read fuzz_dicom_decode}"

CLANG="${CLANG:-$(command -v clang || command -v clang-16 || command -v clang-15 || command -v clang-14 || true)}"
# The DICOM layer is C++ (host/dicom/dicom_gdcm.cpp): instrumented by the matching clang++.
CLANGXX="${CLANGXX:-$(command -v "${CLANG}++" || command -v clang++ || true)}"
if [ -z "$CLANG" ]; then
    echo "run-fuzz.sh: clang is needed (tools/install-deps.sh --ci installs it)" >&2
    exit 2
fi

# The tool's objects too (fuzz_cli_args); no tests, no kernel check.
CC="$CLANG" CXX="$CLANGXX" cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVXT_FUZZ=ON \
    -DVXT_BUILD_TESTS=OFF -DVXT_BUILD_TOOLS=ON -DVXT_KERNEL_CHECK=OFF -DVXT_WERROR=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build build-fuzz -j"$(nproc)" --target $targets

root="$(pwd)"
parallel=""
if [ "$jobs" -gt 1 ]; then
    parallel="-jobs=$jobs -workers=$jobs" # libFuzzer then logs each job to build-fuzz/fuzz-N.log
fi
cd build-fuzz
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# The seed directories that exist, as absolute paths.
seeds() {
    for d in "$@"; do
        [ ! -d "$root/$d" ] || printf '%s ' "$root/$d"
    done
}

status=0
for t in $targets; do
    malloc_mb=1024
    dict=""
    extra=""
    case "$t" in
    fuzz_nifti_read)
        max_len=16384
        dirs=$(seeds "tests/fuzz/corpus/$t" tests/fuzz/regressions tests/data/nifti) ;;
    fuzz_npy_read)
        max_len=4096 dict=npy.dict
        dirs=$(seeds "tests/fuzz/corpus/$t" tests/fuzz/regressions-npy tests/data/npy) ;;
    fuzz_plan_load)
        max_len=8192 dict=plan.dict
        dirs=$(seeds "tests/fuzz/corpus/$t" tools/plans tests/data/plans) ;;
    fuzz_nnunet_load)
        max_len=16384 dict=plan.dict
        dirs=$(seeds "tests/fuzz/corpus/$t") ;;
    fuzz_cli_args)
        max_len=4096 dict=cli.dict
        dirs=$(seeds "tests/fuzz/corpus/$t" tests/fuzz/regressions-cli) ;;
    fuzz_program_cache)
        max_len=4096 malloc_mb=64
        dirs=$(seeds "tests/fuzz/corpus/$t" tests/fuzz/regressions-cache) ;;
    fuzz_dicom_read)
        # A seeded pass of a fixed count (FUZZ_DICOM_RUNS inputs from seed FUZZ_DICOM_SEED, no corpus kept from
        # earlier runs): the target drives GDCM's header parsing, built with its asserts on; voxtile refuses every
        # input that reached one so far (host/dicom/dicom_check.c, tests/fuzz/regressions-dicom), but a random pass
        # could meet a new one by chance, and CI must fail on a change to voxtile rather than on luck
        # (tests/fuzz/README.md). FUZZ_DICOM_RUNS=0: a random, time-bounded pass, for exploring.
        max_len=16384 malloc_mb=256
        if [ "${FUZZ_DICOM_RUNS:-6000}" -gt 0 ]; then
            extra="-seed=${FUZZ_DICOM_SEED:-1} -runs=${FUZZ_DICOM_RUNS:-6000}"
            [ -d "corpus-$t" ] && rm -rf "corpus-$t" # no inputs kept from earlier runs: the same pass everywhere
        fi
        dirs=$(seeds "tests/fuzz/corpus/$t" tests/fuzz/regressions-dicom) ;;
    fuzz_dicom_decode)
        max_len=65536 malloc_mb=256
        dirs=$(seeds "tests/fuzz/corpus/$t" tests/fuzz/regressions-dicom-decode) ;;
    *)
        echo "run-fuzz.sh: no target '$t'" >&2
        exit 2 ;;
    esac
    limit=$secs
    if [ -n "$extra" ]; then
        limit=$((secs * 10)) # a fixed pass ends by its count; the time only bounds a runaway
        echo "=== $t: $extra ==="
    else
        echo "=== $t: $secs s ==="
    fi
    mkdir -p "corpus-$t"
    rc=0
    # shellcheck disable=SC2086
    ./tests/fuzz/"$t" -max_total_time="$limit" $extra $parallel -rss_limit_mb=2048 -malloc_limit_mb="$malloc_mb" \
        -max_len="$max_len" -timeout=20 -print_final_stats=1 ${dict:+-dict="$root/tests/fuzz/$dict"} \
        -artifact_prefix="$root/build-fuzz/$t-" "corpus-$t" $dirs || rc=$?
    [ "$status" -ne 0 ] || status=$rc
done
exit "$status"
