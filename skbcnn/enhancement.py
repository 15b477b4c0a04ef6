"""Image preprocessing transformers: contrast, denoising, normalisation,
resizing and colour conversion.

Every class is a scikit-learn transformer for batches of images of shape
``(n_samples, height, width)`` or ``(n_samples, height, width, channels)``,
usable as a ``Pipeline`` step and searchable with ``GridSearchCV``. They
return ``float32`` arrays and never modify their input.

This module imports only numpy, scipy, scikit-image, scikit-learn and joblib
(never TensorFlow), so preprocessing stays cheap to import.

scikit-image functions are called one image at a time where a call on the
whole stack would be wrong: ``equalize_adapthist`` on an ``(n, H, W)`` stack
runs a single 3-D CLAHE across images, ``denoise_nl_means`` would compare
patches across images, and ``denoise_bilateral`` refuses 3-D grey stacks.
Filters that are separable per image (median, Gaussian, total variation with
``channel_axis``) run on whole chunks of the stack at once.
"""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.utils.validation import check_is_fitted

from ._base import ImageTransformer
from ._validation import (
    as_float_images,
    check_image_shape,
    check_images,
    check_scalar_in_range,
)

__all__ = [
    "ContrastEnhancer",
    "Denoiser",
    "IntensityNormalizer",
    "Resizer",
    "ColorConverter",
]


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _map_chunks(func, images, n_jobs):
    """Apply ``func`` (stack -> stack of the same length) over chunks of images.

    The batch is cut into about ``n_jobs`` contiguous chunks, one joblib task
    each: one task per image would spend more time in scheduling and pickling
    than in the 2-20 ms that one image takes. Results are concatenated in
    the input order, so the output does not depend on ``n_jobs``.

    Threads are preferred: scikit-image and scipy.ndimage release the GIL in
    their inner loops, and threads avoid copying the images to worker
    processes (measured faster than processes for every method; see
    docs/benchmarks.md). ``joblib.parallel_config(backend=...)`` overrides it.
    """
    n_workers = effective_n_jobs(n_jobs)
    n_chunks = min(n_workers, len(images))
    if n_chunks <= 1:
        return func(images)
    chunks = np.array_split(images, n_chunks)
    results = Parallel(n_jobs=n_workers, prefer="threads")(delayed(func)(chunk) for chunk in chunks)
    return np.concatenate(results, axis=0)


class _PerImage:
    """Turn a one-image function into a stack function (picklable for joblib)."""

    def __init__(self, func, **kwargs):
        self.func = func
        self.kwargs = kwargs

    def __call__(self, stack):
        out = np.empty(stack.shape, dtype=np.float32)
        for i, image in enumerate(stack):
            out[i] = self.func(image, **self.kwargs)
        return out


def _as_grey_2d(image):
    """``(H, W, 1)`` -> ``(H, W)``; other images unchanged."""
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0]
    return image


def _to_unit_range(image):
    """Min-max scale one image to ``[0, 1]`` unless it already lies there.

    Decided per image (not per batch) so that an image's result does not
    depend on the other images it is transformed with. A constant image
    outside ``[0, 1]`` becomes 0.
    """
    low, high = image.min(), image.max()
    if low >= 0 and high <= 1:
        return image
    if high == low:
        return np.zeros_like(image)
    return (image - low) / (high - low)


def _check_method(method, valid):
    if not isinstance(method, str) or method not in valid:
        raise ValueError(f"method must be one of {sorted(valid)}; got {method!r}.")


def _check_n_jobs(n_jobs):
    if n_jobs is None:
        return
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer; got {n_jobs!r}.")


def _require_pywt(method):
    # scikit-image's wavelet denoising and noise estimate need PyWavelets,
    # an optional scikit-image dependency: fail in fit, with the fix.
    try:
        import pywt  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"Denoiser(method={method!r}) needs PyWavelets: pip install PyWavelets"
        ) from exc


# ---------------------------------------------------------------------------
# Contrast
# ---------------------------------------------------------------------------


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
        return _to_unit_range_always(image)
    return rescale_intensity(image, in_range=(low, high), out_range=(0.0, 1.0))


