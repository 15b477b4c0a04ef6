"""Random image augmentation for training: train-only, fresh every epoch.

:class:`ImageAugmenter` is a scikit-learn transformer with two faces:

* ``transform`` is the **identity** (inference never augments), so a fitted
  pipeline predicts on the images as given;
* ``fit_transform`` returns **one** random draw of augmented images, so the
  transformer is useful in front of any scikit-learn estimator. The result is
  an :class:`AugmentedImages` array that also carries the original images
  (``.source``) and the fitted augmenter (``.augmenter``):
  :class:`skbcnn.CNNClassifier`, when it is the next pipeline step, trains on
  ``.source`` and draws **fresh** augmentations for every mini-batch of every
  epoch through :meth:`ImageAugmenter.augment`.

This module imports neither TensorFlow nor Keras.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from skimage.transform import warp

from ._base import ImageTransformer, fill_doc
from ._handoff import AugmentedImages
from ._validation import (
    BOOLEAN,
    InstanceOf,
    OneOf,
    Range,
    as_float_images,
    check_images,
    check_param,
)

__all__ = ["ImageAugmenter"]

# Public fill modes (scipy.ndimage names) -> the same extension rule under
# scikit-image's names, used by skimage.transform.warp. "reflect" repeats the
# edge pixel (d c b a | a b c d), "mirror" does not (d c b | a b c d).
_FILL_MODES = {
    "reflect": "symmetric",
    "nearest": "edge",
    "constant": "constant",
    "wrap": "wrap",
    "mirror": "reflect",
}

# Columns of the uniform draws, one row per image. A fixed layout keeps, e.g.,
# the flips of a seeded draw unchanged when only ``rotation`` is changed.
_ANGLE, _SCALE, _SHIFT_R, _SHIFT_C, _FLIP_H, _FLIP_V, _BRIGHT, _CONTRAST = range(8)
_N_DRAWS = 8

# preview's argument, worded like a parameter ("n_variants must be an integer").
_N_VARIANTS = Range(Integral, 1, None, closed="left")


@fill_doc
class ImageAugmenter(ImageTransformer):
    """Random rotation, zoom, shift, flips, brightness and contrast.

    Augmentation is applied **only while training**: ``transform`` returns the
    images unchanged, ``fit_transform`` returns one random draw, and
    :class:`skbcnn.CNNClassifier` placed after it in a Pipeline re-draws
    fresh augmentations every epoch (see :class:`AugmentedImages`).

    Geometric changes (rotation, zoom, shift, flips) are composed into one
    affine map per image and applied in a single bilinear interpolation pass
    (:func:`skimage.transform.warp` with the composed matrix); all channels
    of an image get the same transform. Brightness and contrast are applied afterwards.

    Parameters
    ----------
    rotation : float, default=15
        Maximum rotation in degrees; each image is rotated about its centre
        by an angle drawn uniformly from ``[-rotation, rotation]``. In
        ``[0, 180]``.
    horizontal_flip : bool, default=True
        Mirror left-right with probability 1/2.
    vertical_flip : bool, default=False
        Mirror top-bottom with probability 1/2 (off by default: ultrasound
        images have a meaningful depth direction).
    zoom : float, default=0.1
        Maximum relative zoom; the scale is drawn uniformly from
        ``[1 - zoom, 1 + zoom]`` (above 1 enlarges the content). In ``[0, 1)``.
    shift : float, default=0.05
        Maximum translation as a fraction of the image height (rows) and
        width (columns), drawn independently for each axis. In ``[0, 0.5]``.
    brightness : float, default=0.0
        Maximum additive offset, as a fraction of the image's own intensity
        range (max - min over all its pixels and channels): an offset drawn
        from ``[-brightness, brightness] * range`` is added to every pixel.
        Relative to the range, so it means the same for ``[0, 1]`` images and
        for z-scored ones. In ``[0, 1]``.
    contrast : float, default=0.0
        Maximum deviation of the contrast factor: pixels are stretched about
        the image mean by a factor drawn from ``[1 - contrast, 1 + contrast]``.
        In ``[0, 1]``.
    fill_mode : {"reflect", "nearest", "constant", "wrap", "mirror"}, \
