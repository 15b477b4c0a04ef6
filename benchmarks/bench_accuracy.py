"""Accuracy of the pipeline's recipes on the real development data.

BUSI (``busi256``, 624 images, 3 classes): 5-fold cross-validation of
``make_cnn_pipeline(recipe)`` (``--recipe``, default the library's default,
``pretrained``, at its 224 px; ``from_scratch`` at 128 px unless
``--image-size``) on folds grouped by near-duplicates (the default,
``--split group``; ``--split file`` gives the earlier by-file folds, which
put copies of an image on both sides and inflate the scores); also the
binary benign-vs-malignant task. With group folds the groups also go to the
classifier, whose early-stopping hold-out then keeps them together.
BreastMNIST: 2 x 5-fold stratified CV over train + val (``--split cv``, the
default), or trained on ``train`` and scored on ``val`` (``--split val``).
Every fitted model is scored twice: as is, and with test-time augmentation
(``cnn__tta=True``).

    python benchmarks/bench_accuracy.py busi                 # 5 group folds, 3 classes, pretrained
    python benchmarks/bench_accuracy.py busi --recipe from_scratch --image-size 96
    python benchmarks/bench_accuracy.py busi --split file    # by-file folds (inflated)
    python benchmarks/bench_accuracy.py busi --binary        # benign vs malignant
    python benchmarks/bench_accuracy.py breastmnist --recipe low_resolution
    python benchmarks/bench_accuracy.py breastmnist --recipe pretrained --image-size 64
    python benchmarks/bench_accuracy.py busi --folds 0 --param cnn__learning_rate=1e-4
    python benchmarks/bench_accuracy.py busi --ensemble 3     # soft vote of 3 seeds

Data are read from ``$SKBCNN_DATA`` (``export SKBCNN_DATA=../shared/data`` in a
development checkout). Prints one
line per fold/seed and the mean +- std; writes ``results/accuracy_<task>.json``.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.ensemble import VotingClassifier
from sklearn.model_selection import RepeatedStratifiedKFold

from skbcnn import make_cnn_pipeline
from skbcnn._config import get_data_home
from skbcnn.pipeline import RECIPE_IMAGE_SIZES, RECIPES
from skbcnn.datasets import load_busi, load_medmnist

from _common import busi_folds, machine_info


def scores(y, proba):
    auc = roc_auc_score(y, proba[:, 1]) if proba.shape[1] == 2 else roc_auc_score(y, proba, multi_class="ovr")
    pred = proba.argmax(axis=1)
    return {"accuracy": accuracy_score(y, pred), "balanced_accuracy": balanced_accuracy_score(y, pred), "roc_auc": auc}


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


def run(recipe, pipeline_params, X_train, y_train, X_test, y_test, ensemble=1, groups=None):
    model = make_model(recipe, pipeline_params, ensemble)
    start = time.perf_counter()
    model.fit(X_train, y_train, **({} if groups is None or ensemble > 1 else {"cnn__groups": groups}))
    seconds = time.perf_counter() - start
    pipelines = [model] if ensemble == 1 else model.estimators_
    result = scores(y_test, model.predict_proba(X_test))
    result.update(seconds=seconds, epochs=float(np.mean([len(p[-1].history_["loss"]) for p in pipelines])))
    # The same fitted model with test-time augmentation (a predict-time switch).
    for pipeline in pipelines:
        pipeline.set_params(cnn__tta=True)
    tta = model.predict_proba(X_test)
    result.update({f"tta_{key}": value for key, value in scores(y_test, tta).items()})
    return result


def parse_params(items):
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["busi", "breastmnist"])
    parser.add_argument("--binary", action="store_true", help="BUSI: benign vs malignant only")
    parser.add_argument("--image-size", type=int, default=None,
                        help="BUSI default: the recipe's (224 pretrained, else 128); BreastMNIST 28")
    parser.add_argument("--folds", type=int, nargs="*", default=None,
                        help="folds to run (default: all; BUSI 0-4, BreastMNIST CV 0-9)")
    parser.add_argument("--split", choices=["group", "file", "cv", "val"], default=None,
                        help="BUSI: folds grouped by near-duplicates (group, default) or by file; BreastMNIST: "
                             "2 x 5-fold stratified CV over train+val (cv, default) or train -> val (val)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], help="random_state values")
    parser.add_argument("--param", action="append", default=[], help="pipeline parameter KEY=VALUE")
    parser.add_argument("--name", default=None, help="result file suffix (default: the task)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="pretrained",
                        help="make_cnn_pipeline recipe to start from (default: pretrained, the library's default)")
    parser.add_argument("--ensemble", type=int, default=1,
                        help="soft-vote this many pipelines seeded random_state, random_state + 1, ...")
    args = parser.parse_args()
    extra = parse_params(args.param)

    rows = []
    split = args.split or ("group" if args.task == "busi" else "cv")
    if split not in ({"group", "file"} if args.task == "busi" else {"cv", "val"}):
        parser.error(f"--split {split} does not apply to {args.task}")
    if args.task == "busi":
        classes = ("benign", "malignant") if args.binary else ("benign", "malignant", "normal")
        size = args.image_size or RECIPE_IMAGE_SIZES[args.recipe] or 128
        X, y = load_busi(get_data_home() / "busi256", classes=classes, image_size=size, return_X_y=True)
        splits, groups = busi_folds(y, classes, split=split)
        jobs = [(seed, fold, *splits[fold]) for seed in args.seeds for fold in args.folds or range(len(splits))]
        for seed, fold, train, test in jobs:
            params = {"cnn__random_state": seed, "augment__random_state": seed, **extra}
            result = run(args.recipe, params, X[train], y[train], X[test], y[test], args.ensemble,
                         None if groups is None else groups[train])
            rows.append({"seed": seed, "fold": fold, **result})
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
        task = ("busi_binary" if args.binary else "busi") + ("_by_file" if split == "file" else "_group")
    elif split == "cv":
        # Recipes for small images are chosen on 10 fits over all 624
        # labelled images, not on the 78-image val split alone.
        train = load_medmnist(split="train", image_size=args.image_size)
        val = load_medmnist(split="val", image_size=args.image_size)
        X, y = np.concatenate([train.images, val.images]), np.concatenate([train.target, val.target])
        splits = list(RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0).split(X, y))
        jobs = [(seed, fold, *splits[fold]) for seed in args.seeds for fold in args.folds or range(len(splits))]
        for seed, fold, tr, te in jobs:
            params = {"cnn__random_state": seed, "augment__random_state": seed, **extra}
            result = run(args.recipe, params, X[tr], y[tr], X[te], y[te], args.ensemble)
            rows.append({"seed": seed, "fold": fold, **result})
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
        task = "breastmnist_cv"
    else:
        train = load_medmnist(split="train", image_size=args.image_size)
        val = load_medmnist(split="val", image_size=args.image_size)
        for seed in args.seeds:
            params = {"cnn__random_state": seed, "augment__random_state": seed, **extra}
            result = run(args.recipe, params, train.images, train.target, val.images, val.target, args.ensemble)
            rows.append({"seed": seed, **result})
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
        task = "breastmnist"

    summary = {
        key: {"mean": float(np.mean([r[key] for r in rows])), "std": float(np.std([r[key] for r in rows]))}
        for key in ("accuracy", "balanced_accuracy", "roc_auc", "tta_accuracy", "tta_balanced_accuracy",
                    "tta_roc_auc", "seconds", "epochs")
    }
    print(f"\n{task}: " + ", ".join(f"{k} {v['mean']:.3f} +- {v['std']:.3f}" for k, v in summary.items()))
    out = Path(__file__).parent / "results" / f"accuracy_{args.name or task}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "task": task, "recipe": args.recipe, "params": extra, "ensemble": args.ensemble, "rows": rows, "summary": summary,
        "split": split, "image_size": size if args.task == "busi" else args.image_size or 28,
        "machine": machine_info(),
    }, indent=1))


if __name__ == "__main__":
    main()