def _to_unit_range_always(image):
    low, high = image.min(), image.max()
    if high == low:
        return np.zeros_like(image)
    return (image - low) / (high - low)


def _gamma_one(image, gamma):
    from skimage.exposure import adjust_gamma

    return adjust_gamma(_to_unit_range(image), gamma=gamma)


def _log_one(image):
    from skimage.exposure import adjust_log

    return adjust_log(_to_unit_range(image))


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
    n_jobs : int or None, default=None
        Parallel jobs over images (joblib; ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context, -1 means all cores).

    Attributes
    ----------
    image_shape_ : tuple of int
        Shape of one image seen in ``fit``.
    n_features_in_ : int
        Pixels times channels of one image seen in ``fit``.

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

    def __init__(self, method="clahe", *, clip_limit=0.01, kernel_size=None,
                 percentiles=(2, 98), gamma=1.0, n_jobs=None):
        self.method = method
        self.clip_limit = clip_limit
        self.kernel_size = kernel_size
        self.percentiles = percentiles
        self.gamma = gamma
        self.n_jobs = n_jobs

    def _validate_params(self):
        _check_method(self.method, self._methods)
        check_scalar_in_range(self.clip_limit, "clip_limit", low=0, high=1, low_inclusive=False)
        if self.kernel_size is not None:
            sizes = (self.kernel_size,) if isinstance(self.kernel_size, Integral) else self.kernel_size
            try:
                sizes = tuple(sizes)
            except TypeError:
                sizes = (self.kernel_size,)
            if len(sizes) not in (1, 2):
                raise ValueError(
                    f"kernel_size must be None, an int or a pair of ints; got {self.kernel_size!r}."
                )
            for size in sizes:
                check_scalar_in_range(size, "kernel_size", low=1, integer=True)
        try:
            low, high = self.percentiles
        except (TypeError, ValueError):
            raise ValueError(
                f"percentiles must be a pair (low, high); got {self.percentiles!r}."
            ) from None
        check_scalar_in_range(low, "percentiles", low=0, high=100)
        check_scalar_in_range(high, "percentiles", low=0, high=100)
        if not low < high:
            raise ValueError(f"percentiles must satisfy low < high; got {self.percentiles!r}.")
        check_scalar_in_range(self.gamma, "gamma", low=0, low_inclusive=False)
        _check_n_jobs(self.n_jobs)

    def transform(self, X):
        """Enhance the contrast of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Images of the shape seen in ``fit``.

        Returns
        -------
        X_enhanced : ndarray of float32, same shape as ``X``
            Enhanced images (values in ``[0, 1]`` unless ``method="none"``).
        """
        images = self._check_transform_input(X)
        # A float32 copy: the caller's array is never written to.
        images = as_float_images(images)
        if self.method == "none":
            return images
        if self.method == "clahe":
            kernel_size = self.kernel_size
            if kernel_size is not None and not isinstance(kernel_size, Integral):
                kernel_size = tuple(kernel_size)
            func = _PerImage(_clahe_one, clip_limit=self.clip_limit, kernel_size=kernel_size)
        elif self.method == "hist":
            func = _PerImage(_hist_one)
        elif self.method == "stretch":
            func = _PerImage(_stretch_one, percentiles=tuple(self.percentiles))
        elif self.method == "gamma":
            func = _PerImage(_gamma_one, gamma=self.gamma)
        else:  # "log"
            func = _PerImage(_log_one)
        # C=1 images are processed as grey 2-D images and put back.
        return _map_chunks(_KeepSingleChannel(func), images, self.n_jobs)


class _KeepSingleChannel:
    """Run a stack function on ``(n, H, W, 1)`` as ``(n, H, W)``."""

    def __init__(self, func):
        self.func = func

    def __call__(self, stack):
        if stack.ndim == 4 and stack.shape[-1] == 1:
            return self.func(stack[..., 0])[..., np.newaxis]
        return self.func(stack)


# ---------------------------------------------------------------------------
# Denoising
# ---------------------------------------------------------------------------


def _median_stack(stack, size):
    from scipy.ndimage import median_filter

    # Filter over height and width only: size 1 along images and channels.
    footprint = (1, size, size) + (1,) * (stack.ndim - 3)
    return median_filter(stack, size=footprint, mode="reflect")


