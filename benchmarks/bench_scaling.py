"""Scaling of fit and predict time with the number of images.

The default CNNClassifier network (no validation split, no early stopping)
is fitted for ``--epochs`` epochs on 256, 512, 1024 and 2048 synthetic
ultrasound images (32 px by default), then predicts on the same images.
Sizes are interleaved within each round (order reversed every other round)
and the median over rounds is taken. Reported per size: whole fit time,
steady-state epoch time (median of the epochs after the first, which
traces the train function), predict time (second call, the first traces the predict
function) and the time per image. A least-squares line through
log(time) against log(n) gives the scaling exponent (1: linear); a
straight-line fit ``time = fixed + per_image * n`` separates the per-fit
constant (model building, compilation, tracing) from the per-image cost.
Wall and process CPU time are both recorded; on a busy machine the CPU
time is the stable one, and the plot shows it.
A plot goes to ``benchmarks/results/scaling.png``.

    python benchmarks/bench_scaling.py [--quick] [--image-size 32] [--repeat 3]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    RESULTS, EpochTimer, machine_info, markdown_table, median, print_machine, write_json,
)


def one_run(X, y, args, seed):
    from skbcnn import CNNClassifier

    timer = EpochTimer.make()
    clf = CNNClassifier(batch_size=args.batch_size, epochs=args.epochs, validation_split=0.0,
                        early_stopping=False, random_state=seed, callbacks=[timer])
    start, cpu = time.perf_counter(), time.process_time()
    clf.fit(X, y)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    clf.predict(X[: args.batch_size])  # trace the predict function outside the timing
    start, cpu = time.perf_counter(), time.process_time()
    clf.predict(X)
    predict_s, predict_cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"fit_s": fit_s, "epoch_s": timer.times, "predict_s": predict_s,
            "fit_cpu": fit_cpu, "epoch_cpu": timer.cpu_times, "predict_cpu": predict_cpu}


def slope(ns, ts):
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 256..1024, 2 rounds")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (2 if args.quick else 3)
    sizes = [256, 512, 1024] if args.quick else [256, 512, 1024, 2048]
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch includes compilation)")

    info = machine_info()
    t0 = time.perf_counter()
    import tensorflow as tf  # noqa: F401  (excluded from the timings)

    from skbcnn.datasets import make_synthetic_ultrasound

    X_all, y_all = make_synthetic_ultrasound(max(sizes), image_size=args.image_size, random_state=0,
                                             return_X_y=True)
    print_machine(info)
    print(f"data: synthetic ultrasound, {args.image_size} px, uint8; default network, batch "
          f"{args.batch_size}, {args.epochs} epochs; sizes {sizes}; {args.repeat} rounds\n")
    one_run(X_all[:64], y_all[:64], argparse.Namespace(**{**vars(args), "epochs": 2}), 0)  # warm-up

    runs = {n: [] for n in sizes}
    for r in range(args.repeat):
        for n in (sizes if r % 2 == 0 else sizes[::-1]):
            runs[n].append(one_run(X_all[:n], y_all[:n], args, seed=r))
            last = runs[n][-1]
            print(f"  round {r} n={n:<5}: fit {last['fit_s']:6.2f} s, last epoch "
                  f"{last['epoch_s'][-1]:.2f} s, predict {last['predict_s']:.2f} s", flush=True)

    med = {n: {"fit_s": median([x["fit_s"] for x in runs[n]]),
               "epoch_s": median([median(x["epoch_s"][1:]) for x in runs[n]]),
               "predict_s": median([x["predict_s"] for x in runs[n]]),
               "fit_cpu": median([x["fit_cpu"] for x in runs[n]]),
               "epoch_cpu": median([median(x["epoch_cpu"][1:]) for x in runs[n]]),
               "predict_cpu": median([x["predict_cpu"] for x in runs[n]])} for n in sizes}
    keys = ("fit_s", "epoch_s", "predict_s", "fit_cpu", "epoch_cpu", "predict_cpu")
    exps = {k: slope(sizes, [med[n][k] for n in sizes]) for k in keys}
    # time = fixed + per_image * n (least squares): the fixed part (model
    # building, compilation, tracing, clear_session) is what bends the
    # log-log slope of small fits below 1.
    linear = {}
    for k in keys:
        per_image, fixed = np.polyfit(sizes, [med[n][k] for n in sizes], 1)
        linear[k] = {"fixed_s": float(fixed), "per_image_ms": float(1e3 * per_image)}
    rows = []
    for n in sizes:
        m = med[n]
        rows.append([n] + [f"{m[k]:.2f} / {m[k.replace('_s', '_cpu')]:.2f}"
                           for k in ("fit_s", "epoch_s", "predict_s")]
                    + [f"{1e3 * m[k] / n:.2f}" for k in ("fit_cpu", "epoch_cpu", "predict_cpu")])
    rows.append(["log-log slope"] + [f"{exps[k]:.2f} / {exps[k.replace('_s', '_cpu')]:.2f}"
                                     for k in ("fit_s", "epoch_s", "predict_s")] + [""] * 3)
    rows.append(["linear fit, CPU: fixed s"] + [f"{linear[k]['fixed_s']:.2f}"
                                                for k in ("fit_cpu", "epoch_cpu", "predict_cpu")]
                + [""] * 3)
    rows.append(["linear fit, CPU: ms per image"] + [f"{linear[k]['per_image_ms']:.2f}"
                                                     for k in ("fit_cpu", "epoch_cpu", "predict_cpu")]
                + [""] * 3)
    table = markdown_table(["n images", "fit s wall / CPU", "epoch s wall / CPU",
                            "predict s wall / CPU", "fit CPU ms/img", "epoch CPU ms/img",
                            "predict CPU ms/img"], rows)
    print()
    print(table)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=90)
    for key, label in (("fit_cpu", "whole fit"), ("epoch_cpu", "one epoch (steady)"),
                       ("predict_cpu", "predict")):
        ts = [med[n][key] for n in sizes]
        ax.loglog(sizes, ts, "o-", label=f"{label} (slope {exps[key]:.2f})")
    ax.loglog(sizes, [med[sizes[0]]["epoch_cpu"] * n / sizes[0] for n in sizes], "k:", lw=1,
              label="linear reference")
    ax.set_xlabel("number of images")
    ax.set_ylabel("CPU seconds (process)")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_title(f"CNNClassifier, default network, {args.image_size} px", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    png = RESULTS / ("scaling_quick.png" if args.quick else "scaling.png")
    fig.savefig(png)
    print(f"\nplot: benchmarks/results/{png.name} ({png.stat().st_size // 1024} KB)")
    write_json("bench_scaling" + ("_quick" if args.quick else ""), {
        "benchmark": "bench_scaling", "machine": info, "args": vars(args), "sizes": sizes,
        "runs": {str(n): v for n, v in runs.items()}, "median": {str(n): v for n, v in med.items()},
        "loglog_slope": exps, "linear_fit": linear, "table": table,
        "total_runtime_s": time.perf_counter() - t0,
    })


if __name__ == "__main__":
    main()
