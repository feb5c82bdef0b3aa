"""Draws the figure of `symtune reproduce` from its reproduction.json: (left) the four ICL
settings' mean accuracy over the held-out tasks per arm, as the paper's Table 1 in bars; (middle)
accuracy against the share of flipped exemplar labels, one curve per arm; (right) list
functions and simple Turing concepts. Error bars are the reports' 95% bootstrap intervals.
Writes reproduction.png beside the JSON.

Usage: plot_reproduction.py REPRODUCTION_JSON
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def mean_and_error(setting):
    mean = setting["mean"]
    low, high = setting.get("mean_interval", [mean, mean])
    return mean, (mean - low, high - mean)


def bars(ax, arms, suites_and_settings, title):
    width = 0.8 / max(1, len(arms))
    for i, arm in enumerate(arms):
        means, lows, highs = [], [], []
        for suite, setting in suites_and_settings:
            m, (lo, hi) = mean_and_error(arm["report"]["suites"][suite]["settings"][setting])
            means.append(m)
            lows.append(lo)
            highs.append(hi)
        xs = [j + (i - (len(arms) - 1) / 2) * width for j in range(len(means))]
        ax.bar(xs, means, width, yerr=[lows, highs], capsize=2, label=arm["label"])
    ax.set_xticks(range(len(suites_and_settings)))
    ax.set_xticklabels([s.replace("+", "+\n") for _, s in suites_and_settings], fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        summary = json.load(f)
    arms = summary["arms"]
    suites = arms[0]["report"]["suites"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    if "icl" in suites:
        bars(axes[0], arms, [("icl", s) for s in suites["icl"]["settings"]], "held-out ICL, mean over tasks")
        axes[0].set_ylabel("accuracy (95% interval)")
        axes[0].legend(fontsize=7)
    if "flipped" in suites:
        settings = sorted(suites["flipped"]["settings"], key=lambda s: int(s.split("_")[-1]))
        shares = [int(s.split("_")[-1]) for s in settings]
        for arm in arms:
            cells = [mean_and_error(arm["report"]["suites"]["flipped"]["settings"][s]) for s in settings]
            axes[1].errorbar(shares, [c[0] for c in cells], yerr=[[c[1][0] for c in cells], [c[1][1] for c in cells]],
                             fmt="o-", capsize=3, label=arm["label"])
        axes[1].set_xlabel("exemplar labels flipped (%)")
        axes[1].set_title("flipped labels, scored against the flipped target", fontsize=9)
        axes[1].set_ylim(0, 1)
        axes[1].grid(alpha=0.3)
    open_tasks = [(s, "exact_match") for s in ("list_functions", "turing_concepts") if s in suites]
    if open_tasks:
        bars(axes[2], arms, open_tasks, "open answers, exact match")
        axes[2].set_xticklabels([s for s, _ in open_tasks], fontsize=7)
        axes[2].set_ylim(0, max(0.2, max(a["report"]["suites"][s]["settings"]["exact_match"]["mean_interval"][1]
                                         for a in arms for s, _ in open_tasks) + 0.05))
    fig.suptitle(f"symbol tuning reproduction, {summary['scale']} scale, base {os.path.basename(summary['base_model'])}",
                 fontsize=10)
    fig.tight_layout()
    out = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "reproduction.png")
    partial = out + ".partial.png"  # drawn beside the target and renamed: complete or absent
    fig.savefig(partial, dpi=100)
    os.replace(partial, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
