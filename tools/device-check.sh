#!/usr/bin/env bash
# device-check.sh - everything a lent GPU machine should be asked, in one run (docs/DEVICE-CHECK.md): the device and
# its determinism probe, the OpenCL tests, `voxtile validate` on two real MRIs, the stitching benchmark and the
# transfer bandwidths that bound it. Run from the repository root with the bundle of tools/device-bundle.sh beside
# it; it needs bash and coreutils only (no compiler, no python, no ICD loader, no root).
#
# Usage: tools/device-check.sh
# Environment:
#   OUT                  the folder for device-check.json and device-check.log (default: out/ in the repository)
#   VXT_DEVICE_BUNDLE    the bundle (default build-device/bundle)
#   VXT_DEVICE_BUDGET    seconds for all steps together (default 450): a step that cannot fit is skipped, with why
#   VXT_DEVICE_ICD       the OpenCL driver library the vendors file names (default: the NVIDIA driver's
#                        libnvidia-opencl.so.1, by full path where found in the usual library folders)
#   VXT_DEVICE_TEST_TIMEOUT  seconds per test program (default 240)
#   VXT_DEVICE_BENCH_RUNS    runs of the stitching benchmark (default 5: one cold, the median of the others)
# The ICD loader reads a vendors folder this script writes under a temporary folder (OCL_ICD_VENDORS), never
# /etc/OpenCL/vendors. Every step runs whatever the earlier ones gave; the exit status is 0 only when all passed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
bundle=${VXT_DEVICE_BUNDLE:-$root/build-device/bundle}
case $bundle in /*) ;; *) bundle=$root/$bundle ;; esac
budget=${VXT_DEVICE_BUDGET:-450}
test_timeout=${VXT_DEVICE_TEST_TIMEOUT:-240}
bench_runs=${VXT_DEVICE_BENCH_RUNS:-5}
outdir=${OUT:-$root/out}
mkdir -p "$outdir" || exit 2
json_file=$outdir/device-check.json
log=$outdir/device-check.log
: >"$log"
work=$(mktemp -d "${TMPDIR:-/tmp}/vxt-device-check.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

now() { # seconds since the epoch, to the microsecond where bash has EPOCHREALTIME
  if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}
t_start=$(now)
elapsed() { awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "$*" | tee -a "$log"; }

# JSON helpers: a quoted string; a field of a JSON text (first match; numbers, booleans or strings)
jstr() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/}
  s=$(printf '%s' "$s" | tr -d '\000-\010\013\014\016-\037')
  printf '"%s"' "$s"
}
jnum() { # jnum KEY FILE [NTH]: the NTH (default 1) number or boolean after "KEY":
  grep -o "\"$1\":[[:space:]]*[-0-9.eE+truefals]*" "$2" 2>/dev/null | sed -n "${3:-1}p" | sed 's/^[^:]*:[[:space:]]*//'
}
jtext() { # jtext KEY FILE: the first string value of "KEY":
  grep -o "\"$1\":[[:space:]]*\"[^\"]*\"" "$2" 2>/dev/null | head -1 | sed 's/^[^:]*:[[:space:]]*"//; s/"$//'
}
or_null() { if [ -n "$1" ]; then echo "$1"; else echo null; fi; }

steps=()     # one JSON object per step
all_ok=1

have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1
# with_timeout SECONDS CMD...: the command's exit status, 124 when it ran out of time (its process group is killed)
with_timeout() {
  local t=$1
  shift
  if [ "$have_timeout" = 1 ]; then
    timeout -k 10 "$t" "$@"
    return $?
  fi
  "$@" &
  local pid=$! rc
  (sleep "$t" && kill -TERM "$pid" 2>/dev/null && sleep 10 && kill -KILL "$pid" 2>/dev/null) &
  local watcher=$!
  wait "$pid"
  rc=$?
  kill "$watcher" 2>/dev/null
  wait "$watcher" 2>/dev/null
  if [ "$rc" = 143 ] || [ "$rc" = 137 ]; then rc=124; fi
  return "$rc"
}

