"""Training cost of the pretrained backbones against skbcnn's own network.

``CNNClassifier(backbone=...)`` fine-tunes a ``keras.applications`` network.
Its accuracy needs the ImageNet weights (a download); its cost does not:
this script gives each backbone a weights file of the same shape (randomly
initialised, written to a temporary folder), so the fit does exactly the
work of fine-tuning ImageNet weights (frozen batch normalisation included),
without network access. All variants train on the same BUSI images with the
same batch size, interleaved in one process (own, backbone A, B, C, own,
...); the steady epoch (after the first) is compared by median, as wall and
as process CPU time, and converted into the epochs that fit in 10 minutes.

    python benchmarks/bench_backbones.py [--sizes 96 128] [--n-images 500] [--repeat 2]
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EpochTimer, machine_info, markdown_table, median, print_machine, write_json  # noqa: E402


def weights_file(backbone, size, folder):
    """A randomly initialised weights file for ``backbone`` (no top)."""
    import keras

    from skbcnn.models import BACKBONES

    path = Path(folder) / f"{backbone}_{size}.weights.h5"
    constructor = getattr(keras.applications, BACKBONES[backbone])
    constructor(include_top=False, weights=None, input_shape=(size, size, 3)).save_weights(path)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[96, 128])
    parser.add_argument("--n-images", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per fit; the first is not counted")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    info = machine_info()
    print_machine(info)

    from skbcnn import CNNClassifier
    from skbcnn._config import get_data_home
    from skbcnn.datasets import load_busi
    from skbcnn.enhancement import IntensityNormalizer
    from skbcnn.models import BACKBONES

    variants = [None, *sorted(BACKBONES)]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            data = load_busi(get_data_home() / "busi256", image_size=size)
            idx = np.random.default_rng(0).choice(len(data.target), size=min(args.n_images, len(data.target)),
                                                  replace=False)
            X = IntensityNormalizer().fit_transform(data.images[idx])
            y = data.target[idx]
            files = {name: weights_file(name, size, folder) for name in variants if name is not None}
            walls = {name: [] for name in variants}
            cpus = {name: [] for name in variants}
            params = {}
            for round_ in range(args.repeat):
                for name in variants:
                    timer = EpochTimer.make()
                    clf = CNNClassifier(backbone=name, backbone_weights=files.get(name), epochs=args.epochs,
                                        validation_split=0, early_stopping=False, random_state=0,
                                        callbacks=[timer])
                    clf.fit(X, y)
                    walls[name] += timer.times[1:]
                    cpus[name] += timer.cpu_times[1:]
                    params[name] = clf.model_.count_params()
                    print(f"{size} px, round {round_}, {name or 'own network'}: steady epoch "
                          f"{median(timer.times[1:]):.1f} s wall, {median(timer.cpu_times[1:]):.1f} s CPU", flush=True)
            own_wall, own_cpu = median(walls[None]), median(cpus[None])
            for name in variants:
                wall, cpu = median(walls[name]), median(cpus[name])
                results.append({
                    "image_size": size, "network": name or "own (default)", "parameters": params[name],
                    "epoch_wall_s": wall, "epoch_cpu_s": cpu, "wall_ratio": wall / own_wall,
                    "cpu_ratio": cpu / own_cpu, "epochs_in_10_min": int(600 // wall),
                })

    header = ["image size", "network", "parameters", "steady epoch (wall)", "CPU s", "x own (wall)",
              "x own (CPU)", "epochs in 10 min"]
    rows = [[r["image_size"], r["network"], f"{r['parameters']:,}", f"{r['epoch_wall_s']:.1f} s",
             f"{r['epoch_cpu_s']:.1f}", f"{r['wall_ratio']:.2f}", f"{r['cpu_ratio']:.2f}", r["epochs_in_10_min"]]
            for r in results]
    print(f"\n{args.n_images} BUSI images, batch 32\n")
    print(markdown_table(header, rows))
    write_json("bench_backbones", {"machine": info, "n_images": args.n_images, "results": results})


if __name__ == "__main__":
    main()
