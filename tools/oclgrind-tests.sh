#!/usr/bin/env bash
# tools/oclgrind-tests.sh BUILD_DIR [CTEST_ARGS...]
#
# Runs the OpenCL test group (ctest label "opencl") on Oclgrind instead of PoCL: a strict OpenCL 1.2 implementation
# that interprets every kernel and reports reads of uninitialized values, data races, out-of-bounds accesses and API
# misuse (docs/DETERMINISM.md, "Oclgrind"). It reports itself as a GPU without unified host memory, so voxtile takes
# its discrete-device paths there.
#
# Oclgrind is the only platform the tests see: the ICD loader is pointed at a vendor directory holding only
# oclgrind.icd. Its reports from every process (the test programs and the voxtile commands they start) go through
# one FIFO into one log; any report fails this script, as does any failing test. Exit status: 0 clean, 1 otherwise.
set -euo pipefail
build=${1:?usage: tools/oclgrind-tests.sh BUILD_DIR [CTEST_ARGS...]}
shift
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
# API (--check-api). Not its uninitialized-value plugin: in Oclgrind 21.10 (and its development head) that plugin
# keeps the shadow state of released buffers for the next buffer given the same handle, replaces a buffer's
# shadow with one the size of each host write (a write at an offset hides the rest of the buffer), ignores
# clEnqueueFillBuffer, cannot interpret LLVM's freeze and stops the process on host writes from a second thread;
# its reports on voxtile's tests were all of these kinds (docs/DETERMINISM.md, "Oclgrind").
export OCLGRIND_CHECK_API=1 OCLGRIND_DATA_RACES=1
# Oclgrind's runtime is not thread-safe (its issue #28): the shim makes the calls of each process take turns.
export LD_PRELOAD="$shim" VXT_CLSHIM_SERIALIZE=1
export VXT_REQUIRE_OPENCL=1
# The suites' small case sets (tests/vxt_test.h, vxt_test_small): Oclgrind interprets every work-item.
export VXT_TEST_SMALL=1

# Not here, each for its reason:
#   *.opencl_wg7x3, *.opencl_host_copies: the work-group shape and host-memory variants of the same kernels,
#     PoCL's job (the shapes change no value on any device; the host copies are PoCL's unified memory);
#   test_concurrency: 8 threads x 30 runs sharing a context, a test of the host side's threading (PoCL and
#     ThreadSanitizer run it);
#   test_runner_onnx, test_brainchop: real networks through OpenVINO on the real T1, hours under an interpreter
#     (test_pipeline runs the same stages around a built-in network).
exclude='(_wg7x3|_host_copies)$|^test_concurrency\.|^test_runner_onnx\.|^test_brainchop\.'

rc=0
start=$(date +%s)
ctest --test-dir "$build" -L opencl -E "$exclude" --output-on-failure --timeout 600 "$@" || rc=1
echo "oclgrind-tests.sh: $(($(date +%s) - start)) s"

exec 3>&-
sleep 1
kill "$reader" 2>/dev/null || true
wait "$reader" 2>/dev/null || true
reader=
if [ -s "$log" ]; then
    echo "oclgrind-tests.sh: Oclgrind reported problems ($(grep -c '^' "$log") lines in $log); the first 80 lines:" >&2
    head -n 80 "$log" >&2
    rc=1
fi
[ "$rc" = 0 ] && echo "oclgrind-tests.sh: the OpenCL tests passed on Oclgrind with no report"
exit "$rc"
