#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang and AddressSanitizer in build-fuzz/, and
# runs each for SECONDS on its corpus in tests/fuzz/corpus/<target>/ (new inputs go to a scratch
# corpus, so the repository's stays small). Prints, per target, executions per second and in
# all; exits 1 when a target crashes, leaks, hangs (-timeout 10 s) or is killed, 77 when clang or
# libFuzzer is missing (the test suite reports that as skipped).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: safetensors config dataset gguf (default: all)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors config dataset gguf)
build="$root/build-fuzz"
if ! command -v clang++ >/dev/null 2>&1 || ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, long){return 0;}' |
    clang++ -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "SKIPPED: clang++ with libFuzzer is missing (Debian: clang, libclang-rt-14-dev)"
  exit 77
fi
torch_prefix=$("$root/.venv/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) ||
  torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ -DSYMTUNE_FUZZ=ON \
    -DSYMTUNE_BUILD_TESTS=OFF "-DCMAKE_PREFIX_PATH=$torch_prefix" >/dev/null || exit 1
fi
names=()
for t in "${targets[@]}"; do names+=("fuzz_$t"); done
cmake --build "$build" -j "$(nproc)" --target "${names[@]}" >"$build/fuzz_build.log" 2>&1 ||
  { tail -30 "$build/fuzz_build.log"; exit 1; }
status=0
for t in "${targets[@]}"; do
  scratch=$(mktemp -d)
  cp -r "$root/tests/fuzz/corpus/$t/." "$scratch/" 2>/dev/null
  log="$build/fuzz_$t.log"
  (cd "$scratch" && "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -error_exitcode=1 \
    -print_final_stats=1 "$scratch" >"$log" 2>&1)
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  if [ "$rc" -eq 0 ]; then
    echo "ok: fuzz_$t: ${runs:-?} executions in ${seconds} s (${rate:-?}/s), no crash, leak or hang"
  else
    echo "FAIL: fuzz_$t exited $rc; the input is in $scratch; log:"
    grep -E "ERROR|SUMMARY|==[0-9]+==|Test unit written" "$log" | head -20
    status=1
    continue
  fi
  rm -rf "$scratch"
done
exit "$status"
