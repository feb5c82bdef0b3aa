#!/usr/bin/env bash
# The main job on its default: set up and build (idempotent), then import the real pretrained
# stories260K model from llama2.c's format into an HF directory, validate it, and continue a
# prompt with it. Output goes to runs/demo/.
#
# Needs ../shared/data (or $SYMTUNE_SHARED_DATA) for the model file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
data=${SYMTUNE_SHARED_DATA:-$root/../shared/data}
stories="$data/models/stories260K"
if [ ! -f "$stories/stories260K.bin" ]; then
  echo "demo: $stories/stories260K.bin not found; set SYMTUNE_SHARED_DATA to the shared data folder" >&2
  exit 1
fi
bin="$root/build/symtune"
out="$root/runs/demo"
rm -rf "$out"
mkdir -p "$out"
echo "== convert the llama2.c checkpoint into an HF model directory"
"$bin" convert --from llama2c "$stories/stories260K.bin" --tokenizer "$stories/tok512.model" --out "$out/stories260K"
echo "== validate it"
"$bin" inspect --model "$out/stories260K"
echo "== export a bf16 copy that transformers loads as is"
"$bin" export --model "$out/stories260K" --out "$out/stories260K-bf16" --dtype bfloat16
echo "== greedy continuation"
"$bin" generate --model "$out/stories260K" --prompt "Once upon a time" --max-new-tokens 56
echo "== sampled continuation (temperature 0.8, top-k 40, seed 1)"
"$bin" generate --model "$out/stories260K" --prompt "The little dog" --max-new-tokens 60 --temperature 0.8 --top-k 40 --seed 1