def _gaussian_stack(stack, sigma):
    from scipy.ndimage import gaussian_filter

    sigmas = (0, sigma, sigma) + (0,) * (stack.ndim - 3)
    return gaussian_filter(stack, sigma=sigmas, mode="reflect")


def _tv_stack(stack, weight):
    from skimage.restoration import denoise_tv_chambolle

    # channel_axis=0 makes scikit-image denoise each 2-D slice on its own,
    # so a grey stack is one call; channels are moved next to the image axis
    # and denoised independently too.
    n, height, width = stack.shape[:3]
    if stack.ndim == 3:
        return denoise_tv_chambolle(stack, weight=weight, channel_axis=0)
    channels = stack.shape[3]
    planes = np.moveaxis(stack, -1, 1).reshape(n * channels, height, width)
    out = denoise_tv_chambolle(planes, weight=weight, channel_axis=0)
    return np.moveaxis(out.reshape(n, channels, height, width), 1, -1)


def _bilateral_one(image, sigma):
    from skimage.restoration import denoise_bilateral

    # scikit-image's bilateral lookup table assumes non-negative pixels;
    # the filter is shift-invariant in intensity, so shift and shift back.
    low = image.min()
    channel_axis = None if image.ndim == 2 else -1
    out = denoise_bilateral(image - low, sigma_spatial=sigma, channel_axis=channel_axis)
    return out + low


def _nl_means_one(image):
    from skimage.restoration import denoise_nl_means, estimate_sigma

    if image.max() == image.min():
        return image  # nothing to denoise; the noise estimate would be NaN
    channel_axis = None if image.ndim == 2 else -1
    sigma = float(estimate_sigma(image, average_sigmas=True, channel_axis=channel_axis))
    if not sigma > 0:
        return image
    return denoise_nl_means(image, h=0.8 * sigma, sigma=sigma, patch_size=5,
                            patch_distance=6, fast_mode=True, channel_axis=channel_axis)


def _wavelet_one(image):
    from skimage.restoration import denoise_wavelet

    if image.max() == image.min():
        return image  # a constant image makes the BayesShrink estimate NaN
    channel_axis = None if image.ndim == 2 else -1
    return denoise_wavelet(image, method="BayesShrink", mode="soft", rescale_sigma=True,
                           channel_axis=channel_axis)


