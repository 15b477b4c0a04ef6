"""Wall time of one grid search: sequential, ``n_jobs=2``, dask, and caching.

The same ``GridSearchCV`` over the default pipeline (tiny CNN, so that the
comparison is about scheduling and preprocessing, not about one big fit) runs

1. sequentially (``n_jobs=1``);
2. in two joblib worker processes (``n_jobs=2``, loky);
3. on a dask ``LocalCluster`` of two single-threaded worker processes;
4. sequentially with ``Pipeline(memory=...)`` (a cold joblib cache), so
   candidates that share the enhancement/denoising settings reuse them;

and, to isolate what the cache saves, the grid's preprocessing alone (every
candidate's steps before the CNN on every fold) without and with the cache.

All four run in this one process, one after the other, and are reported as
ratios to the sequential time; each also reports ``best_params_`` (they must
agree).

    python benchmarks/bench_search.py            # 240 images, 96 px
    python benchmarks/bench_search.py --quick    # 120 images, 64 px
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import joblib
from sklearn.model_selection import GridSearchCV

from skbcnn import make_cnn_pipeline
from skbcnn.datasets import make_synthetic_ultrasound

GRID = {
    "denoise__method": ["median", "nl_means"],
    "cnn__learning_rate": [1e-3, 3e-3],
    "cnn__dropout": [0.2, 0.4],
}


def search(X, y, *, n_jobs=1, memory=None):
    pipeline = make_cnn_pipeline(
        memory=memory, cnn__conv_filters=(8, 16), cnn__dense_units=(16,), cnn__epochs=3,
        cnn__random_state=0, augment__random_state=0,
    )
    start = time.perf_counter()
    fitted = GridSearchCV(pipeline, GRID, cv=3, scoring="accuracy", n_jobs=n_jobs).fit(X, y)
    return time.perf_counter() - start, fitted.best_params_


def preprocessing_only(X, y, memory):
    """The grid's preprocessing alone: every candidate's steps before the CNN,
    fitted on every fold's training images, as the search does."""
    from sklearn.model_selection import ParameterGrid, StratifiedKFold
    from sklearn.pipeline import Pipeline

    template = make_cnn_pipeline(augment__random_state=0)
    start = time.perf_counter()
    for train, _ in StratifiedKFold(3).split(X, y):
        for params in ParameterGrid(GRID):
            steps = template.set_params(**params).steps[:-1]
            Pipeline(steps, memory=memory).fit_transform(X[train], y[train])
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, size = (120, 64) if args.quick else (240, 96)
    X, y = make_synthetic_ultrasound(n, image_size=size, random_state=0, return_X_y=True)

    runs = {}
    runs["sequential"] = search(X, y)
    runs["n_jobs=2 (loky)"] = search(X, y, n_jobs=2)
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster):
        with joblib.parallel_backend("dask"):
            runs["dask, 2 workers"] = search(X, y, n_jobs=-1)
    with tempfile.TemporaryDirectory() as cache:
        runs["sequential + memory"] = search(X, y, memory=cache)

    prep = {"no cache": preprocessing_only(X, y, None)}
    with tempfile.TemporaryDirectory() as cache:
        prep["memory"] = preprocessing_only(X, y, cache)

    base = runs["sequential"][0]
    print(f"\n{n} synthetic images of {size} px; 8 candidates x 3 folds = 24 fits + refit")
    print(f"{'run':22} {'seconds':>8} {'speed-up':>9}  best_params_")
    for name, (seconds, best) in runs.items():
        print(f"{name:22} {seconds:8.1f} {base / seconds:8.2f}x  {best}")
    print(f"\npreprocessing alone (the 24 fits' steps before the CNN): no cache {prep['no cache']:.1f} s, "
          f"memory {prep['memory']:.1f} s, speed-up {prep['no cache'] / prep['memory']:.2f}x")
    result = {
        "images": n, "image_size": size, "grid": GRID,
        "preprocessing_only": {**prep, "speedup": prep["no cache"] / prep["memory"]},
        "runs": {name: {"seconds": s, "speedup": base / s, "best_params": b} for name, (s, b) in runs.items()},
        "same_best_params": len({json.dumps(b, sort_keys=True) for _, b in runs.values()}) == 1,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
    }
    out = Path(__file__).parent / "results" / "bench_search.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
