"""Compare accuracy result files fold by fold, with intervals.

Reads ``results/accuracy_<name>.json`` files written by
``bench_accuracy.py`` or ``bench_seed_baseline.py``; the first is the
reference. For each file: mean and 95 % interval of every metric over its
folds (corrected for the overlap of training sets, ``_common.cv_interval``);
then, on the folds both files ran, the mean paired difference from the
reference with its interval. A difference whose interval excludes 0 is
marked ``*``: only those decide between recipes.

    python benchmarks/compare_accuracy.py busi_group seed_baseline_repeated
    python benchmarks/compare_accuracy.py screen_default screen_all_data screen_size256 --markdown
"""

import argparse
import json
from pathlib import Path

import numpy as np

from _common import cv_interval, markdown_table

RESULTS = Path(__file__).parent / "results"
METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "bm_auc")


def load(name):
    data = json.loads((RESULTS / f"accuracy_{name}.json").read_text())
    folds = {(row.get("seed", 0), row["fold"]): row for row in data["rows"]}
    return data, folds


def interval_text(mean, low, high):
    low, high = max(low, 0.0), min(high, 1.0)  # scores live in [0, 1]
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]" if np.isfinite(low) else f"{mean:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help="result names (accuracy_<name>.json), reference first")
    parser.add_argument("--tta", action="store_true", help="compare the test-time-augmented scores")
    parser.add_argument("--markdown", action="store_true", help="print pipe tables for the docs")
    args = parser.parse_args()
    prefix = "tta_" if args.tta else ""
    ref_data, ref = load(args.names[0])
    header = ["result", "folds", *METRICS]
    absolute, differences = [], []
    for name in args.names:
        data, folds = load(name)
        test_fraction = np.mean([r.get("n_test", 125) for r in folds.values()]) / data.get("n_images", 624)
        cells = []
        for metric in METRICS:
            values = [r.get(prefix + metric, r.get(metric)) for r in folds.values()]
            values = [v for v in values if v is not None]
            cells.append(interval_text(*cv_interval(values, test_fraction)) if values else "-")
        absolute.append([name, len(folds), *cells])
        if name == args.names[0]:
            continue
        common = sorted(set(folds) & set(ref))
        cells = []
        for metric in METRICS:
            pairs = [(folds[k].get(prefix + metric, folds[k].get(metric)), ref[k].get(prefix + metric, ref[k].get(metric)))
                     for k in common]
            diffs = [a - b for a, b in pairs if a is not None and b is not None]
            if not diffs:
                cells.append("-")
                continue
            mean, low, high = cv_interval(diffs, test_fraction)
            mark = " *" if np.isfinite(low) and (low > 0 or high < 0) else ""
            cells.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]{mark}" if np.isfinite(low) else f"{mean:+.3f}")
        differences.append([f"{name} - {args.names[0]}", len(common), *cells])
    if args.markdown:
        print(markdown_table(header, absolute))
        if differences:
            print()
            print(markdown_table(["paired difference", "folds", *METRICS], differences))
        return
    width = max(len(r[0]) for r in absolute + differences)
    for row in [header] + absolute + ([["paired difference", "folds", *METRICS]] + differences if differences else []):
        print(f"{row[0]:<{width}}  {row[1]!s:>5}  " + "  ".join(f"{c:<26}" for c in row[2:]))


if __name__ == "__main__":
    main()