class Denoiser(ImageTransformer):
    """Reduce speckle and other noise in each image.

    Ultrasound speckle is multiplicative (the noise scales with the echo
    intensity). With ``log_domain=True`` the images are denoised as
    ``log1p(image)`` and mapped back with ``expm1``, which turns the
    multiplicative noise into (roughly) additive noise, the model the
    filters assume. ``log1p`` is only mildly compressive on ``[0, 1]``
    images; it is closest to a true log on images with a large intensity
    range.

    Integer images are first scaled to ``[0, 1]`` by their dtype's range;
    float images are denoised as given. Filters act over height and width
    only, never across images.

    Parameters
    ----------
    method : {"median", "gaussian", "bilateral", "tv", "nl_means", "wavelet", "none"}, \
default="median"
        ``"median"``: ``size`` x ``size`` median filter
        (:func:`scipy.ndimage.median_filter`), per channel.
        ``"gaussian"``: Gaussian blur of standard deviation ``sigma``, per
        channel. ``"bilateral"``: edge-preserving bilateral filter
        (:func:`skimage.restoration.denoise_bilateral`) with spatial
        ``sigma``; colour distance over all channels jointly. ``"tv"``:
        total-variation denoising (:func:`skimage.restoration.denoise_tv_chambolle`)
        of strength ``weight``, per channel. ``"nl_means"``: non-local means
        (:func:`skimage.restoration.denoise_nl_means`, fast mode, patch 5,
        distance 6) with ``h = 0.8 * sigma``, ``sigma`` estimated per image by
        :func:`skimage.restoration.estimate_sigma`. ``"wavelet"``:
        BayesShrink soft wavelet thresholding
        (:func:`skimage.restoration.denoise_wavelet`, noise estimated per
        image). ``"none"``: only the conversion to ``float32``.
        ``"nl_means"`` and ``"wavelet"`` need PyWavelets.
    size : int, default=3
        Side of the median filter window, >= 1.
    sigma : float, default=1.0
        Standard deviation in pixels of the Gaussian, and spatial standard
        deviation of the bilateral filter; > 0.
    weight : float, default=0.1
        Total-variation weight, > 0; larger smooths more.
    log_domain : bool, default=False
        Denoise ``log1p(image)`` and map back with ``expm1``. Needs
        non-negative images.
    n_jobs : int or None, default=None
        Parallel jobs over images (joblib; ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context, -1 means all cores).

    Attributes
    ----------
    image_shape_ : tuple of int
        Shape of one image seen in ``fit``.
    n_features_in_ : int
        Pixels times channels of one image seen in ``fit``.

    See Also
    --------
    ContrastEnhancer : Contrast enhancement, usually applied before denoising.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.enhancement import Denoiser
    >>> rng = np.random.default_rng(0)
    >>> clean = np.full((3, 32, 32), 0.5, dtype=np.float32)
    >>> noisy = clean * rng.gamma(10.0, 0.1, size=clean.shape).astype(np.float32)
    >>> smooth = Denoiser(method="median", size=5, log_domain=True).fit_transform(noisy)
    >>> smooth.shape, smooth.dtype
    ((3, 32, 32), dtype('float32'))
    >>> bool(smooth.std() < noisy.std())
    True
    """

    _methods = ("median", "gaussian", "bilateral", "tv", "nl_means", "wavelet", "none")

    def __init__(self, method="median", *, size=3, sigma=1.0, weight=0.1,
                 log_domain=False, n_jobs=None):
        self.method = method
        self.size = size
        self.sigma = sigma
        self.weight = weight
        self.log_domain = log_domain
        self.n_jobs = n_jobs

    def _validate_params(self):
        _check_method(self.method, self._methods)
        check_scalar_in_range(self.size, "size", low=1, integer=True)
        check_scalar_in_range(self.sigma, "sigma", low=0, low_inclusive=False)
        check_scalar_in_range(self.weight, "weight", low=0, low_inclusive=False)
        if not isinstance(self.log_domain, (bool, np.bool_)):
            raise ValueError(f"log_domain must be True or False; got {self.log_domain!r}.")
        _check_n_jobs(self.n_jobs)
        if self.method in ("nl_means", "wavelet"):
            _require_pywt(self.method)

    def transform(self, X):
        """Denoise each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Images of the shape seen in ``fit``.

        Returns
        -------
        X_denoised : ndarray of float32, same shape as ``X``
            Denoised images.
        """
        images = self._check_transform_input(X)
        images = as_float_images(images)  # float32 copy
        if self.method == "none":
            return images
        if self.log_domain:
            if images.min() < 0:
                raise ValueError(
                    "log_domain=True needs non-negative images; got negative pixels "
                    "(denoise before normalising, or use log_domain=False)."
                )
            images = np.log1p(images)
        if self.method == "median":
            func = _Partial(_median_stack, size=self.size)
        elif self.method == "gaussian":
            func = _Partial(_gaussian_stack, sigma=self.sigma)
        elif self.method == "tv":
            func = _Partial(_tv_stack, weight=self.weight)
        elif self.method == "bilateral":
            func = _KeepSingleChannel(_PerImage(_bilateral_one, sigma=self.sigma))
        elif self.method == "nl_means":
            func = _KeepSingleChannel(_PerImage(_nl_means_one))
        else:  # "wavelet"
            func = _KeepSingleChannel(_PerImage(_wavelet_one))
        out = _map_chunks(func, images, self.n_jobs).astype(np.float32, copy=False)
        if self.log_domain:
            out = np.expm1(out)
        return out


class _Partial:
    """Picklable ``functools.partial`` look-alike for stack functions."""

    def __init__(self, func, **kwargs):
        self.func = func
        self.kwargs = kwargs

    def __call__(self, stack):
        return self.func(stack, **self.kwargs)


