#!/usr/bin/env bash
# device-bundle.sh - build what tools/device-check.sh runs on a lent GPU machine, and assemble it into one
# self-contained folder that travels there beside the working tree (docs/DEVICE-CHECK.md).
#
# Usage (from anywhere; run here, not on the device):  tools/device-bundle.sh [BUILD_DIR]
#   BUILD_DIR: where to build, default build-device in the repository root (git-ignored: /build*/).
# Result: BUILD_DIR/bundle (carry it: build-device/bundle), holding
#   libexec/   the programs, stripped: voxtile, the test programs of the ctest label `opencl` (the onnx and
#              brainchop ones are not built: OpenVINO is ~150 MB and cannot travel; test_clshim and the
#              *.opencl_host_copies tests are left out: the shim wraps host memory, which a discrete GPU never
#              shares), cxx_session, vxt_bench_stitch, vxt_bench_cl_bandwidth
#   lib/       every shared library they need (ldd), glibc and its dynamic loader ld-linux-x86-64.so.2 included,
#              and ocl-icd's libOpenCL.so.1 (the ICD loader a driver-only machine lacks)
#   bin/run    starts a program through the bundled loader:  bin/run libexec/PROGRAM ARGS...
#   bin/voxtile  the tool through the bundled loader (VXT_CLI_PATH of the relocated CLI tests points here)
#   build/     the build tree's files the tests open (the example and broken plugins, an empty vendors folder),
#              laid out as under BUILD_DIR: VXT_BINARY_DIR points here on the device
#   tests.sh   the opencl tests as ctest has them (program, arguments, environment, pass/fail expressions)
#   BUILD-INFO the commit, the build machine's glibc, the build date
# The build uses no OpenVINO, libtorch, Triton or GDCM: none is needed by the OpenCL tests, validate's demo plan or
# the benchmarks, and the bundle must stay small (it fails above 60 MiB).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-device}
case $build in /*) ;; *) build=$PWD/$build ;; esac
bundle=$build/bundle
jobs=${VXT_BUNDLE_JOBS:-2}

command -v python3 >/dev/null || { echo "device-bundle.sh: python3 is needed here (to read ctest's test list)" >&2; exit 1; }
command -v strip >/dev/null || { echo "device-bundle.sh: strip (binutils) is needed" >&2; exit 1; }

mkdir -p "$build"
echo "== configure $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVXT_BUILD_TESTS=ON -DVXT_BUILD_TOOLS=ON \
  -DVXT_WITH_OPENVINO=OFF -DVXT_WITH_TORCH=OFF -DVXT_BUILD_TRITON=OFF -DVXT_WITH_GDCM=OFF -DVXT_KERNEL_CHECK=OFF \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; exit 1; }

# The opencl label's tests, with their commands and properties, as ctest would run them.
ctest_json=$(mktemp)
trap 'rm -f "$ctest_json"' EXIT
(cd "$build" && ctest --show-only=json-v1 -L opencl) >"$ctest_json"
mapfile -t programs < <(python3 - "$ctest_json" "$build" <<'EOF'
import json, os, sys
tests = json.load(open(sys.argv[1]))["tests"]
progs = set()
for t in tests:
    exe = os.path.basename(t["command"][0])
    # not here: OpenVINO's networks (too large to carry); the host-copies shim's tests (PoCL's unified memory: a
    # discrete GPU never wraps host memory)
    if exe in ("test_runner_onnx", "test_brainchop", "test_clshim") or t["name"].endswith("_host_copies"):
        continue
    progs.add(exe)
print("\n".join(sorted(progs)))
EOF
)
targets=(vxt_bench_stitch vxt_bench_cl_bandwidth vxt_example_model)
for p in "${programs[@]}"; do
  case $p in voxtile) targets+=(voxtile_cli) ;; *) targets+=("$p") ;; esac
done
# the broken plugins the CLI tests load
# (their names from tests/plugins/CMakeLists.txt's VXT_BROKEN_PLUGINS: the same list whatever the generator)
mapfile -t broken < <(sed -n 's/^set(VXT_BROKEN_PLUGINS \(.*\))$/\1/p' "$root/tests/plugins/CMakeLists.txt" |
  tr ' ' '\n' | sed -n 's/^\([a-z_]\+\)$/vxt_broken_\1/p')
targets+=("${broken[@]}")
echo "== build ${#targets[@]} targets: ${targets[*]}"
cmake --build "$build" -j"$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1 || {
  tail -50 "$build/build.log" >&2
  exit 1
}
if grep -q "warning:" "$build/build.log"; then
  grep "warning:" "$build/build.log" >&2
  echo "device-bundle.sh: the build has warnings" >&2
  exit 1
fi

echo "== assemble $bundle"
rm -rf "$bundle"
mkdir -p "$bundle/libexec" "$bundle/lib" "$bundle/bin" "$bundle/build/plugins" "$bundle/build/tests/plugins" \
  "$bundle/build/tests/no-icd-vendors"
: >"$bundle/build/tests/no-icd-vendors/.empty" # the tests' vendors folder without a vendor: no OpenCL platform

elves=()
for p in "${programs[@]}"; do
  src=$(find "$build" -path "$bundle" -prune -o -type f -name "$p" -perm -u+x -print | head -1)
  [ -n "$src" ] || { echo "device-bundle.sh: $p was not built" >&2; exit 1; }
  strip -o "$bundle/libexec/$p" "$src"
  elves+=("$bundle/libexec/$p")
done
for p in vxt_bench_stitch vxt_bench_cl_bandwidth; do
  strip -o "$bundle/libexec/$p" "$build/bench/$p"
  elves+=("$bundle/libexec/$p")
done
strip -o "$bundle/build/plugins/libvxt_example_model.so" "$build/plugins/libvxt_example_model.so"
elves+=("$bundle/build/plugins/libvxt_example_model.so")
for f in "$build"/tests/plugins/libvxt_broken_*.so; do
  strip -o "$bundle/build/tests/plugins/$(basename "$f")" "$f"
  elves+=("$bundle/build/tests/plugins/$(basename "$f")")
done

# Shared libraries: everything ldd resolves (libvoxtile.so through the build's RUNPATH, which strip keeps), the
# loader too. Nothing of a GPU driver is linked (the ICD loader opens it at run time), so nothing is left out.
copy_lib() { # copy_lib PATH: the file the path resolves to, under the name the programs ask for
  local name=$1 base
  base=$(basename "$name")
  [ -e "$bundle/lib/$base" ] && return 0
  cp -L "$name" "$bundle/lib/$base"
  chmod u+w "$bundle/lib/$base"
  case $base in ld-linux*|libc.so*|libm.so*|libpthread*|libdl*|librt*) ;; *) strip --strip-unneeded "$bundle/lib/$base" ;; esac
}
for e in "${elves[@]}"; do
  if ldd "$e" | grep -q "not found"; then
    ldd "$e" >&2
    echo "device-bundle.sh: $e needs a library that is not found here" >&2
    exit 1
  fi
  while read -r lib; do
    copy_lib "$lib"
  done < <(ldd "$e" | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}')
done
ld=$(ls "$bundle"/lib/ld-linux-x86-64.so.2 2>/dev/null || true)
[ -n "$ld" ] || { echo "device-bundle.sh: the dynamic loader was not found by ldd" >&2; exit 1; }
[ -e "$bundle/lib/libOpenCL.so.1" ] || { echo "device-bundle.sh: libOpenCL.so.1 (ocl-icd) is not linked" >&2; exit 1; }
# glibc's other libraries (stubs since 2.34): a driver library may ask for them, and one from the machine's older
# glibc beside this libc would not work
libc_dir=$(dirname "$(ldd "$bundle/libexec/voxtile" | awk '/libc\.so\.6 => / {print $3}')")
for l in libdl.so.2 libpthread.so.0 librt.so.1 libutil.so.1 libresolv.so.2 libanl.so.1; do
  [ -e "$libc_dir/$l" ] && copy_lib "$libc_dir/$l"
done
# libgcc_s: glibc dlopens it for thread cancellation and backtraces
gcc_s=$(gcc -print-file-name=libgcc_s.so.1 2>/dev/null || true)
if [ -n "$gcc_s" ] && [ -e "$gcc_s" ]; then copy_lib "$gcc_s"; fi

cat >"$bundle/bin/run" <<'EOF'
#!/bin/sh
# run PROGRAM ARGS...: a bundled program through the bundled dynamic loader and libraries (whatever glibc this
# machine has). The library path is the loader's argument, not LD_LIBRARY_PATH: the machine's own programs (the
# shell the tests start) keep the machine's libraries.
# VXT_BUNDLE_LIBRARY_PATH, when set, is searched after the bundle's libraries (the OpenCL driver's own folder).
here=$(cd "$(dirname "$0")/.." && pwd)
exec "$here/lib/ld-linux-x86-64.so.2" --library-path "$here/lib${VXT_BUNDLE_LIBRARY_PATH:+:$VXT_BUNDLE_LIBRARY_PATH}" "$@"
EOF
cat >"$bundle/bin/voxtile" <<'EOF'
#!/bin/sh
# voxtile through the bundled dynamic loader and libraries (bin/run).
here=$(cd "$(dirname "$0")/.." && pwd)
exec "$here/lib/ld-linux-x86-64.so.2" --library-path "$here/lib${VXT_BUNDLE_LIBRARY_PATH:+:$VXT_BUNDLE_LIBRARY_PATH}" \
  "$here/libexec/voxtile" "$@"
EOF
chmod +x "$bundle/bin/run" "$bundle/bin/voxtile"

# tests.sh: one `vxt_test NAME PROGRAM WILL_FAIL PASS_REGEX FAIL_REGEX ENV ARGS...` line per test (shell-quoted)
python3 - "$ctest_json" >"$bundle/tests.sh" <<'EOF'
import json, os, shlex, sys
tests = json.load(open(sys.argv[1]))["tests"]
print("# The opencl label's tests of the build this bundle came from (tools/device-bundle.sh), for tools/device-check.sh:")
print("# vxt_test NAME PROGRAM WILL_FAIL PASS_REGEX FAIL_REGEX ENV(;-separated) ARGS...")
for t in tests:
    exe = os.path.basename(t["command"][0])
    if exe in ("test_runner_onnx", "test_brainchop", "test_clshim") or t["name"].endswith("_host_copies"):
        continue
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    def regex(name):
        v = props.get(name, [])
        return "|".join(v) if isinstance(v, list) else str(v)
    env = props.get("ENVIRONMENT", [])
    env = ";".join(env) if isinstance(env, list) else str(env)
    will_fail = "1" if props.get("WILL_FAIL") in (True, "TRUE", "ON", "1") else "0"
    fields = [t["name"], exe, will_fail, regex("PASS_REGULAR_EXPRESSION"), regex("FAIL_REGULAR_EXPRESSION"), env]
    print("vxt_test " + " ".join(shlex.quote(f) for f in fields + t["command"][1:]))
EOF

commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | head -1 || true) # (pipefail: SIGPIPE)
{
  echo "commit $commit${dirty:+ (with uncommitted changes)}"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)"
  echo "glibc $(ldd --version | head -1 | awk '{print $NF}')"
  echo "programs ${programs[*]} vxt_bench_stitch vxt_bench_cl_bandwidth"
} >"$bundle/BUILD-INFO"

# the bundled loader must start every program here (a library ldd did not name fails now, not on the device)
"$bundle/bin/run" "$bundle/libexec/voxtile" --version >/dev/null
"$bundle/bin/voxtile" info --backend cpu >/dev/null

size_kib=$(du -sk "$bundle" | awk '{print $1}')
echo "bundle: $bundle, $((size_kib / 1024)) MiB ($size_kib KiB), $(ls "$bundle/libexec" | wc -l) programs, $(ls "$bundle/lib" | wc -l) libraries, $(grep -c '^vxt_test ' "$bundle/tests.sh") tests"
if [ "$size_kib" -gt $((60 * 1024)) ]; then
  echo "device-bundle.sh: the bundle is over 60 MiB: it would not travel with the working tree (64 MiB in all)" >&2
  exit 1
fi
