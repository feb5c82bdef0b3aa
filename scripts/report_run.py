"""Prints a run's evaluations side by side: held-out loss and symbol-label ICL accuracy per task,
first evaluation (before training) against the last. Each accuracy comes with its 95% Wilson
interval and n, the queries per task (eval.icl_examples of the run's config.json).

Usage: report_run.py RUN_DIR
"""
import json
import math
import os
import sys


def wilson(accuracy, n, z=1.959963984540054):
    """The 95% Wilson score interval of an accuracy measured on n queries."""
    if n <= 0:
        return 0.0, 1.0
    p = round(accuracy * n) / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def cell(accuracy, n):
    if not n:
        return f"{accuracy:.3f}"
    low, high = wilson(accuracy, n)
    return f"{accuracy:.3f} [{low:.2f}, {high:.2f}] n={n}"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(os.path.join(sys.argv[1], "metrics.jsonl")) as f:
        evals = [r for r in map(json.loads, f) if r.get("kind") == "eval"]
    if len(evals) < 2:
        sys.exit("report_run: fewer than two evaluations in the run")
    before, after = evals[0], evals[-1]
    n = 0
    config = os.path.join(sys.argv[1], "config.json")
    if os.path.exists(config):
        n = json.load(open(config)).get("eval", {}).get("icl_examples", 0)
    print(f"\n| held-out task | step {before['step']} (before) | step {after['step']} (after) |")
    print("|---|---|---|")
    if "heldout_loss" in before:
        print(f"| target loss (held-out prompts) | {before['heldout_loss']:.4f} | {after['heldout_loss']:.4f} |")
    for task in sorted(before.get("icl_accuracy", {})):
        print(f"| {task}: ICL accuracy, held-out symbols | {cell(before['icl_accuracy'][task], n)} | "
              f"{cell(after['icl_accuracy'][task], n)} |")
    if "icl_accuracy_mean" in before:
        print(f"| mean ICL accuracy | {before['icl_accuracy_mean']:.3f} | {after['icl_accuracy_mean']:.3f} |")


if __name__ == "__main__":
    main()
