"""Plots accuracy against the symbol-tuning share from `symtune ablate`'s ablation.json: one line
per suite setting (mean over its tasks). Writes ablation.png beside the JSON.

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
            ax.plot(shares, [r["report"]["suites"][suite]["settings"][setting]["mean"] for r in runs], "o-",
                    label=f"{suite}: {setting}")
    ax.set_xlabel("symbol-tuning share of the training mixture (%)")
    ax.set_ylabel("mean accuracy, held-out tasks")
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
