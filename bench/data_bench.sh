#!/usr/bin/env bash
# Data pipeline throughput on one core, against the tokens/s an HF training step consumes on a
# GPU (the reference measurements in shared/bench), for the paper-sized rows.
#   bench/data_bench.sh [CONFIG] [ROWS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${1:-$root/configs/data_shared.json}
rows=${2:-300}
anchor=${SYMTUNE_ANCHOR_JSON:-$root/../shared/bench/anchor_hf_h200_2026-11-27.json}
gpu_args=()
if [ -f "$anchor" ]; then
  while IFS= read -r spec; do gpu_args+=(--gpu-tokens-per-s "$spec"); done < <(python3 - "$anchor" <<'PY'
import json, sys
for row in json.load(open(sys.argv[1])):
    print(f"HF-{row['name']}-{row['opt']}{'-compiled' if row['compile'] else ''}-H200={row['tokens_per_s']}")
PY
)
fi
taskset -c 0 "${BUILD_DIR:-$root/build}/bench/bench_data_throughput" --config "$config" --rows "$rows" "${gpu_args[@]}"
