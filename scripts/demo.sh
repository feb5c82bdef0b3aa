#!/usr/bin/env bash
# The main job on its embedded default: set up and build (idempotent), then symbol-tune a small
# Llama-shaped model that symtune initialises itself, on classification tasks it generates
# itself (configs/demo_synthetic.json: no network, no files outside the repository). It
# evaluates held-out tasks with held-out symbols before training, every 100 steps and at the
# end, writes checkpoints, and prints the before/after table. A few minutes on 2 CPU cores.
#
#   scripts/demo.sh [extra --set overrides for symtune train]
# Output: runs/demo/ (train.log, metrics.jsonl, metrics.png, checkpoints/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root"
rm -rf runs/demo
sets=()
for s in "$@"; do sets+=(--set "$s"); done
build/symtune train --config configs/demo_synthetic.json "${sets[@]}"
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
"$python" scripts/report_run.py runs/demo
"$python" scripts/plot_metrics.py runs/demo || echo "(no plot: matplotlib missing)"
