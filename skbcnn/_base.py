"""The base class of skbcnn's image transformers: one place for the shared
fit checks, transform checks, scikit-learn tags and the docstring text that
every transformer repeats.

Every parameter is declared in its class's ``_parameter_constraints`` with
the worded constraints of :mod:`skbcnn._validation` and checked at the start
of ``fit``; a class extends ``_validate_params`` only for what constraints
cannot say (the entries of a pair, rules across parameters, optional
dependencies).
"""

import re
import textwrap

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._handoff import check_not_handed_off
from ._validation import as_float_images, check_image_shape, check_images, validate_params

__all__ = ["ImageTransformer", "fill_doc"]

# numpydoc fragments shared by several docstrings, written without
# indentation; ``fill_doc`` puts each where a line reads ``%(name)s``.
_X_TRAIN = """\
X : array-like of shape (n_samples, height, width[, channels])
    Training images."""
_X_SEEN = """\
X : array-like of shape (n_samples, height, width[, channels])
    Images of the shape seen in ``fit``."""
_Y_IGNORED = """\
y : None
    Ignored; present for API consistency."""

_DOC_FRAGMENTS = {
    "X_transform": _X_SEEN,
    "y_ignored": _Y_IGNORED,
    # Parameters and Returns of a fit that only checks and records shapes.
    "fit_sections": f"""\
Parameters
----------
{_X_TRAIN}
{_Y_IGNORED}

Returns
-------
self : object
    The fitted transformer.""",
    # Parameters and Returns of a transform that keeps the shape.
    "transform_sections": f"""\
Parameters
----------
{_X_SEEN}

Returns
-------
X_new : ndarray of float32, same shape as ``X``
    The transformed images, a new array.""",
    # Parameters of the classifier's predict and predict_proba.
    "predict_parameters": """\
Parameters
----------
X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
    Images of the shape seen in ``fit``.
**kwargs
    Extra arguments for ``keras.Model.predict``.""",
    "n_jobs": """\
n_jobs : int or None, default=None
    Parallel jobs over images (joblib; ``None`` means 1 unless in a
    :func:`joblib.parallel_config` context, -1 means all cores; more than
    the cores runs one job per core). Which methods gain from it is
    measured in :doc:`/benchmarks`.""",
    "image_attributes": """\
image_shape_ : tuple of int
    Shape of one image seen in ``fit``.
n_features_in_ : int
    Pixels times channels of one image seen in ``fit``.""",
}

_PLACEHOLDER = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", flags=re.MULTILINE)


def _fill(doc):
    return _PLACEHOLDER.sub(
        lambda match: textwrap.indent(_DOC_FRAGMENTS[match.group(2)], match.group(1)), doc
    )


def fill_doc(cls):
    """Class decorator: expand the shared fragments in ``cls``'s docstrings.

    Each line that reads ``%(name)s`` (in the class docstring or in the
    docstring of a method defined in the class body) is replaced by the
    fragment ``name`` of ``_DOC_FRAGMENTS``, indented like the placeholder.
    An unknown name is a ``KeyError`` at import time.
    """
    if cls.__doc__:
        cls.__doc__ = _fill(cls.__doc__)
    for member in vars(cls).values():
        func = getattr(member, "__func__", member)  # through static/class methods
        if callable(func) and func.__doc__ and _PLACEHOLDER.search(func.__doc__):
            func.__doc__ = _fill(func.__doc__)
    return cls


@fill_doc
class ImageTransformer(TransformerMixin, BaseEstimator):
    """Common fit/transform checks and tags of the image transformers."""

    # Each subclass declares its own; _validate_params reads it.
    _parameter_constraints: dict = {}

    def _validate_params(self):
        """Check every parameter against ``_parameter_constraints``.

        Raises
        ------
        ValueError
            ``"<name> must be ...; got <value>."`` for the first invalid one.
        """
        validate_params(self)

    def fit(self, X, y=None):
        """Check the parameters and record the input image shape.

        %(fit_sections)s
        """
        self._check_fit_input(X)
        return self

    def _check_fit_input(self, X):
        self._validate_params()
        # Fit between ImageAugmenter and the classifier, this step would drop
        # the augmentation hand-off silently: refuse it.
        check_not_handed_off(X, self)
        images = check_images(X)
        check_image_shape(self, images, reset=True)
        return images

    def _check_transform_input(self, X):
        check_is_fitted(self)
        images = check_images(X)
        check_image_shape(self, images, reset=False)
        return images

    def _float_transform_input(self, X):
        # A float32 copy of the checked images: the caller's array is never
        # written to, and the copy may be changed in place.
        return as_float_images(self._check_transform_input(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Inputs are stacks of images, not (n_samples, n_features) tables.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
