"""Pieces shared by every network of :mod:`skbcnn.models`: per-layer seeds,
the classification head, and frozen batch normalisation for pretrained
weights."""

import keras
import numpy as np


def seeders(seed):
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


def classification_head(x, n_classes, dense_units, dropout, activation, sigmoid_output, next_seed, init):
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


def freeze_batch_norm(layers):
    """Keep pretrained batch normalisation statistics: the layers run in
    inference mode and their weights are not trained."""
    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
