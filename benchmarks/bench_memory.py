"""Memory under load: does resident memory stay flat over many fits and predicts?

Two experiments, one process, RSS (resident set size, from psutil or
``/proc/self/status`` VmRSS) recorded after every cycle:

1. ``fit/predict``: ``--cycles`` (default 50) fit + predict cycles of a small
   :class:`skbcnn.CNNClassifier` (conv_filters=(4, 8), dense_units=(8,),
   1 epoch) on ``--n-fit`` (default 64) synthetic 32-px images; a fresh
   estimator every cycle, as in a grid search. ``CNNClassifier`` calls
   ``keras.backend.clear_session()`` in every fit and cleans the TensorFlow
   registries that plain Keras leaves growing (``skbcnn/_training.py``), so
   the memory should stay flat (plain Keras: about +11 MB per fit).
2. ``long predict``: one fitted classifier predicts ``--n-predict`` (default
   20 000) 32-px images with ``batch_size=256``, ``--predict-repeats``
   (default 10) times.

For each experiment the script prints start, end and maximum RSS and the
least-squares slope (MB per cycle) over the last 40 cycles (the first ones
include TensorFlow's one-off allocations), and saves a plot to
``benchmarks/results/memory.png``.

    python benchmarks/bench_memory.py [--cycles 50] [--n-predict 20000] [--predict-repeats 10]
"""

import argparse
import gc
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def rss_mb():
    """Resident set size of this process in MB (MiB)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # kB -> MiB
    raise RuntimeError("cannot read the resident set size")


def slope(values, last=40):
    """Least-squares slope (MB per cycle) of the last ``last`` values."""
    tail = np.asarray(values[-last:], dtype=float)
    if len(tail) < 2:
        return float("nan")
    return float(np.polyfit(np.arange(len(tail)), tail, 1)[0])


def summary(name, values, last=40):
    values = np.asarray(values)
    return (f"{name:<16} {values[0]:9.1f} {values[-1]:9.1f} {values.max():9.1f} "
            f"{values[-1] - values[0]:+9.1f} {slope(values, last):+12.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--n-fit", type=int, default=64)
    parser.add_argument("--n-predict", type=int, default=20_000)
    parser.add_argument("--predict-repeats", type=int, default=10)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)

    start_rss = rss_mb()
    from skbcnn import CNNClassifier
    from skbcnn.datasets import make_synthetic_ultrasound

    import_rss = rss_mb()
    data = make_synthetic_ultrasound(args.n_fit, image_size=args.size, random_state=0)
    X, y = data.images, data.target_names[data.target]
    params = dict(conv_filters=(4, 8), dense_units=(8,), epochs=1, batch_size=16, verbose=0)

    print(f"python {platform.python_version()}, {os.cpu_count()} CPU(s); "
          f"RSS at start {start_rss:.1f} MB, after importing skbcnn+TensorFlow {import_rss:.1f} MB",
          flush=True)

    fit_rss, fit_times = [], []
    for cycle in range(args.cycles):
        t0 = time.perf_counter()
        clf = CNNClassifier(**params, random_state=cycle).fit(X, y)
        clf.predict(X)
        del clf
        gc.collect()
        fit_times.append(time.perf_counter() - t0)
        fit_rss.append(rss_mb())
        if cycle % 10 == 0 or cycle == args.cycles - 1:
            print(f"  fit/predict cycle {cycle + 1:3d}: RSS {fit_rss[-1]:8.1f} MB "
                  f"({fit_times[-1]:.2f} s)", flush=True)

    big = make_synthetic_ultrasound(min(args.n_predict, 2000), image_size=args.size, random_state=1).images
    big = np.resize(big, (args.n_predict, *big.shape[1:]))  # repeat to n_predict images
    clf = CNNClassifier(**params, random_state=0).fit(X, y)
    predict_rss, predict_times = [rss_mb()], []
    for repeat in range(args.predict_repeats):
        t0 = time.perf_counter()
        proba = clf.predict_proba(big, batch_size=256)
        predict_times.append(time.perf_counter() - t0)
        assert proba.shape == (len(big), len(clf.classes_))
        del proba
        gc.collect()
        predict_rss.append(rss_mb())
        print(f"  predict {args.n_predict} images, repeat {repeat + 1:2d}: RSS {predict_rss[-1]:8.1f} MB "
              f"({predict_times[-1]:.2f} s)", flush=True)

    print()
    print(f"{'experiment':<16} {'start MB':>9} {'end MB':>9} {'max MB':>9} {'end-start':>9} "
          f"{'slope MB/cyc':>12}")
    print(summary("fit/predict", fit_rss))
    # measurement 0 is before the first predict, 1 includes the one-off
    # allocation of the predict function and its buffers: slope from 2 on
    print(summary("long predict", predict_rss[2:] if len(predict_rss) > 3 else predict_rss))
    print(f"(slope over the last {min(40, len(fit_rss))} fit/predict cycles and over predict "
          "repeats 2 onwards; "
          f"median fit/predict cycle {np.median(fit_times):.2f} s, "
          f"median predict of {args.n_predict} images {np.median(predict_times):.2f} s)")

    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        RESULTS.mkdir(exist_ok=True)
        fig, axes = plt.subplots(1, 2, figsize=(8, 3), dpi=80)
        axes[0].plot(np.arange(1, len(fit_rss) + 1), fit_rss, marker=".")
        axes[0].set(title="fit + predict cycles", xlabel="cycle", ylabel="RSS (MB)")
        axes[1].plot(np.arange(len(predict_rss)), predict_rss, marker=".", color="C1")
        axes[1].set(title=f"predict {args.n_predict} images", xlabel="repeat (0: before)")
        fig.tight_layout()
        out = RESULTS / "memory.png"
        fig.savefig(out)
        print(f"plot: {out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
