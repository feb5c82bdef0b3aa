"""Plots accuracy against the symbol-tuning share from `symtune ablate`'s ablation.json: one line
per suite setting (mean over its tasks), with its 95% bootstrap interval as error bars (reports
without intervals are drawn without). Writes ablation.png beside the JSON.

Usage: plot_ablation.py ABLATION_JSON
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        summary = json.load(f)
    runs = sorted(summary["runs"], key=lambda r: r["symbol_fraction"])
    shares = [100 * r["symbol_fraction"] for r in runs]
    fig, ax = plt.subplots(figsize=(7, 4))
    for suite, body in runs[0]["report"]["suites"].items():
        for setting in body["settings"]:
            cells = [r["report"]["suites"][suite]["settings"][setting] for r in runs]
            means = [c["mean"] for c in cells]
            if all("mean_interval" in c for c in cells):
                errors = [[m - c["mean_interval"][0] for m, c in zip(means, cells)],
                          [c["mean_interval"][1] - m for m, c in zip(means, cells)]]
                ax.errorbar(shares, means, yerr=errors, fmt="o-", capsize=3, label=f"{suite}: {setting}")
            else:
                ax.plot(shares, means, "o-", label=f"{suite}: {setting}")
    ax.set_xlabel("symbol-tuning share of the training mixture (%)")
    ax.set_ylabel("mean accuracy, held-out tasks (95% interval)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "ablation.png")
    # Drawn beside the target and renamed over it: a figure is complete or absent.
    partial = out + ".partial.png"
    fig.savefig(partial, dpi=100)
    os.replace(partial, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
