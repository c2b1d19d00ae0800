#!/bin/sh
# run-fuzz.sh - build the NIfTI reader's libFuzzer target with clang (ASan + UBSan) and fuzz it for a bounded
# time on the committed seeds: the test files (tests/data/nifti), extra seeds (tests/fuzz/corpus) and every
# input that ever crashed it (tests/fuzz/regressions).
#
#   tests/fuzz/run-fuzz.sh [SECONDS] [JOBS]      (default 60 seconds, 1 job)
#
# Exit status 0 when no crash was found. On a crash libFuzzer prints the stack and leaves the input as
# build-fuzz/crash-*: fix the bug, then copy the input to tests/fuzz/regressions/crash-NNN (the next free
# number), where tests/test_nifti_bad.c replays it on every test run. New coverage found is kept in
# build-fuzz/corpus (not committed) and reused by the next run.
set -eu
cd "$(dirname "$0")/../.."
secs="${1:-60}"
jobs="${2:-1}"

CLANG="${CLANG:-$(command -v clang || command -v clang-16 || command -v clang-15 || command -v clang-14 || true)}"
if [ -z "$CLANG" ]; then
    echo "run-fuzz.sh: clang is needed (tools/install-deps.sh --ci installs it)" >&2
    exit 2
fi

CC="$CLANG" cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVXT_FUZZ=ON \
    -DVXT_BUILD_TESTS=OFF -DVXT_BUILD_TOOLS=OFF -DVXT_KERNEL_CHECK=OFF -DVXT_WERROR=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_nifti_read

mkdir -p build-fuzz/corpus
root="$(pwd)"
parallel=""
if [ "$jobs" -gt 1 ]; then
    parallel="-jobs=$jobs -workers=$jobs" # libFuzzer then logs each job to build-fuzz/fuzz-N.log
fi
cd build-fuzz
# shellcheck disable=SC2086
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ./tests/fuzz/fuzz_nifti_read -max_total_time="$secs" $parallel \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=16384 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$root/build-fuzz/" \
        corpus "$root/tests/fuzz/corpus" "$root/tests/fuzz/regressions" "$root/tests/data/nifti"
