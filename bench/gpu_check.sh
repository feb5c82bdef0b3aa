#!/usr/bin/env bash
# The GPU checks, on a GPU machine (CUDA LibTorch in python3, no internet, no apt). Phases run
# in the order given (comma-separated), each within one 10-minute call:
#
#   bench/gpu_check.sh OUT_DIR build              # build, CUDA tests (fast kernels vs reference ops,
#                                                 # emulated kernels, bf16 parity with HF, CUDA
#                                                 # Adafactor vs HF)
#   bench/gpu_check.sh OUT_DIR bench-1b [ANCHOR_PY]  # symtune train vs HF (same weights, batches,
#                                                 # optimizer) and anchor_hf.py, 1.1B shape
#   bench/gpu_check.sh OUT_DIR bench [ANCHOR_PY]  # Adafactor step vs HF and fused AdamW; the same
#                                                 # comparison for the 124M shape; NCCL world 1
#   bench/gpu_check.sh OUT_DIR levers             # 124M with each speed lever in turn changed
#
# A machine goes back 30 s after a call, so a later call may find no build: the timing phases
# then build first (without the tests), and symtune's own kernels (fused Adafactor, SwiGLU,
# rotary) are used only in a build whose CUDA tests passed (the build phase marks it).
# Everything goes to OUT_DIR/gpu_check.log; measurements, one JSON line each, to
# OUT_DIR/results.jsonl; the compiler's output to OUT_DIR/build.log (at most 8 files come back
# from a call: these, and the metrics of the two training runs). The exit status is the number
# of failed checks. C++ dependencies come from .devdeps/usr (see README, "GPU machines").
set -uo pipefail
usage="usage: gpu_check.sh OUT_DIR build|bench|bench-1b|levers[,...] [ANCHOR_PY]"
out=${1:?$usage}
phases=${2:?$usage}
anchor=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p "$out"
exec > >(tee -a "$out/gpu_check.log") 2>&1
export LD_LIBRARY_PATH="$root/.devdeps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"  # for CMake's CUDA language
build=build-gpu
fused_marker=$build/fused_kernels_passed
results=$out/results.jsonl
start=$(date +%s)
failures=0
elapsed() { echo "[$(( $(date +%s) - start )) s] $*"; }
# check SECONDS NAME COMMAND...: runs it under a timeout, its output into the log (or into
# $CHECK_LOG when set); counts a failure.
check() {
  local limit=$1 name=$2; shift 2
  elapsed "start: $name"
  if [ -n "${CHECK_LOG:-}" ]; then timeout "$limit" "$@" > "$CHECK_LOG" 2>&1; else timeout "$limit" "$@"; fi
  local status=$?
  if [ "$status" -ne 0 ]; then
    failures=$((failures + 1))
    elapsed "FAILED (exit $status; 124 is a timeout): $name"
    return 1
  fi
  elapsed "ok: $name"
}
if [ -n "$anchor" ] && [ ! -f "$anchor" ]; then echo "warning: anchor $anchor not found; HF anchors skipped"; anchor=; fi

build_targets() {  # build_targets TARGET...
  CHECK_LOG=$out/build.log SYMTUNE_BUILD_TARGETS="$*" check 420 "build ($*)" \
    scripts/setup.sh --torch system --build-dir "$build" || { tail -60 "$out/build.log"; return 1; }
  grep -q USE_C10D_NCCL "$build/compile_commands.json" && echo "build: ProcessGroupNCCL enabled" ||
    echo "build: WARNING no NCCL (no nccl.h found)"
  [ -d "$build/CMakeFiles/symtune_fused_kernels.dir" ] && echo "build: fused CUDA kernels compiled" ||
    echo "build: WARNING no fused CUDA kernels (no nvcc found)"
}

phase_build() {
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
  rm -f "$fused_marker"
  build_targets symtune test_kernels test_kernels_emulated test_hf_parity test_adafactor_parity bench_adafactor_step ||
    return
  local kernels_ok=1
  check 180 "CUDA kernels against the reference ops" "$build/tests/test_kernels" || kernels_ok=0
  check 120 "kernels on the host emulation" "$build/tests/test_kernels_emulated" || kernels_ok=0
  check 180 "HF fixtures" python3 tests/python/make_hf_fixtures.py "$build/tests/hf_fixtures" &&
    SYMTUNE_HF_FIXTURES=$build/tests/hf_fixtures check 240 "bf16 parity with HF" "$build/tests/test_hf_parity"
  if check 180 "Adafactor fixtures" python3 tests/python/make_adafactor_fixtures.py "$build/tests/adafactor_fixtures"; then
    for path in CudaStacked CudaFused; do
      CHECK_LOG=/tmp/parity_$path.txt SYMTUNE_ADAFACTOR_FIXTURES=$build/tests/adafactor_fixtures \
        check 240 "$path Adafactor parity with HF" "$build/tests/test_adafactor_parity" --gtest_filter="*$path*" ||
        { [ "$path" = CudaFused ] && kernels_ok=0; }
      grep -E "PASSED|FAILED|Failure" "/tmp/parity_$path.txt"
      echo "largest relative errors ($path):"; grep "rel err after" "/tmp/parity_$path.txt" | sort -k9 -g | tail -3
    done
  else
    kernels_ok=0
  fi
  [ "$kernels_ok" = 1 ] && [ -d "$build/CMakeFiles/symtune_fused_kernels.dir" ] && touch "$fused_marker"
}

