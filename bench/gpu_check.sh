#!/usr/bin/env bash
# The GPU checks, in one go on a GPU machine (CUDA LibTorch in python3, no internet, no apt):
# build against the machine's LibTorch, run the whole test suite (bf16 CUDA parity included),
# then time forward+backward of the Llama 124M and 1.1B shapes next to HF transformers.
#
#   bench/gpu_check.sh OUT_DIR [ANCHOR_HF_PY]
#
# C++ dependencies come from .devdeps/usr (Debian packages unpacked; see README, "GPU machines").
set -uo pipefail
out=${1:?usage: gpu_check.sh OUT_DIR [ANCHOR_HF_PY]}
anchor=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p "$out"
export LD_LIBRARY_PATH="$root/.devdeps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' | tee -a "$out/gpu.txt"
start=$(date +%s)
scripts/setup.sh --torch system --build-dir build-gpu 2>&1 | grep -v "^\s*$" | tail -4
echo "build: $(( $(date +%s) - start )) s"
# CPU tests use torch's intra-op threads: cap jobs x threads at the core count, or they crawl.
OMP_NUM_THREADS=4 ctest --test-dir build-gpu -j 4 --timeout 240 --output-on-failure -L "fast|reference" 2>&1 | tee "$out/ctest.txt" | tail -15
SYMTUNE_HF_FIXTURES=build-gpu/tests/hf_fixtures build-gpu/tests/test_hf_parity --gtest_filter='*Bf16*' 2>&1 |
  grep -E "bf16 cuda|OK|FAILED|PASSED" | tee "$out/parity_bf16.txt"
SYMTUNE_ADAFACTOR_FIXTURES=build-gpu/tests/adafactor_fixtures build-gpu/tests/test_adafactor --gtest_filter='*Cuda*' 2>&1 |
  grep -E "rel err after" | sort -k9 -g | tail -3 | tee "$out/adafactor_cuda_parity.txt"
for args in "--shape 124m --batch 16" "--shape 124m --batch 16 --checkpointing" "--shape 1.1b --batch 8"; do
  build-gpu/bench/bench_forward_backward $args 2>&1 | tee -a "$out/bench.jsonl"
done
OMP_NUM_THREADS=16 BUILD_DIR=build-gpu PYTHON=python3 bench/adafactor_bench.sh --shape 1.1b --device cuda --steps 5 2>&1 | tee -a "$out/adafactor.txt"
if [ -n "$anchor" ] && [ -f "$anchor" ]; then
  python3 "$anchor" --shape 124m --batch 16 2>&1 | grep '^{' | tee -a "$out/bench.jsonl"
  python3 "$anchor" --shape 1.1b --batch 8 2>&1 | grep '^{' | tee -a "$out/bench.jsonl"
fi
# symtune train itself on the 124M shape (2048/512 rows, bf16): one process, then the data-parallel
# path with an NCCL group of one (torchrun), median tokens/s after two warm-up steps.
train_tps() {  # train_tps RUN_DIR
  python3 - "$1" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl") if '"tokens_per_s"' in l]
print(round(statistics.median(r["tokens_per_s"] for r in rows[2:])))
PY
}
build-gpu/symtune train --config configs/bench_124m_gpu.json --set train.output_dir=/tmp/train_single 2>&1 | tail -3
python3 -m torch.distributed.run --no-python --standalone --nproc-per-node 1 build-gpu/symtune train \
  --config configs/bench_124m_gpu.json --set train.output_dir=/tmp/train_nccl1 2>&1 | tail -3
single=$(train_tps /tmp/train_single); nccl=$(train_tps /tmp/train_nccl1)
echo "{\"bench\":\"symtune_train_124m\",\"single_tokens_per_s\":$single,\"nccl_world1_tokens_per_s\":$nccl}" | tee -a "$out/bench.jsonl"
echo "total: $(( $(date +%s) - start )) s"
