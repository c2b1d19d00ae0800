#!/usr/bin/env bash
# tools/oclgrind-tests.sh BUILD_DIR
#
# Runs the OpenCL tests (the list below) on Oclgrind instead of PoCL: a strict OpenCL 1.2 implementation
# that interprets every kernel and reports out-of-bounds and invalid accesses, data races between work-items and API
# misuse (docs/DETERMINISM.md, "Oclgrind"). It reports itself as a GPU without unified host memory, so voxtile takes
# its discrete-device paths there.
#
# Oclgrind is the only platform the tests see: the ICD loader is pointed at a vendor directory holding only
# oclgrind.icd. Its reports from every process (the test programs and the voxtile commands they start) go through
# one FIFO into one log; any report fails this script, as does any failing test. Exit status: 0 clean, 1 otherwise.
set -euo pipefail
build=${1:?usage: tools/oclgrind-tests.sh BUILD_DIR}
build=$(cd "$build" && pwd) # absolute: LD_PRELOAD and the test paths must not depend on a process's directory
lib=${VXT_OCLGRIND_ICD:-/usr/lib/oclgrind/liboclgrind-rt-icd.so}
if [ ! -e "$lib" ]; then
    echo "oclgrind-tests.sh: $lib not found: install Debian's oclgrind (apt-get install oclgrind)" >&2
    exit 1
fi

