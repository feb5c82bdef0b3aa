#!/usr/bin/env bash
# Set up (idempotent, see scripts/setup.sh), build, and run the test suite with CTest.
#
#   scripts/test.sh            the whole suite
#   scripts/test.sh --fast     the quick subset (ctest -L fast)
#   scripts/test.sh -R Parity  any other arguments go to ctest
#
# The parity tests compare against HF transformers installed in the venv by setup.sh; tests
# that need ../shared/data (or $SYMTUNE_SHARED_DATA) skip with a message when it is absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ctest_args=()
for a in "$@"; do
  if [ "$a" = "--fast" ]; then ctest_args+=(-L fast); else ctest_args+=("$a"); fi
done
"$root/scripts/setup.sh"
cd "$root"
ctest --test-dir build --output-on-failure -j "$(nproc)" "${ctest_args[@]}"
