"""Accuracy of the default pipeline on the real development data.

BUSI (``busi256``, 624 images, 3 classes): stratified 5-fold cross-validation
of ``make_cnn_pipeline()``; also the binary benign-vs-malignant task.
BreastMNIST: trained on ``train``, scored on ``val``. Every fitted model is
scored twice: as is, and with test-time augmentation (``cnn__tta=True``).

    python benchmarks/bench_accuracy.py busi                 # 5 folds, 3 classes
    python benchmarks/bench_accuracy.py busi --binary        # benign vs malignant
    python benchmarks/bench_accuracy.py breastmnist --seeds 0 1 2
    python benchmarks/bench_accuracy.py breastmnist --seeds 0 1 2 --low-resolution --name breastmnist_lowres
    python benchmarks/bench_accuracy.py busi --folds 0 --param cnn__tta=true
    python benchmarks/bench_accuracy.py busi --ensemble 3     # soft vote of 3 seeds

Data are read from ``$SKBCNN_DATA`` (default ``../shared/data``). Prints one
line per fold/seed and the mean +- std; writes ``results/accuracy_<task>.json``.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.ensemble import VotingClassifier
from sklearn.model_selection import StratifiedKFold

from skbcnn import make_cnn_pipeline
from skbcnn._config import get_data_home
from skbcnn.pipeline import LOW_RESOLUTION
from skbcnn.datasets import load_busi, load_medmnist


def scores(y, proba):
    auc = roc_auc_score(y, proba[:, 1]) if proba.shape[1] == 2 else roc_auc_score(y, proba, multi_class="ovr")
    pred = proba.argmax(axis=1)
    return {"accuracy": accuracy_score(y, pred), "balanced_accuracy": balanced_accuracy_score(y, pred), "roc_auc": auc}


def make_model(pipeline_params, ensemble):
    """The default pipeline, or a soft-voting ensemble of ``ensemble`` of them
    that differ only in their seeds."""
    if ensemble == 1:
        return make_cnn_pipeline(**pipeline_params)
    seed = pipeline_params["cnn__random_state"]
    members = [
        (f"seed{seed + i}", make_cnn_pipeline(**{**pipeline_params, "cnn__random_state": seed + i,
                                                 "augment__random_state": seed + i}))
        for i in range(ensemble)
    ]
    return VotingClassifier(members, voting="soft")


def run(pipeline_params, X_train, y_train, X_test, y_test, ensemble=1):
    model = make_model(pipeline_params, ensemble)
    start = time.perf_counter()
    model.fit(X_train, y_train)
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
    parser.add_argument("--image-size", type=int, default=None, help="BUSI default 128; BreastMNIST 28")
    parser.add_argument("--folds", type=int, nargs="*", default=[0, 1, 2, 3, 4], help="BUSI folds to run")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], help="random_state values")
    parser.add_argument("--param", action="append", default=[], help="pipeline parameter KEY=VALUE")
    parser.add_argument("--name", default=None, help="result file suffix (default: the task)")
    parser.add_argument("--low-resolution", action="store_true",
                        help="start from skbcnn.pipeline.LOW_RESOLUTION (for 28-px images)")
    parser.add_argument("--ensemble", type=int, default=1,
                        help="soft-vote this many pipelines seeded random_state, random_state + 1, ...")
    args = parser.parse_args()
    extra = {**(LOW_RESOLUTION if args.low_resolution else {}), **parse_params(args.param)}

    rows = []
    if args.task == "busi":
        classes = ("benign", "malignant") if args.binary else ("benign", "malignant", "normal")
        X, y = load_busi(get_data_home() / "busi256", classes=classes, image_size=args.image_size or 128,
                         return_X_y=True)
        splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
        jobs = [(seed, fold, *splits[fold]) for seed in args.seeds for fold in args.folds]
        for seed, fold, train, test in jobs:
            params = {"cnn__random_state": seed, "augment__random_state": seed, **extra}
            result = run(params, X[train], y[train], X[test], y[test], args.ensemble)
            rows.append({"seed": seed, "fold": fold, **result})
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
        task = "busi_binary" if args.binary else "busi"
    else:
        train = load_medmnist(split="train", image_size=args.image_size)
        val = load_medmnist(split="val", image_size=args.image_size)
        for seed in args.seeds:
            params = {"cnn__random_state": seed, "augment__random_state": seed, **extra}
            result = run(params, train.images, train.target, val.images, val.target, args.ensemble)
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
        "task": task, "params": extra, "ensemble": args.ensemble, "rows": rows, "summary": summary,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
    }, indent=1))


if __name__ == "__main__":
    main()