ensure_built() {
  [ -x "$build/symtune" ] && [ -x "$build/bench/bench_adafactor_step" ] && return 0
  echo "no build here (a fresh machine): building symtune without the tests"
  build_targets symtune bench_adafactor_step
}

fast_kernels() {  # the --set flags that turn symtune's own kernels on, where this build passed their tests
  fast=()
  if [ -f "$fused_marker" ]; then
    fast=(--set optimizer.implementation=fused --set model.kernels.elementwise=fused)
    echo "using symtune's fused kernels (their CUDA tests passed in this build)"
  else
    echo "fused kernels off: not tested in this build"
  fi
}

train_throughput() {  # train_throughput SHAPE: symtune vs HF on the same batches (+ anchors)
  local shape=$1 anchor_args=()
  [ -n "$anchor" ] && anchor_args=(--anchor "$anchor" --anchor-shape "$([ "$shape" = 1b ] && echo 1.1b || echo 124m)")
  check 560 "train_throughput $shape" bash -c 'set -o pipefail; "$@" | tee -a "'"$results"'"' _ \
    python3 bench/train_throughput.py --symtune "$build/symtune" --config "configs/bench_${shape}_gpu.json" \
    --work "/tmp/tt_$shape" --steps 20 --label "$shape" "${anchor_args[@]}" "${fast[@]}"
  cp "/tmp/tt_$shape/symtune/metrics.jsonl" "$out/metrics_$shape.jsonl" 2>/dev/null
}

phase_bench_1b() {
  ensure_built || return
  fast_kernels
  train_throughput 1b
}

phase_bench() {
  ensure_built || return
  fast_kernels
  OMP_NUM_THREADS=16 BUILD_DIR=$build PYTHON=python3 check 240 "Adafactor step, 1.1B shape" \
    bench/adafactor_bench.sh --shape 1.1b --device cuda --steps 5
  train_throughput 124m
  [ -f /tmp/tt_124m/init/config.json ] || return
  # The data-parallel path with an NCCL group of one (torchrun) against the single-process run
  # just made (same config, same weights): median tokens/s after the warm-up steps. A hung
  # collective fails after 60 s instead of the default 600.
  check 300 "NCCL world size 1" python3 -m torch.distributed.run --no-python --standalone --nproc-per-node 1 \
    "$build/symtune" train --config configs/bench_124m_gpu.json --set model.path=/tmp/tt_124m/init \
    --set model.init_config=null --set train.output_dir=/tmp/train_nccl1 --set train.max_steps=20 \
    --set train.checkpoint_every=0 --set train.collective_timeout_s=60 "${fast[@]}" || return
  python3 - /tmp/tt_124m/symtune /tmp/train_nccl1 <<'PY' | tee -a "$results"
import json, statistics, sys
def tps(d):
    rows = [json.loads(l) for l in open(d + "/metrics.jsonl") if '"row_tokens"' in l]
    return statistics.median(r["row_tokens"] / (r["step_ms"] / 1e3) for r in rows[4:])
single, nccl = tps(sys.argv[1]), tps(sys.argv[2])
print(json.dumps(dict(bench="nccl_world1_overhead", single_tokens_per_s=round(single), nccl_world1_tokens_per_s=round(nccl),
                      nccl_over_single=round(nccl / single, 3))))
PY
}

# Each speed lever on its own (124M, symtune only): the reference path in its place, or
# (model.kernels.loss=chunked) a path that is off by default turned on.
phase_levers() {
  ensure_built || return
  fast_kernels
  local lever
  for lever in "model.kernels.attention=sdpa_mask" "model.kernels.rms_norm=reference" "optimizer.implementation=stacked" \
               "model.kernels.elementwise=reference" "train.data_workers=0" "model.activation_checkpointing=true" \
               "model.kernels.loss=chunked"; do
    check 240 "lever $lever" bash -c 'set -o pipefail; "$@" | tee -a "'"$results"'"' _ \
      python3 bench/train_throughput.py --symtune "$build/symtune" --config configs/bench_124m_gpu.json \
      --work /tmp/tt_lever --steps 12 --skip-hf-replay --label "124m with $lever" "${fast[@]}" --set "$lever"
  done
}

IFS=, read -r -a phase_list <<< "$phases"
for phase in "${phase_list[@]}"; do
  case "$phase" in
    build) phase_build ;;
    bench-1b) phase_bench_1b ;;
    bench) phase_bench ;;
    levers) phase_levers ;;
    *) echo "gpu_check.sh: unknown phase '$phase'; $usage"; exit 2 ;;
  esac
  elapsed "phase $phase done"
done
echo "---- results ($results)"
cat "$results" 2>/dev/null
grep -E "^\[[0-9]+ s\] (FAILED|ok):" "$out/gpu_check.log"
elapsed "$failures failed check(s)"
exit "$failures"
