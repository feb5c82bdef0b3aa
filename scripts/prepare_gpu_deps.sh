#!/usr/bin/env bash
# Unpacks the Debian packages the C++ build needs into .devdeps/ (ignored by git), for GPU
# machines that have a CUDA PyTorch but no apt, and copies shared/bench/anchor_hf.py beside them.
# Run here (where apt works); then carry .devdeps to the GPU machine with the source tree and run
# bench/gpu_check.sh there (README, "GPU machines").
#
#   scripts/prepare_gpu_deps.sh [ANCHOR_HF_PY]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
anchor=${1:-$root/../shared/bench/anchor_hf.py}
grep -qx '/.devdeps/' "$root/.gitignore" || { echo "prepare_gpu_deps.sh: .devdeps/ must be ignored by git" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download libsentencepiece-dev libsentencepiece0 nlohmann-json3-dev libspdlog-dev libspdlog1.10 \
  libfmt-dev libfmt9 libgtest-dev libcli11-dev libgloo-dev libicu-dev libicu72 >/dev/null)
for f in "$work"/*.deb; do dpkg -x "$f" "$root/.devdeps"; done
# What the build does not use goes: a device call carries at most 64 MiB. ICU's data library
# (30 MB) stays: libicuuc needs it at run time.
lib="$root/.devdeps/usr/lib/x86_64-linux-gnu"
rm -rf "$root/.devdeps/usr/share/doc" "$root/.devdeps/usr/share/man" "$lib"/libicu*.a "$lib"/libicui18n* "$lib"/libicuio* \
  "$lib"/libicutest* "$lib"/libicutu* "$lib"/libsentencepiece_train* "$lib"/libsentencepiece*.a
mkdir -p "$root/.devdeps/anchor"
[ -f "$anchor" ] && cp "$anchor" "$root/.devdeps/anchor/"
echo "prepare_gpu_deps.sh: $(du -sh "$root/.devdeps" | cut -f1) in .devdeps (anchor: $(ls "$root/.devdeps/anchor" 2>/dev/null || echo none))"
