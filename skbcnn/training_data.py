"""Deprecated: :class:`AugmentedBatches` is now private to the training
engine (``skbcnn._training``); this module only forwards the name."""

import warnings

__all__ = []


def __getattr__(name):
    if name == "AugmentedBatches":
        warnings.warn(
            "skbcnn.training_data is deprecated and will be removed in a future version; "
            "AugmentedBatches is an internal part of CNNClassifier's training.",
            FutureWarning,
            stacklevel=2,
        )
        from ._training import AugmentedBatches

        return AugmentedBatches
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
