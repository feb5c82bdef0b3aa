#!/usr/bin/env bash
# Rank-classification scoring speed, in one run on the same prompts: symtune's shared-prompt path
# with several queries per forward (what evaluation uses) and with one, its full-forward
# reference path, and HF transformers scoring one forward
# per candidate; on a 2-class task (sms_spam) and a 6-class one (emotion). Prints the JSON lines
# and the ratios.
#
#   bench/eval_bench.sh [MODEL_DIR] [-n PROMPTS]     default: runs/smollm2 (scripts/demo.sh converts it)
# Needs ../shared/data (or $SYMTUNE_SHARED_DATA); BUILD_DIR and PYTHON override build/ and the venv,
# BATCH_TOKENS the cached tokens per batched forward (default 8192, as evaluation).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
py=${PYTHON:-$root/.venv/bin/python}
model=${1:-$root/runs/smollm2}
n=20
[ "${2:-}" = "-n" ] && n=$3
data=${SYMTUNE_SHARED_DATA:-$root/../shared/data}/classification
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for task in sms_spam emotion; do
  ours=$("$build/bench/bench_eval_scoring" --model "$model" --data "$data" --task "$task" -n "$n" \
    --batch-tokens "${BATCH_TOKENS:-8192}" --out "$work/$task.jsonl")
  theirs=$("$py" "$root/bench/eval_hf.py" "$model" "$work/$task.jsonl")
  echo "$ours"
  echo "$theirs"
  "$py" - "$ours" "$theirs" <<'PY'
import json, sys
o, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{o['task']} ({o['classes']} classes, {o['prompts']} prompts of ~{o['mean_prompt_tokens']:.0f} tokens): "
      f"shared prompt {o['shared_prompt_prompts_per_s']:.2f} prompts/s = {o['speedup']:.2f}x the full-forward path "
      f"({o['full_forward_prompts_per_s']:.2f}/s) and {o['shared_prompt_prompts_per_s'] / h['prompts_per_s']:.2f}x HF "
      f"transformers ({h['prompts_per_s']:.2f}/s); {o['batch_tokens']} tokens a batch ({o['batches']} batches): "
      f"{o['batched_prompts_per_s']:.2f} prompts/s = {o['batched_speedup']:.2f}x the full-forward path, "
      f"{o['batched_prompts_per_s'] / o['shared_prompt_prompts_per_s']:.2f}x one query a forward, "
      f"{o['batched_prompts_per_s'] / h['prompts_per_s']:.2f}x HF; log p within {max(o['max_abs_logp_difference'], h['max_abs_logp_difference_vs_symtune']):.2g}")
PY
done
