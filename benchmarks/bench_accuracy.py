"""Accuracy of the pipeline's recipes on the real development data.

BUSI (``busi256``, 624 images, 3 classes): **repeated** 5-fold
cross-validation (``--repeats 3`` by default: 15 fits, each repeat another
shuffle of the folds) of ``make_cnn_pipeline(recipe)`` (``--recipe``,
default the library's default, ``pretrained``, at its 224 px;
``from_scratch`` at 128 px unless ``--image-size``) on folds grouped by
near-duplicates (the default, ``--split group``; ``--split file`` gives the
earlier by-file folds, which put copies of an image on both sides and
inflate the scores); also the binary benign-vs-malignant task. With group
folds the groups also go to the classifier, whose early-stopping hold-out
then keeps them together. BreastMNIST: repeated 5-fold stratified CV over
train + val (``--split cv``, the default), or trained on ``train`` and
scored on ``val`` (``--split val``). Every fitted model is scored twice: as
is, and with test-time augmentation (``cnn__tta=True``).

Each fold reports accuracy, balanced accuracy, ROC AUC (macro one-vs-rest
for 3 classes) and, for BUSI, the benign-vs-malignant AUC with the normal
images left out (``bm_auc``). The summary gives mean, std and a 95 %
interval that accounts for the overlap of training sets between folds
(``_common.cv_interval``); ``compare_accuracy.py`` compares result files
fold by fold.

    python benchmarks/bench_accuracy.py busi                 # 3 x 5 group folds, 3 classes, pretrained
    python benchmarks/bench_accuracy.py busi --repeats 1     # the single 5-fold CV of earlier releases
    python benchmarks/bench_accuracy.py busi --recipe from_scratch --image-size 96
    python benchmarks/bench_accuracy.py busi --binary        # benign vs malignant
    python benchmarks/bench_accuracy.py busi --param cnn__class_weight=null --name busi_no_class_weight
    python benchmarks/bench_accuracy.py breastmnist --recipe low_resolution
    python benchmarks/bench_accuracy.py busi --folds 0 --param cnn__learning_rate=1e-4   # screening

Data are read from ``$SKBCNN_DATA`` (``export SKBCNN_DATA=../shared/data`` in a
development checkout). Prints one JSON line per fold (``--progress``: one
status line per epoch on stderr) and the summary; writes
``results/accuracy_<name>.json``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import VotingClassifier
from sklearn.model_selection import RepeatedStratifiedKFold

from skbcnn import make_cnn_pipeline
from skbcnn._config import get_data_home
from skbcnn.datasets import load_busi, load_medmnist
from skbcnn.pipeline import RECIPE_IMAGE_SIZES, RECIPES

from _common import busi_folds, classification_scores, machine_info, summarize_folds

METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "bm_auc")


def make_model(recipe, pipeline_params, ensemble):
    """The recipe's pipeline, or a soft-voting ensemble of ``ensemble`` of them
    that differ only in their seeds."""
    if ensemble == 1:
        return make_cnn_pipeline(recipe, **pipeline_params)
    seed = pipeline_params["cnn__random_state"]
    members = [
        (f"seed{seed + i}", make_cnn_pipeline(recipe, **{**pipeline_params, "cnn__random_state": seed + i,
                                                         "augment__random_state": seed + i}))
        for i in range(ensemble)
    ]
    return VotingClassifier(members, voting="soft")


def run(recipe, pipeline_params, classes, X_train, y_train, X_test, y_test, ensemble=1, groups=None):
    model = make_model(recipe, pipeline_params, ensemble)
    start = time.perf_counter()
    model.fit(X_train, y_train, **({} if groups is None or ensemble > 1 else {"cnn__groups": groups}))
    seconds = time.perf_counter() - start
    pipelines = [model] if ensemble == 1 else model.estimators_
    result = classification_scores(y_test, model.predict_proba(X_test), classes)
    result.update(seconds=seconds, epochs=float(np.mean([len(p[-1].history_["loss"]) for p in pipelines])))
    # The same fitted model with test-time augmentation (a predict-time switch).
    for pipeline in pipelines:
        pipeline.set_params(cnn__tta=True)
    tta = classification_scores(y_test, model.predict_proba(X_test), classes)
    result.update({f"tta_{key}": value for key, value in tta.items()})
    return result


def parse_params(items):
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
        if isinstance(params[key], list):  # JSON has no tuples; skbcnn's sequences are tuples
            params[key] = tuple(params[key])
    return params


class _FoldProgress:
    """One stderr line per epoch: fold, epoch, loss, val_loss (``--progress``)."""

    @staticmethod
    def make(label):
        import keras

        class Progress(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                shown = ", ".join(f"{k} {v:.3f}" for k, v in logs.items() if k in ("loss", "val_loss"))
                print(f"[{label}] epoch {epoch + 1}: {shown}", file=sys.stderr, flush=True)

        return Progress()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["busi", "breastmnist"])
    parser.add_argument("--binary", action="store_true", help="BUSI: benign vs malignant only")
    parser.add_argument("--image-size", type=int, default=None,
                        help="BUSI default: the recipe's (224 pretrained, else 128); BreastMNIST 28")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats of the 5-fold CV with other shuffles (default: BUSI 3, BreastMNIST 2)")
    parser.add_argument("--folds", type=int, nargs="*", default=None,
                        help="folds to run (default: all; fold r*5+k is fold k of repeat r)")
    parser.add_argument("--split", choices=["group", "file", "cv", "val"], default=None,
                        help="BUSI: folds grouped by near-duplicates (group, default) or by file; BreastMNIST: "
                             "repeated 5-fold stratified CV over train+val (cv, default) or train -> val (val)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], help="random_state values")
    parser.add_argument("--param", action="append", default=[], help="pipeline parameter KEY=VALUE (JSON value)")
    parser.add_argument("--name", default=None, help="result file suffix (default: the task)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="pretrained",
                        help="make_cnn_pipeline recipe to start from (default: pretrained, the library's default)")
    parser.add_argument("--ensemble", type=int, default=1,
                        help="soft-vote this many pipelines seeded random_state, random_state + 1, ...")
    parser.add_argument("--progress", action="store_true", help="a status line per epoch on stderr")
    args = parser.parse_args()
    extra = parse_params(args.param)

    rows = []
    split = args.split or ("group" if args.task == "busi" else "cv")
    if split not in ({"group", "file"} if args.task == "busi" else {"cv", "val"}):
        parser.error(f"--split {split} does not apply to {args.task}")
    repeats = args.repeats or (3 if args.task == "busi" else 2)
    groups = None
    if args.task == "busi":
        classes = ("benign", "malignant") if args.binary else ("benign", "malignant", "normal")
        size = args.image_size or RECIPE_IMAGE_SIZES[args.recipe] or 128
        X, y = load_busi(get_data_home() / "busi256", classes=classes, image_size=size, return_X_y=True)
        splits, groups = busi_folds(y, classes, split=split, repeats=repeats)
        task = ("busi_binary" if args.binary else "busi") + ("_by_file" if split == "file" else "_group")
    elif split == "cv":
        # Recipes for small images are chosen on fits over all 624 labelled
        # images, not on the 78-image val split alone.
        classes = ("malignant", "normal/benign")
        train = load_medmnist(split="train", image_size=args.image_size)
        val = load_medmnist(split="val", image_size=args.image_size)
        X, y = np.concatenate([train.images, val.images]), np.concatenate([train.target, val.target])
        splits = list(RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=0).split(X, y))
        task = "breastmnist_cv"
    else:
        classes = ("malignant", "normal/benign")
        train = load_medmnist(split="train", image_size=args.image_size)
        val = load_medmnist(split="val", image_size=args.image_size)
        X = np.concatenate([train.images, val.images])
        y = np.concatenate([train.target, val.target])
        splits = [(np.arange(len(train.target)), np.arange(len(train.target), len(y)))]
        task = "breastmnist"

    folds = args.folds if args.folds is not None else range(len(splits))
    for seed in args.seeds:
        for fold in folds:
            train_idx, test_idx = splits[fold]
            params = {"cnn__random_state": seed, "augment__random_state": seed, **extra}
            if args.progress:
                params["cnn__callbacks"] = [_FoldProgress.make(f"seed {seed} fold {fold}")]
            result = run(args.recipe, params, classes, X[train_idx], y[train_idx], X[test_idx], y[test_idx],
                         args.ensemble, None if groups is None else groups[train_idx])
            rows.append({"seed": seed, "fold": fold, "n_test": len(test_idx), **result})
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}),
                  flush=True)

    keys = [*METRICS, *(f"tta_{k}" for k in METRICS), "seconds", "epochs"]
    summary = summarize_folds(rows, np.mean([r["n_test"] for r in rows]) / len(y), keys)
    print(f"\n{task}: " + ", ".join(
        f"{k} {v['mean']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]" for k, v in summary.items()))
    out = Path(__file__).parent / "results" / f"accuracy_{args.name or task}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "task": task, "recipe": args.recipe, "params": extra, "ensemble": args.ensemble, "repeats": repeats,
        "rows": rows, "summary": summary, "split": split, "n_images": len(y),
        "image_size": size if args.task == "busi" else args.image_size or 28, "machine": machine_info(),
    }, indent=1, default=str))


if __name__ == "__main__":
    main()
