#!/usr/bin/env bash
# Sharded data parallelism against plain data parallelism: the same run with train.sharding none
# and full on RANKS Gloo ranks (CPU), and hybrid on 2 x RANKS ranks as RANKS-rank groups; tokens/s
# (median of the steps after warm-up, over all ranks) and the bytes each rank moves per step, as
# metrics.jsonl's comm_bytes counts them (ring volumes), next to the theoretical volumes: plain data
# parallelism all-reduces the fp32 gradient, 2 (N-1)/N x 4P bytes; full sharding gathers the
# weights twice and reduce-scatters the fp32 gradient, (N-1)/N x (4P + 4P_blocks + 4P), about
# 3 x the (fp32) parameter bytes, as ZeRO-3.  With a GPU (CUDA build, NCCL) pass DEVICE=cuda.
#   bench/sharding_bench.sh [RANKS] [STEPS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ranks=${1:-2}
steps=${2:-12}
device=${DEVICE:-cpu}
bin=${SYMTUNE_BIN:-$root/build/symtune}
py=${PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/config.json" <<JSON
{
  "model": {"init_config": {"architectures": ["LlamaForCausalLM"], "vocab_size": 259, "hidden_size": 384,
            "intermediate_size": 1024, "num_hidden_layers": 6, "num_attention_heads": 6, "num_key_value_heads": 6,
            "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0},
            "dtype": "float32", "device": "$device"},
  "data": {"classification_dir": "builtin:synthetic", "max_examples_per_dataset": 300, "exemplars_per_class": [2, 3],
           "symbols": {"word_list": ""}, "tokenizer": "bytes", "max_input_tokens": 112, "max_target_tokens": 16,
           "rows_per_batch": $((4 * ranks))},
  "optimizer": {},
  "train": {"max_steps": $steps, "threads": 1, "log_every": 1, "tensorboard": false}
}
JSON
source "$root/bench/gloo_ranks.sh"
run() {  # run WORLD OUT_DIR SETTINGS...
  local world=$1 out=$2
  shift 2
  launch_ranks "$world" train --config "$work/config.json" --set "train.output_dir=$out" "$@"
}
run "$ranks" "$work/none" --set train.sharding=none
run "$ranks" "$work/full" --set train.sharding=full
run $((2 * ranks)) "$work/hybrid" --set train.sharding=hybrid --set "train.shard_group_size=$ranks" \
  --set "data.rows_per_batch=$((8 * ranks))"
"$py" - "$work" "$ranks" "$device" <<'PY'
import json, statistics, sys
work, ranks, device = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# The model's parameters: the embedding and head (259 x 384 each), the final norm, and per block
# q, k, v, o (384 x 384), gate, up, down (1024 x 384) and two norms.
blocks = 6 * (4 * 384 * 384 + 3 * 1024 * 384 + 2 * 384)
P = 2 * 259 * 384 + 384 + blocks
def measure(run):
    rows = [json.loads(l) for l in open(f"{work}/{run}/metrics.jsonl")]
    rows = [r for r in rows if "comm_bytes" in r][2:]  # skip warm-up steps
    return statistics.median(r["tokens_per_s"] for r in rows), statistics.median(r["comm_bytes"] for r in rows)
theory = {"none": 2 * (ranks - 1) / ranks * 4 * P,
          "full": (ranks - 1) / ranks * (4 * P + 4 * blocks + 4 * P),
          "hybrid": (ranks - 1) / ranks * (4 * P + 4 * blocks + 4 * P) + 2 * (2 - 1) / 2 * 4 * P / ranks}
base = measure("none")[0]
for run in ("none", "full", "hybrid"):
    tps, sent = measure(run)
    world = 2 * ranks if run == "hybrid" else ranks
    print(json.dumps({"bench": "sharding", "backend": "nccl" if device == "cuda" else "gloo", "sharding": run,
                      "ranks": world, "tokens_per_s": round(tps), "tokens_per_s_vs_none": round(tps / base, 3),
                      "comm_bytes_per_step": int(sent), "theoretical_bytes": int(theory[run]),
                      "parameter_bytes": 4 * P, "comm_over_parameter_bytes": round(sent / (4 * P), 3)}))
PY
