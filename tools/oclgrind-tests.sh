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

export OCL_ICD_VENDORS="$work/vendors"
export OCLGRIND_LOG="$work/reports"
export OCLGRIND_CHECK_API=1 OCLGRIND_DATA_RACES=1 OCLGRIND_UNINITIALIZED=1
export VXT_REQUIRE_OPENCL=1
# Each process compiles its kernels again; Oclgrind has no binaries to cache (voxtile then builds from source).

rc=0
ctest --test-dir "$build" -L opencl --output-on-failure --timeout 900 "$@" || rc=1

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