default="reflect"
        How pixels that come from outside the image are filled; the names and
        rules of :mod:`scipy.ndimage` (``"reflect"``: d c b a | a b c d,
        ``"mirror"``: d c b | a b c d, ``"nearest"``: a a a | a b c d,
        ``"wrap"``: b c d | a b c d, ``"constant"``: 0 0 0 | a b c d).
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds ``fit_transform`` (and ``augment``/``preview`` when they are not
        given their own). During :class:`skbcnn.CNNClassifier` training the
        per-epoch draws are seeded by the classifier's ``random_state``
        combined with this one when it is an int.

    Attributes
    ----------
    %(image_attributes)s

    See Also
    --------
    skbcnn.CNNClassifier : Trains with fresh augmentations every epoch.

    Notes
    -----
    Output is always float32. Integer images are first scaled to ``[0, 1]``
    by their dtype's range (``skimage.util.img_as_float32``, the same rule
    :class:`skbcnn.CNNClassifier` applies); float images keep their values.
    Hence ``transform`` returns ``as_float32(X)``, bit-identical to the input
    for float32 images.

    ``fit_transform(X)`` deliberately differs from ``fit(X).transform(X)``:
    the first is a training draw, the second the inference identity.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.augmentation import ImageAugmenter
    >>> X = np.random.default_rng(0).random((5, 16, 16), dtype=np.float32)
    >>> aug = ImageAugmenter(rotation=20, random_state=0).fit(X)
    >>> bool(np.array_equal(aug.transform(X), X))    # inference: identity
    True
    >>> Xt = aug.fit_transform(X)                     # training: one draw
    >>> Xt.shape, Xt.dtype, bool(np.array_equal(Xt, X))
    ((5, 16, 16), dtype('float32'), False)
    >>> aug.preview(X[0], n_variants=4).shape
    (4, 16, 16)
    """

    _parameter_constraints = {
        "rotation": [Range(Real, 0, 180, closed="both")],
        "zoom": [Range(Real, 0, 1, closed="left")],
        "horizontal_flip": [BOOLEAN],
        "vertical_flip": [BOOLEAN],
        "fill_mode": [OneOf(_FILL_MODES)],
        "shift": [Range(Real, 0, 0.5, closed="both")],
        "brightness": [Range(Real, 0, 1, closed="both")],
        "contrast": [Range(Real, 0, 1, closed="both")],
        # A seed, RandomState or Generator; a flag is refused like by every Range.
        "random_state": [
            None,
            Range(Integral, 0, 2**32 - 1, closed="both", words="an int in [0, 2**32 - 1]"),
            InstanceOf((np.random.RandomState, np.random.Generator),
                       words="a numpy RandomState or Generator"),
        ],
    }

    def __init__(
        self,
        rotation=15,
        horizontal_flip=True,
        vertical_flip=False,
        zoom=0.1,
        shift=0.05,
        brightness=0.0,
        contrast=0.0,
        fill_mode="reflect",
        random_state=None,
    ):
        self.rotation = rotation
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.zoom = zoom
        self.shift = shift
        self.brightness = brightness
        self.contrast = contrast
        self.fill_mode = fill_mode
        self.random_state = random_state

    # ------------------------------------------------------- estimator API
    def transform(self, X):
        """Return the images unchanged (as float32): no augmentation.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Images of the shape seen in ``fit``.

        Returns
        -------
        images : ndarray of shape (n_samples, H, W) or (n_samples, H, W, C)
            A float32 copy with the same values (integer images are scaled
            to ``[0, 1]``, see Notes).
        """
        return as_float_images(self._check_transform_input(X))

    def fit_transform(self, X, y=None):
        """Fit, then return one random augmented draw of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Training images.
        y : None
            Ignored.

        Returns
        -------
        augmented : AugmentedImages of shape (n_samples, H, W) or \