# step NAME MIN_SECONDS MAX_SECONDS OUTFILE CMD...: runs CMD with the time that is left (at most MAX_SECONDS), its
# output into OUTFILE and the log; skipped when less than MIN_SECONDS are left. Sets step_rc, step_wall, step_skip.
step() {
  local name=$1 min=$2 max=$3 out=$4
  shift 4
  local left limit t0
  left=$(awk -v b="$budget" -v e="$(elapsed)" 'BEGIN { printf "%d", b - e }')
  step_skip=""
  step_cmd=$(printf '%q ' "$@")
  step_cmd=${step_cmd% }
  if [ "$left" -lt "$min" ]; then
    step_skip="budget: ${left} s of ${budget} s left, the step needs at least ${min} s"
    step_rc=-1
    step_wall=0
    : >"$out"
    return
  fi
  limit=$max
  [ "$left" -lt "$limit" ] && limit=$left
  {
    echo
    echo "== $name (limit ${limit} s; $(elapsed) s into the check)"
    echo "\$ $*"
  } >>"$log"
  t0=$(now)
  with_timeout "$limit" "$@" >"$out" 2>&1
  step_rc=$?
  step_wall=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
  cat "$out" >>"$log"
  echo "-- exit $step_rc, ${step_wall} s" >>"$log"
}
# record NAME OK(0/1) RESULTS_JSON: one step's object from step_cmd, step_rc, step_wall, step_skip
record() {
  local name=$1 ok=$2 results=$3 status
  if [ -n "$step_skip" ]; then
    status=skipped
    ok=0
  elif [ "$ok" = 1 ]; then
    status=passed
  else
    status=failed
  fi
  [ "$ok" = 1 ] || all_ok=0
  local timed_out=false
  [ "$step_rc" = 124 ] && timed_out=true
  steps+=("{\"name\":$(jstr "$name"),\"command\":$(jstr "$step_cmd"),\"status\":\"$status\",\"exit_status\":$step_rc,\"timed_out\":$timed_out,\"wall_s\":$step_wall$([ -n "$step_skip" ] && printf ',"skip_reason":%s' "$(jstr "$step_skip")"),\"results\":$results}")
  say "-- $name: $status (exit $step_rc, ${step_wall} s)${step_skip:+: $step_skip}"
}

say "voxtile device check: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), repository $root, budget ${budget} s"

# ---- the machine ------------------------------------------------------------------------------------------------
machine_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown)
cpus=$(nproc 2>/dev/null || echo 0)
nvsmi=""
if command -v nvidia-smi >/dev/null 2>&1; then
  nvsmi=$(nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current \
    --format=csv,noheader 2>&1 | head -4)
fi
bundle_info=$(cat "$bundle/BUILD-INFO" 2>/dev/null || echo "no bundle at $bundle")
{
  echo "machine glibc: $machine_glibc; cpus: $cpus; kernel: $(uname -r)"
  echo "nvidia-smi: ${nvsmi:-not found}"
  echo "bundle: $bundle_info"
} | tee -a "$log"
[ -x "$bundle/bin/run" ] || say "no bundle at $bundle: run tools/device-bundle.sh where the repository is built, and carry build-device/bundle"

# ---- the ICD: a vendors folder of our own ------------------------------------------------------------------------
icd_lib=${VXT_DEVICE_ICD:-}
icd_source=VXT_DEVICE_ICD
if [ -z "$icd_lib" ]; then
  icd_source="search"
  icd_lib=libnvidia-opencl.so.1
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/nvidia \
    /usr/lib /lib/x86_64-linux-gnu /lib64; do
    if [ -e "$d/libnvidia-opencl.so.1" ]; then
      icd_lib=$d/libnvidia-opencl.so.1
      break
    fi
  done
  if [ "$icd_lib" = libnvidia-opencl.so.1 ] && command -v ldconfig >/dev/null 2>&1; then
    found=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 / {print $NF; exit}')
    [ -n "$found" ] && icd_lib=$found
  fi