work=$(mktemp -d /tmp/vxt-oclgrind.XXXXXX)
reader=
cleanup() {
    [ -n "$reader" ] && kill "$reader" 2>/dev/null || true
    exec 3>&- 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/vendors"
echo "$lib" > "$work/vendors/oclgrind.icd"
log=${VXT_OCLGRIND_LOG:-$build/oclgrind.log}
: > "$log"
# Oclgrind opens OCLGRIND_LOG for writing with truncation in each process: a FIFO keeps every process's reports.
mkfifo "$work/reports"
cat "$work/reports" >> "$log" &
reader=$!
exec 3<> "$work/reports" # held open, so the reader sees no end of file between processes

shim="$build/tests/libvxt_clshim.so"
if [ ! -e "$shim" ]; then
    echo "oclgrind-tests.sh: $shim not found (a build with tests, without sanitizers, makes it)" >&2
    exit 1
fi

export OCL_ICD_VENDORS="$work/vendors"
export OCLGRIND_LOG="$work/reports"
# Oclgrind's checks: memory (out-of-bounds and invalid accesses, always on), data races (--data-races) and the
# API (--check-api), for every test. Its uninitialized-value plugin (--uninitialized) only for the tests marked u in
# the table: in Oclgrind 21.10 (and its development head) that plugin keeps the shadow state of released buffers
# for the next buffer given the same handle, replaces a buffer's shadow with one the size of each host write (a
# write at an offset hides the rest of the buffer), ignores clEnqueueFillBuffer, cannot interpret LLVM's freeze and
# stops the process on host writes from a second thread. The tests marked u run clean with it; the others stop or
# are reported in those ways (docs/DETERMINISM.md, "Oclgrind").
export OCLGRIND_CHECK_API=1 OCLGRIND_DATA_RACES=1
# Oclgrind's runtime is not thread-safe (its issue #28): the shim makes the calls of each process take turns.
export LD_PRELOAD="$shim" VXT_CLSHIM_SERIALIZE=1
export VXT_REQUIRE_OPENCL=1
# The suites' small case sets (tests/vxt_test.h, vxt_test_small): Oclgrind interprets every work-item.
export VXT_TEST_SMALL=1

# The OpenCL tests run here: program, cmocka filter (VXT_TEST_FILTER, * for the whole group), u where Oclgrind's
# uninitialized-value plugin runs too (above), what they check on Oclgrind. Every OpenCL test group runs here, on
# its small case set where it has one (vxt_test_small, chosen so that every kernel variant still runs: each suite
# says how), except what is listed after the table. About 10 minutes on 2 cores (Release build).
TESTS="
test_context          *                                u  the probe on Oclgrind, device selection, adopted contexts
test_program_cache    *                                u  program binaries
test_arith            *                                u  the shared arithmetic, every function against the CPU
test_fill             *                                u  the fill kernel that stands in for clEnqueueFillBuffer
test_labels           *                                u  the label rules
test_crop             *                                u  crop blending
test_stitch           test_opencl_matches_cpu          -  every stitching kernel family against the CPU (3 cases)
test_stitch           test_batch_sizes_agree_opencl    -  batch sizes 1, each case's own and 7
test_stitch           test_sessions_opencl             -  push sessions, outputs out of order, the device form
test_stitch           test_failures_opencl             -  failure paths
test_stitch           test_opencl_upload_path          -  the upload queue against the blocking path and the CPU
test_stitch           test_opencl_upload_sessions      -  push sessions on the upload queue
test_stitch           test_opencl_upload_nonfinite     -  the upload queue, NaN and infinity reports
test_stitch           test_failures_opencl_upload      -  failure paths on the upload queue
test_stitch           test_opencl_upload_footprint     u  pinned staging
test_stitch           test_opencl_upload_adopted       -  the upload queue on an application's context
test_stitch_blocks    *                                -  random tilings, batch sizes and options against the CPU
test_intensity        *                                -  pointwise transforms, float64 input
test_stats            *                                -  moments, histograms, exact percentiles (3 input types)
test_resample         *                                -  linear, nearest and affine resampling, slabs, output windows
test_resample_cubic   *                                -  B-spline resampling and its prefilter
test_patches          *                                -  patches
test_smooth           *                                u  Gaussian smoothing, whole and in slabs, before downsampling
test_preproc_faithful *                                -  resampling and smoothing against torch, scipy and skimage
test_pipeline         test_backends_identical          -  four plans, every stage's bits against the CPU backend
test_pipeline         test_stages_opencl               -  every stage a plan can hold, cubic and nnU-Net order 3
test_pipeline         test_cpu_fallback                -  a pipeline's stages falling back from a small device
test_cli_normalize    *                                -  voxtile normalize on the device
test_cli_patches      *                                -  voxtile patches on the device
test_cli_resample     *                                -  voxtile resample on the device
test_cli_stitch       *                                -  voxtile stitch on the device
test_cli_run          test_backend_opencl_is_opencl    -  voxtile run --backend opencl
test_cli_validate     test_pocl_vs_cpu_phantom         -  voxtile validate, device against CPU, every stage, a phantom CT
"
# Not here:
# - test_stitch's test_opencl_grouping, test_cli_run's test_cpu_fallback_opencl: paths of CPU devices that share
#   host memory (grouped calls read in place; PoCL named by --device pthread), which Oclgrind is not;
# - test_cli_validate's test_pocl_vs_cpu_mri (the shipped MRI through the demo plan, past 600 s here) and
#   test_pocl_vs_cpu_nnunet_plugin (nnU-Net's eight mirrored predictions a tile, past 160 s): tools/device-check.sh
#   runs them on a GPU, and their kernels run here in test_stitch and test_pipeline;
# - test_cli_run's test_phantom_segmentation_opencl and test_cli_validate's test_two_opencl_sides: the device run of
#   test_pocl_vs_cpu_phantom again (70 s and 40 s here), compared with the CPU's file and with PoCL's thread count;
# - the *.opencl_wg7x3 and *.opencl_host_copies variants (work-group shapes and PoCL's unified memory),
#   test_concurrency (the host side's threading: PoCL and ThreadSanitizer), test_clshim (the shim's own test),
#   test_runner_onnx and test_brainchop (real networks through OpenVINO).

rc=0
start=$(date +%s)
while read -r prog filter uninit what; do
    [ -n "$prog" ] || continue
    t0=$(date +%s)
    if [ "$uninit" = u ]; then export OCLGRIND_UNINITIALIZED=1; else unset OCLGRIND_UNINITIALIZED; fi
    # stdin from /dev/null and without the FIFO's descriptor: a test reads neither the list nor holds the log open
    if VXT_TEST_FILTER="$filter" timeout 600 "$build/tests/$prog" opencl > "$work/out" 2>&1 < /dev/null 3>&-; then
        res=passed
        if ! grep -Eq '^\[  PASSED  \] [1-9][0-9]* test' "$work/out"; then # a run of no test is no pass
            res="FAILED (no test ran)"
            rc=1
            cat "$work/out" >&2
        fi
    else
        res="FAILED (exit $?)"
        rc=1
        cat "$work/out" >&2
    fi
    printf 'oclgrind-tests.sh: %-21s %-32s %-2s %-16s %4d s  (%s)\n' "$prog" "$filter" "$uninit" "$res" \
        $(($(date +%s) - t0)) "$what"
done <<< "$TESTS"
if "$build/voxtile" info --backend opencl > "$work/out" 2>&1 < /dev/null 3>&- && grep -q "probe: PASSED" "$work/out"; then
    echo "oclgrind-tests.sh: voxtile info --backend opencl: probe passed"
else
    cat "$work/out" >&2
    echo "oclgrind-tests.sh: voxtile info --backend opencl: FAILED" >&2
    rc=1
fi
echo "oclgrind-tests.sh: $(($(date +%s) - start)) s"

exec 3>&-
# the reader ends when the last writer has closed the FIFO: every report is then in the log
for _ in $(seq 60); do
    kill -0 "$reader" 2>/dev/null || break
    sleep 1
done
if kill -0 "$reader" 2>/dev/null; then
    echo "oclgrind-tests.sh: a process still holds the report FIFO open after 60 s; the log may be incomplete" >&2
    kill "$reader" 2>/dev/null || true
    rc=1
fi
wait "$reader" 2>/dev/null || true
reader=
if [ -s "$log" ]; then
    echo "oclgrind-tests.sh: Oclgrind reported problems ($(grep -c '^' "$log") lines in $log); the first 80 lines:" >&2
    head -n 80 "$log" >&2
    rc=1
fi
[ "$rc" = 0 ] && echo "oclgrind-tests.sh: the OpenCL tests passed on Oclgrind with no report"
exit "$rc"