# ---------------------------------------------------------------------------
# Intensity normalisation
# ---------------------------------------------------------------------------


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
    image_shape_ : tuple of int
        Shape of one image seen in ``fit``.
    n_features_in_ : int
        Pixels times channels of one image seen in ``fit``.

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

    def __init__(self, method="zscore"):
        self.method = method

    def _validate_params(self):
        _check_method(self.method, self._methods)

    def fit(self, X, y=None):
        """Check the parameters, record the image shape and, for
        ``method="dataset"``, learn ``mean_`` and ``std_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Training images.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted normaliser.
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

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Images of the shape seen in ``fit``.

        Returns
        -------
        X_normalized : ndarray of float32, same shape as ``X``
            Normalised images.
        """
        images = self._check_transform_input(X)
        images = as_float_images(images)  # float32 copy, safe to write
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


# ---------------------------------------------------------------------------
# Geometry and colour
# ---------------------------------------------------------------------------


def _check_image_size(image_size):
    sizes = (image_size, image_size) if isinstance(image_size, Integral) else image_size
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = (image_size,)
    if len(sizes) != 2:
        raise ValueError(f"image_size must be an int or a pair (height, width); got {image_size!r}.")
    for size in sizes:
        check_scalar_in_range(size, "image_size", low=1, integer=True)
    return tuple(int(s) for s in sizes)


class Resizer(ImageTransformer):
    """Resize images to a fixed height and width.

    A CNN needs one input size; data sets such as BUSI come in many sizes.
    Unlike the other transformers, ``transform`` accepts images of any
    height and width: only the channel layout (grey ``(n, H, W)``, or the
    number of channels) must match ``fit``. A list of images of different
    sizes (each ``(H, W)`` or ``(H, W, C)``) is accepted too, and each image
    is resized on its own. Integer images are scaled to ``[0, 1]`` first.

    Parameters
    ----------
    image_size : int or tuple of 2 ints, default=128
        Output ``(height, width)``; an int gives square images.
    anti_aliasing : bool, default=True
        Gaussian smoothing before downsampling
        (:func:`skimage.transform.resize`), which avoids aliasing artefacts.

    Attributes
    ----------
    image_shape_ : tuple
        Shape of one image seen in ``fit``; height and width are ``None``
        when ``fit`` saw a list of images of different sizes.
    n_features_in_ : int
        Pixels times channels of one image seen in ``fit``; only defined when
        all images seen in ``fit`` had the same size.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.enhancement import Resizer
    >>> X = np.zeros((2, 60, 80), dtype=np.uint8)
    >>> Resizer(image_size=32).fit_transform(X).shape
    (2, 32, 32)
    >>> images = [np.zeros((60, 80)), np.ones((100, 40))]
    >>> Resizer(image_size=(16, 24)).fit_transform(images).shape
    (2, 16, 24)
    """

    def __init__(self, image_size=128, *, anti_aliasing=True):
        self.image_size = image_size
        self.anti_aliasing = anti_aliasing

    def _validate_params(self):
        _check_image_size(self.image_size)
        if not isinstance(self.anti_aliasing, (bool, np.bool_)):
            raise ValueError(f"anti_aliasing must be True or False; got {self.anti_aliasing!r}.")

    @staticmethod
    def _images_as_list(X):
        """Validated images: a stack, or a list of single images of any size."""
        if isinstance(X, (list, tuple)) and len(X) > 0:
            shapes = {np.shape(image) for image in X}
            if len(shapes) > 1:
                images = [check_images(np.asarray(image)[np.newaxis], name=f"X[{i}]")[0]
                          for i, image in enumerate(X)]
                layouts = {image.shape[2:] for image in images}
                if len(layouts) > 1 or {image.ndim for image in images} - {2, 3}:
                    raise ValueError(
                        "X mixes images with different channel layouts "
                        f"{sorted(layouts)}; convert them first (ColorConverter)."
                    )
                return images
        return check_images(X)

    def fit(self, X, y=None):
        """Check the parameters and record the channel layout of the images.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels]) or \
list of arrays
            Training images; a list may mix heights and widths.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted resizer.
        """
        self._validate_params()
        images = self._images_as_list(X)
        if isinstance(images, np.ndarray):
            check_image_shape(self, images, reset=True)
        else:
            self.image_shape_ = (None, None) + tuple(images[0].shape[2:])
            if hasattr(self, "n_features_in_"):
                del self.n_features_in_  # refit on mixed sizes: no fixed count
        return self

    def transform(self, X):
        """Resize each image to ``image_size``.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels]) or \
list of arrays
            Images of any height and width with the channel layout seen in
            ``fit``.

        Returns
        -------
        X_resized : ndarray of float32 of shape (n_samples, new_height, new_width[, channels])
            Resized images; ``(new_height, new_width)`` is ``image_size``.
        """
        from skimage.transform import resize

        check_is_fitted(self)
        images = self._images_as_list(X)
        channels = tuple(images[0].shape[2:]) if isinstance(images, list) else images.shape[3:]
        if tuple(channels) != tuple(self.image_shape_[2:]):
            raise ValueError(
                f"Resizer was fitted on images with channel shape {tuple(self.image_shape_[2:])} "
                f"but got images with channel shape {tuple(channels)}."
            )
        height, width = _check_image_size(self.image_size)
        out = np.empty((len(images), height, width) + tuple(channels), dtype=np.float32)
        for i, image in enumerate(images):
            image = as_float_images(image)
            # Only height and width change; channels keep their count.
            out[i] = resize(image, (height, width) + tuple(channels), order=1,
                            mode="reflect", anti_aliasing=self.anti_aliasing,
                            preserve_range=True)
        return out


