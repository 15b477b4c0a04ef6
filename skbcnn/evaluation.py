"""Metrics of a fitted classifier on labelled images, as a dict and a table."""

import warnings

import numpy as np
from sklearn import metrics

__all__ = ["evaluate", "format_report"]


def evaluate(estimator, X, y, *, positive_class=None):
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
    ['accuracy', 'balanced_accuracy', 'brier_score', 'classes']
    """
    y = np.asarray(y)
    classes = np.asarray(estimator.classes_)
    unknown = np.setdiff1d(np.unique(y), classes)
    if unknown.size:
        raise ValueError(
            f"y contains labels the model was not trained on: {unknown.tolist()}; "
            f"its classes are {classes.tolist()}."
        )
    proba = estimator.predict_proba(X)
    y_pred = classes[np.argmax(proba, axis=1)]
    if positive_class is None:
        names = [str(c) for c in classes]
        positive_class = classes[names.index("malignant")] if "malignant" in names else classes[-1]
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
    }


def _balanced_accuracy(y, y_pred):
    with warnings.catch_warnings():
        # one class in y and y_pred: scikit-learn's hint to pass labels (this metric takes none)
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        return float(metrics.balanced_accuracy_score(y, y_pred))


def _brier_note(classes, report):
    if len(classes) > 2:
        return "  (multiclass: squared errors summed over classes, 0 to 2)"
    return f"  (class {classes[-1]})" if len(classes) == 2 else ""


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
    lines = [
        f"images             {report['n_samples']}",
        f"accuracy           {report['accuracy']:.3f}",
        f"balanced accuracy  {report['balanced_accuracy']:.3f}",
        f"ROC AUC            {report['roc_auc']:.3f}" + ("  (macro one-vs-rest)" if len(classes) > 2 else ""),
        f"log loss           {report['log_loss']:.3f}",
        f"Brier score        {report['brier_score']:.3f}" + _brier_note(classes, report),
        f"sensitivity        {report['sensitivity']:.3f}  (class {report['positive_class']})",
        f"specificity        {report['specificity']:.3f}",
        "",
        "class".ljust(width) + "precision  recall     f1  support",
    ]
    for name in classes:
        row = report["per_class"][name]
        lines.append(
            name.ljust(width)
            + f"{row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:6.3f} {row['support']:8d}"
        )
    for key, label in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")):
        if key in report:
            row = report[key]
            lines.append(label.ljust(width) + f"{row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:6.3f} "
                         f"{row['support']:8d}")
    lines += ["", "confusion matrix (rows: true, columns: predicted)"]
    lines.append(" " * width + "".join(c[:10].rjust(11) for c in classes))
    for name, row in zip(classes, report["confusion_matrix"]):
        lines.append(name.ljust(width) + "".join(f"{v:11d}" for v in row))
    return "\n".join(lines)
