"""Metrics of a fitted classifier on labelled images, as a dict and a table."""

import warnings

import numpy as np
from sklearn import metrics

from ._validation import check_class

__all__ = ["evaluate", "format_report"]


def _benign_malignant_pair(classes):
    """Column indices ``(benign, malignant)`` when a model with more than two
    classes has both (BUSI's three classes), else None."""
    names = [str(c) for c in classes]
    if len(names) > 2 and "benign" in names and "malignant" in names:
        return names.index("benign"), names.index("malignant")
    return None


def evaluate(estimator, X, y, *, positive_class=None, groups=None, n_resamples=1000,
             confidence_level=0.95, random_state=0):
    """Score a fitted classifier (or pipeline) on images ``X`` with labels ``y``.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba`` and ``classes_``
        E.g. the pipeline of :func:`skbcnn.make_cnn_pipeline`.
    X : array-like of shape (n_samples, H, W[, C])
        Images.
    y : array-like of shape (n_samples,)
        True labels.
    positive_class : label, optional
        The class whose sensitivity/specificity is reported (the malignant
        class). Default: ``"malignant"`` when it is a class, else the last.
        Any other value must name a class of the model (its text is
        enough: ``"1"`` names the class ``1``), or a ``ValueError`` lists
        the classes.
    groups : array-like of shape (n_samples,), optional
        Group of each image (patient, near-duplicate group from
        :func:`skbcnn.datasets.group_near_duplicates`): the bootstrap then
        draws whole groups, since images of one group are not independent.
        Default: every image is its own group.
    n_resamples : int, default=1000
        Bootstrap resamples for the confidence intervals; 0 computes none.
    confidence_level : float, default=0.95
        Coverage of the intervals.
    random_state : int, default=0
        Seed of the bootstrap: the same call gives the same intervals.

    Returns
    -------
    report : dict
        ``accuracy``, ``balanced_accuracy``, ``roc_auc`` (binary, or macro
        one-vs-rest), ``log_loss``, ``brier_score``
        (:func:`sklearn.metrics.brier_score_loss`: for two classes the mean
        squared error of the second class's probability, 0 to 1; for more,
        the mean over images of the squared errors summed over classes,
        0 to 2), ``sensitivity`` and ``specificity`` of ``positive_class``,
        ``per_class`` (precision/recall/F1/support, from
        :func:`sklearn.metrics.classification_report`), ``macro_avg`` and
        ``weighted_avg`` (the same averaged over classes),
        ``confusion_matrix`` (rows true, columns predicted), ``classes``,
        ``predicted_classes`` (how many images were predicted as each class)
        and ``warnings`` (messages, also issued as :class:`UserWarning`).
        With more than two classes among which ``benign`` and ``malignant``
        (BUSI), also ``benign_malignant_auc``: the ROC AUC of the benign and
        malignant images only (normal left out), scored on
        p(malignant) / (p(benign) + p(malignant)); the easy normal class
        lifts the macro one-vs-rest ``roc_auc``. With ``n_resamples > 0``,
        ``intervals`` holds a ``[low, high]`` percentile bootstrap interval
        of every metric above (per class: ``{metric: {class: [low,
        high]}}``) and ``bootstrap`` how it was drawn (``unit`` "image" or
        "group", ``n_units``, ``n_resamples``, ``confidence_level``,
        ``method``, ``random_state``).

    Warns
    -----
    UserWarning
        When the model predicts one class for every image although ``y``
        holds several: it does not separate the classes.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skbcnn.datasets import make_synthetic_ultrasound
    >>> X, y = make_synthetic_ultrasound(90, image_size=16, random_state=0,
    ...                                  return_X_y=True)
    >>> flat = FunctionTransformer(lambda images: images.reshape(len(images), -1) / 255)
    >>> model = make_pipeline(flat, LogisticRegression()).fit(X, y)
    >>> report = evaluate(model, X, y)
    >>> sorted(report)[:4]
    ['accuracy', 'balanced_accuracy', 'bootstrap', 'brier_score']
    >>> low, high = report["intervals"]["accuracy"]
    >>> bool(low <= report["accuracy"] <= high), report["bootstrap"]["n_resamples"]
    (True, 1000)
    """
    y = np.asarray(y)
    classes = np.asarray(estimator.classes_)
    unknown = np.setdiff1d(np.unique(y), classes)
    if unknown.size:
        raise ValueError(
            f"y contains labels the model was not trained on: {unknown.tolist()}; "
            f"its classes are {classes.tolist()}."
        )
    if positive_class is None:
        names = [str(c) for c in classes]
        positive_class = classes[names.index("malignant")] if "malignant" in names else classes[-1]
    else:
        positive_class = check_class(positive_class, classes)
    n_resamples = _check_bootstrap(n_resamples, confidence_level, groups, len(y))
    proba = np.asarray(estimator.predict_proba(X)).reshape(len(y), -1)
    if proba.dtype.kind != "f":
        proba = proba.astype(float)  # keep float32: scikit-learn checks the sums at that dtype's precision
    y_pred = classes[np.argmax(proba, axis=1)]
    onehot = (y[:, None] == classes[None, :]).astype(float)
    present = onehot.sum(axis=0) > 0
    if len(classes) == 2:
        roc_auc = metrics.roc_auc_score(onehot[:, 1], proba[:, 1]) if present.all() else float("nan")
    elif present.all():
        roc_auc = metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
    else:
        roc_auc = float("nan")
    positive = y == positive_class
    predicted_positive = y_pred == positive_class
    names = [str(c) for c in classes]
    table = metrics.classification_report(
        y, y_pred, labels=classes, target_names=names, output_dict=True, zero_division=0
    )

    def row(entry):
        return {"precision": float(entry["precision"]), "recall": float(entry["recall"]),
                "f1": float(entry["f1-score"]), "support": int(entry["support"])}

    messages = []
    predicted, counts = np.unique(y_pred, return_counts=True)
    if len(predicted) == 1 and len(np.unique(y)) > 1:
        only = predicted[0].item() if hasattr(predicted[0], "item") else predicted[0]
        messages.append(
            f"the model predicted {only!r} for all {len(y)} images: it does not separate the classes "
            "(too few epochs, too little or too imbalanced training data, or images unlike its training images)."
        )
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=2)
    pair = _benign_malignant_pair(classes)
    extra = {}
    if pair is not None:
        extra["benign_malignant_auc"] = _benign_malignant_auc(y, proba, classes, pair)
    if n_resamples:
        from ._bootstrap import bootstrap_intervals

        truth = onehot.argmax(axis=1)  # class index of each image
        extra["intervals"], extra["bootstrap"] = bootstrap_intervals(
            truth, np.argmax(proba, axis=1), proba, class_names=names,
            positive_index=int(np.flatnonzero(classes == positive_class)[0]), benign_malignant=pair,
            groups=groups, n_resamples=n_resamples, confidence_level=confidence_level,
            random_state=random_state,
        )
    return {
        "n_samples": int(len(y)),
        "classes": [c.item() if hasattr(c, "item") else c for c in classes],
        "accuracy": float(metrics.accuracy_score(y, y_pred)),
        "balanced_accuracy": _balanced_accuracy(y, y_pred),
        "roc_auc": float(roc_auc),
        "log_loss": float(metrics.log_loss(y, proba, labels=classes)),
        "brier_score": float(metrics.brier_score_loss(y, proba, labels=classes)),
        "positive_class": positive_class.item() if hasattr(positive_class, "item") else positive_class,
        "sensitivity": _ratio(np.sum(positive & predicted_positive), np.sum(positive)),
        "specificity": _ratio(np.sum(~positive & ~predicted_positive), np.sum(~positive)),
        "per_class": {name: row(table[name]) for name in names},
        "macro_avg": row(table["macro avg"]),
        "weighted_avg": row(table["weighted avg"]),
        "confusion_matrix": metrics.confusion_matrix(y, y_pred, labels=classes).tolist(),
        "predicted_classes": {str(c): int(n) for c, n in zip(predicted, counts)},
        "warnings": messages,
        **extra,
    }


