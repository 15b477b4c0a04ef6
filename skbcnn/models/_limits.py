"""Size limits of a network, checked before TensorFlow sees it.

TensorFlow does not refuse an absurd network: it aborts or crashes the
process (``conv_filters=(10000000,)`` ends in a segmentation fault, a
256 x 256 kernel on 16-pixel images in a failed internal check at
``predict``). The same limits apply to a network skbcnn is about to build
from parameters (:func:`check_cnn_plan`, before any weight exists) and to a
network loaded from a file (:func:`check_loaded_network`, before it runs).
"""

import math

__all__ = ["MAX_PARAMETERS", "MAX_ACTIVATION_BYTES", "check_cnn_plan", "check_loaded_network"]

#: Most weights a network may have (VGG-16 has 138 M; skbcnn's default 0.3 M).
MAX_PARAMETERS = 300_000_000

#: Most bytes one layer's output may take for one image (float32).
MAX_ACTIVATION_BYTES = 1 << 30


def _refuse_activation(side_h, side_w, channels, where):
    size = side_h * side_w * channels * 4
    if size > MAX_ACTIVATION_BYTES:
        raise ValueError(
            f"{where}: one image's {side_h}x{side_w}x{channels} feature map would take {size / 2**30:.1f} GiB, "
            f"more than the limit of {MAX_ACTIVATION_BYTES / 2**30:.0f} GiB "
            "(skbcnn.models._limits.MAX_ACTIVATION_BYTES); use fewer filters or smaller images."
        )


def _refuse_parameters(count, where):
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"{where}: the network would have {count:,} weights, more than the limit of {MAX_PARAMETERS:,} "
            "(skbcnn.models._limits.MAX_PARAMETERS); use fewer filters or dense units."
        )


def check_cnn_plan(input_shape, conv_filters, convs_per_block, kernel_size, global_pooling, dense_units):
    """Refuse the network :func:`~skbcnn.models.build_cnn` would build when it exceeds the limits.

    Raises
    ------
    ValueError
        If ``kernel_size`` is larger than the images, a feature map of one
        image exceeds :data:`MAX_ACTIVATION_BYTES`, or the weights exceed
        :data:`MAX_PARAMETERS`; the message gives the figure.
    """
    height, width, channels = (int(s) for s in input_shape)
    if kernel_size > min(height, width):
        raise ValueError(
            f"kernel_size={kernel_size} is larger than the {height}x{width} images; use a kernel of at most "
            f"{min(height, width)} pixels (3 or 5 is usual)."
        )
    count, inputs = 0, channels
    for filters in conv_filters:
        _refuse_activation(height, width, filters, "conv_filters")
        for _ in range(convs_per_block):
            count += kernel_size * kernel_size * inputs * filters + 4 * filters
            inputs = filters
        height, width = max(height // 2, 1), max(width // 2, 1)
    features = inputs if global_pooling else height * width * inputs
    for units in dense_units:
        count += features * units + units
        features = units
    _refuse_parameters(count, "conv_filters and dense_units")


def check_loaded_network(model, where):
    """Refuse a loaded network that exceeds the limits of one built from parameters.

    Every convolution's kernel must fit in the network's input images (as
    ``kernel_size`` must for :func:`~skbcnn.models.build_cnn`; deep layers
    of a pretrained backbone legitimately run 5 x 5 kernels on 1 x 1 maps),
    every layer's output for one image must stay under
    :data:`MAX_ACTIVATION_BYTES`, and the weights under :data:`MAX_PARAMETERS`.
    """
    _refuse_parameters(model.count_params(), where)
    sides = tuple(model.inputs[0].shape[1:-1])
    for layer in model.layers:
        kernel = getattr(layer, "kernel_size", None)
        if kernel is not None and any(s is not None and k > s for k, s in zip(kernel, sides)):
            raise ValueError(
                f"{where}: layer {layer.name!r} has a {'x'.join(map(str, kernel))} kernel on "
                f"{'x'.join(map(str, sides))} images (larger than the images); refusing to run it."
            )
        try:
            outputs = layer.output
        except (AttributeError, ValueError):  # a layer used on several inputs: its outputs are checked there
            continue
        for output in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
            dims = tuple(output.shape[1:])
            if dims and all(d is not None for d in dims) and math.prod(dims) * 4 > MAX_ACTIVATION_BYTES:
                raise ValueError(
                    f"{where}: layer {layer.name!r} outputs {math.prod(dims) * 4 / 2**30:.1f} GiB per image, more "
                    f"than the limit of {MAX_ACTIVATION_BYTES / 2**30:.0f} GiB; refusing to run it."
                )
