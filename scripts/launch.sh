#!/usr/bin/env bash
# Data-parallel training on one node with torchrun: one process per GPU (or N CPU processes).
#
#   scripts/launch.sh NPROC --config configs/X.json [more symtune train arguments]
#
# torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT;
# symtune reads them, takes GPU LOCAL_RANK, and uses NCCL on CUDA, Gloo on the CPU. torchrun comes
# with PyTorch (the venv made by scripts/setup.sh, or the machine's python3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
nproc=${1:?usage: launch.sh NPROC --config CONFIG [...]}
shift
torchrun=$(command -v torchrun || true)
[ -z "$torchrun" ] && [ -x "$root/.venv/bin/torchrun" ] && torchrun="$root/.venv/bin/torchrun"
if [ -z "$torchrun" ]; then echo "launch.sh: torchrun not found (run scripts/setup.sh, or pip install torch)" >&2; exit 1; fi
exec "$torchrun" --no-python --standalone --nproc-per-node "$nproc" "${SYMTUNE_BIN:-$root/build/symtune}" train "$@"
