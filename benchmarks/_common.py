"""Shared helpers of the speed benchmarks (not a test module, not shipped).

Every benchmark runs its variants interleaved in one process (A, B, A, B,
...), takes medians and reports ratios: the benchmark machines are shared,
and a ratio of interleaved medians is far less sensitive to background load
than an absolute time. Each script records the machine it ran on.
"""

import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

_PACKAGES = ("numpy", "scipy", "scikit-learn", "scikit-image", "keras", "tensorflow",
             "tensorflow-cpu", "scikeras", "joblib", "matplotlib", "skbcnn")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions():
    # importlib.metadata reads the installed versions without importing the
    # packages (bench_import must not import TensorFlow in its parent).
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def machine_info():
    """Platform, CPU, cores, load, thread settings and library versions."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    try:
        with open("/proc/meminfo") as f:
            mem_total_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        mem_total_kb = None
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "mem_total_gib": None if mem_total_kb is None else round(mem_total_kb / 2**20, 1),
        "load_average_1_5_15": load,
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "SKBCNN_NUM_THREADS",
                                            "TF_NUM_INTRAOP_THREADS", "KERAS_BACKEND")
                if k in os.environ},
        "versions": _versions(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def print_machine(info):
    v = info["versions"]
    print(f"machine: {info['platform']}; {info['cpu_model']}; {info['cpu_count']} cores "
          f"({info['usable_cores']} usable); load {info['load_average_1_5_15']}")
    print("versions: python " + info["python"] + ", "
          + ", ".join(f"{k} {val}" for k, val in v.items()))


def median(values):
    return float(statistics.median(values))


def write_json(name, payload):
    """Write ``benchmarks/results/<name>.json`` and return its path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n")
    print(f"\nwrote {path.relative_to(RESULTS.parent.parent)}")
    return path


def markdown_table(header, rows):
    """A GitHub/MyST pipe table as a string."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for row in cells[1:]:
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |")
    return "\n".join(lines)


class EpochTimer:
    """Keras callback factory recording the seconds of each epoch.

    ``times``: wall clock; ``cpu_times``: CPU seconds of the whole process
    (all threads), which a busy machine disturbs much less than wall time.

    Built lazily so that importing this module does not import Keras.
    """

    @staticmethod
    def make():
        import keras

        class _EpochTimer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.times = []
                self.cpu_times = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()
                self._cpu = time.process_time()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self._start)
                self.cpu_times.append(time.process_time() - self._cpu)

        return _EpochTimer()


def busi_folds(y, classes, *, split="group", n_splits=5, repeats=1):
    """The BUSI cross-validation folds every accuracy benchmark uses.

    ``split="group"`` (default): ``StratifiedGroupKFold`` on near-duplicate
    groups (:func:`skbcnn.datasets.group_near_duplicates`, computed on the
    images loaded at 64 px so that the folds do not depend on the size a
    benchmark trains at); ``"file"``: the earlier ``StratifiedKFold`` by
    file, which puts copies of an image on both sides. ``repeats`` > 1
    repeats the whole k-fold split with other shuffles (seeds 0, 1, ...):
    fold ``r * n_splits + k`` is fold ``k`` of repeat ``r``, so the first
    ``n_splits`` folds are those of the single CV of earlier releases.
    Returns ``(folds, groups)``: a list of (train, test) index pairs and the
    group id of each image (``None`` for ``"file"``).
    """
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    from skbcnn._config import get_data_home
    from skbcnn.datasets import group_near_duplicates, load_busi

    if split == "file":
        return [fold for r in range(repeats) for fold in
                StratifiedKFold(n_splits, shuffle=True, random_state=r).split(np.zeros(len(y)), y)], None
    small, y_small = load_busi(get_data_home() / "busi256", classes=classes, image_size=64, return_X_y=True)
    if not np.array_equal(y_small, y):
        raise RuntimeError("busi_folds: y does not match the BUSI images in load order.")
    groups = group_near_duplicates(small)
    folds = [fold for r in range(repeats) for fold in
             StratifiedGroupKFold(n_splits, shuffle=True, random_state=r).split(small, y, groups)]
    return folds, groups


def cv_interval(values, test_fraction, confidence=0.95):
    """Mean and confidence interval of per-fold scores of (repeated) CV.

    The folds share training images, so their scores are correlated and a
    plain t-interval over them is too narrow. This is the corrected
    resampled t-interval of Nadeau & Bengio (2003, Machine Learning 52:239),
    as recommended for repeated k-fold comparisons (Bouckaert & Frank 2004):
    the variance of the mean is ``(1/J + n_test/n_train) * s**2`` over the
    J folds. Apply it to paired per-fold *differences* to compare two
    configurations run on the same folds.

    Returns ``(mean, low, high)``.
    """
    import numpy as np
    from scipy import stats

    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    variance = (1 / n + test_fraction / (1 - test_fraction)) * values.var(ddof=1)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * np.sqrt(variance))
    return mean, mean - half, mean + half


def classification_scores(y, proba, classes):
    """Accuracy, balanced accuracy, ROC AUC and benign-vs-malignant AUC.

    ``roc_auc`` is the AUC of the positive class for two classes, else the
    macro one-vs-rest AUC. ``bm_auc`` is the AUC of malignant against benign
    with the normal images left out, scored on ``p(malignant) /
    (p(benign) + p(malignant))``: the easy normal class lifts the macro
    figure, and benign vs malignant is the question that matters clinically.
    """
    import numpy as np
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

    pred = proba.argmax(axis=1)
    two = proba.shape[1] == 2
    result = {
        "accuracy": accuracy_score(y, pred),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
        "roc_auc": roc_auc_score(y, proba[:, 1]) if two else roc_auc_score(y, proba, multi_class="ovr"),
    }
    classes = list(classes)
    if "benign" in classes and "malignant" in classes:
        b, m = classes.index("benign"), classes.index("malignant")
        keep = np.isin(y, [b, m])
        score = proba[keep, m] / np.maximum(proba[keep, b] + proba[keep, m], 1e-12)
        result["bm_auc"] = roc_auc_score(y[keep] == m, score)
    return {key: float(value) for key, value in result.items()}


def summarize_folds(rows, test_fraction, keys):
    """Mean, std and corrected 95 % interval (:func:`cv_interval`) of each key."""
    import numpy as np

    summary = {}
    for key in keys:
        values = [row[key] for row in rows if key in row]
        if not values:
            continue
        mean, low, high = cv_interval(values, test_fraction)
        summary[key] = {"mean": mean, "std": float(np.std(values)), "ci95": [low, high], "n": len(values)}
    return summary
