"""Input and parameter checks shared by every estimator: one place, one set
of messages.

Parameters are declared in each estimator's ``_parameter_constraints`` with
the worded constraints below (:class:`Range`, :class:`OneOf`,
:class:`InstanceOf`, :class:`Pair`) and checked by :func:`validate_params`; function
arguments go through :func:`check_param`. Every message reads
``"<name> must be <what>; got <value>."``.

Images are numpy arrays of shape ``(n_samples, height, width)`` (grey) or
``(n_samples, height, width, channels)``. These helpers never modify their
input: callers that need to write get a fresh array.
"""

import difflib
import os
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    make_constraint,
)

__all__ = [
    "check_images",
    "as_float_images",
    "check_image_shape",
    "Range",
    "OneOf",
    "InstanceOf",
    "Pair",
    "INT",
    "POSITIVE_INT",
    "BOOLEAN",
    "check_param",
    "validate_params",
    "param_error",
    "check_class",
    "closest_name",
]


def refuse_paths(X, *, name="X"):
    """Refuse a path or a list of paths given where images are expected, naming the loaders.

    Examples
    --------
    >>> from skbcnn._validation import refuse_paths
    >>> refuse_paths("data/busi")
    Traceback (most recent call last):
    ...
    ValueError: X is a path (or a list of paths), not images. Load them first: ...
    """
    paths = isinstance(X, (str, os.PathLike)) or (
        isinstance(X, (list, tuple, np.ndarray)) and len(X) > 0
        and all(isinstance(x, (str, os.PathLike)) for x in X))
    if paths:
        raise ValueError(
            f"{name} is a path (or a list of paths), not images. Load them first: "
            "skbcnn.datasets.load_image_folder(path) for a folder of class folders (load_busi for BUSI), "
            "skbcnn.datasets.load_images(paths) for image files to predict.")


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
    refuse_paths(X, name=name)
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


# ------------------------------------------------------------ parameters
# Every estimator declares its parameters in ``_parameter_constraints`` with
# scikit-learn's constraint classes. The subclasses below word each
# constraint the way skbcnn's messages read ("epochs must be a positive
# integer; got 0."); subclasses of scikit-learn's own classes, so that
# scikit-learn's tools accept skbcnn's constraints.
class Worded:
    """Mixin: the constraint as skbcnn's error messages state it."""

    words = ""

    def describe(self, value):
        """What the constraint asks for, worded for the refused ``value``."""
        return self.words

    def __str__(self):
        return self.words


def _bounds(left, right, closed):
    # An unbounded side reads "-inf" or "inf" with a closed bracket, as
    # skbcnn's range messages always have: "sigma must be in (0, inf]".
    low = "[" if left is None or closed in ("left", "both") else "("
    high = "]" if right is None or closed in ("right", "both") else ")"
    return f"{low}{'-inf' if left is None else left}, {'inf' if right is None else right}{high}"


class Range(Worded, Interval):
    """A number in an interval; never a boolean (``True`` is an ``Integral``).

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real}
        Integers only, or any real number.
    left, right : number or None
        The bounds; ``None`` leaves that side unbounded.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    words : str, optional
        How messages state the constraint. Default: ``"an integer"`` or
        ``"a number"`` for a value of the wrong type, ``"in [left, right]"``
        (with the interval's brackets) for one out of range.

    Examples
    --------
    >>> from numbers import Real
    >>> check_param("clip_limit", 0, [Range(Real, 0, 1, closed="right")])
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: clip_limit must be in (0, 1]; got 0.
    """

    def __init__(self, type, left, right, *, closed, words=None):
        super().__init__(type, left, right, closed=closed)
        self._interval = "in " + _bounds(left, right, closed)
        self._kind = "an integer" if type is Integral else "a number"
        self.words = words or f"{self._kind} {self._interval}"

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)

    def describe(self, value):
        if self.words != f"{self._kind} {self._interval}":  # worded by the caller
            return self.words
        # A number of the right type is out of range; anything else is the wrong type.
        right_type = isinstance(value, self.type) and not isinstance(value, (bool, np.bool_))
        return self._interval if right_type else self._kind


class OneOf(Worded, Options):
    """One of a few values of ``type``.

    Parameters
    ----------
    options : iterable
        The valid values.
    type : type or tuple of types, default=str
        Only instances of ``type`` are valid, so that ``1`` does not pass
        for ``True``.
    casefold : bool, default=False
        Ignore the case of a string value (``options`` are written in
        lower case).
    words : str, optional
        How messages state the constraint; default ``"one of [...]"`` with
        the sorted options.

    Examples
    --------
    >>> OneOf({"adam", "sgd"}, casefold=True).is_satisfied_by("Adam")
    True
    """

    def __init__(self, options, *, type=str, casefold=False, words=None):
        super().__init__(type, set(options))
        self.casefold = casefold
        self.words = words or f"one of {sorted(options)}"

    def is_satisfied_by(self, val):
        if self.casefold and isinstance(val, str):
            val = val.lower()
        return super().is_satisfied_by(val)


