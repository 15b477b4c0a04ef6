"""Geometry and colour: :class:`Resizer` (one height and width for every
image) and :class:`ColorConverter` (grey or RGB).

Both call :mod:`skbcnn._imageops`, the same resizing, colour conversion and
``image_size`` check that the loaders of :mod:`skbcnn.datasets` use, so a
folder loaded at 128 px and a batch resized to 128 px go through the same
code.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._base import ImageTransformer, fill_doc
from .._handoff import check_not_handed_off
from .._imageops import COLORS, check_image_size, convert_color, resize
from .._validation import (
    BOOLEAN,
    INT,
    InstanceOf,
    OneOf,
    as_float_images,
    check_image_shape,
    check_images,
)


@fill_doc
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

    _parameter_constraints = {
        # The type, worded as the loaders' check words it; _validate_params
        # runs that check for the pair's length and sides.
        "image_size": [
            INT,
            InstanceOf((tuple, list, np.ndarray), words="a pair (height, width)"),
        ],
        "anti_aliasing": [BOOLEAN],
    }

    def __init__(self, image_size=128, *, anti_aliasing=True):
        self.image_size = image_size
        self.anti_aliasing = anti_aliasing

    def _validate_params(self):
        super()._validate_params()
        check_image_size(self.image_size)

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
        %(y_ignored)s

        Returns
        -------
        self : object
            The fitted resizer.
        """
        self._validate_params()
        check_not_handed_off(X, self)  # as every other skbcnn transformer
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
        check_is_fitted(self)
        images = self._images_as_list(X)
        channels = tuple(images[0].shape[2:]) if isinstance(images, list) else images.shape[3:]
        if tuple(channels) != tuple(self.image_shape_[2:]):
            raise ValueError(
                f"Resizer was fitted on images with channel shape {tuple(self.image_shape_[2:])} "
                f"but got images with channel shape {tuple(channels)}."
            )
        size = check_image_size(self.image_size)
        out = np.empty((len(images),) + size + tuple(channels), dtype=np.float32)
        for i, image in enumerate(images):
            # Only height and width change; channels keep their count.
            out[i] = resize(as_float_images(image), size, anti_aliasing=self.anti_aliasing)
        return out


@fill_doc
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
    %(image_attributes)s

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

    _parameter_constraints = {
        "mode": [OneOf(COLORS)],
    }

    def __init__(self, mode="grey"):
        self.mode = mode

    def fit(self, X, y=None):
        """Check the parameters and that the images are grey, RGB or RGBA
        (none, 1, 3 or 4 channels); record the image shape.

        %(fit_sections)s
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
        %(X_transform)s

        Returns
        -------
        X_converted : ndarray of float32
            ``(n_samples, height, width)`` for ``"grey"``,
            ``(n_samples, height, width, 3)`` for ``"rgb"``.
        """
        return convert_color(self._float_transform_input(X), self.mode)
