"""skbcnn's own network, trained from scratch: :func:`build_cnn`.

The architecture family of the original seed: blocks of convolution
(+ batch normalisation) + activation + pooling (+ spatial dropout), then
global pooling or flattening, dropout, fully connected layers and a softmax
(multi-class) or sigmoid (binary) output. Every choice is an argument so that
the classifier can expose it as a hyperparameter.
"""

import keras

from ._layers import classification_head, seeders
from ._limits import check_cnn_plan

__all__ = ["build_cnn"]

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

    Raises
    ------
    ValueError
        If ``kernel_size`` is larger than the images, or the network would
        exceed skbcnn's size limits (weights, or the feature maps of one
        image); the message gives the figure.

    Examples
    --------
    >>> from skbcnn.models import build_cnn
    >>> model = build_cnn((32, 32, 1), 3, conv_filters=(8, 16), dense_units=(16,))
    >>> model.output_shape
    (None, 3)
    """
    # TensorFlow crashes the process on an absurd network instead of refusing it
    check_cnn_plan(input_shape, conv_filters, convs_per_block, kernel_size, global_pooling, dense_units)
    if sigmoid_output is None:
        sigmoid_output = n_classes == 2
    next_seed, init = seeders(seed)
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
    outputs = classification_head(x, n_classes, dense_units, dropout, activation, sigmoid_output, next_seed, init)
    return keras.Model(inputs, outputs, name="skbcnn_cnn")