(n_samples, H, W, C)
            float32 augmented images (seeded by ``random_state``) that also
            carry ``.source`` (the un-augmented float32 images) and
            ``.augmenter`` (``self``). :class:`skbcnn.CNNClassifier` picks
            them up only as the very next step: a transformer in between
            drops them (skbcnn's own transformers refuse such input).
        """
        source = as_float_images(self._check_fit_input(X))  # fit, keeping the checked images
        augmented = self._augment(source, self._rng(self.random_state))
        # The hand-off to the CNN classifier (see skbcnn._handoff).
        return AugmentedImages(augmented, source=source, augmenter=self)

    # -------------------------------------------------------- augmentation
    def augment(self, images, random_state=None):
        """Augment a batch of images (one random draw per image).

        The batch operation used by ``fit_transform`` and, every mini-batch
        of every epoch, by :class:`skbcnn.CNNClassifier`. Does not need
        ``fit`` and accepts any image size.

        Parameters
        ----------
        images : array-like of shape (n, H, W) or (n, H, W, C)
            Images; float32 is used as is, integers are scaled to ``[0, 1]``.
            Never modified.
        random_state : int, RandomState instance, Generator or None, \
default=None
            Randomness of this draw; ``None`` uses the estimator's
            ``random_state``.

        Returns
        -------
        augmented : ndarray of shape (n, H, W) or (n, H, W, C), float32
            The augmented images; an exact copy when every augmentation is
            switched off.

        Examples
        --------
        >>> import numpy as np
        >>> from skbcnn.augmentation import ImageAugmenter
        >>> batch = np.zeros((3, 8, 8, 2), dtype=np.float32)
        >>> ImageAugmenter().augment(batch, random_state=np.random.default_rng(0)).shape
        (3, 8, 8, 2)
        """
        self._validate_params()
        images = check_images(images, name="images")
        if images.dtype != np.float32:  # float32 is only read, never copied
            images = as_float_images(images)
        if random_state is None:
            random_state = self.random_state
        return self._augment(images, self._rng(random_state))

    def preview(self, image, n_variants=8, random_state=None):
        """Augmented variants of one image, e.g. for plotting.

        Parameters
        ----------
        image : array-like of shape (H, W) or (H, W, C)
            One image.
        n_variants : int, default=8
            Number of variants.
        random_state : int, RandomState instance, Generator or None, \
default=None
            Randomness; ``None`` uses the estimator's ``random_state``.

        Returns
        -------
        variants : ndarray of shape (n_variants, H, W) or (n_variants, H, W, C)
            float32 augmented versions of ``image``.

        Examples
        --------
        >>> import numpy as np
        >>> from skbcnn.augmentation import ImageAugmenter
        >>> image = np.arange(64, dtype=np.float32).reshape(8, 8)
        >>> ImageAugmenter(rotation=30).preview(image, n_variants=3, random_state=0).shape
        (3, 8, 8)
        """
        check_param("n_variants", n_variants, [_N_VARIANTS])
        image = np.asarray(image)
        if image.ndim not in (2, 3):
            raise ValueError(
                "image must be one image of shape (H, W) or (H, W, C); got "
                f"shape {image.shape}."
            )
        batch = np.broadcast_to(image, (int(n_variants), *image.shape))
        return self.augment(batch, random_state=random_state)

    # ------------------------------------------------------------ internals
    @staticmethod
    def _rng(random_state):
        if isinstance(random_state, np.random.Generator):
            return random_state
        return check_random_state(random_state)

    def _augment(self, images, rng):
        """Augment float32 ``images`` (already validated) with ``rng``."""
        n = images.shape[0]
        # Every draw is made whatever is switched on (see _N_DRAWS).
        u = rng.uniform(0.0, 1.0, size=(n, _N_DRAWS))
        flip_h = (u[:, _FLIP_H] < 0.5) & bool(self.horizontal_flip)
        flip_v = (u[:, _FLIP_V] < 0.5) & bool(self.vertical_flip)
        if self.rotation or self.zoom or self.shift:
            out = self._warp(images, u, flip_h, flip_v)
        else:  # flips only: exact, by indexing
            out = images.astype(np.float32, copy=True)
            out[flip_h] = out[flip_h][:, :, ::-1]
            out[flip_v] = out[flip_v][:, ::-1]

        if self.brightness or self.contrast:
            # x -> mean + factor * (x - mean) + offset * range, in place.
            flat = images.reshape(n, -1)
            shape = (n,) + (1,) * (images.ndim - 1)
            mean = flat.mean(axis=1, dtype=np.float64)
            value_range = np.ptp(flat, axis=1).astype(np.float64)
            factor = 1.0 + self.contrast * (2.0 * u[:, _CONTRAST] - 1.0)
            offset = self.brightness * (2.0 * u[:, _BRIGHT] - 1.0) * value_range
            out *= factor.astype(np.float32).reshape(shape)
            out += (mean * (1.0 - factor) + offset).astype(np.float32).reshape(shape)
        return out

    def _warp(self, images, u, flip_h, flip_v):
        """One affine resampling per image: flips, zoom, rotation, shift."""
        n, height, width = images.shape[:3]
        theta = np.deg2rad(self.rotation * (2.0 * u[:, _ANGLE] - 1.0))
        scale = 1.0 + self.zoom * (2.0 * u[:, _SCALE] - 1.0)
        shift = np.stack(
            [
                self.shift * (2.0 * u[:, _SHIFT_R] - 1.0) * height,
                self.shift * (2.0 * u[:, _SHIFT_C] - 1.0) * width,
            ],
            axis=1,
        )
        # Forward map (input -> output) about the centre c:
        #   out = c + scale * R(theta) @ F @ (in - c) + shift.
        # affine_transform wants the inverse (output -> input):
        #   in = A @ out + b,  A = F @ R(-theta) / scale,  b = c - A @ (c + shift).
        cos, sin = np.cos(theta), np.sin(theta)
        rot_inv = np.empty((n, 2, 2))
        rot_inv[:, 0, 0], rot_inv[:, 0, 1] = cos, sin
        rot_inv[:, 1, 0], rot_inv[:, 1, 1] = -sin, cos
        flips = np.where(np.stack([flip_v, flip_h], axis=1), -1.0, 1.0)  # F = diag
        matrix = flips[:, :, None] * rot_inv / scale[:, None, None]
        centre = np.array([(height - 1) / 2.0, (width - 1) / 2.0])
        offset = centre - np.einsum("nij,nj->ni", matrix, centre + shift)

        # skimage's warp takes the same map as a homogeneous 3x3 matrix in
        # (x=column, y=row) order; for a matrix it runs a compiled bilinear
        # loop about twice as fast as scipy.ndimage.affine_transform, and it
        # resamples each channel of an (H, W, C) image with the same map.
        homogeneous = np.zeros((n, 3, 3))
        homogeneous[:, :2, :2] = matrix[:, ::-1, ::-1]
        homogeneous[:, :2, 2] = offset[:, ::-1]
        homogeneous[:, 2, 2] = 1.0
        mode = _FILL_MODES[self.fill_mode]
        out = np.empty(images.shape, dtype=np.float32)
        # skimage's compiled loop refuses read-only buffers (memory-mapped or
        # broadcast arrays): copy those one image at a time.
        read_only = not images.flags.writeable
        for i in range(n):
            out[i] = warp(
                images[i].copy() if read_only else images[i], homogeneous[i], order=1, mode=mode, cval=0.0,
                clip=False, preserve_range=True,
            )
        return out