class InstanceOf(Worded, Options):
    """Any instance of ``type`` that is not an instance of ``exclude``.

    Parameters
    ----------
    type : type or tuple of types
        The valid types.
    words : str
        How messages state the constraint.
    exclude : type or tuple of types, default=()
        Instances refused although they are instances of ``type``.
    """

    def __init__(self, type, *, words, exclude=()):
        super().__init__(type, set())
        self.words, self.exclude = words, exclude

    def is_satisfied_by(self, val):
        return isinstance(val, self.type) and not isinstance(val, self.exclude)


class Pair(Worded, Options):
    """A tuple, list or 1-D array of two entries, each meeting ``entry``.

    Parameters
    ----------
    entry : constraint
        What each of the two entries must meet (one constraint, such as a
        :class:`Range`).
    words : str
        How messages state the constraint.

    Examples
    --------
    >>> from numbers import Real
    >>> percentile = Range(Real, 0, 100, closed="both")
    >>> Pair(percentile, words="a pair").is_satisfied_by((2, 98.5))
    True
    >>> check_param("p", [1, 2, 3], [Pair(percentile, words="a pair (low, high)")])
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: p must be a pair (low, high); got [1, 2, 3].
    """

    def __init__(self, entry, *, words):
        super().__init__((tuple, list, np.ndarray), set())
        self.entry, self.words = make_constraint(entry), words

    def is_satisfied_by(self, val):
        if not isinstance(val, self.type) or (isinstance(val, np.ndarray) and val.ndim != 1):
            return False
        return len(val) == 2 and all(self.entry.is_satisfied_by(v) for v in val)


#: An int that is not a bool (``True`` is an ``Integral``).
INT = InstanceOf(Integral, exclude=(bool, np.bool_), words="an int")
POSITIVE_INT = Range(Integral, 1, None, closed="left", words="a positive integer")
BOOLEAN = InstanceOf((bool, np.bool_), words="True or False")


def param_error(name, value, constraints):
    """The error for ``value`` of parameter ``name`` that meets none of ``constraints``.

    Parameters
    ----------
    name : str
        The parameter, as the message names it.
    value : object
        The refused value.
    constraints : list
        The parameter's constraints, as in ``_parameter_constraints``.

    Returns
    -------
    error : sklearn.utils._param_validation.InvalidParameterError
        ``"<name> must be <a>, <b> or <c>; got <value>."``, a ``ValueError``
        (and ``TypeError``) naming every constraint that is not hidden.
    """
    constraints = [make_constraint(c) for c in constraints]
    shown = [c for c in constraints if not c.hidden] or constraints
    words = [c.describe(value) if isinstance(c, Worded) else str(c) for c in shown]
    listed = f"{', '.join(words[:-1])} or {words[-1]}" if len(words) > 1 else words[0]
    return InvalidParameterError(f"{name} must be {listed}; got {value!r}.")


def check_param(name, value, constraints):
    """Check one value against a list of constraints, in skbcnn's wording.

    Parameters
    ----------
    name : str
        The parameter (or function argument), as the message names it.
    value : object
        Its value.
    constraints : list
        Valid if it meets any of them (scikit-learn constraints, ``None``,
        types, ``Hidden(...)`` and the worded classes of this module).

    Returns
    -------
    value : object
        ``value``, unchanged.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` when no constraint is met.

    Examples
    --------
    >>> check_param("epochs", 10, [POSITIVE_INT])
    10
    >>> check_param("epochs", True, [POSITIVE_INT])
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: epochs must be a positive integer; got True.
    """
    if not any(make_constraint(c).is_satisfied_by(value) for c in constraints):
        raise param_error(name, value, constraints)
    return value


def validate_params(estimator):
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``.

    Parameters are checked in the order they are declared; one declared
    ``"no_validation"`` is left to the estimator. A parameter without a
    constraint (a subclass's addition) is not checked.

    Parameters
    ----------
    estimator : BaseEstimator
        An estimator with a ``_parameter_constraints`` dict.

    Raises
    ------
    InvalidParameterError
        ``"<name> must be ...; got <value>."`` for the first invalid one.
    """
    params = estimator.get_params(deep=False)
    for name, constraints in estimator._parameter_constraints.items():
        if name in params and constraints != "no_validation":
            check_param(name, params[name], constraints)


def check_class(value, classes, option="positive_class"):
    """The class of ``classes`` that ``value`` names (equal, or equal as text).

    Raises a one-line ``ValueError`` listing the classes when ``value``
    names none of them: an unknown class must never give a silent NaN.
    """
    classes = np.asarray(classes)
    for c in classes:
        if c == value or str(c) == str(value):
            return c
    raise ValueError(
        f"{option} {value!r} is not a class of the model; pass one of: {', '.join(str(c) for c in classes)}."
    )


def closest_name(name, valid):
    """`` Did you mean 'x'?`` for the valid name closest to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, valid, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""
