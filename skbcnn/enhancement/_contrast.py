"""Contrast enhancement: :class:`ContrastEnhancer` and its one-image functions
(CLAHE, histogram equalisation, percentile stretch, gamma, log).

Every function works on one image: a call on the whole ``(n, H, W)`` stack
of ``equalize_adapthist`` would run a single 3-D CLAHE across images, and
the histogram and percentiles of one image must not depend on the others.
"""

from functools import partial
from numbers import Integral, Real

import numpy as np

from .._base import ImageTransformer, fill_doc
from .._validation import OneOf, Pair, Range
from ._common import N_JOBS_CONSTRAINT, map_chunks, per_image, single_channel_as_grey


def _to_unit_range(image, *, always=False):
    """Min-max scale one image to ``[0, 1]``, unless it already lies there.

    Decided per image (not per batch) so that an image's result does not
    depend on the other images it is transformed with. ``always=True``
    scales even an image inside ``[0, 1]``. A constant image that is scaled
    becomes 0.
    """
    low, high = image.min(), image.max()
    if not always and low >= 0 and high <= 1:
        return image
    if high == low:
        return np.zeros_like(image)
    return (image - low) / (high - low)


def _clahe_one(image, clip_limit, kernel_size):
    from skimage.exposure import equalize_adapthist

    image = _to_unit_range(image)
    if image.ndim == 2 or image.shape[-1] == 3:
        # Grey, or RGB through scikit-image's own handling (CLAHE on the HSV
        # value channel, which keeps the hue).
        return equalize_adapthist(image, kernel_size=kernel_size, clip_limit=clip_limit)
    # Any other channel count: each channel as its own grey image (a call on
    # the (H, W, C) array would run a 3-D CLAHE across channels).
    return np.stack(
        [equalize_adapthist(image[..., c], kernel_size=kernel_size, clip_limit=clip_limit)
         for c in range(image.shape[-1])],
        axis=-1,
    )


def _hist_one(image):
    from skimage.exposure import equalize_hist

    # One histogram over all pixels and channels of the image (flattened
    # explicitly: same result, without scikit-image's "might be a color
    # image" warning for this deliberate choice).
    return equalize_hist(_to_unit_range(image).reshape(-1)).reshape(image.shape)


def _stretch_one(image, percentiles):
    from skimage.exposure import rescale_intensity

    low, high = np.percentile(image, percentiles)
    if high <= low:
        # Almost flat image: the percentiles coincide, fall back to min-max.
        return _to_unit_range(image, always=True)
    out = rescale_intensity(image, in_range=(low, high), out_range=(0.0, 1.0))
    # float32 rounding of the scaling can land a hair above 1.
    return np.clip(out, 0.0, 1.0, out=out)


def _gamma_one(image, gamma):
    from skimage.exposure import adjust_gamma

    return adjust_gamma(_to_unit_range(image), gamma=gamma)


def _log_one(image):
    from skimage.exposure import adjust_log

    return adjust_log(_to_unit_range(image))


