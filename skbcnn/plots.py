"""Figures for training, evaluation, preprocessing and explanations.

Every function draws with matplotlib (imported when the function runs),
takes an optional ``ax`` (one Axes, or a sequence of Axes for the
multi-panel figures) and returns what it drew on: the Axes for single-panel
plots, the :class:`~matplotlib.figure.Figure` for grids. Without ``ax`` a
new figure is made with :mod:`matplotlib.pyplot`, so the figures show in
notebooks; scripts should close them (:func:`save_figure` can).

This module does not import TensorFlow; the plots of a fitted estimator call
its ``predict_proba``.
"""

import io
from pathlib import Path

import numpy as np

from ._steps import final_step

__all__ = [
    "plot_history",
    "plot_confusion_matrix",
    "plot_roc_curves",
    "plot_reliability",
    "plot_samples",
    "plot_enhancement",
    "plot_augmentation",
    "plot_grad_cam",
    "save_figure",
]


# ----------------------------------------------------------------- helpers
def _axes(ax, figsize):
    """``ax`` or a new single Axes."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _grid(n_panels, ncols, ax, panel_size=1.6, title_lines=1):
    """``(figure, list of n_panels Axes)``: the given Axes or a new grid.

    A new grid uses matplotlib's constrained layout, with room above each
    panel for ``title_lines`` lines of 8-point title.
    """
    if ax is not None:
        axes = list(np.ravel(ax))
        if len(axes) < n_panels:
            raise ValueError(f"ax must hold at least {n_panels} Axes; got {len(axes)}.")
        for extra in axes[n_panels:]:
            extra.set_axis_off()
        return axes[0].figure, axes[:n_panels]
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, n_panels))
    nrows = int(np.ceil(n_panels / ncols))
    row_height = panel_size + 0.18 * title_lines + 0.1
    fig, grid = plt.subplots(
        nrows, ncols, figsize=(panel_size * ncols, row_height * nrows + 0.2), squeeze=False,
        layout="constrained",
    )
    axes = list(grid.ravel())
    for extra in axes[n_panels:]:
        extra.set_axis_off()
    return fig, axes[:n_panels]


def _tidy(fig):
    """Tight layout, unless the figure already has a layout engine (ours: constrained)."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()


