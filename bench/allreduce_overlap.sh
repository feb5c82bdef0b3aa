#!/usr/bin/env bash
# Gradient all-reduce overlapped with backward, against all-reducing after backward: the same
# data-parallel run on N Gloo ranks (CPU) both ways, median step time of each, and the ratio.
#   bench/allreduce_overlap.sh [RANKS] [STEPS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ranks=${1:-2}
steps=${2:-12}
bin=${SYMTUNE_BIN:-$root/build/symtune}
py=${PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/config.json" <<JSON
{
  "model": {"init_config": {"architectures": ["LlamaForCausalLM"], "vocab_size": 259, "hidden_size": 384,
            "intermediate_size": 1024, "num_hidden_layers": 6, "num_attention_heads": 6, "num_key_value_heads": 6,
            "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0},
            "dtype": "float32", "device": "cpu"},
  "data": {"classification_dir": "builtin:synthetic", "max_examples_per_dataset": 300, "exemplars_per_class": [2, 3],
           "symbols": {"word_list": ""}, "tokenizer": "bytes", "max_input_tokens": 112, "max_target_tokens": 16,
           "rows_per_batch": $((2 * ranks))},
  "optimizer": {},
  "train": {"max_steps": $steps, "threads": 1, "bucket_mib": 4, "log_every": 1}
}
JSON
source "$root/bench/gloo_ranks.sh"
run() {  # run OVERLAP OUT_DIR
  launch_ranks "$ranks" train --config "$work/config.json" --set "train.output_dir=$2" \
    --set "train.overlap_allreduce=$1"
}
run true "$work/overlap"
run false "$work/after"
"$py" - "$work" "$ranks" <<'PY'
import json, statistics, sys
work, ranks = sys.argv[1], sys.argv[2]
def median_ms(run):
    rows = [json.loads(l) for l in open(f"{work}/{run}/metrics.jsonl")]
    ms = [r["step_ms"] for r in rows if "step_ms" in r][2:]  # skip warm-up steps
    return statistics.median(ms)
o, a = median_ms("overlap"), median_ms("after")
print(json.dumps({"bench": "allreduce_overlap", "ranks": int(ranks), "backend": "gloo", "step_ms_overlap": round(o, 1),
                  "step_ms_after_backward": round(a, 1), "speedup": round(a / o, 3)}))
print(f"all-reduce overlapped with backward: {o:.1f} ms/step; after backward: {a:.1f} ms/step -> {a / o:.3f}x")
PY
