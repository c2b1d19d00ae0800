#!/bin/sh
# run-fuzz.sh - build the libFuzzer targets with clang (ASan + UBSan) and fuzz each for a bounded time on the
# committed seeds:
#   fuzz_nifti_read (the NIfTI reader): the test files (tests/data/nifti), extra seeds (tests/fuzz/corpus) and
#     every input that ever crashed it (tests/fuzz/regressions);
#   fuzz_npy_read (the .npy reader): the test files (tests/data/npy) and every input that ever crashed it
#     (tests/fuzz/regressions-npy, when there is one), with the header tokens in tests/fuzz/npy.dict;
#   fuzz_plan_load (the plan loader): the shipped plans (tools/plans) and the test plans (tests/data/plans), with
#     the plan's field names in tests/fuzz/plan.dict;
#   fuzz_nnunet_load (the nnU-Net folder loader): plans.json and dataset.json of the test folder, joined by a line
#     "---" (tests/fuzz/corpus-nnunet), with the same dictionary.
#
#   tests/fuzz/run-fuzz.sh [SECONDS] [JOBS]      (default 120 seconds in all: a quarter for each target; 1 job)
#
# Exit status 0 when no crash was found (both targets always run; otherwise the first failing target's status).
# On a crash libFuzzer prints the stack and leaves the input as build-fuzz/crash-* (NIfTI) or
# build-fuzz/npy-crash-* (.npy): fix the bug, then copy the input to tests/fuzz/regressions/crash-NNN (the next
# free number), where tests/test_nifti_bad.c replays it on every test run, or to
# tests/fuzz/regressions-npy/crash-NNN, replayed by tests/test_npy.c. New coverage found is kept in
# build-fuzz/corpus and build-fuzz/corpus-npy (not committed) and reused by the next run.
set -eu
cd "$(dirname "$0")/../.."
secs="${1:-120}"
jobs="${2:-1}"
npy_secs=$((secs / 4))
plan_secs=$((secs / 4))
nnunet_secs=$((secs / 4))
nifti_secs=$((secs - npy_secs - plan_secs - nnunet_secs))
[ "$npy_secs" -ge 1 ] || npy_secs=1
[ "$plan_secs" -ge 1 ] || plan_secs=1
[ "$nnunet_secs" -ge 1 ] || nnunet_secs=1

CLANG="${CLANG:-$(command -v clang || command -v clang-16 || command -v clang-15 || command -v clang-14 || true)}"
if [ -z "$CLANG" ]; then
    echo "run-fuzz.sh: clang is needed (tools/install-deps.sh --ci installs it)" >&2
    exit 2
fi

CC="$CLANG" cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVXT_FUZZ=ON \
    -DVXT_BUILD_TESTS=OFF -DVXT_BUILD_TOOLS=OFF -DVXT_KERNEL_CHECK=OFF -DVXT_WERROR=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_nifti_read fuzz_npy_read fuzz_plan_load fuzz_nnunet_load

mkdir -p build-fuzz/corpus build-fuzz/corpus-npy build-fuzz/corpus-plan build-fuzz/corpus-nnunet-found
root="$(pwd)"
parallel=""
if [ "$jobs" -gt 1 ]; then
    parallel="-jobs=$jobs -workers=$jobs" # libFuzzer then logs each job to build-fuzz/fuzz-N.log
fi
npy_regressions=""
if [ -d tests/fuzz/regressions-npy ]; then
    npy_regressions="$root/tests/fuzz/regressions-npy"
fi
cd build-fuzz
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
# shellcheck disable=SC2086
./tests/fuzz/fuzz_nifti_read -max_total_time="$nifti_secs" $parallel \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=16384 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$root/build-fuzz/" \
    corpus "$root/tests/fuzz/corpus" "$root/tests/fuzz/regressions" "$root/tests/data/nifti" || status=$?
rc=0
# shellcheck disable=SC2086
./tests/fuzz/fuzz_npy_read -max_total_time="$npy_secs" $parallel \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=4096 -timeout=20 -print_final_stats=1 \
    -dict="$root/tests/fuzz/npy.dict" -artifact_prefix="$root/build-fuzz/npy-" \
    corpus-npy "$root/tests/data/npy" $npy_regressions || rc=$?
[ "$status" -ne 0 ] || status=$rc
rc=0
plan_seeds="$root/tools/plans"
[ ! -d "$root/tests/data/plans" ] || plan_seeds="$plan_seeds $root/tests/data/plans"
# shellcheck disable=SC2086
./tests/fuzz/fuzz_plan_load -max_total_time="$plan_secs" $parallel \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=8192 -timeout=20 -print_final_stats=1 \
    -dict="$root/tests/fuzz/plan.dict" -artifact_prefix="$root/build-fuzz/plan-" \
    corpus-plan $plan_seeds || rc=$?
[ "$status" -ne 0 ] || status=$rc
rc=0
# shellcheck disable=SC2086
./tests/fuzz/fuzz_nnunet_load -max_total_time="$nnunet_secs" $parallel \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=16384 -timeout=20 -print_final_stats=1 \
    -dict="$root/tests/fuzz/plan.dict" -artifact_prefix="$root/build-fuzz/nnunet-" \
    corpus-nnunet-found "$root/tests/fuzz/corpus-nnunet" || rc=$?
[ "$status" -ne 0 ] || status=$rc
exit "$status"