def _show_image(ax, image, title=None, *, color=None):
    """Draw one grey or RGB image (uint8 on 0-255, [0, 1] floats on 0-1)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3:  # RGB: imshow wants [0, 1] floats or uint8
        if image.dtype != np.uint8:
            low, high = float(image.min()), float(image.max())
            image = (image - low) / (high - low) if high > low else np.zeros_like(image, dtype=float)
        ax.imshow(image)
    else:
        if image.dtype == np.uint8:
            vmin, vmax = 0, 255
        elif image.size and image.min() >= 0 and image.max() <= 1:
            vmin, vmax = 0, 1
        else:
            vmin = vmax = None
        ax.imshow(image, cmap="gray", vmin=vmin, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=8, **({} if color is None else {"color": color}))


def _as_history(history):
    """A ``history_`` dict from a dict, a fitted classifier or a pipeline."""
    if isinstance(history, dict):
        return history
    estimator = final_step(history)
    found = getattr(estimator, "history_", None)
    if found is None:  # a search, over a classifier or a pipeline
        found = getattr(final_step(getattr(estimator, "best_estimator_", None)), "history_", None)
    if not isinstance(found, dict):
        raise ValueError(
            f"plot_history needs a history dict or a fitted CNNClassifier / pipeline; "
            f"{type(history).__name__} has no history_."
        )
    return found


def _label_names(values, class_names):
    """Labels as display strings (int indices mapped through ``class_names``)."""
    values = np.asarray(values)
    if class_names is not None and values.dtype.kind in "iu":
        class_names = np.asarray(class_names)
        return [str(class_names[v]) for v in values]
    return [str(v) for v in values]


def _scores(estimator, X, proba, classes):
    """``(proba, classes)`` from the arguments, calling predict_proba if needed."""
    if proba is None:
        if estimator is None:
            raise ValueError("Pass a fitted estimator and X, or proba= and classes=.")
        proba = estimator.predict_proba(X)
    if classes is None:
        if estimator is None:
            raise ValueError("classes= is required with proba= and no estimator.")
        classes = estimator.classes_
    proba = np.asarray(proba, dtype=float)
    classes = np.asarray(classes)
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise ValueError(f"proba must have shape (n_samples, {len(classes)}); got {proba.shape}.")
    return proba, classes


# -------------------------------------------------------------- training
def _kept_epoch(history):
    """``kept_epoch_`` of a fitted classifier, pipeline or search (None for a dict)."""
    if isinstance(history, dict):
        return None
    estimator = final_step(history)
    if getattr(estimator, "history_", None) is None:
        estimator = final_step(getattr(estimator, "best_estimator_", None))
    return getattr(estimator, "kept_epoch_", None)


def plot_history(history, *, metrics=("loss", "accuracy"), kept_epoch=None, ax=None):
    """Training curves: each metric per epoch, training vs validation.

    A dotted vertical line marks the epoch whose weights the network kept
    (early stopping restores the epoch of the lowest ``val_loss``).

    Parameters
    ----------
    history : dict, fitted CNNClassifier or Pipeline ending in one
        ``history_`` (``{"loss": [...], "val_loss": [...], ...}``) or an
        estimator that has it (a fitted search's ``best_estimator_`` too).
    metrics : sequence of str, default=("loss", "accuracy")
        Metrics to draw, one panel each; those missing from the history are
        skipped.
    kept_epoch : int, optional
        The epoch (1-based) to mark as kept; default: the estimator's
        ``kept_epoch_`` (none for a dict).
    ax : sequence of matplotlib Axes, optional
        One Axes per drawn metric.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> from skbcnn.plots import plot_history
    >>> fig = plot_history({"loss": [0.9, 0.6, 0.5], "val_loss": [1.0, 0.8, 0.7],
    ...                     "accuracy": [0.5, 0.7, 0.8]})
    >>> [a.get_title() for a in fig.axes]
    ['loss', 'accuracy']
    """
    kept_epoch = _kept_epoch(history) if kept_epoch is None else kept_epoch
    history = _as_history(history)
    drawn = [m for m in metrics if history.get(m) or history.get(f"val_{m}")]
    if not drawn:
        raise ValueError(f"The history has none of the metrics {list(metrics)}; it has {sorted(history)}.")
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(drawn), figsize=(4.2 * len(drawn), 3.2), squeeze=False,
                                 layout="constrained")
        axes = list(axes.ravel())
    else:
        fig, axes = _grid(len(drawn), len(drawn), ax)
    for axis, metric in zip(axes, drawn):
        for key, label, style in ((metric, "training", "-"), (f"val_{metric}", "validation", "--")):
            values = history.get(key)
            if values:
                axis.plot(np.arange(1, len(values) + 1), values, style, marker="o", markersize=3, label=label)
        if kept_epoch is not None:
            axis.axvline(kept_epoch, color="grey", linestyle=":", label=f"kept (epoch {kept_epoch})")
        axis.set_title(metric)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    _tidy(fig)
    return fig


# ------------------------------------------------------------ evaluation
def plot_confusion_matrix(report, *, normalize=None, labels=None, cmap="Blues", colorbar=False, ax=None):
    """Confusion matrix as a heat map (rows: true class, columns: predicted).

    Parameters
    ----------
    report : dict or (y_true, y_pred)
        The dict of :func:`skbcnn.evaluation.evaluate` (its
        ``confusion_matrix`` and ``classes``) or a pair of label arrays.
    normalize : {"true", "pred", "all"} or None, default=None
        Show fractions over true classes (rows), predictions (columns) or
        all images instead of counts.
    labels : sequence, optional
        Class order for a ``(y_true, y_pred)`` pair.
    cmap : str, default="Blues"
        Colour map.
    colorbar : bool, default=False
        Draw a colour bar.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    ax : matplotlib Axes
        The heat map, one cell per (true, predicted) pair.

    Examples
    --------
    >>> from skbcnn.plots import plot_confusion_matrix
    >>> ax = plot_confusion_matrix((["a", "b", "b"], ["a", "b", "a"]))
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['a', 'b']
    """
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    if isinstance(report, dict):
        matrix = np.asarray(report["confusion_matrix"], dtype=float)
        names = [str(c) for c in report["classes"]]
    else:
        try:
            y_true, y_pred = report
        except (TypeError, ValueError):
            raise ValueError(
                "report must be the dict of skbcnn.evaluation.evaluate or a (y_true, y_pred) pair."
            ) from None
        if labels is None:
            labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
        matrix = confusion_matrix(y_true, y_pred, labels=labels).astype(float)
        names = [str(c) for c in labels]
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be 'true', 'pred', 'all' or None; got {normalize!r}.")
    if normalize is not None:
        axis = {"true": 1, "pred": 0, "all": None}[normalize]
        totals = matrix.sum(axis=axis, keepdims=axis is not None)
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = np.nan_to_num(matrix / totals)
    else:
        matrix = matrix.astype(int)
    ax = _axes(ax, (1.2 * len(names) + 2.2, 1.1 * len(names) + 1.8))
    display = ConfusionMatrixDisplay(matrix, display_labels=names)
    display.plot(ax=ax, cmap=cmap, colorbar=colorbar, values_format=".2f" if normalize else "d")
    ax.set_title("confusion matrix" + (f" (normalised over {normalize})" if normalize else ""))
    return ax


def plot_roc_curves(estimator, X, y, *, proba=None, classes=None, ax=None):
    """ROC curves, one-vs-rest per class (binary: the second class only).

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba`` and ``classes_``, or None
        None when ``proba`` and ``classes`` are given.
    X : array-like of images, or None
        Images to score.
    y : array-like of shape (n_samples,)
        True labels.
    proba : ndarray of shape (n_samples, n_classes), optional
        Precomputed ``predict_proba(X)``.
    classes : array-like, optional
        Column labels of ``proba`` (default ``estimator.classes_``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    ax : matplotlib Axes
        The curves, with their AUC in the legend, and the chance diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.plots import plot_roc_curves
    >>> y = np.array(["a", "b", "c", "a", "b", "c"])
    >>> proba = np.eye(3)[[0, 1, 2, 1, 1, 2]] * 0.7 + 0.1
    >>> ax = plot_roc_curves(None, None, y, proba=proba, classes=["a", "b", "c"])
    >>> len(ax.get_lines())  # three curves and the chance diagonal
    4
    """
    from sklearn.metrics import RocCurveDisplay, auc, roc_curve

    proba, classes = _scores(estimator, X, proba, classes)
    y = np.asarray(y)
    ax = _axes(ax, (4.6, 4.2))
    columns = [1] if len(classes) == 2 else range(len(classes))
    for j in columns:
        positive = y == classes[j]
        if positive.all() or not positive.any():
            continue  # ROC undefined without both classes
        fpr, tpr, _ = roc_curve(positive, proba[:, j])
        RocCurveDisplay(fpr=fpr, tpr=tpr, roc_auc=auc(fpr, tpr), name=str(classes[j])).plot(ax=ax)
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    ax.set_title("ROC curves" + (" (one-vs-rest)" if len(classes) > 2 else ""))
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_reliability(estimator, X, y, *, positive_class=None, n_bins=10, strategy="uniform",
                     proba=None, classes=None, ax=None):
    """Reliability diagram: predicted probability vs observed frequency.

    Draws scikit-learn's :class:`~sklearn.calibration.CalibrationDisplay`
    one-vs-rest for each class, or only for ``positive_class``. A calibrated
    model follows the diagonal.

    Parameters
    ----------
    estimator, X, y
        The classifier (or None with ``proba``), the images to score (or
        None) and their true labels, as for :func:`plot_roc_curves`.
    positive_class : label, optional
        Draw only this class. Default: every class (binary: the second).
    n_bins : int, default=10
        Probability bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Bin edges, as in ``calibration_curve``.
    proba, classes : optional
        Precomputed ``predict_proba(X)`` and its column labels.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    ax : matplotlib Axes
        The diagram, with one curve per class and the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.plots import plot_reliability
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=200)
    >>> y = np.where(rng.uniform(size=200) < p, "malignant", "benign")
    >>> ax = plot_reliability(None, None, y, proba=np.c_[1 - p, p],
    ...                       classes=["benign", "malignant"], n_bins=5)
    >>> ax.get_xlabel()
    'mean predicted probability'
    """
    from sklearn.calibration import CalibrationDisplay

    proba, classes = _scores(estimator, X, proba, classes)
    y = np.asarray(y)
    if positive_class is not None:
        matches = [j for j, c in enumerate(classes) if c == positive_class or str(c) == str(positive_class)]
        if not matches:
            raise ValueError(f"positive_class {positive_class!r} is not one of the classes {list(classes)}.")
        columns = matches[:1]
    else:
        columns = [1] if len(classes) == 2 else range(len(classes))
    ax = _axes(ax, (4.6, 4.2))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
    for j in columns:
        positive = y == classes[j]
        if not positive.any() or positive.all():
            continue
        CalibrationDisplay.from_predictions(
            positive, proba[:, j], n_bins=n_bins, strategy=strategy, pos_label=True,
            name=str(classes[j]), ref_line=False, ax=ax, marker="o", markersize=4,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title("reliability diagram")
    ax.legend(fontsize=8, loc="upper left")
    return ax


# ---------------------------------------------------------------- images
def plot_samples(images, y_true=None, y_pred=None, *, class_names=None, n=16, ncols=8,
                 random_state=None, ax=None):
    """A grid of images titled with their true (and predicted) class.

    Wrong predictions are titled in red.

    Parameters
    ----------
    images : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
        Images.
    y_true : array-like of shape (n_samples,), optional
        True labels (or int indices into ``class_names``).
    y_pred : array-like of shape (n_samples,), optional
        Predicted labels.
    class_names : sequence of str, optional
        Names for int labels.
    n : int, default=16
        Images shown (the first ``n``, or a random ``n`` with
        ``random_state``).
    ncols : int, default=8
        Grid columns.
    random_state : int or None, default=None
        Pick a random subset instead of the first ``n``.
    ax : sequence of matplotlib Axes, optional
        At least ``min(n, n_samples)`` Axes.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> from skbcnn.datasets import make_synthetic_ultrasound
    >>> from skbcnn.plots import plot_samples
    >>> data = make_synthetic_ultrasound(8, image_size=16, random_state=0)
    >>> fig = plot_samples(data.images, data.target, class_names=data.target_names)
    >>> len(fig.axes)
    8
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must have shape (n_samples, H, W[, C]); got {images.shape}.")
    count = min(int(n), len(images))
    if random_state is None:
        rows = np.arange(count)
    else:
        rows = np.sort(np.random.default_rng(random_state).choice(len(images), count, replace=False))
    true_names = None if y_true is None else _label_names(np.asarray(y_true)[rows], class_names)
    pred_names = None if y_pred is None else _label_names(np.asarray(y_pred)[rows], class_names)
    fig, axes = _grid(count, ncols, ax, title_lines=2 if y_true is not None and y_pred is not None else 1)
    for k, (axis, row) in enumerate(zip(axes, rows)):
        title, color = None, None
        if true_names is not None and pred_names is not None:
            title = f"{true_names[k]}\n→ {pred_names[k]}"
            color = "black" if true_names[k] == pred_names[k] else "red"
        elif true_names is not None:
            title = true_names[k]
        elif pred_names is not None:
            title = f"→ {pred_names[k]}"
        _show_image(axis, images[row], title, color=color)
    _tidy(fig)
    return fig


def _named_transformers(transformers):
    """``(cumulative, [(name, transformer), ...])`` from the accepted forms."""
    from sklearn.pipeline import Pipeline

    if isinstance(transformers, Pipeline):
        return True, list(transformers.steps)
    if isinstance(transformers, dict):
        return False, list(transformers.items())
    if hasattr(transformers, "transform"):
        return False, [(type(transformers).__name__, transformers)]
    items = list(transformers)
    return False, [(type(t).__name__, t) for t in items]


def _apply(transformer, batch):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    if transformer is None or transformer == "passthrough":
        return batch
    try:
        return transformer.transform(batch)
    except NotFittedError:
        return clone(transformer).fit(batch).transform(batch)


def plot_enhancement(image, transformers, *, ax=None):
    """Before/after strip: an image and its enhanced versions.

    Parameters
    ----------
    image : array-like of shape (H, W) or (H, W, C)
        One image.
    transformers : transformer, list, dict or Pipeline
        Image transformers (e.g. :class:`skbcnn.enhancement.ContrastEnhancer`).
        A transformer, a list or a ``{title: transformer}`` dict: each is
        applied to the original image (to compare methods). A
        :class:`~sklearn.pipeline.Pipeline` (only image-to-image steps):
        the steps are applied one after the other and each stage is shown.
        Unfitted transformers are fitted on the image (a clone).
    ax : sequence of matplotlib Axes, optional
        One more than the number of transformers.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The original image, then one panel per transformer or stage.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skbcnn.plots import plot_enhancement
    >>> image = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
    >>> fig = plot_enhancement(image, {"inverted": FunctionTransformer(lambda X: 255 - X)})
    >>> [a.get_title() for a in fig.axes]
    ['original', 'inverted']
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3, 4)):
        raise ValueError(
            f"image must be one image of shape (H, W) or (H, W, C) with 1, 3 or 4 channels; "
            f"got {image.shape}."
        )
    cumulative, named = _named_transformers(transformers)
    if not named:
        raise ValueError("transformers is empty.")
    panels = [("original", image)]
    current = image[np.newaxis]
    for name, transformer in named:
        out = _apply(transformer, current if cumulative else image[np.newaxis])
        if cumulative:
            current = out
        panels.append((name, np.asarray(out)[0]))
    fig, axes = _grid(len(panels), len(panels), ax, panel_size=2.2)
    for axis, (name, picture) in zip(axes, panels):
        _show_image(axis, picture, name)
    _tidy(fig)
    return fig


def plot_augmentation(augmenter, image, n=8, *, random_state=0, ncols=None, ax=None):
    """The original image and ``n`` random augmentations of it.

    Parameters
    ----------
    augmenter : skbcnn.augmentation.ImageAugmenter
        Anything with ``preview(image, n_variants, random_state)``.
    image : array-like of shape (H, W) or (H, W, C)
        One image.
    n : int, default=8
        Number of variants.
    random_state : int or None, default=0
        Randomness of the variants.
    ncols : int, optional
        Grid columns (default: all in one row up to 9 panels).
    ax : sequence of matplotlib Axes, optional
        ``n + 1`` Axes.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.augmentation import ImageAugmenter
    >>> from skbcnn.plots import plot_augmentation
    >>> image = np.random.default_rng(0).uniform(size=(16, 16))
    >>> fig = plot_augmentation(ImageAugmenter(rotation=20), image, n=3)
    >>> len(fig.axes)
    4
    """
    if not hasattr(augmenter, "preview"):
        raise ValueError(
            f"augmenter must have a preview(image, n_variants, random_state) method "
            f"(skbcnn.augmentation.ImageAugmenter); got {type(augmenter).__name__}."
        )
    image = np.asarray(image)
    variants = np.asarray(augmenter.preview(image, n_variants=n, random_state=random_state))
    ncols = ncols or min(n + 1, 9)
    fig, axes = _grid(n + 1, ncols, ax)
    _show_image(axes[0], image, "original")
    for k, (axis, variant) in enumerate(zip(axes[1:], variants), start=1):
        _show_image(axis, variant, f"#{k}")
    _tidy(fig)
    return fig


def plot_grad_cam(images, heatmaps, *, y_true=None, y_pred=None, class_names=None, masks=None,
                  alpha=0.45, cmap="jet", n=16, ncols=8, colorbar=True, ax=None):
    """Grad-CAM heat maps over their images.

    Parameters
    ----------
    images : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
        Images.
    heatmaps : array-like of shape (n_samples, H, W)
        Maps in ``[0, 1]``, e.g. from :func:`skbcnn.explain.grad_cam`.
    y_true, y_pred : array-like of shape (n_samples,), optional
        Labels for the titles (int indices map through ``class_names``).
    class_names : sequence of str, optional
        Names for int labels.
    masks : array-like of bool of shape (n_samples, H, W), optional
        Lesion masks, drawn as white outlines.
    alpha : float, default=0.45
        Opacity of the heat map.
    cmap : str, default="jet"
        Heat map colour map.
    n : int, default=16
        Images shown (the first ``n``).
    ncols : int, default=8
        Grid columns.
    colorbar : bool, default=True
        Draw one colour bar for all panels (0: no contribution to the
        predicted class's score, 1: the largest in that image).
    ax : sequence of matplotlib Axes, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        Its ``axes`` are the image panels, then the colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.plots import plot_grad_cam
    >>> images = np.zeros((2, 16, 16), np.uint8)
    >>> heat = np.random.default_rng(0).uniform(size=(2, 16, 16))
    >>> fig = plot_grad_cam(images, heat, y_true=["benign", "normal"])
    >>> len(fig.axes)  # two panels and the colour bar
    3
    """
    images = np.asarray(images)
    heatmaps = np.asarray(heatmaps, dtype=float)
    if images.ndim not in (3, 4) or heatmaps.ndim != 3 or heatmaps.shape != images.shape[:3]:
        raise ValueError(
            f"heatmaps must have shape (n_samples, H, W) matching the images; got images "
            f"{images.shape} and heatmaps {heatmaps.shape}."
        )
    count = min(int(n), len(images))
    true_names = None if y_true is None else _label_names(np.asarray(y_true)[:count], class_names)
    pred_names = None if y_pred is None else _label_names(np.asarray(y_pred)[:count], class_names)
    fig, axes = _grid(count, ncols, ax, title_lines=(true_names is not None) + (pred_names is not None))
    mappable = None
    for k, axis in enumerate(axes):
        parts = []
        if true_names is not None:
            parts.append(true_names[k])
        if pred_names is not None:
            parts.append(f"→ {pred_names[k]}")
        wrong = true_names is not None and pred_names is not None and true_names[k] != pred_names[k]
        _show_image(axis, images[k], "\n".join(parts) or None, color="red" if wrong else None)
        mappable = axis.imshow(heatmaps[k], cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        if masks is not None and np.asarray(masks[k]).any():
            axis.contour(np.asarray(masks[k]).astype(float), levels=[0.5], colors="white", linewidths=0.8)
    if colorbar and mappable is not None:
        import matplotlib as mpl

        # the bar shows the colour map opaque: the overlay is the same colours, blended with the image
        bar = fig.colorbar(mpl.cm.ScalarMappable(norm=mappable.norm, cmap=mappable.get_cmap()), ax=axes,
                           shrink=0.9 if len(axes) > ncols else 1.0, aspect=30, pad=0.01)
        bar.set_label("Grad-CAM (relative)", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    _tidy(fig)
    return fig


def save_figure(fig, path, *, dpi=100, close=False):
    """Save a figure (or the figure of an Axes) as an image file.

    Parameters
    ----------
    fig : matplotlib Figure, Axes or sequence of Axes
        What the plotting functions return.
    path : str or path-like
        Destination; the format follows the extension (``.png``, ``.pdf``,
        ``.svg``). Missing parent folders are created. The file is created
        fresh (written whole, then renamed into place): a file or symbolic
        link already at ``path`` is replaced, never written through.
    dpi : int, default=100
        Resolution of raster formats.
    close : bool, default=False
        Close the figure afterwards (frees memory in scripts).

    Returns
    -------
    path : pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skbcnn.plots import plot_history, save_figure
    >>> fig = plot_history({"loss": [1.0, 0.5]})
    >>> save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "h.png", close=True).suffix
    '.png'
    """
    if not hasattr(fig, "savefig"):
        first = np.ravel(fig)[0] if not hasattr(fig, "figure") else fig
        fig = first.figure
    from .persistence import write_atomically

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # rendered in memory, then written as a new file: a link planted at
    # ``path`` is replaced, its target never overwritten
    rendered = io.BytesIO()
    fig.savefig(rendered, format=path.suffix[1:].lower() or None, dpi=dpi, bbox_inches="tight")
    write_atomically(path, rendered.getvalue(), through_link=False)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path