class ColorConverter(ImageTransformer):
    """Convert images to grey or to RGB.

    Breast ultrasound is grey but is often stored as RGB files (and may
    carry coloured annotations); histopathology is RGB. Integer images are
    scaled to ``[0, 1]`` first.

    Parameters
    ----------
    mode : {"grey", "rgb"}, default="grey"
        ``"grey"``: RGB and RGBA images (alpha dropped) become grey
        ``(n, H, W)`` with the luminance weights of
        :func:`skimage.color.rgb2gray`; grey ``(n, H, W)`` and
        ``(n, H, W, 1)`` images pass through as ``(n, H, W)``.
        ``"rgb"``: grey images become ``(n, H, W, 3)`` with three identical
        channels; RGB passes through and RGBA drops its alpha channel.
        Images with 2 or more than 4 channels are refused.

    Attributes
    ----------
    image_shape_ : tuple of int
        Shape of one image seen in ``fit``.
    n_features_in_ : int
        Pixels times channels of one image seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.enhancement import ColorConverter
    >>> rgb = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    >>> ColorConverter(mode="grey").fit_transform(rgb).shape
    (2, 8, 8)
    >>> ColorConverter(mode="rgb").fit_transform(np.zeros((2, 8, 8))).shape
    (2, 8, 8, 3)
    """

    _modes = ("grey", "rgb")

    def __init__(self, mode="grey"):
        self.mode = mode

    def _validate_params(self):
        if not isinstance(self.mode, str) or self.mode not in self._modes:
            raise ValueError(f"mode must be one of {sorted(self._modes)}; got {self.mode!r}.")

    def fit(self, X, y=None):
        """Check the parameters and the channel count; record the image shape.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Training images with 1, 3 or 4 channels (or none).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted converter.
        """
        super().fit(X)
        if len(self.image_shape_) == 3 and self.image_shape_[2] not in (1, 3, 4):
            raise ValueError(
                "ColorConverter needs grey, RGB or RGBA images (1, 3 or 4 channels); "
                f"got {self.image_shape_[2]} channels."
            )
        return self

    def transform(self, X):
        """Convert the colour of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Images of the shape seen in ``fit``.

        Returns
        -------
        X_converted : ndarray of float32
            ``(n_samples, height, width)`` for ``"grey"``,
            ``(n_samples, height, width, 3)`` for ``"rgb"``.
        """
        from skimage.color import rgb2gray

        images = as_float_images(self._check_transform_input(X))
        if images.ndim == 4 and images.shape[-1] == 4:
            images = images[..., :3]  # drop alpha
        is_grey = images.ndim == 3 or images.shape[-1] == 1
        if self.mode == "grey":
            if is_grey:
                return images.reshape(images.shape[:3])
            return rgb2gray(images, channel_axis=-1).astype(np.float32, copy=False)
        if is_grey:
            return np.repeat(images.reshape(images.shape[:3])[..., np.newaxis], 3, axis=-1)
        return np.ascontiguousarray(images)