def _benign_malignant_auc(y, proba, classes, pair):
    """Benign vs malignant only: the AUC the normal class cannot lift."""
    from ._bootstrap import malignant_share

    benign, malignant = pair
    keep = (y == classes[benign]) | (y == classes[malignant])
    is_malignant = y[keep] == classes[malignant]
    if is_malignant.all() or not is_malignant.any():
        return float("nan")
    return float(metrics.roc_auc_score(is_malignant, malignant_share(proba[keep], benign, malignant)))


def _check_bootstrap(n_resamples, confidence_level, groups, n_samples):
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 0:
        raise ValueError(f"n_resamples must be a non-negative integer (0: no intervals); got {n_resamples!r}.")
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must be between 0 and 1 (e.g. 0.95); got {confidence_level!r}.")
    if groups is not None and len(groups) != n_samples:
        raise ValueError(f"groups must give one group per image: {n_samples} images, {len(groups)} groups.")
    return int(n_resamples) if n_samples else 0


def _balanced_accuracy(y, y_pred):
    with warnings.catch_warnings():
        # one class in y and y_pred: scikit-learn's hint to pass labels (this metric takes none)
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        return float(metrics.balanced_accuracy_score(y, y_pred))


def _brier_note(classes, report):
    if len(classes) > 2:
        return "  (multiclass: squared errors summed over classes, 0 to 2)"
    return f"  (class {classes[-1]})" if len(classes) == 2 else ""


