"""Input checks shared by every estimator: one place, one set of messages.

Images are numpy arrays of shape ``(n_samples, height, width)`` (grey) or
``(n_samples, height, width, channels)``. These helpers never modify their
input: callers that need to write get a fresh array.
"""

from numbers import Integral, Real

import numpy as np

__all__ = ["check_images", "as_float_images", "check_image_shape"]


def check_images(X, *, name="X", allow_nan=False):
    """Validate a batch of images and return it as a numpy array.

    Parameters
    ----------
    X : array-like of shape (n_samples, height, width[, channels])
        Images. A list of equally shaped 2-D or 3-D arrays is stacked.
    name : str, default="X"
        Name used in error messages.
    allow_nan : bool, default=False
        Accept NaN and infinite pixels.

    Returns
    -------
    images : ndarray
        The images, not copied when ``X`` already was a numeric ndarray.
        Boolean images are converted to ``float32`` 0.0/1.0 (the
        scikit-image convention: ``True`` is full intensity).

    Raises
    ------
    ValueError
        On wrong dimensionality, no images, zero-size images, images of
        mixed shapes, non-numeric data, non-finite pixels or float pixels
        beyond the float32 range (every estimator computes in float32).
    """
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a sparse matrix; images must be a dense array.")
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise ValueError(f"{name} contains no images (got an empty list).")
        shapes = {np.shape(image) for image in X}
        if len(shapes) > 1:
            raise ValueError(
                f"{name} mixes images of different shapes {sorted(shapes)[:4]}; "
                "resize them to a common size first (skbcnn.enhancement.Resizer "
                "or the loaders' image_size)."
            )
    try:
        images = np.asarray(X)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} could not be read as an array of images: {exc}") from exc
    if images.dtype == bool:
        # float 0/1, not uint8 0/1: integer images are later scaled by their
        # dtype's range, which would turn True into 1/255.
        images = images.astype(np.float32)
    if images.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} must hold real-valued pixels.")
    if images.dtype.kind not in "uif":
        raise ValueError(
            f"{name} must hold numeric pixels; got dtype {images.dtype}."
        )
    if images.ndim not in (3, 4):
        raise ValueError(
            f"{name} must have shape (n_samples, height, width) or "
            f"(n_samples, height, width, channels); got an array with "
            f"{images.ndim} dimension(s) of shape {images.shape}."
        )
    if images.shape[0] == 0:
        raise ValueError(f"{name} contains no images (shape {images.shape}).")
    if min(images.shape[1:]) == 0:
        raise ValueError(f"{name} has zero-size images (shape {images.shape}).")
    if not allow_nan and images.dtype.kind == "f" and not np.isfinite(images).all():
        n_bad = int(images.shape[0] - np.isfinite(images).reshape(len(images), -1).all(axis=1).sum())
        raise ValueError(
            f"{name} contains NaN or infinite pixels in {n_bad} image(s); "
            "clean or drop them before fitting or predicting."
        )
    if images.dtype.kind == "f" and images.dtype.itemsize > 4:
        # float64 pixels beyond float32's range would silently become inf
        # in the float32 conversion every estimator does.
        limit = np.finfo(np.float32).max
        if images.max() > limit or images.min() < -limit:  # no |x| temporary
            raise ValueError(
                f"{name} has pixel values beyond the float32 range (|x| > {limit:.3g}); "
                "rescale the images first."
            )
    return images


def as_float_images(images):
    """Return images as float32 without touching the input.

    Integer images are scaled to ``[0, 1]`` by their dtype's range (the
    scikit-image convention, ``skimage.util.img_as_float32``); floating
    images keep their values.
    """
    if images.dtype.kind in "ui":
        from skimage.util import img_as_float32

        return img_as_float32(images)
    return images.astype(np.float32, copy=True)


def check_image_shape(estimator, images, *, reset):
    """Record (``reset=True``) or check the per-image shape seen in ``fit``.

    Sets ``estimator.image_shape_`` and ``estimator.n_features_in_`` (pixels
    times channels of one image) in ``fit``; later calls must match.
    """
    shape = tuple(int(s) for s in images.shape[1:])
    if reset:
        estimator.image_shape_ = shape
        estimator.n_features_in_ = int(np.prod(shape))
        return
    expected = getattr(estimator, "image_shape_", None)
    if expected is not None and shape != tuple(expected):
        raise ValueError(
            f"{type(estimator).__name__} was fitted on images of shape "
            f"{tuple(expected)} but got images of shape {shape}."
        )


def check_scalar_in_range(value, name, *, low=None, high=None, low_inclusive=True,
                          high_inclusive=True, integer=False):
    """Raise a ``ValueError`` naming ``name`` when ``value`` is out of range."""
    kind = Integral if integer else Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {what}; got {value!r}.")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        brackets = ("[" if low_inclusive else "(") + f"{lo}, {hi}" + ("]" if high_inclusive else ")")
        raise ValueError(f"{name} must be in {brackets}; got {value!r}.")
    return value