fi
mkdir -p "$work/vendors"
case $icd_lib in *nvidia*) icd_file=nvidia.icd ;; *pocl*) icd_file=pocl.icd ;; *) icd_file=device.icd ;; esac
echo "$icd_lib" >"$work/vendors/$icd_file"
export OCL_ICD_VENDORS=$work/vendors OPENCL_VENDOR_PATH=$work/vendors
unset OCL_ICD_FILENAMES
icd_note="vendors folder $work/vendors: $icd_file names $icd_lib ($icd_source)"
[ -e "$icd_lib" ] || case $icd_lib in /*) icd_note="$icd_note; that file does not exist" ;; *) icd_note="$icd_note; not found in the usual folders, left to the loader's search" ;; esac
[ -e /etc/OpenCL/vendors/nvidia.icd ] && icd_note="$icd_note; /etc/OpenCL/vendors/nvidia.icd exists and is not used (OCL_ICD_VENDORS)"
# the driver library's own folder after the bundle's libraries: its dependencies (libcuda, the PTX compiler) where
# the machine's loader cache may not list them
case $icd_lib in /*) VXT_BUNDLE_LIBRARY_PATH=$(dirname "$icd_lib") && export VXT_BUNDLE_LIBRARY_PATH ;; esac
say "ICD: $icd_note"

run_b() { "$bundle/bin/run" "$@"; } # a bundled program through the bundled loader
export VXT_REQUIRE_OPENCL=1 VXT_TEST_DATA_DIR=$root/tests/data VXT_BINARY_DIR=$bundle/build \
  VXT_CLI_PATH=$bundle/bin/voxtile

# ---- 1. voxtile info: the device and its determinism probe --------------------------------------------------------
step "info --json" 10 60 "$work/info.json" "$bundle/bin/voxtile" info --backend opencl --json
record "info --json" "$([ "$step_rc" = 0 ] && echo 1 || echo 0)" null
out=$work/info.out
step "info" 10 60 "$out" "$bundle/bin/voxtile" info --backend opencl
dev_name=$(jtext name "$work/info.json")
dev_platform=$(jtext platform "$work/info.json")
dev_driver=$(jtext driver_version "$work/info.json")
dev_type=$(jtext type "$work/info.json")
dev_mem=$(jnum global_mem_bytes "$work/info.json")
probe_passed=$(jnum passed "$work/info.json")
probe_detail=$(jtext detail "$work/info.json")
probe_line=$(grep -m1 "probe:" "$out" 2>/dev/null || true)
ok=0
[ "$step_rc" = 0 ] && grep -q "probe: PASSED" "$out" && ok=1
record "info" "$ok" "{\"device\":$(jstr "$dev_name"),\"platform\":$(jstr "$dev_platform"),\"driver\":$(jstr "$dev_driver"),\"type\":$(jstr "$dev_type"),\"global_mem_bytes\":$(or_null "$dev_mem"),\"probe_passed\":$(or_null "$probe_passed"),\"probe\":$(jstr "${probe_line:-$probe_detail}")}"

# ---- 2. the OpenCL tests (the bundle's tests.sh: the ctest label opencl) -------------------------------------------
tests_passed=0
tests_failed=0
vxt_test() { # NAME PROGRAM WILL_FAIL PASS_REGEX FAIL_REGEX ENV ARGS...
  local name=$1 prog=$2 will_fail=$3 pass_re=$4 fail_re=$5 env=$6
  shift 6
  local exe=("$bundle/bin/run" "$bundle/libexec/$prog")
  [ "$prog" = voxtile ] && exe=("$bundle/bin/voxtile")
  local envs=()
  if [ -n "$env" ]; then IFS=';' read -r -a envs <<<"$env"; fi
  out=$work/test.out
  step "test $name" 15 "$test_timeout" "$out" env ${envs[@]+"${envs[@]}"} "${exe[@]}" "$@" # (bash < 4.4: set -u)
  local ok=0 why=""
  if [ -n "$step_skip" ]; then
    why=skipped
  elif [ "$step_rc" = 124 ]; then
    why="timed out"
  elif { [ "$will_fail" = 1 ] && [ "$step_rc" = 0 ]; } || { [ "$will_fail" = 0 ] && [ "$step_rc" != 0 ]; }; then
    why="exit status $step_rc"
  elif [ -n "$pass_re" ] && ! grep -Eq -- "$pass_re" "$out"; then
    why="output does not match '$pass_re'"
  elif [ -n "$fail_re" ] && grep -Eq -- "$fail_re" "$out"; then
    why="output matches '$fail_re'"
  else
    ok=1
  fi
  # cmocka's summary: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:"
  local np nf failed_names
  np=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
  nf=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
  failed_names=$(sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_]*\)$/\1/p' "$out" | sort -u | tr '\n' ' ')
  if [ "$ok" = 1 ]; then tests_passed=$((tests_passed + 1)); else tests_failed=$((tests_failed + 1)); fi
  record "test $name" "$ok" "{\"program\":$(jstr "$prog"),\"cases_passed\":$(or_null "$np"),\"cases_failed\":$(or_null "${nf:-$([ -n "$np" ] && echo 0)}"),\"failed_cases\":$(jstr "${failed_names% }"),\"why\":$(jstr "$why")}"
  [ "$ok" = 1 ] || { echo "   why: $why"; tail -15 "$out" | sed 's/^/   | /'; } | tee -a "$log"
}
if [ -r "$bundle/tests.sh" ]; then
  # shellcheck source=/dev/null
  . "$bundle/tests.sh"
else
  step_skip="" step_rc=-1 step_wall=0 step_cmd=". $bundle/tests.sh"
  record "tests" 0 "{\"why\":\"no tests.sh in the bundle\"}"
fi
say "tests: $tests_passed passed, $tests_failed failed or skipped"
if [ "$tests_passed" = 0 ]; then # a bundle whose list ran nothing is no pass
  step_skip="" step_rc=-1 step_wall=0 step_cmd=". $bundle/tests.sh"
  record "tests" 0 "{\"why\":\"no test passed\"}"
fi

# ---- 3. voxtile validate: the OpenCL device against the CPU backend, bit for bit ---------------------------------
validate() { # NAME INPUT
  local name=$1 input=$2
  out=$work/validate-$name.json
  step "validate $name" 20 180 "$out" "$bundle/bin/voxtile" validate "$input" --plan tools/plans/demo_mri.json --json
  local result a_backend a_dev a_s b_s ok=0
  result=$(jtext result "$out")
  a_backend=$(jtext backend "$out")
  a_dev=$(jtext device "$out")
  a_s=$(jnum pipeline_seconds "$out" 1)
  b_s=$(jnum pipeline_seconds "$out" 2)
  [ "$step_rc" = 0 ] && [ "$result" = identical ] && [ "$a_backend" = opencl ] && ok=1
  local identical=null
  [ -n "$result" ] && { [ "$result" = identical ] && identical=true || identical=false; }
  record "validate $name" "$ok" "{\"input\":$(jstr "$input"),\"plan\":\"tools/plans/demo_mri.json\",\"identical\":$identical,\"result\":$(jstr "$result"),\"side_a\":$(jstr "$a_backend: $a_dev"),\"side_a_pipeline_s\":$(or_null "$a_s"),\"side_b_pipeline_s\":$(or_null "$b_s")}"
  [ "$ok" = 1 ] || tail -5 "$out" | sed 's/^/   | /' | tee -a "$log"
}
validate mricron_ch2 tests/data/mricron_ch2.nii.gz
validate t1_crop tests/data/brainchop/t1_crop.nii.gz

# ---- 4. transfer bandwidths, then the stitching benchmark on the device -----------------------------------------
out=$work/bandwidth.json
step "bandwidth" 15 90 "$out" "$bundle/bin/run" "$bundle/libexec/vxt_bench_cl_bandwidth" --mib 256 --reps 10
bw_line=$(grep -m1 '^{' "$out" || true)
ok=0
[ "$step_rc" = 0 ] && [ -n "$bw_line" ] && ok=1
record "bandwidth" "$ok" "${bw_line:-null}"
bw_ok=$ok
h2d_page=$(jnum h2d_pageable_gbs "$out")
d2h_page=$(jnum d2h_pageable_gbs "$out")
h2d_pin=$(jnum h2d_pinned_gbs "$out")
d2h_pin=$(jnum d2h_pinned_gbs "$out")
d2d_traffic=$(jnum d2d_traffic_gbs "$out")

out=$work/bench.json
step "bench_stitch" 60 300 "$out" "$bundle/bin/run" "$bundle/libexec/vxt_bench_stitch" --backend opencl \
  --runs "$bench_runs" --json
bench_line=$(grep -m1 '^{' "$out" || true)
ok=0
[ "$step_rc" = 0 ] && [ -n "$bench_line" ] && grep -q '"backend":"opencl"' "$out" && ok=1
record "bench_stitch" "$ok" "${bench_line:-null}"

# The shares of the warm stitching time that the bytes crossing PCIe, and the device-memory traffic, take at the
# measured bandwidths. PCIe, as voxtile's upload path moves them with the predictor on the host (docs/STITCHING.md,
# "On a discrete GPU": tiles are cut on the host): up, the predictions (4 C bytes a tile voxel, float32 tiles);
# down, the finished values (4 C a voxel). Device memory: the benchmark's floor_bytes (docs/PERFORMANCE.md) at the
# clEnqueueCopyBuffer traffic rate (bytes read plus written per second). null unless the bandwidths and the
# benchmark were measured and every rate is above zero.
shares=null
positive() { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }
if [ "$ok" = 1 ] && [ "$bw_ok" = 1 ] && positive "$h2d_page" && positive "$d2h_page" && positive "$h2d_pin" &&
  positive "$d2h_pin" && positive "$d2d_traffic" && positive "$(jnum warm_s "$out")"; then
  shape=$(grep -o '"shape":\[[0-9,]*\]' "$out" | head -1 | tr -dc '0-9,' | tr ',' ' ')
  roi=$(grep -o '"roi":\[[0-9,]*\]' "$out" | head -1 | tr -dc '0-9,' | tr ',' ' ')
  shares=$(awk -v shape="$shape" -v roi="$roi" -v C="$(jnum channels "$out")" -v tiles="$(jnum tiles "$out")" \
    -v floor="$(jnum floor_bytes "$out")" -v warm="$(jnum warm_s "$out")" -v cold="$(or_null "$(jnum cold_s "$out")")" \
    -v hp="$h2d_page" -v dp="$d2h_page" -v hn="$h2d_pin" -v dn="$d2h_pin" -v dd="$d2d_traffic" 'BEGIN {
      split(shape, s, " "); split(roi, r, " ")
      vox = s[1] * s[2] * s[3]; tv = tiles * r[1] * r[2] * r[3]
      up = 4 * C * tv; down = 4 * C * vox
      page = up / (hp * 1e9) + down / (dp * 1e9); pin = up / (hn * 1e9) + down / (dn * 1e9)
      hbm = floor / (dd * 1e9)
      printf "{\"warm_s\":%s,\"cold_s\":%s,\"pcie_up_bytes\":%.0f,\"pcie_down_bytes\":%.0f,", warm, cold, up, down
      printf "\"pcie_pageable_s\":%.4f,\"pcie_pinned_s\":%.4f,\"hbm_bytes\":%.0f,\"hbm_s\":%.4f,", page, pin, floor, hbm
      printf "\"pcie_pageable_share\":%.3f,\"pcie_pinned_share\":%.3f,\"hbm_share\":%.3f}", page / warm, pin / warm, hbm / warm
    }')
fi
say "shares of the warm stitching time: $shares"

# ---- the report ---------------------------------------------------------------------------------------------------
total=$(elapsed)
n_steps=${#steps[@]}
{
  printf '{"voxtile_device_check":1,"date":"%s","host":%s,"repository":%s,"all_passed":%s,"wall_s":%s,"budget_s":%s,' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(jstr "$(uname -n)")" "$(jstr "$root")" \
    "$([ "$all_ok" = 1 ] && echo true || echo false)" "$total" "$budget"
  printf '"machine":{"glibc":%s,"cpus":%s,"kernel":%s,"nvidia_smi":%s},"bundle":%s,"icd":%s,' \
    "$(jstr "$machine_glibc")" "$cpus" "$(jstr "$(uname -r)")" "$(jstr "$nvsmi")" "$(jstr "$bundle_info")" \
    "$(jstr "$icd_note")"
  printf '"device":{"name":%s,"platform":%s,"driver":%s,"probe_passed":%s},' "$(jstr "$dev_name")" \
    "$(jstr "$dev_platform")" "$(jstr "$dev_driver")" "$(or_null "$probe_passed")"
  printf '"tests":{"passed":%d,"failed":%d},"stitch_shares":%s,"steps":[' "$tests_passed" "$tests_failed" "$shares"
  for ((i = 0; i < n_steps; i++)); do
    [ "$i" -gt 0 ] && printf ','
    printf '\n%s' "${steps[$i]}"
  done
  printf '\n]}\n'
} >"$json_file"
if command -v python3 >/dev/null 2>&1; then
  python3 -m json.tool "$json_file" >/dev/null 2>>"$log" && say "report: $json_file (valid JSON)" ||
    { say "report: $json_file is NOT valid JSON"; all_ok=0; }
else
  say "report: $json_file (python3 absent: not re-read)"
fi
say "log: $log"
say "device check: $([ "$all_ok" = 1 ] && echo ALL PASSED || echo FAILURES) in $total s"
[ "$all_ok" = 1 ]
