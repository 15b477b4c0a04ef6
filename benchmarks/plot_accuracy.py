"""Plot the BUSI group-aware cross-validation results side by side.

Reads ``results/accuracy_*.json`` written by ``bench_accuracy.py`` and
``bench_seed_baseline.py`` and draws, for each approach, the accuracy and
macro ROC AUC of every fold (dots) and their mean (bar), with the issue's
targets as dashed lines:

    python benchmarks/plot_accuracy.py      # -> results/accuracy_busi_group.png
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
APPROACHES = [  # (result file, label)
    ("accuracy_seed_baseline.json", "plain-Keras\nseed CNN, 128 px"),
    ("accuracy_busi_group_from_scratch.json", "from_scratch\nrecipe, 96 px"),
    ("accuracy_busi_group_pretrained.json", "pretrained\nrecipe, 160 px"),
    ("accuracy_busi_group_pretrained_224.json", "pretrained recipe\n(default), 224 px"),
]
TARGETS = {"accuracy": 0.85, "roc_auc": 0.94}


def main():
    found = [(json.loads((RESULTS / name).read_text()), label) for name, label in APPROACHES
             if (RESULTS / name).is_file()]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True, layout="constrained")
    for ax, metric, title in zip(axes, ("accuracy", "roc_auc"), ("accuracy", "macro one-vs-rest ROC AUC")):
        for i, (result, _) in enumerate(found):
            values = np.array([row[metric] for row in result["rows"]])
            ax.bar(i, values.mean(), color="#9ecae1", edgecolor="#3182bd")
            ax.errorbar(i, values.mean(), yerr=values.std(), color="#08519c", capsize=4)
            ax.plot(np.full(len(values), i) + np.linspace(-0.2, 0.2, len(values)), values, "o",
                    color="#08306b", markersize=4)
            ax.text(i, 0.52, f"{values.mean():.3f}\n± {values.std():.3f}", ha="center", fontsize=8)
        ax.axhline(TARGETS[metric], ls="--", color="#de2d26", lw=1)
        ax.text(len(found) - 0.5, TARGETS[metric] + 0.005, f"target {TARGETS[metric]}", color="#de2d26",
                ha="right", va="bottom", fontsize=8)
        ax.set_xticks(range(len(found)), [label for _, label in found], fontsize=8)
        ax.set_title(title)
        ax.set_ylim(0.5, 1.0)
    axes[0].set_ylabel("score per fold (dots), mean ± std (bar)")
    fig.suptitle("BUSI, 3 classes, 624 images: group-aware 5-fold cross-validation")
    out = RESULTS / "accuracy_busi_group.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
