"""The plain-Keras seed-style CNN on the same BUSI folds as ``bench_accuracy.py``.

The issue's reference point: "three to four conv/pool blocks, dropout,
dense, softmax, 128 px, 30 epochs reaches about 0.75 accuracy on BUSI".
This script trains exactly such a network with nothing but Keras (images
scaled to [0, 1], no enhancement, no augmentation, no class weights, no
early stopping) on the 5 folds that ``bench_accuracy.py`` uses (grouped by
near-duplicates by default, ``--split file`` for the by-file folds), so the
tables compare like with like.

    python benchmarks/bench_seed_baseline.py                 # 5 folds, 3 classes, 128 px
    python benchmarks/bench_seed_baseline.py --binary        # benign vs malignant
    python benchmarks/bench_seed_baseline.py --folds 0 --epochs 1   # smoke run

Writes ``results/accuracy_seed_baseline[_binary][_by_file].json``.
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

from skbcnn._config import get_data_home
from skbcnn.datasets import load_busi

from _common import busi_folds, machine_info


def seed_cnn(input_shape, n_classes):
    """Three conv/pool blocks, flatten, dense 128, dropout 0.5, softmax."""
    return keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(128, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(n_classes, activation="softmax"),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", action="store_true", help="benign vs malignant only")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--folds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=["group", "file"], default="group")
    args = parser.parse_args()

    classes = ("benign", "malignant") if args.binary else ("benign", "malignant", "normal")
    X, y = load_busi(get_data_home() / "busi256", classes=classes, image_size=args.image_size, return_X_y=True)
    X = X[..., np.newaxis].astype("float32") / 255.0
    splits, _ = busi_folds(y, classes, split=args.split)
    rows = []
    for fold in args.folds:
        train, test = splits[fold]
        keras.utils.set_random_seed(args.seed)
        model = seed_cnn(X.shape[1:], len(classes))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(X[train], y[train], epochs=args.epochs, batch_size=32, verbose=0)
        seconds = time.perf_counter() - start
        proba = model.predict(X[test], verbose=0)
        auc = (roc_auc_score(y[test], proba[:, 1]) if len(classes) == 2
               else roc_auc_score(y[test], proba, multi_class="ovr"))
        pred = proba.argmax(axis=1)
        rows.append({"fold": fold, "accuracy": accuracy_score(y[test], pred),
                     "balanced_accuracy": balanced_accuracy_score(y[test], pred), "roc_auc": auc,
                     "seconds": seconds, "epochs": args.epochs})
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
        keras.backend.clear_session()

    summary = {key: {"mean": float(np.mean([r[key] for r in rows])), "std": float(np.std([r[key] for r in rows]))}
               for key in ("accuracy", "balanced_accuracy", "roc_auc", "seconds")}
    print("\nseed baseline: " + ", ".join(f"{k} {v['mean']:.3f} +- {v['std']:.3f}" for k, v in summary.items()))
    name = "seed_baseline" + ("_binary" if args.binary else "") + ("_by_file" if args.split == "file" else "")
    out = Path(__file__).parent / "results" / f"accuracy_{name}.json"
    out.write_text(json.dumps({
        "task": name, "image_size": args.image_size, "epochs": args.epochs, "rows": rows, "summary": summary,
        "split": args.split, "machine": machine_info(),
    }, indent=1))


if __name__ == "__main__":
    main()
