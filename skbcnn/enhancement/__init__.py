"""Image preprocessing transformers: contrast, denoising, normalisation,
resizing and colour conversion.

Every class is a scikit-learn transformer for batches of images of shape
``(n_samples, height, width)`` or ``(n_samples, height, width, channels)``,
usable as a ``Pipeline`` step and searchable with ``GridSearchCV``. They
return ``float32`` arrays and never modify their input.

One family of algorithms per private module: ``_contrast``
(:class:`ContrastEnhancer`), ``_denoising`` (:class:`Denoiser`),
``_intensity`` (:class:`IntensityNormalizer`), ``_geometry``
(:class:`Resizer`, :class:`ColorConverter`) and ``_common`` (the chunked,
parallel application shared by the filters).

This package imports only numpy, scipy, scikit-image, scikit-learn and
joblib (never TensorFlow), so preprocessing stays cheap to import.
"""

from ._contrast import ContrastEnhancer
from ._denoising import Denoiser
from ._geometry import ColorConverter, Resizer
from ._intensity import IntensityNormalizer

__all__ = [
    "ContrastEnhancer",
    "Denoiser",
    "IntensityNormalizer",
    "Resizer",
    "ColorConverter",
]

# Pickles, saved models and the trusted-class list of skbcnn.persistence name
# these classes "skbcnn.enhancement.<Name>" (from __module__): keep that
# public path, whichever private module defines the class.
for _cls in (ContrastEnhancer, Denoiser, IntensityNormalizer, Resizer, ColorConverter):
    _cls.__module__ = __name__
del _cls
