"""Merge result files of ``bench_accuracy.py`` run fold by fold into one.

Long cross-validations are run a few folds at a time (``--folds``), so that
a busy machine can interleave other work. This joins their rows (one per
seed and fold; a fold present twice is an error) into one result file and
recomputes the summary with the corrected interval of the complete set.

    python benchmarks/merge_accuracy.py results/accuracy_a.json results/accuracy_b_fold8.json ... \
        --out results/accuracy_a.json
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import summarize_folds  # noqa: E402

KEYS = ("accuracy", "balanced_accuracy", "roc_auc", "bm_auc")


def merge(paths):
    results = [json.loads(Path(p).read_text()) for p in paths]
    first = results[0]
    for other, path in zip(results[1:], paths[1:]):
        # Parameters may be spelled differently (explicit in an early run,
        # the recipe's own later): each source's are kept in merged_from.
        for key in ("task", "recipe", "ensemble", "split", "image_size"):
            if other.get(key) != first.get(key):
                raise SystemExit(f"{path}: {key} {other.get(key)!r} differs from {first.get(key)!r}")
    rows = sorted((row for result in results for row in result["rows"]), key=lambda r: (r["seed"], r["fold"]))
    seen = [(row["seed"], row["fold"]) for row in rows]
    if len(seen) != len(set(seen)):
        raise SystemExit(f"a (seed, fold) appears twice: {sorted(s for s in seen if seen.count(s) > 1)}")
    keys = [*KEYS, *(f"tta_{k}" for k in KEYS), "seconds", "epochs"]
    n_images = first.get("n_images", 624)
    summary = summarize_folds(rows, np.mean([r["n_test"] for r in rows]) / n_images, keys)
    return {**first, "rows": rows, "summary": summary, "merged_from": [
        {"file": Path(p).name, "params": r["params"], "folds": sorted({row["fold"] for row in r["rows"]})}
        for p, r in zip(paths, results)]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    merged = merge(args.files)
    Path(args.out).write_text(json.dumps(merged, indent=1, default=str))
    print(f"{len(merged['rows'])} folds: " + ", ".join(
        f"{k} {v['mean']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]" for k, v in merged["summary"].items()))


if __name__ == "__main__":
    main()
