"""Plots a run's metrics.jsonl as PNG: training loss, learning rate, gradient norm, tokens/s,
and held-out loss and ICL accuracy when the run evaluated.

Usage: plot_metrics.py RUN_DIR_OR_METRICS_JSONL [OUT.png]
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.jsonl")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(path), "metrics.png")
    steps, evals = [], []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            (evals if r.get("kind") == "eval" else steps).append(r)
    panels = [("loss", "training loss (target tokens)"), ("lr", "learning rate"), ("grad_norm", "gradient norm (pre-clip)"),
              ("tokens_per_s", "tokens/s")]
    has_eval = any("heldout_loss" in e for e in evals)
    has_icl = any("icl_accuracy_mean" in e for e in evals)
    n = len(panels) + has_eval + has_icl
    fig, axes = plt.subplots(n, 1, figsize=(8, 2.2 * n), sharex=True)
    for ax, (key, title) in zip(axes, panels):
        xs = [r["step"] for r in steps if r.get(key) is not None]
        ax.plot(xs, [r[key] for r in steps if r.get(key) is not None], lw=1)
        ax.set_ylabel(title, fontsize=8)
    i = len(panels)
    if has_eval:
        e = [r for r in evals if "heldout_loss" in r]
        axes[i].plot([r["step"] for r in e], [r["heldout_loss"] for r in e], "o-")
        axes[i].set_ylabel("held-out loss", fontsize=8)
        i += 1
    if has_icl:
        e = [r for r in evals if "icl_accuracy_mean" in r]
        for task in sorted(e[0]["icl_accuracy"]):
            axes[i].plot([r["step"] for r in e], [r["icl_accuracy"][task] for r in e], "o-", label=task, lw=1)
        axes[i].plot([r["step"] for r in e], [r["icl_accuracy_mean"] for r in e], "k*-", label="mean")
        axes[i].set_ylabel("held-out ICL accuracy", fontsize=8)
        axes[i].legend(fontsize=6)
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    # Drawn beside the target and renamed over it: a figure is complete or absent.
    partial = out + ".partial.png"
    fig.savefig(partial, dpi=100)
    os.replace(partial, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
