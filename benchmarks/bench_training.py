"""Training throughput: CNNClassifier.fit against a raw keras.Model.fit.

Both train the same network (``build_cnn`` with the same parameters and
seed, Adam at 1e-3, sparse categorical cross-entropy, accuracy metric) on
the same images with the same batch size and number of epochs, without a
validation split or early stopping. The two are run interleaved in one
process (keras, cnn, keras, cnn, ...) and compared by median:

* steady-state images/second: epochs after the first (the first epoch
  includes tracing/compiling the train function), measured by an epoch-timer
  callback given to both;
* whole ``fit`` call: wall time including model building, compilation, the
  first epoch and (for CNNClassifier) input validation and encoders.

The raw Keras variant gets float32 images scaled to [0, 1] prepared outside
the timing; CNNClassifier gets the uint8 images and converts them itself
(that conversion is part of its cost).

    python benchmarks/bench_training.py [--quick] [--busi] [--repeat 3]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EpochTimer, machine_info, markdown_table, median, print_machine, write_json  # noqa: E402

# The architecture parameters shared by build_cnn and CNNClassifier, at
# CNNClassifier's defaults, so the benchmark follows the default network.
ARCH_PARAMS = ("conv_filters", "convs_per_block", "kernel_size", "pooling", "batch_norm",
               "conv_dropout", "global_pooling", "dense_units", "dropout", "activation")


def default_architecture():
    from skbcnn import CNNClassifier

    params = CNNClassifier().get_params()
    return {name: params[name] for name in ARCH_PARAMS}


ARCH = default_architecture()


def load_data(args):
    if args.busi:
        from skbcnn._config import get_data_home
        from skbcnn.datasets import load_busi

        data = load_busi(get_data_home() / "busi256", image_size=args.image_size)
        rng = np.random.default_rng(0)
        idx = np.sort(rng.choice(len(data.target), size=min(args.n_images, len(data.target)),
                                 replace=False))
        return data.images[idx], data.target[idx], f"BUSI subset, {len(idx)} images"
    from skbcnn.datasets import make_synthetic_ultrasound

    X, y = make_synthetic_ultrasound(args.n_images, image_size=args.image_size, random_state=0,
                                     return_X_y=True)
    return X, y, f"synthetic ultrasound, {len(y)} images"


def fit_keras(X, y, n_classes, args, seed):
    import keras

    from skbcnn.models import build_cnn

    keras.utils.set_random_seed(seed)
    keras.backend.clear_session()
    timer = EpochTimer.make()
    start = time.perf_counter()
    model = build_cnn(X.shape[1:], n_classes, sigmoid_output=n_classes == 2, seed=seed, **ARCH)
    loss = "binary_crossentropy" if n_classes == 2 else "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=loss,
                  metrics=["accuracy"])
    model.fit(X, y, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0,
              callbacks=[timer])
    return time.perf_counter() - start, timer


def fit_cnn(X, y, args, seed):
    from skbcnn import CNNClassifier

    timer = EpochTimer.make()
    clf = CNNClassifier(**ARCH, batch_size=args.batch_size, epochs=args.epochs,
                        validation_split=0.0, early_stopping=False, random_state=seed,
                        callbacks=[timer])
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start, timer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 images, 2 repeats")
    parser.add_argument("--busi", action="store_true",
                        help="BUSI ($SKBCNN_DATA/busi256) instead of synthetic images")
    parser.add_argument("--n-images", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    args.n_images = args.n_images or (256 if args.quick else 512)
    args.image_size = args.image_size or (128 if args.busi else 64)
    args.repeat = args.repeat or (2 if args.quick else 5)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch includes compilation)")

    info = machine_info()
    t0 = time.perf_counter()
    import tensorflow as tf  # noqa: F401  (import time excluded from every timing)

    X_uint8, y_raw, what = load_data(args)
    classes, y_int = np.unique(y_raw, return_inverse=True)
    X_float = (X_uint8.astype(np.float32) / 255)[..., np.newaxis]
    n_classes = len(classes)
    print_machine(info)
    print(f"data: {what}, {args.image_size} px, {n_classes} classes; batch {args.batch_size}, "
          f"{args.epochs} epochs, default network {ARCH['conv_filters']} x {ARCH['convs_per_block']}; "
          f"interleaved x{args.repeat} (ABBA order)\n")

    # Untimed warm-up of both paths (one-time process costs: TensorFlow's
    # first graph tracing, oneDNN kernel set-up, lazy imports).
    fit_keras(X_float[:64], y_int[:64], n_classes, argparse.Namespace(**{**vars(args), "epochs": 1}), 0)
    fit_cnn(X_uint8[:64], y_raw[:64], argparse.Namespace(**{**vars(args), "epochs": 1}), 0)

    runs = {"keras": [], "cnn": []}
    for r in range(args.repeat):
        # ABBA order: alternate which variant goes first in each pair
        for name in (("keras", "cnn") if r % 2 == 0 else ("cnn", "keras")):
            if name == "keras":
                total, timer = fit_keras(X_float, y_int, n_classes, args, seed=r)
            else:
                total, timer = fit_cnn(X_uint8, y_raw, args, seed=r)
            runs[name].append({"fit_s": total, "epoch_s": timer.times, "epoch_cpu_s": timer.cpu_times})
            print(f"  repeat {r} {name:<5}: fit {total:6.2f} s, epochs "
                  + ", ".join(f"{e:.2f}" for e in timer.times) + " s wall, "
                  + ", ".join(f"{e:.2f}" for e in timer.cpu_times) + " s CPU", flush=True)

    # Attribution of CNNClassifier's per-fit overhead: it calls
    # keras.backend.clear_session() before building each model, and that
    # runs a full gc.collect() (free_memory=True); raw Keras above does not
    # time it. Interleaved, in this same process.
    import gc

    import keras

    clear = {"clear_session()": [], "clear_session(free_memory=False)": [], "gc.collect()": []}
    for _ in range(5):
        for label, func in (("clear_session()", keras.backend.clear_session),
                            ("clear_session(free_memory=False)",
                             lambda: keras.backend.clear_session(free_memory=False)),
                            ("gc.collect()", gc.collect)):
            start = time.perf_counter()
            func()
            clear[label].append(time.perf_counter() - start)
    clear = {k: median(v) for k, v in clear.items()}
    print("\nper-fit overhead candidates (median of 5): "
          + ", ".join(f"{k} {1e3 * v:.0f} ms" for k, v in clear.items()))

    n = len(y_int)
    summary = {}
    for name, rs in runs.items():
        steady = median([median(r["epoch_s"][1:]) for r in rs])
        first = median([r["epoch_s"][0] for r in rs])
        fit = median([r["fit_s"] for r in rs])
        summary[name] = {
            "steady_epoch_s": steady, "steady_images_per_s": n / steady,
            "first_epoch_s": first, "fit_s": fit,
            "fit_images_per_s": n * args.epochs / fit,
        }
    # Ratio per interleaved pair, then the median (robust to load drifts).
    pair_steady = [
        median(k["epoch_s"][1:]) / median(c["epoch_s"][1:])
        for k, c in zip(runs["keras"], runs["cnn"])
    ]
    pair_fit = [k["fit_s"] / c["fit_s"] for k, c in zip(runs["keras"], runs["cnn"])]
    pair_cpu = [
        median(k["epoch_cpu_s"][1:]) / median(c["epoch_cpu_s"][1:])
        for k, c in zip(runs["keras"], runs["cnn"])
    ]
    cpu = {name: median([median(r["epoch_cpu_s"][1:]) for r in rs]) for name, rs in runs.items()}
    ratios = {
        "steady_cpu_cnn_over_keras": median(pair_cpu),
        "steady_cpu_pairs": pair_cpu,
        "steady_throughput_cnn_over_keras": median(pair_steady),
        "fit_throughput_cnn_over_keras": median(pair_fit),
        "steady_throughput_pairs": pair_steady,
        "fit_throughput_pairs": pair_fit,
    }
    k, c = summary["keras"], summary["cnn"]
    rows = [
        ["steady epoch (epochs 2..)", f"{k['steady_epoch_s']:.2f} s", f"{c['steady_epoch_s']:.2f} s",
         f"{k['steady_images_per_s']:.0f}", f"{c['steady_images_per_s']:.0f}",
         f"{ratios['steady_throughput_cnn_over_keras']:.3f}"],
        ["steady epoch, CPU seconds (all threads)", f"{cpu['keras']:.2f} s", f"{cpu['cnn']:.2f} s",
         f"{n / cpu['keras']:.0f}", f"{n / cpu['cnn']:.0f}",
         f"{ratios['steady_cpu_cnn_over_keras']:.3f}"],
        ["whole fit (build+compile+all epochs)", f"{k['fit_s']:.2f} s", f"{c['fit_s']:.2f} s",
         f"{k['fit_images_per_s']:.0f}", f"{c['fit_images_per_s']:.0f}",
         f"{ratios['fit_throughput_cnn_over_keras']:.3f}"],
        ["first epoch (incl. tracing)", f"{k['first_epoch_s']:.2f} s", f"{c['first_epoch_s']:.2f} s",
         "", "", f"{k['first_epoch_s'] / c['first_epoch_s']:.3f}"],
    ]
    table = markdown_table(["measure", "keras time", "CNNClassifier time", "keras img/s",
                            "CNNClassifier img/s", "throughput ratio cnn/keras"], rows)
    print()
    print(table)
    print("\nratio = keras time / CNNClassifier time (median of the per-pair ratios); goal >= 0.95")
    print("time outside the epochs (build, compile, validation, clear_session), median: "
          + ", ".join(f"{k} {median([r['fit_s'] - sum(r['epoch_s']) for r in rs]):.2f} s"
                      for k, rs in runs.items()))
    write_json("bench_training" + ("_quick" if args.quick else ""), {
        "benchmark": "bench_training", "machine": info, "args": vars(args), "data": what,
        "n_images": n, "runs": runs, "clear_session_s": clear,
        "outside_epochs_s": {k: median([r["fit_s"] - sum(r["epoch_s"]) for r in rs])
                             for k, rs in runs.items()}, "summary": summary, "ratios": ratios, "table": table,
        "total_runtime_s": time.perf_counter() - t0,
    })


if __name__ == "__main__":
    main()
