"""Prints a run's evaluations side by side: held-out loss and symbol-label ICL accuracy per task,
first evaluation (before training) against the last.

Usage: report_run.py RUN_DIR
"""
import json
import os
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(os.path.join(sys.argv[1], "metrics.jsonl")) as f:
        evals = [r for r in map(json.loads, f) if r.get("kind") == "eval"]
    if len(evals) < 2:
        sys.exit("report_run: fewer than two evaluations in the run")
    before, after = evals[0], evals[-1]
    print(f"\n| held-out task | step {before['step']} (before) | step {after['step']} (after) |")
    print("|---|---|---|")
    if "heldout_loss" in before:
        print(f"| target loss (held-out prompts) | {before['heldout_loss']:.4f} | {after['heldout_loss']:.4f} |")
    for task in sorted(before.get("icl_accuracy", {})):
        print(f"| {task}: ICL accuracy, held-out symbols | {before['icl_accuracy'][task]:.3f} | "
              f"{after['icl_accuracy'][task]:.3f} |")
    if "icl_accuracy_mean" in before:
        print(f"| mean ICL accuracy | {before['icl_accuracy_mean']:.3f} | {after['icl_accuracy_mean']:.3f} |")


if __name__ == "__main__":
    main()
