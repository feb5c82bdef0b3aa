#!/usr/bin/env bash
# Set up (idempotent, see scripts/setup.sh), build, and run the test suite with CTest.
#
#   scripts/test.sh            the whole suite
#   scripts/test.sh --fast     the quick subset (ctest -L fast)
#   scripts/test.sh -R Parity  any other arguments go to ctest
#
# A selection that matches no test is an error. The last line says how many tests ran, passed,
# failed and were skipped; a skipped test prints why. Tests that need ../shared/data (or
# $SYMTUNE_SHARED_DATA), a reference package or a model file skip without it, and fail under
# CI (CI=true). Hardware skips (CUDA tests without a GPU) stay skips everywhere.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ctest_args=()
for a in "$@"; do
  if [ "$a" = "--fast" ]; then ctest_args+=(-L fast); else ctest_args+=("$a"); fi
done
"$root/scripts/setup.sh"
cd "$root"
report="$root/build/Testing/junit.xml"
rm -f "$report"
status=0
ctest --test-dir build --output-on-failure --no-tests=error --output-junit "$report" -j "$(nproc)" \
  "${ctest_args[@]}" || status=$?
if [ -f "$report" ]; then
  python3 - "$report" <<'PY'
import sys
import xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
counts = {"passed": 0, "failed": 0, "skipped": 0}
skipped = []
for case in cases:
    status = case.get("status", "")
    if case.find("failure") is not None or case.find("error") is not None or status == "fail":
        counts["failed"] += 1
    elif case.find("skipped") is not None or status in ("notrun", "disabled"):
        counts["skipped"] += 1
        # The reason: a script's "SKIPPED: ..." line, or the line after GoogleTest's "Skipped".
        out = (case.findtext("system-out") or "").splitlines()
        reason = next((l.split("SKIPPED: ", 1)[1] for l in out if "SKIPPED: " in l), "")
        if not reason:
            reason = next((out[i + 1].strip() for i, l in enumerate(out[:-1]) if l.endswith(": Skipped")), "")
        skipped.append(case.get("name") + (": " + reason if reason else ""))
    else:
        counts["passed"] += 1
ran = counts["passed"] + counts["failed"]
print(f"symtune tests: {ran} ran, {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
for name in skipped:
    print(f"  skipped: {name}")
PY
fi
exit "$status"
