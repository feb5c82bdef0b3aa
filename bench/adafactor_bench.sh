#!/usr/bin/env bash
# symtune's Adafactor step against HF transformers' Adafactor on the same Llama-shaped tensors,
# in the same run; prints both JSON lines and the speed ratio.
#
#   bench/adafactor_bench.sh [--shape 1.1b|124m] [--device cpu|cuda] [--steps N]
# Uses build/ and the venv's python by default (BUILD_DIR, PYTHON override them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
py=${PYTHON:-$root/.venv/bin/python}
args=("$@")
extra=()
for a in "$@"; do [ "$a" = cuda ] && extra=(--adamw); done
ours=$("$build/bench/bench_adafactor_step" "${args[@]}")
echo "$ours"
# On CUDA also the fused kernels (optim/adafactor_fused.h), when the build has them.
if [ ${#extra[@]} -gt 0 ]; then
  fused=$("$build/bench/bench_adafactor_step" "${args[@]}" --implementation fused 2>&1 | grep '^{' || true)
  [ -n "$fused" ] && { echo "$fused"; ours="$ours"$'\n'"$fused"; }
fi
theirs=$("$py" "$root/bench/adafactor_hf.py" "${args[@]}" "${extra[@]}")
echo "$theirs"
"$py" - "$ours" "$theirs" <<'PY'
import json, sys
mine = [json.loads(l) for l in sys.argv[1].splitlines()]
ours = mine[0]
for o in mine:
    for line in sys.argv[2].splitlines():
        ref = json.loads(line)
        print(f"speed: {o['impl']} Adafactor step {o['step_ms']:.1f} ms vs {ref['impl']} {ref['step_ms']:.1f} ms "
              f"-> {ref['step_ms'] / o['step_ms']:.2f}x ({o['device']}, {o['shape']}, {o['params']:,} params)")
print(f"memory: symtune Adafactor state {ours['state_bytes'] / 2**20:.1f} MiB vs AdamW's 2 x params x 4 bytes "
      f"{ours['adamw_state_bytes'] / 2**20:.1f} MiB -> {100 * ours['state_vs_adamw']:.2f}%")
PY
