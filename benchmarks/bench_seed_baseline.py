"""The plain-Keras seed-style CNN on the same BUSI folds as ``bench_accuracy.py``.

The issue's reference point: "three to four conv/pool blocks, dropout,
dense, softmax, 128 px, 30 epochs reaches about 0.75 accuracy on BUSI".
This script trains exactly such a network with nothing but Keras (images
scaled to [0, 1], no enhancement, no augmentation, no class weights, no
early stopping) on the folds that ``bench_accuracy.py`` uses (3 x 5 folds grouped by
near-duplicates by default, ``--split file`` for the by-file folds), so the
tables compare like with like, fold by fold.

    python benchmarks/bench_seed_baseline.py                 # 3 x 5 folds, 3 classes, 128 px
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

from skbcnn._config import get_data_home
from skbcnn.datasets import load_busi

from _common import busi_folds, classification_scores, machine_info, summarize_folds


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
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the 5-fold CV (other shuffles)")
    parser.add_argument("--folds", type=int, nargs="*", default=None, help="default: all (r*5+k)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=["group", "file"], default="group")
    parser.add_argument("--name", default=None, help="result file suffix (default: seed_baseline[_binary][_by_file])")
    args = parser.parse_args()

    classes = ("benign", "malignant") if args.binary else ("benign", "malignant", "normal")
    X, y = load_busi(get_data_home() / "busi256", classes=classes, image_size=args.image_size, return_X_y=True)
    X = X[..., np.newaxis].astype("float32") / 255.0
    splits, _ = busi_folds(y, classes, split=args.split, repeats=args.repeats)
    rows = []
    for fold in range(len(splits)) if args.folds is None else args.folds:
        train, test = splits[fold]
        keras.utils.set_random_seed(args.seed)
        model = seed_cnn(X.shape[1:], len(classes))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(X[train], y[train], epochs=args.epochs, batch_size=32, verbose=0)
        seconds = time.perf_counter() - start
        proba = model.predict(X[test], verbose=0)
        rows.append({"fold": fold, "n_test": len(test), **classification_scores(y[test], proba, classes),
                     "seconds": seconds, "epochs": args.epochs})
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
        keras.backend.clear_session()

    summary = summarize_folds(rows, np.mean([r["n_test"] for r in rows]) / len(y),
                              ("accuracy", "balanced_accuracy", "roc_auc", "bm_auc", "seconds"))
    print("\nseed baseline: " + ", ".join(
        f"{k} {v['mean']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]" for k, v in summary.items()))
    name = "seed_baseline" + ("_binary" if args.binary else "") + ("_by_file" if args.split == "file" else "")
    out = Path(__file__).parent / "results" / f"accuracy_{args.name or name}.json"
    out.write_text(json.dumps({
        "task": name, "image_size": args.image_size, "epochs": args.epochs, "rows": rows, "summary": summary,
        "split": args.split, "repeats": args.repeats, "n_images": len(y), "machine": machine_info(),
    }, indent=1))


if __name__ == "__main__":
    main()
