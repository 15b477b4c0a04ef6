"""Augmentation overhead per epoch: CNNClassifier with and without ImageAugmenter.

The same CNNClassifier (default network, no validation split, no early
stopping, same seed) is fitted on the same float32 images, once alone
("plain": Keras batches the in-memory array) and once after a default
``ImageAugmenter()`` in a Pipeline ("augmented": fresh random rotation, zoom,
shift and flip for every mini-batch, drawn by
``skbcnn._training.AugmentedBatches``), and once after an
``ImageAugmenter`` with every augmentation switched off ("identity": the same
per-batch input path, but each batch is only copied), which separates the
cost of the batch-by-batch input path from the cost of the augmentation
itself. Runs are interleaved in one process (order rotated and reversed
between repeats); the epoch times come from an epoch-timer callback.
The steady-state epoch (epochs after the first) is the figure of merit; the
first epoch also traces the train function. For attribution, the time of
``ImageAugmenter.augment`` alone over one epoch's worth of batches is timed
in the same loop.

    python benchmarks/bench_augmentation.py [--quick] [--n-images 256] [--image-size 128]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EpochTimer, machine_info, markdown_table, median, print_machine, write_json  # noqa: E402


VARIANTS = ("plain", "augmented", "identity")


def fit(X, y, args, seed, variant):
    from sklearn.pipeline import Pipeline

    from skbcnn import CNNClassifier, ImageAugmenter

    timer = EpochTimer.make()
    clf = CNNClassifier(batch_size=args.batch_size, epochs=args.epochs, validation_split=0.0,
                        early_stopping=False, random_state=seed, callbacks=[timer])
    if variant == "plain":
        est = clf
    elif variant == "augmented":
        est = Pipeline([("augment", ImageAugmenter()), ("cnn", clf)])
    else:  # the per-batch input path with every augmentation switched off (a copy)
        est = Pipeline([("augment", ImageAugmenter(rotation=0, zoom=0, shift=0,
                                                   horizontal_flip=False)), ("cnn", clf)])
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start, timer


def augment_only(X, args, seed):
    """Seconds to draw one epoch of augmented batches, nothing else."""
    from skbcnn import ImageAugmenter

    aug = ImageAugmenter()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    start = time.perf_counter()
    for b in range(0, len(X), args.batch_size):
        aug.augment(X[order[b:b + args.batch_size]], random_state=np.random.default_rng([seed, b]))
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="128 images, 2 repeats")
    parser.add_argument("--n-images", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    args.n_images = args.n_images or (128 if args.quick else 256)
    args.repeat = args.repeat or (2 if args.quick else 3)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch includes compilation)")

    info = machine_info()
    t0 = time.perf_counter()
    import tensorflow as tf  # noqa: F401  (excluded from the timings)

    from skbcnn.datasets import make_synthetic_ultrasound

    X, y = make_synthetic_ultrasound(args.n_images, image_size=args.image_size, random_state=0,
                                     return_X_y=True)
    X = X.astype(np.float32) / 255
    print_machine(info)
    print(f"data: synthetic ultrasound, {len(y)} images, {args.image_size} px, float32; "
          f"batch {args.batch_size}, {args.epochs} epochs, default CNNClassifier network, "
          f"default ImageAugmenter(); interleaved x{args.repeat} (order rotated and reversed)\n")

    # untimed warm-up of every path
    small = argparse.Namespace(**{**vars(args), "epochs": 1})
    for variant in VARIANTS:
        fit(X[:64], y[:64], small, 0, variant)

    runs = {"plain": [], "augmented": [], "identity": [], "augment_only_s": []}
    for r in range(args.repeat):
        order = VARIANTS[r % 3:] + VARIANTS[:r % 3]  # rotate who goes first
        for name in (order if r % 2 == 0 else order[::-1]):
            total, timer = fit(X, y, args, seed=r, variant=name)
            runs[name].append({"fit_s": total, "epoch_s": timer.times, "epoch_cpu_s": timer.cpu_times})
            print(f"  repeat {r} {name:<9}: fit {total:6.2f} s, epochs "
                  + ", ".join(f"{e:.2f}" for e in timer.times) + " s wall, "
                  + ", ".join(f"{e:.2f}" for e in timer.cpu_times) + " s CPU", flush=True)
        runs["augment_only_s"].append(augment_only(X, args, r))

    steady = {k: [median(run["epoch_s"][1:]) for run in runs[k]] for k in VARIANTS}
    cpu = {k: [median(run["epoch_cpu_s"][1:]) for run in runs[k]] for k in VARIANTS}
    pair_cpu = [a / p for a, p in zip(cpu["augmented"], cpu["plain"])]
    first = {k: [run["epoch_s"][0] for run in runs[k]] for k in VARIANTS}
    fits = {k: [run["fit_s"] for run in runs[k]] for k in VARIANTS}
    ident = {"steady": median([a / p for a, p in zip(steady["identity"], steady["plain"])]),
             "cpu": median([a / p for a, p in zip(cpu["identity"], cpu["plain"])]),
             "first": median(first["identity"]) / median(first["plain"]),
             "fit": median([a / p for a, p in zip(fits["identity"], fits["plain"])])}
    pair = [a / p for a, p in zip(steady["augmented"], steady["plain"])]
    pair_fit = [a / p for a, p in zip(fits["augmented"], fits["plain"])]
    aug_only = median(runs["augment_only_s"])
    ratios = {
        "steady_epoch_augmented_over_plain": median(pair),
        "steady_cpu_augmented_over_plain": median(pair_cpu), "steady_cpu_pairs": pair_cpu,
        "fit_augmented_over_plain": median(pair_fit),
        "first_epoch_augmented_over_plain": median(first["augmented"]) / median(first["plain"]),
        "augment_only_over_plain_epoch": aug_only / median(steady["plain"]),
        "steady_pairs": pair, "fit_pairs": pair_fit,
        "identity_over_plain": ident,
    }

    def pct(x):
        return f"{100 * (x - 1):+.1f} %"

    rows = [
        ["steady epoch, wall (epochs 2..)", f"{median(steady['plain']):.2f} s",
         f"{median(steady['augmented']):.2f} s", pct(ratios["steady_epoch_augmented_over_plain"]),
         f"{median(steady['identity']):.2f} s", pct(ident["steady"])],
        ["steady epoch, CPU s (all threads)", f"{median(cpu['plain']):.2f} s",
         f"{median(cpu['augmented']):.2f} s", pct(ratios["steady_cpu_augmented_over_plain"]),
         f"{median(cpu['identity']):.2f} s", pct(ident["cpu"])],
        ["first epoch, wall (incl. tracing)", f"{median(first['plain']):.2f} s",
         f"{median(first['augmented']):.2f} s", pct(ratios["first_epoch_augmented_over_plain"]),
         f"{median(first['identity']):.2f} s", pct(ident["first"])],
        ["whole fit, wall", f"{median(fits['plain']):.2f} s", f"{median(fits['augmented']):.2f} s",
         pct(ratios["fit_augmented_over_plain"]), f"{median(fits['identity']):.2f} s",
         pct(ident["fit"])],
        ["augment() alone, one epoch of batches", "", f"{aug_only:.2f} s",
         f"{100 * ratios['augment_only_over_plain_epoch']:.1f} % of a plain epoch", "", ""],
    ]
    table = markdown_table(["measure", "plain", "ImageAugmenter()", "overhead",
                            "identity augmenter", "overhead"], rows)
    print()
    print(table)
    print("\noverhead = median of per-pair ratios minus 1 (vs plain); goal <= 10 %. "
          "identity: same per-batch input path, every augmentation off")
    write_json("bench_augmentation" + ("_quick" if args.quick else ""), {
        "benchmark": "bench_augmentation", "machine": info, "args": vars(args),
        "runs": runs, "ratios": ratios, "table": table,
        "total_runtime_s": time.perf_counter() - t0,
    })


if __name__ == "__main__":
    main()
