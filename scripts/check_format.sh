#!/usr/bin/env bash
# Fails (exit 1) when a tracked C++ file differs from what clang-format makes of it with the
# repository's .clang-format (120 columns), or has a line over 120 columns that clang-format
# could not break (a long literal or comment). Lists the files and how to fix them.
#
#   scripts/check_format.sh [ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
formatter=${CLANG_FORMAT:-clang-format}
if ! command -v "$formatter" >/dev/null 2>&1; then
  echo "check_format: $formatter not found (scripts/setup.sh installs Debian's clang-format)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')
bad=()
for f in "${files[@]}"; do
  if ! "$formatter" --style=file "$f" | cmp -s - "$f"; then bad+=("$f"); fi
done
long=$(awk 'length > 120 { print FILENAME ":" FNR ": " length " columns" }' "${files[@]}")
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} file(s) not formatted; run: clang-format -i ${bad[*]}"
  for f in "${bad[@]}"; do "$formatter" --style=file "$f" | diff -u "$f" - | head -20; done
fi
if [ -n "$long" ]; then echo "check_format: lines over 120 columns:"; echo "$long"; fi
if [ ${#bad[@]} -gt 0 ] || [ -n "$long" ]; then exit 1; fi
echo "check_format: ${#files[@]} files formatted ($("$formatter" --version))"
