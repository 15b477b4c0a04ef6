"""Peak memory (RSS) of training the default pipeline on BUSI at 128 px.

Each stage runs in its own fresh subprocess; its peak resident set size is
read from ``os.wait4`` (the child's ``ru_maxrss``) and, inside the child,
from ``VmHWM`` in ``/proc/self/status``:

* ``python``: the bare interpreter;
* ``import tensorflow``: TensorFlow alone (the floor of any training run);
* ``load``: ``load_busi(get_data_home() / "busi256", image_size=128)`` only;
* ``preprocess``: load + ``fit_transform`` of the pipeline's four
  transformers (CLAHE, median, z-score, augmenter), no TensorFlow;
* ``train``: load + ``make_cnn_pipeline(cnn__epochs=2).fit(X, y)`` (CLAHE,
  median filter, z-score, augmentation, the default CNN).

Peaks are compared with the size of the image array (uint8 as loaded, and
float32 as the pipeline holds it). Without the BUSI folder, 624 synthetic
ultrasound images of the same size stand in (reported as such).

    python benchmarks/bench_memory_peak.py [--quick] [--epochs 2]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, markdown_table, print_machine, write_json  # noqa: E402

CHILD = r'''
import json, sys, time
stage, size, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = time.perf_counter()
info = {}
if stage == "tensorflow":
    import tensorflow
if stage in ("load", "preprocess", "train"):
    from skbcnn._config import get_data_home
    from skbcnn.datasets import load_busi, make_synthetic_ultrasound
    root = get_data_home() / "busi256"
    if root.is_dir():
        data = load_busi(root, image_size=size)
        X, y = data.images, data.target_names[data.target]
        info["data"] = f"BUSI {root.name}, {len(y)} images"
    else:
        X, y = make_synthetic_ultrasound(624, image_size=size, random_state=0, return_X_y=True)
        info["data"] = "synthetic ultrasound stand-in, 624 images (BUSI folder not found)"
    info.update(shape=list(X.shape), dtype=str(X.dtype), nbytes=int(X.nbytes))
if stage == "preprocess":
    # the pipeline's transformers without the CNN (no TensorFlow)
    from sklearn.pipeline import Pipeline
    from skbcnn.augmentation import ImageAugmenter
    from skbcnn.enhancement import ContrastEnhancer, Denoiser, IntensityNormalizer
    pre = Pipeline([("enhance", ContrastEnhancer(method="clahe")), ("denoise", Denoiser(method="median")),
                    ("normalize", IntensityNormalizer(method="zscore")),
                    ("augment", ImageAugmenter(random_state=0))])
    Xt = pre.fit_transform(X)
if stage == "train":
    from skbcnn import make_cnn_pipeline
    pipe = make_cnn_pipeline(cnn__epochs=epochs, cnn__random_state=0, augment__random_state=0)
    pipe.fit(X, y)
    info["epochs_run"] = len(pipe[-1].history_["loss"])
info["seconds"] = time.perf_counter() - t
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith(("VmHWM", "VmRSS")):
            info[line.split(":")[0]] = int(line.split()[1]) * 1024
print(json.dumps(info))
'''


def run_stage(stage, size, epochs):
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    proc = subprocess.Popen([sys.executable, "-c", CHILD, stage, str(size), str(epochs)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                            cwd=Path(__file__).resolve().parent.parent)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"stage {stage} failed with exit code {proc.returncode}")
    info = json.loads(out.strip().splitlines()[-1])
    info["ru_maxrss"] = usage.ru_maxrss * 1024  # Linux: kilobytes
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=128)
    args = parser.parse_args(argv)
    args.epochs = args.epochs or (1 if args.quick else 2)

    info = machine_info()
    t0 = time.perf_counter()
    print_machine(info)
    stages = {}
    for stage in ("python", "tensorflow", "load", "preprocess", "train"):
        stages[stage] = run_stage(stage, args.image_size, args.epochs)
        print(f"  {stage:<10}: peak {stages[stage]['ru_maxrss'] / 2**20:8.1f} MiB "
              f"({stages[stage]['seconds']:.1f} s)", flush=True)
    data = stages["train"]
    n_uint8 = 1
    for d in data["shape"]:
        n_uint8 *= d  # one byte per pixel and channel
    n_float = 4 * n_uint8
    mib = 2**20
    base = stages["tensorflow"]["ru_maxrss"]
    print(f"\ndata: {data['data']}, shape {tuple(data['shape'])} {data['dtype']}; "
          f"{args.epochs} epochs of the default pipeline\n")
    rows = []
    for stage, label in (("python", "bare interpreter"), ("tensorflow", "`import tensorflow`"),
                         ("load", "`load_busi` (128 px)"),
                         ("preprocess", "load + the 4 transformers' `fit_transform` (no TF)"),
                         ("train", f"load + default pipeline fit, {args.epochs} epochs")):
        peak = stages[stage]["ru_maxrss"]
        rows.append([label, f"{peak / mib:.0f}", f"{peak / n_uint8:.1f}", f"{peak / n_float:.1f}"])
    extra = stages["train"]["ru_maxrss"] - base
    rows.append(["train peak minus `import tensorflow`", f"{extra / mib:.0f}",
                 f"{extra / n_uint8:.1f}", f"{extra / n_float:.1f}"])
    table = markdown_table(["process", "peak RSS MiB", "/ uint8 array", "/ float32 array"], rows)
    print(f"image array: uint8 {n_uint8 / mib:.1f} MiB, float32 {n_float / mib:.1f} MiB\n")
    print(table)
    write_json("bench_memory_peak" + ("_quick" if args.quick else ""), {
        "benchmark": "bench_memory_peak", "machine": info, "args": vars(args),
        "array_bytes": {"uint8": n_uint8, "float32": n_float}, "stages": stages,
        "ratios": {"train_peak_over_uint8": stages["train"]["ru_maxrss"] / n_uint8,
                   "train_peak_over_float32": stages["train"]["ru_maxrss"] / n_float,
                   "train_minus_tf_over_float32": extra / n_float},
        "table": table, "total_runtime_s": time.perf_counter() - t0,
    })


if __name__ == "__main__":
    main()
