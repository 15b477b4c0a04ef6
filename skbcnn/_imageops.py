"""One implementation of the image operations that loading and preprocessing
share: checking an ``image_size``, resizing one image and converting colour.

:mod:`skbcnn.datasets` (decoded uint8 files) and the transformers
:class:`~skbcnn.enhancement.Resizer` and :class:`~skbcnn.enhancement.ColorConverter`
(float batches) both call these, so a folder loaded at 128 px and a batch
resized to 128 px go through the same scikit-image code. The dtype family is
kept: uint8 in, rounded uint8 out; bool (masks) in, bool out; anything else
comes back as float32.

This module does not import TensorFlow.
"""

import numpy as np

from ._validation import INT

COLORS = ("grey", "rgb")


def check_image_size(image_size, *, allow_none=False):
    """``image_size`` as a ``(height, width)`` tuple of positive ints.

    Parameters
    ----------
    image_size : int, pair of ints or None
        An int gives a square; ``None`` is accepted (and returned) only with
        ``allow_none=True``, where it means "keep each image's size".
    allow_none : bool, default=False
        Whether ``None`` is a valid value.

    Returns
    -------
    size : tuple of 2 ints or None

    Raises
    ------
    ValueError
        For anything else, naming the value received.
    """
    if image_size is None and allow_none:
        return None
    if INT.is_satisfied_by(image_size):
        size = (int(image_size), int(image_size))
    elif (isinstance(image_size, (tuple, list, np.ndarray)) and np.ndim(image_size) == 1
          and len(image_size) == 2 and all(INT.is_satisfied_by(s) for s in image_size)):
        size = tuple(int(s) for s in image_size)
    else:
        kinds = "an int, a pair (height, width) or None" if allow_none else "an int or a pair (height, width)"
        raise ValueError(f"image_size must be {kinds}; got {image_size!r}.")
    if min(size) < 1:
        # For a pair, say that the range holds for each side.
        if INT.is_satisfied_by(image_size):
            raise ValueError(f"image_size must be positive; got {image_size!r}.")
        raise ValueError(f"image_size must be in [1, inf] for height and width; got {image_size!r}.")
    return size


def resize(image, size, *, anti_aliasing=True):
    """Resize one image ``(H, W)`` or ``(H, W, C)`` to ``size = (height, width)``.

    Bilinear interpolation; channels keep their count. Bool images (masks)
    use nearest neighbours and no smoothing, so a mask stays a mask.

    Parameters
    ----------
    image : ndarray
        One image: bool, uint8 or float.
    size : tuple of 2 ints
        Output height and width.
    anti_aliasing : bool, default=True
        Gaussian smoothing before shrinking, which avoids aliasing.

    Returns
    -------
    resized : ndarray
        bool for bool input, uint8 (rounded) for uint8 input, float32 otherwise.
    """
    from skimage.transform import resize as skimage_resize

    size = tuple(size)
    if image.shape[:2] == size:  # resizing to the same size changes no pixel
        return image if image.dtype in (bool, np.uint8) else image.astype(np.float32, copy=False)
    if image.dtype == bool:
        out = skimage_resize(image, size, order=0, anti_aliasing=False, preserve_range=True)
        return out.astype(bool)
    out = skimage_resize(image, size + image.shape[2:], order=1, mode="reflect",
                         anti_aliasing=anti_aliasing, preserve_range=True)
    if image.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32, copy=False)


def convert_color(images, mode):
    """Convert a stack ``(n, H, W)`` or ``(n, H, W, C)`` (C = 1, 3 or 4) to grey or RGB.

    Parameters
    ----------
    images : ndarray
        uint8 or float images; an alpha channel is dropped.
    mode : {"grey", "rgb"}
        ``"grey"``: ``(n, H, W)`` with the luminance weights of
        :func:`skimage.color.rgb2gray`. ``"rgb"``: ``(n, H, W, 3)``, a grey
        image repeated in three channels.

    Returns
    -------
    converted : ndarray
        uint8 (rounded) for uint8 input, float32 for float input.
    """
    if images.ndim == 4 and images.shape[-1] == 4:
        images = images[..., :3]  # drop alpha
    is_grey = images.ndim == 3 or images.shape[-1] == 1
    if mode == "grey":
        if is_grey:
            return images.reshape(images.shape[:3])
        from skimage.color import rgb2gray

        grey = rgb2gray(images, channel_axis=-1)
        if images.dtype == np.uint8:  # rgb2gray scales uint8 to [0, 1]
            return np.clip(np.rint(grey * 255), 0, 255).astype(np.uint8)
        return grey.astype(np.float32, copy=False)
    if is_grey:
        return np.repeat(images.reshape(images.shape[:3])[..., np.newaxis], 3, axis=-1)
    return np.ascontiguousarray(images)
