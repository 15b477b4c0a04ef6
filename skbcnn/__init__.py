"""skbcnn: scikit-learn compatible CNN classification of breast cancer images.

``import skbcnn`` stays light: TensorFlow is imported only when the
classifier (or a pipeline that contains it) is used.
"""

import importlib

from ._version import __version__

# Public name -> module that defines it. Resolved lazily (PEP 562) so that
# importing the package or its data/enhancement/augmentation modules never
# imports TensorFlow.
_LAZY = {
    "CNNClassifier": "classifier",
    "make_cnn_pipeline": "pipeline",
    "ImageAugmenter": "augmentation",
    "ContrastEnhancer": "enhancement",
    "Denoiser": "enhancement",
    "IntensityNormalizer": "enhancement",
    "Resizer": "enhancement",
    "ColorConverter": "enhancement",
    "load_busi": "datasets",
    "load_image_folder": "datasets",
    "load_medmnist": "datasets",
    "make_synthetic_ultrasound": "datasets",
    "save": "persistence",
    "load": "persistence",
    "export_model": "persistence",
    "import_model": "persistence",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'skbcnn' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
