"""Keep memory flat over many fits in one process (TensorFlow backend).

Repeated ``keras.Model.fit`` calls grow the process by about 10-15 MB per fit
even after ``keras.backend.clear_session()`` (keras-team/keras#17458,
tensorflow/tensorflow#61791). Measured here (TensorFlow 2.21, Keras 3.15),
the growth has two sources, both global registries that outlive the model:

1. The optimizer's slot variables, when Keras creates them inside the traced
   train function, are initialised through ``tf.cond`` branch functions that
   TensorFlow adds to the eager context's function library and never removes
   (64 functions per fit for the default network). Building the optimizer
   eagerly before ``fit`` creates the same zero-initialised variables without
   any traced function.
2. Keras' TensorFlow optimizer sums the gradients with
   ``ReplicaContext.all_reduce``, a ``tf.custom_gradient`` function. Traced in
   graph mode, ``custom_gradient`` registers its gradient function under a
   fresh ``CustomGradient-<n>`` name in TensorFlow's global gradient registry,
   and that closure keeps the whole traced train graph (about 1 100
   operations) alive. The gradient function is only looked up while a graph is
   being differentiated; once ``fit`` has traced its train step nothing asks
   for it again, so the entries registered during ``fit`` are dropped after it.

Both use TensorFlow internals; if they move, the helpers do nothing.
"""

import contextlib

import keras

__all__ = ["build_optimizer", "forget_traced_custom_gradients"]


def build_optimizer(model):
    """Create the optimizer's variables eagerly (see source 1 above)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built and model.trainable_variables:
        optimizer.build(model.trainable_variables)


def _gradient_registry():
    if keras.backend.backend() != "tensorflow":
        return None
    try:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry
    except (ImportError, AttributeError):
        return None
    return registry if isinstance(registry, dict) else None


@contextlib.contextmanager
def forget_traced_custom_gradients():
    """Drop the ``CustomGradient-*`` entries registered inside the block."""
    registry = _gradient_registry()
    before = set(registry) if registry is not None else None
    try:
        yield
    finally:
        if registry is not None:
            for name in set(registry) - before:
                if name.startswith("CustomGradient-"):
                    registry.pop(name, None)