def _number(value, digits=3):
    """A metric as text; undefined (None or NaN, e.g. read back from JSON) as n/a."""
    if value is None or value != value:
        return "n/a"
    return f"{value:.{digits}f}"


def _bounds(interval, digits=3):
    if not interval:
        return ""
    return f"[{_number(interval[0], digits)}, {_number(interval[1], digits)}]"


def _ci(intervals, key):
    return "  " + _bounds(intervals[key]) if intervals.get(key) else ""


def _ratio(numerator, denominator):
    return float(numerator / denominator) if denominator else float("nan")


def format_report(report):
    """Render :func:`evaluate`'s dict as a plain-text table.

    Parameters
    ----------
    report : dict
        Output of :func:`evaluate`.

    Returns
    -------
    text : str
        Summary metrics, per-class table and confusion matrix.

    Examples
    --------
    The report of a chance-level baseline, which guesses classes at their
    training frequencies without looking at the images:

    >>> from sklearn.dummy import DummyClassifier
    >>> from skbcnn.datasets import make_synthetic_ultrasound
    >>> X, y = make_synthetic_ultrasound(60, image_size=16, random_state=0, return_X_y=True)
    >>> chance = DummyClassifier(strategy="stratified", random_state=0).fit(X, y)
    >>> print(format_report(evaluate(chance, X, y)))  # doctest: +ELLIPSIS
    images             60
    accuracy           ...
    """
    classes = [str(c) for c in report["classes"]]
    width = max(12, *(len(c) for c in classes)) + 2
    ci = report.get("intervals") or {}
    lines = [
        f"images             {report['n_samples']}",
        f"accuracy           {report['accuracy']:.3f}" + _ci(ci, "accuracy"),
        f"balanced accuracy  {report['balanced_accuracy']:.3f}" + _ci(ci, "balanced_accuracy"),
        f"ROC AUC            {report['roc_auc']:.3f}" + _ci(ci, "roc_auc")
        + ("  (macro one-vs-rest)" if len(classes) > 2 else ""),
    ]
    if "benign_malignant_auc" in report:
        lines.append(f"benign-malignant   {_number(report['benign_malignant_auc'])}"
                     + _ci(ci, "benign_malignant_auc") + "  (ROC AUC, normal images left out)")
    lines += [
        f"log loss           {report['log_loss']:.3f}" + _ci(ci, "log_loss"),
        f"Brier score        {report['brier_score']:.3f}" + _ci(ci, "brier_score") + _brier_note(classes, report),
        f"sensitivity        {report['sensitivity']:.3f}" + _ci(ci, "sensitivity")
        + f"  (class {report['positive_class']})",
        f"specificity        {report['specificity']:.3f}" + _ci(ci, "specificity"),
    ]
    if ci:
        boot = report["bootstrap"]
        lines.append(f"[low, high]: {100 * boot['confidence_level']:g} % intervals, percentile bootstrap of "
                     f"{boot['n_resamples']} resamples over {boot['n_units']} {boot['unit']}s "
                     f"(seed {boot['random_state']})")
    lines.append("")
    # with intervals each cell reads "0.800 [0.62, 0.93]"
    cell = 19 if ci else None
    if cell:
        lines.append("class".ljust(width) + "".join(h.rjust(cell) for h in ("precision", "recall", "f1"))
                     + "  support")
    else:
        lines.append("class".ljust(width) + "precision  recall     f1  support")
    rows = [(name, report["per_class"][name], {m: (ci.get("per_class", {}).get(m) or {}).get(name)
                                               for m in ("precision", "recall", "f1")}) for name in classes]
    rows += [(label, report[key], ci.get(key) or {})
             for key, label in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")) if key in report]
    for name, row, bounds in rows:
        if cell:
            lines.append(name.ljust(width) + "".join(
                (f"{_number(row[m])} " + _bounds(bounds.get(m), 2)).rjust(cell) for m in ("precision", "recall", "f1"))
                + f"{row['support']:9d}")
        else:
            lines.append(name.ljust(width) + f"{row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:6.3f} "
                         f"{row['support']:8d}")
    lines += ["", "confusion matrix (rows: true, columns: predicted)"]
    lines.append(" " * width + "".join(c[:10].rjust(11) for c in classes))
    for name, row in zip(classes, report["confusion_matrix"]):
        lines.append(name.ljust(width) + "".join(f"{v:11d}" for v in row))
    return "\n".join(lines)
