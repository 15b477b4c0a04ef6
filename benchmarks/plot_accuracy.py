"""Plot the BUSI group-aware cross-validation results side by side.

Reads ``results/accuracy_*.json`` written by ``bench_accuracy.py`` and
``bench_seed_baseline.py`` and draws, for each approach, the scores of
every fold (dots) and their mean (bar), with the targets as dashed lines:

    python benchmarks/plot_accuracy.py      # -> results/accuracy_busi_group.png (single 5-fold CV)
                                            #    results/accuracy_busi_repeated.png (3 x 5 folds, 95 % intervals)
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

REPEATED = [  # (result file, label): the repeated grouped CV (3 x 5 folds)
    ("accuracy_seed_baseline_repeated.json", "plain-Keras\nseed CNN, 128 px"),
    ("accuracy_busi_group_previous_recipe.json", "previous pretrained\nrecipe: hold-out,\nbalanced weights"),
    ("accuracy_cpu_all_data_ema_no_cw.json", "pretrained recipe\n(default): all images,\nEMA, no weights"),
]
REPEATED_TARGETS = {"accuracy": 0.85, "roc_auc": 0.95, "bm_auc": 0.93}


def _finish_axis(ax, target, labels, title):
    """The target as a dashed line, the approaches' labels, the title, the common range."""
    ax.axhline(target, ls="--", color="#de2d26", lw=1)
    ax.text(len(labels) - 0.5, target + 0.005, f"target {target}", color="#de2d26", ha="right", va="bottom",
            fontsize=8)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_title(title)
    ax.set_ylim(0.5, 1.0)


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
        _finish_axis(ax, TARGETS[metric], [label for _, label in found], title)
    axes[0].set_ylabel("score per fold (dots), mean ± std (bar)")
    fig.suptitle("BUSI, 3 classes, 624 images: group-aware 5-fold cross-validation")
    out = RESULTS / "accuracy_busi_group.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    plot_repeated()


def plot_repeated():
    """Accuracy, macro AUC and benign-vs-malignant AUC of the repeated CV:
    every fold (dots), the mean (bar) and its corrected 95 % interval."""
    from _common import cv_interval

    found = [(json.loads((RESULTS / name).read_text()), label) for name, label in REPEATED
             if (RESULTS / name).is_file()]
    if not found:
        return
    titles = {"accuracy": "accuracy", "roc_auc": "macro one-vs-rest ROC AUC",
              "bm_auc": "benign vs malignant ROC AUC\n(normal images left out)"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True, layout="constrained")
    for ax, (metric, title) in zip(axes, titles.items()):
        for i, (result, _) in enumerate(found):
            values = np.array([row[metric] for row in result["rows"] if metric in row])
            if not len(values):  # older result files have no benign-vs-malignant AUC
                ax.text(i, 0.52, "not\nrecorded", ha="center", fontsize=8)
                continue
            fraction = np.mean([row.get("n_test", 125) for row in result["rows"]]) / result.get("n_images", 624)
            mean, low, high = cv_interval(values, fraction)
            low, high = max(low, 0.0), min(high, 1.0)  # scores live in [0, 1]
            ax.bar(i, mean, color="#9ecae1", edgecolor="#3182bd")
            ax.errorbar(i, mean, yerr=[[mean - low], [high - mean]], color="#08519c", capsize=4)
            ax.plot(np.full(len(values), i) + np.linspace(-0.25, 0.25, len(values)), values, "o",
                    color="#08306b", markersize=3)
            ax.text(i, 0.52, f"{mean:.3f}\n[{low:.3f}, {high:.3f}]\n{len(values)} folds", ha="center", fontsize=8)
        _finish_axis(ax, REPEATED_TARGETS[metric], [label for _, label in found], title)
    axes[0].set_ylabel("score per fold (dots), mean and 95 % interval")
    fig.suptitle("BUSI, 3 classes, 624 images: (repeated) 5-fold cross-validation grouped by near-duplicates")
    out = RESULTS / "accuracy_busi_repeated.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
