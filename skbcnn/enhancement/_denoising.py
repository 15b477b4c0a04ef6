"""Denoising: :class:`Denoiser` and its filters (median, Gaussian, total
variation, bilateral, non-local means, wavelet).

Filters that act on each 2-D image separately (median and Gaussian with a
size of 1 across images and channels, total variation with
``channel_axis``) run on whole chunks of the stack at once. Bilateral,
non-local means and wavelet denoising run one image at a time: on an
``(n, H, W)`` stack ``denoise_nl_means`` would compare patches across
images and ``denoise_bilateral`` refuses 3-D grey stacks.
"""

from functools import partial
from numbers import Integral, Real

import numpy as np

from .._base import ImageTransformer, fill_doc
from .._validation import BOOLEAN, OneOf, Range
from ._common import N_JOBS_CONSTRAINT, map_chunks, per_image, single_channel_as_grey


def _require_pywt(method):
    # scikit-image's wavelet denoising and noise estimate need PyWavelets,
    # an optional scikit-image dependency: fail in fit, with the fix.
    try:
        import pywt  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"Denoiser(method={method!r}) needs PyWavelets: pip install PyWavelets"
        ) from exc


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



@fill_doc
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
    %(n_jobs)s

    Attributes
    ----------
    %(image_attributes)s

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

    _parameter_constraints = {
        "method": [OneOf(_methods)],
        "size": [Range(Integral, 1, None, closed="left")],
        "sigma": [Range(Real, 0, None, closed="neither")],
        "weight": [Range(Real, 0, None, closed="neither")],
        "log_domain": [BOOLEAN],
        "n_jobs": N_JOBS_CONSTRAINT,
    }

    def __init__(self, method="median", *, size=3, sigma=1.0, weight=0.1,
                 log_domain=False, n_jobs=None):
        self.method = method
        self.size = size
        self.sigma = sigma
        self.weight = weight
        self.log_domain = log_domain
        self.n_jobs = n_jobs

    def _validate_params(self):
        super()._validate_params()
        # An optional dependency, which no constraint can say.
        if self.method in ("nl_means", "wavelet"):
            _require_pywt(self.method)

    def transform(self, X):
        """Denoise each image.

        %(transform_sections)s
        """
        images = self._float_transform_input(X)
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
            func = partial(_median_stack, size=self.size)
        elif self.method == "gaussian":
            func = partial(_gaussian_stack, sigma=self.sigma)
        elif self.method == "tv":
            func = partial(_tv_stack, weight=self.weight)
        else:  # one image at a time; C=1 images as grey 2-D images
            one = {
                "bilateral": partial(_bilateral_one, sigma=self.sigma),
                "nl_means": _nl_means_one,
                "wavelet": _wavelet_one,
            }[self.method]
            func = partial(single_channel_as_grey, partial(per_image, one))
        out = map_chunks(func, images, self.n_jobs).astype(np.float32, copy=False)
        if self.log_domain:
            out = np.expm1(out)
        return out
