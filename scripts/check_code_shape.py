#!/usr/bin/env python3
"""Checks the size limits the project keeps: no source file over 450 lines, and no function over
80 lines in the library's core folders (trainer/, optim/, model/). Kernels (.cu, .cuh) and tests
may exceed. Functions are found in clang-formatted code: a definition opens with a line at column
0 ending in '{' (not a namespace, class, struct, enum or extern block) and closes at the next '}'
at column 0. Exit status 1 with one line per violation.

  scripts/check_code_shape.py [ROOT]
"""
import pathlib
import re
import sys

MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 80
FUNCTION_FOLDERS = ("trainer", "optim", "model")
SOURCE_FOLDERS = ("common", "model", "data", "optim", "eval", "trainer", "cli", "experiments", "bench")
NOT_A_FUNCTION = re.compile(r"^(namespace|class|struct|enum|union|extern|template\s*<[^>]*>\s*(class|struct))\b")


def functions(lines):
    """(name line, first line number, length) of each top-level function definition."""
    start = None
    for i, line in enumerate(lines):
        if start is None:
            if line and not line[0].isspace() and line.rstrip().endswith("{") and not NOT_A_FUNCTION.match(line) \
                    and not line.startswith(("}", "#", "//")) and "=" not in line.split("(")[0]:
                # A signature may span lines: walk back to its first line.
                first = i
                while first > 0 and lines[first - 1] and lines[first - 1][0].isspace() is False \
                        and not lines[first - 1].rstrip().endswith((";", "}", "{")) \
                        and not lines[first - 1].startswith(("//", "#")):
                    first -= 1
                start = first
        elif line.startswith("}"):
            yield lines[start].strip(), start + 1, i - start + 1
            start = None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    problems = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((root / folder).glob("*")):
            if path.suffix not in (".cpp", ".h"):
                continue
            lines = path.read_text().splitlines()
            rel = path.relative_to(root)
            if len(lines) > MAX_FILE_LINES:
                problems.append(f"{rel}: {len(lines)} lines (at most {MAX_FILE_LINES})")
            if folder in FUNCTION_FOLDERS:
                for name, line_no, length in functions(lines):
                    if length > MAX_FUNCTION_LINES:
                        problems.append(f"{rel}:{line_no}: function of {length} lines (at most "
                                        f"{MAX_FUNCTION_LINES}): {name[:80]}")
    for p in problems:
        print(p)
    print(f"check_code_shape: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
