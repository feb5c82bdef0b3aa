#!/usr/bin/env bash
# The GPU checks, on a GPU machine (CUDA LibTorch in python3, no internet, no apt), in phases
# that each fit one 10-minute call (run them back to back on the same warm machine; build first):
#
#   bench/gpu_check.sh OUT_DIR build              # build, CUDA tests (fast kernels vs reference ops,
#                                                 # bf16 parity with HF, CUDA Adafactor vs HF)
#   bench/gpu_check.sh OUT_DIR bench [ANCHOR_PY]  # Adafactor step vs HF and fused AdamW; symtune train
#                                                 # vs HF (same weights, batches, optimizer) and
#                                                 # anchor_hf.py for the 124M shape; NCCL world 1
#   bench/gpu_check.sh OUT_DIR bench-1b [ANCHOR_PY]  # the same comparison for the 1.1B shape
#   bench/gpu_check.sh OUT_DIR levers             # 124M with each speed lever in turn replaced by the reference
#
# The CPU side of the suite runs on CPU machines (scripts/test.sh); here only what needs CUDA.
# C++ dependencies come from .devdeps/usr (Debian packages unpacked; see README, "GPU machines").
set -uo pipefail
usage="usage: gpu_check.sh OUT_DIR build|bench|bench-1b|levers [ANCHOR_PY]"
out=${1:?$usage}
phase=${2:?$usage}
anchor=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p "$out"
export LD_LIBRARY_PATH="$root/.devdeps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export PYTHONUNBUFFERED=1
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"  # for CMake's CUDA language
build=build-gpu
start=$(date +%s)
elapsed() { echo "[$(( $(date +%s) - start )) s] $*"; }
# symtune's own kernels (fused Adafactor, SwiGLU, rotary) are opt-in until they have passed on
# a GPU; the timing phases use them when the build has them.
fast=()
[ -d "$build/CMakeFiles/symtune_fused_kernels.dir" ] &&
  fast=(--set optimizer.implementation=fused --set model.kernels.elementwise=fused)

if [ "$phase" = build ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
  python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' | tee -a "$out/gpu.txt"
  SYMTUNE_BUILD_TARGETS="symtune test_kernels test_kernels_emulated test_hf_parity test_adafactor_parity bench_adafactor_step" \
    scripts/setup.sh --torch system --build-dir "$build" 2>&1 | grep -E "error|FAILED|\[setup\] done" | head -40
  elapsed "build"
  "$build/tests/test_kernels" 2>&1 | grep -E "cuda kernels|OK|FAILED|PASSED|Failure|error|rel" | tee "$out/kernels.txt"
  "$build/tests/test_kernels_emulated" 2>&1 | grep -E "PASSED|FAILED|Failure" | tee -a "$out/kernels.txt"
  python3 tests/python/make_hf_fixtures.py "$build/tests/hf_fixtures" > /dev/null 2>&1
  SYMTUNE_HF_FIXTURES=$build/tests/hf_fixtures "$build/tests/test_hf_parity" 2>&1 |
    grep -E "bf16 cuda|OK|FAILED|PASSED" | tee "$out/parity.txt"
  python3 tests/python/make_adafactor_fixtures.py "$build/tests/adafactor_fixtures" > /dev/null 2>&1
  for path in CudaStacked CudaFused; do
    SYMTUNE_ADAFACTOR_FIXTURES=$build/tests/adafactor_fixtures "$build/tests/test_adafactor_parity" \
      --gtest_filter="*$path*" 2>&1 | grep -E "rel err after|PASSED|FAILED|Failure" | sort -k9 -g | tail -4 |
      tee -a "$out/adafactor_cuda_parity.txt"
  done
  elapsed "build phase done"
  exit 0
fi

if [ "$phase" = bench ] || [ "$phase" = bench-1b ]; then
if [ "$phase" = bench ]; then
  OMP_NUM_THREADS=16 BUILD_DIR=$build PYTHON=python3 bench/adafactor_bench.sh --shape 1.1b --device cuda --steps 5 2>&1 |
    tee "$out/adafactor.txt"
  elapsed "adafactor"
fi
anchor_args=()
train_throughput() {  # train_throughput SHAPE
  local shape=$1
  [ -n "$anchor" ] && [ -f "$anchor" ] && anchor_args=(--anchor "$anchor" --anchor-shape "$([ $shape = 1b ] && echo 1.1b || echo 124m)")
  python3 bench/train_throughput.py --symtune "$build/symtune" --config "configs/bench_${shape}_gpu.json" \
    --work "/tmp/tt_$shape" --steps 20 --label "$shape" "${anchor_args[@]}" "${fast[@]}" 2> "$out/train_throughput_$shape.log" |
    tee -a "$out/train_throughput.jsonl"
  cp "/tmp/tt_$shape/symtune/metrics.jsonl" "$out/metrics_$shape.jsonl" 2>/dev/null
  elapsed "train_throughput $shape"
}
if [ "$phase" = bench-1b ]; then
  train_throughput 1b
  exit 0
fi
train_throughput 124m
# The data-parallel path with an NCCL group of one (torchrun) against the single-process run
# just made (same config, same weights): median tokens/s after the warm-up steps.
python3 -m torch.distributed.run --no-python --standalone --nproc-per-node 1 "$build/symtune" train \
  --config configs/bench_124m_gpu.json --set model.path=/tmp/tt_124m/init --set model.init_config=null \
  --set train.output_dir=/tmp/train_nccl1 --set train.max_steps=20 --set train.checkpoint_every=0 "${fast[@]}" 2>&1 |
  grep -E "data parallel|error" | head -3
python3 - /tmp/tt_124m/symtune /tmp/train_nccl1 <<'PY' | tee -a "$out/train_throughput.jsonl"
import json, statistics, sys
def tps(d):
    rows = [json.loads(l) for l in open(d + "/metrics.jsonl") if '"row_tokens"' in l]
    return statistics.median(r["row_tokens"] / (r["step_ms"] / 1e3) for r in rows[4:])
single, nccl = tps(sys.argv[1]), tps(sys.argv[2])
print(json.dumps(dict(bench="nccl_world1_overhead", single_tokens_per_s=round(single), nccl_world1_tokens_per_s=round(nccl),
                      nccl_over_single=round(nccl / single, 3))))
PY
elapsed "bench phase done"
exit 0
fi

# ---- phase "levers": each speed lever on its own (124M, symtune only): the reference path in its
# place, or (model.kernels.loss=chunked) a path that is off by default turned on.
[ "$phase" = levers ] || { echo "gpu_check.sh: $usage" >&2; exit 2; }
for lever in "model.kernels.attention=sdpa_mask" "model.kernels.rms_norm=reference" "optimizer.implementation=stacked" \
             "model.kernels.elementwise=reference" "train.data_workers=0" "model.activation_checkpointing=true" \
             "model.kernels.loss=chunked"; do
  python3 bench/train_throughput.py --symtune "$build/symtune" --config configs/bench_124m_gpu.json --work /tmp/tt_lever \
    --steps 12 --skip-hf-replay --label "124m with $lever" "${fast[@]}" --set "$lever" 2>> "$out/levers.log" |
    tee -a "$out/train_throughput.jsonl"
done
elapsed "levers phase done"
