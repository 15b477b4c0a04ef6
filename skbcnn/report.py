"""An evaluation report on disk: metrics as JSON and CSV, figures, one HTML page.

This module owns :func:`write_report` (the files of ``skbcnn evaluate
--out`` and ``skbcnn demo --out``) and :func:`build_provenance`, the record
of what produced a result (model, parameters, model file and its SHA-256,
data, library versions, date). The metrics come from
:mod:`skbcnn.evaluation`, the figures from :mod:`skbcnn.plots`.
"""

import base64
import csv
import html
import io
import json
import math
from pathlib import Path

import numpy as np

from ._json import jsonable
from ._model_card import model_card
from ._provenance import build_provenance
from ._steps import final_step
from .persistence import write_atomically

__all__ = ["write_report", "build_provenance", "model_card"]

class _Precomputed:
    """Stands in for the estimator in ``evaluate`` with cached probabilities."""

    def __init__(self, classes, proba):
        self.classes_ = classes
        self._proba = proba

    def predict_proba(self, X):
        return self._proba


def _map_labels(y, class_names, classes):
    """Int labels -> names when the model was trained on names."""
    y = np.asarray(y)
    if class_names is not None and y.dtype.kind in "iu" and np.asarray(classes).dtype.kind not in "iu":
        return np.asarray(class_names)[y]
    return y


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
.note { color: #666; font-size: 0.9em; }
.warning { background: #fff3cd; border: 1px solid #e0b400; padding: 0.5em 1em; margin: 1em 0; }
details { margin: 0.5em 0 1.5em; }
code { font-size: 0.9em; }
"""

_CAPTIONS = {
    "confusion_matrix": "Confusion matrix (rows: true class, columns: predicted).",
    "roc_curves": "ROC curves (one-vs-rest for more than two classes).",
    "reliability": "Reliability diagram: a calibrated model follows the diagonal.",
    "history": "Training history: loss and accuracy per epoch, training vs validation.",
    "samples": "Sample images: true class, then the prediction (red when wrong).",
    "grad_cam": "Grad-CAM: image regions that raised the predicted class's score.",
}


def _fmt(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _provenance_html(info):
    if not info:
        return ""
    training = info.get("training") or {}
    trained = None
    if training:
        trained = ", ".join(str(part) for part in (
            training.get("data_source"),
            f"{training['n_images']} images" if training.get("n_images") is not None else None,
            training.get("created"),
        ) if part)
    sha = info.get("model_file_sha256")
    rows = [
        ("created (UTC)", info.get("created")),
        ("produced by", f"skbcnn {info.get('skbcnn_version')}"
         + (f": {info['command']}" if info.get("command") else "")),
        ("model file", (info.get("model_file") or "not saved (trained in this run)")
         + (f" (SHA-256 {sha[:16]}...)" if sha else "")),
        ("model", info.get("model")),
        ("trained on", trained),
        ("evaluated on", ", ".join(str(p) for p in (
            info.get("data_source"),
            f"{info['n_images']} images" if info.get("n_images") is not None else None,
        ) if p)),
        ("libraries", ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items() if v)),
    ]
    table = "".join(
        f"<tr><td>{html.escape(k)}</td><td style=\"text-align: left\">{html.escape(str(v))}</td></tr>"
        for k, v in rows if v
    )
    params = info.get("model_parameters") or {}
    details = ""
    if params:
        cells = "".join(
            f"<tr><td>{html.escape(k)}</td><td style=\"text-align: left\"><code>"
            f"{html.escape(json.dumps(v))}</code></td></tr>" for k, v in params.items()
        )
        details = (f"<details><summary>Model parameters ({len(params)})</summary>"
                   f"<table><tr><th>parameter</th><th>value</th></tr>{cells}</table></details>")
    return f"<h2>Provenance</h2>\n<table>{table}</table>\n{details}\n"


def _interval(bounds):
    """``[low, high]`` as a table cell's note; nothing without an interval."""
    if not bounds:
        return ""
    return f' <span class="note">[{_fmt(bounds[0])}, {_fmt(bounds[1])}]</span>'


def _model_card_html(card):
    if not card:
        return ""
    rows = [("intended use", [card["intended_use"]]), ("training data", [card["training_data"]]),
            ("evaluation protocol", card["evaluation_protocol"]), ("known limitations", card["limitations"]),
            ("cite", card["citations"])]
    table = "".join(
        f"<tr><td>{html.escape(k)}</td><td style=\"text-align: left\">"
        + "<br>".join(html.escape(v) for v in values) + "</td></tr>" for k, values in rows
    )
    return f"<h2>Model card</h2>\n<table>{table}</table>\n"


def _html(metrics, figures, title, extra_rows):
    ci = metrics.get("intervals") or {}
    rows = [
        ("images", metrics["n_samples"]),
        ("accuracy", metrics["accuracy"], "accuracy"),
        ("balanced accuracy", metrics["balanced_accuracy"], "balanced_accuracy"),
        ("ROC AUC" + (" (macro one-vs-rest)" if len(metrics["classes"]) > 2 else ""), metrics["roc_auc"], "roc_auc"),
        *([("ROC AUC, benign vs malignant (normal images left out)", metrics["benign_malignant_auc"],
            "benign_malignant_auc")] if "benign_malignant_auc" in metrics else []),
        ("log loss", metrics["log_loss"], "log_loss"),
        ("Brier score" + (" (multiclass, 0 to 2)" if len(metrics["classes"]) > 2 else ""), metrics["brier_score"],
         "brier_score"),
        (f"sensitivity (class {metrics['positive_class']})", metrics["sensitivity"], "sensitivity"),
        ("specificity", metrics["specificity"], "specificity"),
        *extra_rows,
    ]
    summary = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}{_interval(ci.get(key[0]) if key else None)}"
                      "</td></tr>" for k, v, *key in rows)
    boot = metrics.get("bootstrap")
    interval_note = ""
    if ci and boot:
        interval_note = (f'<p class="note">[low, high]: {100 * boot["confidence_level"]:g} % confidence '
                         f'intervals, percentile bootstrap of {boot["n_resamples"]} resamples over '
                         f'{boot["n_units"]} {html.escape(boot["unit"])}s'
                         + (" (whole groups drawn)" if boot["unit"] == "group" else "")
                         + f', seed {html.escape(str(boot["random_state"]))}.</p>')
    averages = [(label, metrics[key], ci.get(key) or {})
                for key, label in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")) if key in metrics]
    classes_ci = [(name, r, {m: (ci.get("per_class", {}).get(m) or {}).get(name) for m in ("precision", "recall", "f1")})
                  for name, r in metrics["per_class"].items()]
    per_class = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{_fmt(r['precision'])}{_interval(b.get('precision'))}</td>"
        f"<td>{_fmt(r['recall'])}{_interval(b.get('recall'))}</td>"
        f"<td>{_fmt(r['f1'])}{_interval(b.get('f1'))}</td><td>{r['support']}</td></tr>"
        for name, r, b in [*classes_ci, *averages]
    )
    warnings = "".join(f'<p class="warning"><strong>Warning:</strong> {html.escape(m)}</p>'
                       for m in metrics.get("warnings") or [])
    names = [str(c) for c in metrics["classes"]]
    matrix = "<tr><th>true \\ predicted</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"
    matrix += "".join(
        f"<tr><td>{html.escape(n)}</td>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
        for n, row in zip(names, metrics["confusion_matrix"])
    )
    images = []
    for key, path in figures.items():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        caption = html.escape(_CAPTIONS.get(key, key))
        images.append(
            f'<figure><a href="{html.escape(path.name)}"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(path.name)}"></a><figcaption>{caption} '
            f'(<a href="{html.escape(path.name)}">{html.escape(path.name)}</a>)</figcaption></figure>'
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
{warnings}
<h2>Summary</h2>
<table>{summary}</table>
{interval_note}
<h2>Per class</h2>
<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{per_class}</table>
<h2>Confusion matrix</h2>
<table>{matrix}</table>
<h2>Figures</h2>
{"".join(images)}
{_model_card_html(metrics.get("model_card"))}
{_provenance_html(metrics.get("provenance"))}
<p class="note">Written by skbcnn. The figures are embedded; the PNG files beside
this page are the same images. Metrics: metrics.json, metrics.csv.</p>
</body>
</html>
"""


def _write_predictions(path, y, y_pred, proba, classes, filenames, groups):
    """predictions.csv: one row per image, to look at the mistakes one by one."""
    names = [str(c) for c in classes]
    files = filenames if filenames is not None else [str(i) for i in range(len(y))]
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["file", "true_class", "predicted_class", *(f"proba_{n}" for n in names)]
                    + (["group"] if groups is not None else []))
    for i in range(len(y)):
        writer.writerow([files[i], y[i], y_pred[i], *(f"{p:.6f}" for p in proba[i])]
                        + ([groups[i]] if groups is not None else []))
    # created fresh like every report file: a planted link is replaced, never written through
    return write_atomically(path, table.getvalue().encode(), through_link=False)


def write_report(estimator, X, y, out_dir, *, class_names=None, positive_class=None, masks=None,
                 n_images=16, title="skbcnn evaluation report", random_state=0, provenance=None,
                 groups=None, filenames=None, n_resamples=1000):
    """Evaluate a fitted classifier and write the results to a folder.

    Writes ``metrics.json`` (the dict of :func:`skbcnn.evaluation.evaluate`,
    with its confidence intervals, the :func:`model_card` and the
    provenance; undefined values such as the ROC AUC of a one-class set are
    ``null``),
    ``metrics.csv`` (per-class precision, recall, F1 and support),
    ``predictions.csv`` (one row per image: file, true and predicted class,
    the probability of every class, and the group when ``groups`` is given),
    ``confusion_matrix.png``, ``roc_curves.png``, ``reliability.png``,
    ``samples.png``, ``history.png`` (when the classifier has a training
    history), ``grad_cam.png`` (when the final step is a
    :class:`~skbcnn.CNNClassifier`) and ``report.html``, one page with the
    metrics and every figure embedded, which renders without the other files.

    Parameters
    ----------
    estimator : fitted classifier or pipeline
        Needs ``predict_proba`` and ``classes_``.
    X : array-like of shape (n_samples, H, W[, C])
        Images.
    y : array-like of shape (n_samples,)
        True labels; int indices are mapped through ``class_names`` when
        the model was trained on class names.
    out_dir : str or path-like
        Output folder, created if needed; existing report files are
        overwritten.
    class_names : sequence of str, optional
        Names of int labels.
    positive_class : label, optional
        Class whose sensitivity and specificity are reported (see
        :func:`~skbcnn.evaluation.evaluate`).
    masks : array-like of bool of shape (n_samples, H, W), optional
        Lesion masks: outlined on the Grad-CAM figure, and the Grad-CAM
        hit rate (:func:`skbcnn.explain.localization_hit_rate`) is added to
        the metrics as ``grad_cam_hit_rate``.
    n_images : int, default=16
        Images on the sample and Grad-CAM figures.
    title : str, default="skbcnn evaluation report"
        Title of the HTML page.
    random_state : int, default=0
        Which images the figures show.
    provenance : dict, optional
        ``model_file``, ``data_source``, ``command`` (see
        :func:`build_provenance`): recorded, with the model's parameters,
        the image count, the library versions and the date, as
        ``provenance`` in ``metrics.json`` and in the "Provenance" section of
        ``report.html``.
    groups : array-like of shape (n_samples,), optional
        Group of each image: the confidence intervals resample whole groups
        (see :func:`~skbcnn.evaluation.evaluate`), and ``predictions.csv``
        lists them.
    filenames : array-like of str of shape (n_samples,), optional
        File of each image, for ``predictions.csv`` (default: the image's
        index).
    n_resamples : int, default=1000
        Bootstrap resamples of the 95 % intervals (0: none).

    Returns
    -------
    paths : dict of str to pathlib.Path
        ``metrics_json``, ``metrics_csv``, one key per figure
        (``confusion_matrix``, ``roc_curves``, ...) and ``html``.

    Examples
    --------
    >>> import tempfile
    >>> from skbcnn import CNNClassifier
    >>> from skbcnn.datasets import make_synthetic_ultrasound
    >>> from skbcnn.report import write_report
    >>> data = make_synthetic_ultrasound(40, image_size=32, random_state=0)
    >>> labels = data.target_names[data.target]
    >>> clf = CNNClassifier(conv_filters=(4, 8), convs_per_block=1, dense_units=(8,),
    ...                     epochs=1, random_state=0).fit(data.images, labels)
    >>> paths = write_report(clf, data.images, labels, tempfile.mkdtemp(), masks=data.masks)
    >>> sorted(p.name for p in paths.values())  # doctest: +ELLIPSIS
    [...'confusion_matrix.png', ...'metrics.json', ...'report.html', ...]
    """
    import matplotlib

    from . import plots
    from ._validation import check_images
    from .evaluation import evaluate

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X = check_images(X)
    classes = np.asarray(estimator.classes_)
    y = _map_labels(y, class_names, classes)
    proba = np.asarray(estimator.predict_proba(X)).reshape(len(X), -1)  # one image: (n_classes,)
    metrics = evaluate(_Precomputed(classes, proba), X, y, positive_class=positive_class, groups=groups,
                       n_resamples=n_resamples)
    y_pred = classes[np.argmax(proba, axis=1)]
    display_names = class_names if classes.dtype.kind in "iu" else None

    rng = np.random.default_rng(random_state)
    shown = np.sort(rng.choice(len(X), min(n_images, len(X)), replace=False))
    extra_rows = []
    cnn = final_step(estimator)
    heatmaps = None
    if hasattr(cnn, "model_"):
        from .explain import grad_cam, localization_hit_rate

        heatmaps = grad_cam(estimator, X[shown])
        if masks is not None:
            masks = np.asarray(masks).astype(bool)
            all_maps = grad_cam(estimator, X)
            if masks.reshape(len(masks), -1).any(axis=1).any():
                metrics["grad_cam_hit_rate"] = localization_hit_rate(all_maps, masks)
                metrics["grad_cam_chance"] = float(masks[masks.any(axis=(1, 2))].mean())
                extra_rows = [
                    ("Grad-CAM hit rate", metrics["grad_cam_hit_rate"]),
                    ("hit rate by chance (mean lesion area)", metrics["grad_cam_chance"]),
                ]

    metrics["provenance"] = build_provenance(estimator, n_images=len(X), **(provenance or {}))
    metrics["model_card"] = model_card(estimator, bootstrap=metrics.get("bootstrap"))
    # Every report file is created fresh (written whole, renamed into place):
    # a link planted in the folder is replaced, its target never written.
    paths = {}
    paths["metrics_json"] = write_atomically(
        out / "metrics.json", (json.dumps(jsonable(metrics), indent=2) + "\n").encode(), through_link=False)
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["class", "precision", "recall", "f1", "support"])
    for name, row in metrics["per_class"].items():
        writer.writerow([name, row["precision"], row["recall"], row["f1"], row["support"]])
    paths["metrics_csv"] = write_atomically(out / "metrics.csv", table.getvalue().encode(), through_link=False)

    paths["predictions_csv"] = _write_predictions(out / "predictions.csv", y, y_pred, proba, classes,
                                                  filenames, groups)

    drawings = {
        "confusion_matrix": lambda: plots.plot_confusion_matrix(metrics),
        "roc_curves": lambda: plots.plot_roc_curves(None, None, y, proba=proba, classes=classes),
        "reliability": lambda: plots.plot_reliability(None, None, y, proba=proba, classes=classes),
    }
    history = getattr(cnn, "history_", None)
    if isinstance(history, dict) and history.get("loss"):
        drawings["history"] = lambda: plots.plot_history(history)
    drawings["samples"] = lambda: plots.plot_samples(
        X[shown], y[shown], y_pred[shown], class_names=display_names, n=len(shown)
    )
    if heatmaps is not None:
        drawings["grad_cam"] = lambda: plots.plot_grad_cam(
            X[shown], heatmaps, y_true=y[shown], y_pred=y_pred[shown], class_names=display_names,
            masks=None if masks is None else masks[shown], n=len(shown),
        )
    figures = {}
    # class names are text, not mathtext: a name like "$\foo{$" must not reach the TeX parser
    with matplotlib.rc_context({"figure.max_open_warning": 0, "text.parse_math": False}):
        for key, draw in drawings.items():
            figures[key] = plots.save_figure(draw(), out / f"{key}.png", close=True)
    paths.update(figures)
    paths["html"] = write_atomically(out / "report.html", _html(metrics, figures, title, extra_rows).encode(),
                                     through_link=False)
    return paths
