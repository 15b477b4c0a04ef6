"""Intensity normalisation: :class:`IntensityNormalizer` (per-image z-score
or min-max, or the training set's per-channel statistics).

The per-image methods are vectorised over the whole batch, so this
transformer takes no ``n_jobs``.
"""

import numpy as np

from .._base import ImageTransformer, fill_doc
from .._validation import OneOf, as_float_images


@fill_doc
class IntensityNormalizer(ImageTransformer):
    """Normalise pixel intensities per image or with training-set statistics.

    Scanners, presets and gain settings change the brightness of ultrasound
    images; normalising removes much of that nuisance variation before the
    CNN. Integer images are first scaled to ``[0, 1]`` by their dtype's
    range.

    Parameters
    ----------
    method : {"zscore", "minmax", "dataset"}, default="zscore"
        ``"zscore"``: per image ``(x - mean) / std`` over all pixels and
        channels, ``std`` floored at 1e-6 (a constant image becomes 0).
        ``"minmax"``: per image to ``[0, 1]`` over all pixels and channels (a
        constant image becomes 0). ``"dataset"``: ``(x - mean_) / std_`` with
        the mean and standard deviation of the whole training set learned in
        ``fit``, one per channel.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Training-set mean per channel (1 channel for ``(n, H, W)`` images);
        only with ``method="dataset"``.
    std_ : ndarray of shape (n_channels,)
        Training-set standard deviation per channel, floored at 1e-6; only
        with ``method="dataset"``.
    %(image_attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.enhancement import IntensityNormalizer
    >>> X = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    >>> Xt = IntensityNormalizer(method="zscore").fit_transform(X)
    >>> np.round(Xt.mean(axis=(1, 2)), 6) + 0.0, np.round(Xt.std(axis=(1, 2)), 6)
    (array([0., 0.], dtype=float32), array([1., 1.], dtype=float32))
    >>> norm = IntensityNormalizer(method="dataset").fit(X)
    >>> norm.mean_, norm.std_
    (array([15.5]), array([9.233...]))
    """

    _methods = ("zscore", "minmax", "dataset")

    _parameter_constraints = {
        "method": [OneOf(_methods)],
    }

    def __init__(self, method="zscore"):
        self.method = method

    def fit(self, X, y=None):
        """Check the parameters, record the image shape and, for
        ``method="dataset"``, learn ``mean_`` and ``std_``.

        %(fit_sections)s
        """
        images = self._check_fit_input(X)
        if self.method == "dataset":
            images = as_float_images(images)
            # Statistics over images, height and width; channels kept apart.
            axes = (0, 1, 2)
            self.mean_ = np.atleast_1d(images.mean(axis=axes, dtype=np.float64))
            std = np.atleast_1d(images.std(axis=axes, dtype=np.float64))
            self.std_ = np.maximum(std, 1e-6)
        return self

    def transform(self, X):
        """Normalise each image.

        %(transform_sections)s
        """
        images = self._float_transform_input(X)
        if self.method == "dataset":
            if not hasattr(self, "mean_"):
                # method was changed with set_params after fitting
                raise ValueError("method='dataset' needs a refit: call fit again.")
            # For (n, H, W) images mean_ has shape (1,), which broadcasts.
            images -= self.mean_.astype(np.float32)
            images /= self.std_.astype(np.float32)
            return images
        axes = tuple(range(1, images.ndim))  # per image, all pixels and channels
        if self.method == "minmax":
            low = images.min(axis=axes, keepdims=True)
            span = images.max(axis=axes, keepdims=True) - low
            images -= low
            # Constant image: span 0, images already 0 after the subtraction.
            np.divide(images, span, out=images, where=span > 0)
            return images
        # "zscore": statistics in float64 for accuracy on large images.
        mean = images.mean(axis=axes, keepdims=True, dtype=np.float64)
        std = images.std(axis=axes, keepdims=True, dtype=np.float64)
        images -= mean.astype(np.float32)
        images /= np.maximum(std, 1e-6).astype(np.float32)
        return images
