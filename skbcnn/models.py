"""Keras model building for :class:`skbcnn.CNNClassifier`.

:func:`build_cnn` is the architecture family of the original seed: blocks
of convolution (+ batch normalisation) + activation + pooling (+ spatial
dropout), then global pooling or flattening, dropout, fully connected layers
and a softmax (multi-class) or sigmoid (binary) output. Every choice is an
argument so that the classifier can expose it as a hyperparameter.

:func:`build_pretrained_cnn` puts the same classification head on an
ImageNet-pretrained ``keras.applications`` backbone (transfer learning).
"""

import warnings
from pathlib import Path
from types import MappingProxyType

import keras
import numpy as np

__all__ = ["BACKBONES", "build_cnn", "build_pretrained_cnn"]

#: Backbones accepted by :func:`build_pretrained_cnn` (and
#: ``CNNClassifier(backbone=...)``): skbcnn name -> ``keras.applications``
#: function (read-only). All three take RGB images in [0, 255]
#: and apply ImageNet's normalisation themselves; they need images of at
#: least 32 x 32 pixels.
BACKBONES = MappingProxyType({
    "efficientnetv2_b0": "EfficientNetV2B0",
    "mobilenet_v3_small": "MobileNetV3Small",
    "mobilenet_v3_large": "MobileNetV3Large",
})

# A standardised image (zero mean, unit variance: IntensityNormalizer's
# z-score, the pipeline default) is mapped to [0, 255] with ImageNet's mean
# and standard deviation (averaged over RGB), so that the backbone's own
# normalisation gives it the statistics its weights were trained on.
_IMAGENET_MEAN = 0.449 * 255
_IMAGENET_STD = 0.226 * 255

_POOLING = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}


def build_cnn(
    input_shape,
    n_classes,
    *,
    conv_filters=(16, 32, 64, 128),
    convs_per_block=2,
    kernel_size=3,
    pooling="max",
    batch_norm=True,
    conv_dropout=0.0,
    global_pooling=True,
    dense_units=(128,),
    dropout=0.3,
    activation="relu",
    sigmoid_output=None,
    seed=None,
):
    """Build an (uncompiled) convolutional network for image classification.

    Parameters
    ----------
    input_shape : tuple of int
        ``(height, width, channels)`` of one image.
    n_classes : int
        Number of classes (>= 2).
    conv_filters : sequence of int, default=(16, 32, 64, 128)
        Filters of each convolution block; its length is the number of blocks.
        Each block ends with a 2x2 pooling, so it halves the image size.
    convs_per_block : int, default=2
        Convolution layers per block (2 gives a VGG-style block).
    kernel_size : int, default=3
        Side of the square convolution kernels.
    pooling : {"max", "avg"}, default="max"
        Pooling after each block.
    batch_norm : bool, default=True
        Batch normalisation after each convolution.
    conv_dropout : float, default=0.0
        Spatial dropout rate after each block.
    global_pooling : bool, default=True
        Global average pooling before the dense layers (``False``: flatten,
        as in the classic seed network; many more weights).
    dense_units : sequence of int, default=(128,)
        Units of the fully connected layers.
    dropout : float, default=0.3
        Dropout rate before each fully connected layer and the output.
    activation : str, default="relu"
        Activation of the hidden layers (any Keras activation name).
    sigmoid_output : bool, optional
        One sigmoid unit instead of a softmax; default: only when
        ``n_classes == 2``.
    seed : int, optional
        Seeds every weight initialiser and dropout layer, so the same seed
        gives the same network whatever else the process does.

    Returns
    -------
    model : keras.Model
        The network, not compiled.

    Examples
    --------
    >>> from skbcnn.models import build_cnn
    >>> model = build_cnn((32, 32, 1), 3, conv_filters=(8, 16), dense_units=(16,))
    >>> model.output_shape
    (None, 3)
    """
    if sigmoid_output is None:
        sigmoid_output = n_classes == 2
    next_seed, init = _seeders(seed)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for block, filters in enumerate(conv_filters, start=1):
        for conv in range(1, convs_per_block + 1):
            x = keras.layers.Conv2D(
                filters,
                kernel_size,
                padding="same",
                # the bias is redundant when batch norm follows
                use_bias=not batch_norm,
                kernel_initializer=init(),
                name=f"block{block}_conv{conv}",
            )(x)
            if batch_norm:
                # momentum 0.9 (Keras: 0.99): medical image sets are small, a few
                # hundred updates per fit, and slow moving averages would leave
                # inference statistics far from the training ones.
                x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn{conv}")(x)
            x = keras.layers.Activation(activation, name=f"block{block}_act{conv}")(x)
        x = _POOLING[pooling](2, name=f"block{block}_pool")(x)
        if conv_dropout > 0:
            x = keras.layers.SpatialDropout2D(conv_dropout, seed=next_seed(), name=f"block{block}_drop")(x)
    if global_pooling:
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    outputs = _classification_head(x, n_classes, dense_units, dropout, activation, sigmoid_output, next_seed, init)
    return keras.Model(inputs, outputs, name="skbcnn_cnn")


def _seeders(seed):
    """``next_seed()`` and a seeded Glorot initialiser factory ``init()``.

    Every random layer gets its own explicit seed. Unseeded Keras layers draw
    their seeds from Python's global ``random``, which other threads of the
    process (a dask worker's event loop) also use: results would then depend
    on timing, not on ``seed``.
    """
    seeds = iter(np.random.default_rng(seed).integers(2**31 - 1, size=1000).tolist()) if seed is not None else None

    def next_seed():
        return None if seeds is None else next(seeds)

    def init():
        return keras.initializers.GlorotUniform(seed=next_seed())

    return next_seed, init