@fill_doc
class ContrastEnhancer(ImageTransformer):
    """Enhance the contrast of each image.

    Ultrasound images are often low-contrast with lesions barely darker than
    the surrounding tissue; local histogram equalisation (CLAHE) makes
    lesion borders easier to learn.

    Integer images are first scaled to ``[0, 1]`` by their dtype's range
    (``uint8``: divided by 255). Float images whose values all lie in
    ``[0, 1]`` are used as they are; a float image with any value outside
    ``[0, 1]`` is min-max scaled to ``[0, 1]`` first, per image. Every method
    except ``"none"`` returns values in ``[0, 1]``.

    Parameters
    ----------
    method : {"clahe", "hist", "stretch", "gamma", "log", "none"}, default="clahe"
        ``"clahe"``: contrast-limited adaptive histogram equalisation
        (:func:`skimage.exposure.equalize_adapthist`), run per image. RGB
        images (3 channels) go through scikit-image's own handling (CLAHE of
        the HSV value, hue kept); other channel counts are equalised per
        channel. ``"hist"``: global histogram equalisation
        (:func:`skimage.exposure.equalize_hist`), one histogram per image
        over all its channels. ``"stretch"``: linear stretch of the
        per-image ``percentiles`` to ``[0, 1]``, clipping outside.
        ``"gamma"``: ``image ** gamma``. ``"log"``: ``log2(1 + image)``.
        ``"none"``: only the conversion to ``float32`` (integer images
        scaled to ``[0, 1]``); a baseline for grid searches.
    clip_limit : float, default=0.01
        CLAHE clip limit in ``(0, 1]``; higher gives more contrast (and
        more amplified speckle).
    kernel_size : int, tuple of 2 ints or None, default=None
        CLAHE tile size in pixels; ``None``: 1/8 of the image height and
        width.
    percentiles : tuple of 2 floats, default=(2, 98)
        Low and high percentiles mapped to 0 and 1 by ``"stretch"``.
    gamma : float, default=1.0
        Exponent of ``"gamma"``, > 0; below 1 brightens dark tissue.
    %(n_jobs)s

    Attributes
    ----------
    %(image_attributes)s

    See Also
    --------
    Denoiser : Speckle reduction, usually applied after contrast enhancement.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.enhancement import ContrastEnhancer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(60, 120, size=(4, 32, 32), dtype=np.uint8)
    >>> Xt = ContrastEnhancer(method="clahe").fit_transform(X)
    >>> Xt.shape, Xt.dtype
    ((4, 32, 32), dtype('float32'))
    >>> bool(Xt.max() - Xt.min() > (X.max() - X.min()) / 255)
    True
    """

    _methods = ("clahe", "hist", "stretch", "gamma", "log", "none")

    _parameter_constraints = {
        "method": [OneOf(_methods)],
        "clip_limit": [Range(Real, 0, 1, closed="right")],
        # scikit-image takes one tile size, or one per image axis.
        "kernel_size": [
            None,
            Range(Integral, 1, None, closed="left", words="an int"),
            Pair(Range(Integral, 1, None, closed="left"), words="a pair of ints (sizes >= 1)"),
        ],
        # _validate_params checks that low < high.
        "percentiles": [
            Pair(Range(Real, 0, 100, closed="both"), words="a pair (low, high) of numbers in [0, 100]"),
        ],
        "gamma": [Range(Real, 0, None, closed="neither")],
        "n_jobs": N_JOBS_CONSTRAINT,
    }

    def __init__(self, method="clahe", *, clip_limit=0.01, kernel_size=None,
                 percentiles=(2, 98), gamma=1.0, n_jobs=None):
        self.method = method
        self.clip_limit = clip_limit
        self.kernel_size = kernel_size
        self.percentiles = percentiles
        self.gamma = gamma
        self.n_jobs = n_jobs

    def _validate_params(self):
        super()._validate_params()
        low, high = self.percentiles
        if not low < high:
            raise ValueError(f"percentiles must satisfy low < high; got {self.percentiles!r}.")

    def transform(self, X):
        """Enhance the contrast of each image (to ``[0, 1]`` unless ``method="none"``).

        %(transform_sections)s
        """
        images = self._float_transform_input(X)
        if self.method == "none":
            return images
        if self.method == "clahe":
            kernel_size = self.kernel_size
            if kernel_size is not None and not isinstance(kernel_size, Integral):
                kernel_size = tuple(kernel_size)
            one = partial(_clahe_one, clip_limit=self.clip_limit, kernel_size=kernel_size)
        elif self.method == "hist":
            one = _hist_one
        elif self.method == "stretch":
            one = partial(_stretch_one, percentiles=tuple(self.percentiles))
        elif self.method == "gamma":
            one = partial(_gamma_one, gamma=self.gamma)
        else:  # "log"
            one = _log_one
        # C=1 images are processed as grey 2-D images and put back.
        func = partial(single_channel_as_grey, partial(per_image, one))
        return map_chunks(func, images, self.n_jobs)