def _classification_head(x, n_classes, dense_units, dropout, activation, sigmoid_output, next_seed, init):
    """Dropout + dense layers, then the softmax (or one sigmoid unit) output."""
    for i, units in enumerate(dense_units, start=1):
        if dropout > 0:
            x = keras.layers.Dropout(dropout, seed=next_seed(), name=f"dense{i}_drop")(x)
        x = keras.layers.Dense(units, activation=activation, kernel_initializer=init(), name=f"dense{i}")(x)
    if dropout > 0:
        x = keras.layers.Dropout(dropout, seed=next_seed(), name="output_drop")(x)
    if sigmoid_output:
        return keras.layers.Dense(1, activation="sigmoid", kernel_initializer=init(), name="output")(x)
    return keras.layers.Dense(n_classes, activation="softmax", kernel_initializer=init(), name="output")(x)


def build_pretrained_cnn(
    input_shape,
    n_classes,
    *,
    backbone="efficientnetv2_b0",
    weights="imagenet",
    dense_units=(128,),
    dropout=0.3,
    activation="relu",
    sigmoid_output=None,
    seed=None,
):
    """Build an (uncompiled) network on a pretrained ``keras.applications`` backbone.

    Grey images are repeated to three channels and mapped to the backbone's
    input range; the backbone's convolutional part (global average pooled)
    feeds the same head as :func:`build_cnn`: dropout, fully connected
    layers and a softmax or sigmoid output. With pretrained weights the
    backbone's batch normalisation layers are frozen (they keep ImageNet's
    statistics and run in inference mode, the usual practice when
    fine-tuning on a few hundred images); all other weights are trained.

    The input is expected to be standardised per image (zero mean, unit
    variance), which is what :func:`skbcnn.make_cnn_pipeline` provides.

    Parameters
    ----------
    input_shape : tuple of int
        ``(height, width, channels)`` of one image; at least 32 x 32 pixels,
        1 or 3 channels.
    n_classes : int
        Number of classes (>= 2).
    backbone : str, default="efficientnetv2_b0"
        One of :data:`BACKBONES`.
    weights : "imagenet", str, pathlib.Path or None, default="imagenet"
        ``"imagenet"``: Keras' ImageNet weights, downloaded once into
        ``~/.keras/models`` (``$KERAS_HOME``); a path: a weights file of the
        same backbone (without its top), e.g. that download copied to a
        machine without network access; ``None``: random initialisation.
    dense_units : sequence of int, default=(128,)
        Units of the fully connected layers of the head.
    dropout : float, default=0.3
        Dropout rate before each fully connected layer and the output.
    activation : str, default="relu"
        Activation of the head's hidden layers.
    sigmoid_output : bool, optional
        One sigmoid unit instead of a softmax; default: only when
        ``n_classes == 2``.
    seed : int, optional
        Seeds the head's initialisers and dropout layers.

    Returns
    -------
    model : keras.Model
        The network, not compiled, with the backbone's layers inlined (so
        that :func:`skbcnn.explain.grad_cam` can pick one of them).

    Raises
    ------
    ValueError
        For an unknown backbone, images smaller than 32 x 32 or with other
        than 1 or 3 channels, or a weights path that is not a file.
    OSError
        If the ImageNet weights are not in the Keras cache and cannot be
        downloaded.

    Examples
    --------
    >>> from skbcnn.models import build_pretrained_cnn
    >>> model = build_pretrained_cnn((64, 64, 1), 3, backbone="mobilenet_v3_small", weights=None)
    >>> model.output_shape
    (None, 3)
    """
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {sorted(BACKBONES)}; got {backbone!r}.")
    height, width, channels = tuple(input_shape)
    if min(height, width) < 32 or channels not in (1, 3):
        raise ValueError(
            f"The {backbone} backbone needs images of at least 32 x 32 pixels with 1 or 3 channels; "
            f"got images of shape {tuple(input_shape)}."
        )
    if weights is not None and weights != "imagenet":
        if not Path(weights).is_file():
            raise ValueError(
                f"weights must be 'imagenet', None or the path of a weights file; {weights!r} is not a file."
            )
        weights = str(weights)
    if sigmoid_output is None:
        sigmoid_output = n_classes == 2
    next_seed, init = _seeders(seed)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs if channels == 3 else keras.layers.Concatenate(name="grey_to_rgb")([inputs] * 3)
    x = keras.layers.Rescaling(_IMAGENET_STD, offset=_IMAGENET_MEAN, name="to_imagenet_range")(x)
    constructor = getattr(keras.applications, BACKBONES[backbone])
    try:
        with warnings.catch_warnings():
            # MobileNetV3 warns that its 224-px weights are used at another
            # size: intended, the convolutions do not depend on the size.
            warnings.filterwarnings("ignore", message=".*Weights for input shape")
            # input_tensor inlines the backbone's layers into this model.
            base = constructor(include_top=False, weights=weights, input_tensor=x, pooling="avg")
    except Exception as error:  # Keras raises a bare Exception when the download fails
        if weights != "imagenet":
            raise
        raise OSError(
            f"Could not load the ImageNet weights of the {backbone} backbone: {error}. Keras downloads "
            "them once into ~/.keras/models ($KERAS_HOME); without network access, copy the file there "
            "from a machine that has it, or pass its path (CNNClassifier's backbone_weights), or train "
            "from random weights (backbone_weights=None)."
        ) from error
    if weights is not None:
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    outputs = _classification_head(
        base.output, n_classes, dense_units, dropout, activation, sigmoid_output, next_seed, init
    )
    return keras.Model(inputs, outputs, name=f"skbcnn_{backbone}")
