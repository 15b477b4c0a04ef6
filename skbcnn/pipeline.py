"""The default end-to-end pipeline and its recipes: enhancement, denoising,
normalisation, augmentation and the CNN, as a plain scikit-learn ``Pipeline``.

A *recipe* is a named set of pipeline parameters for one kind of image
(how each was chosen, and what it scores: :doc:`/benchmarks`):

``"pretrained"`` (the default)
    Fine-tunes an ImageNet-pretrained EfficientNet-Lite0 (weights from a pip
    package, offline) with a linear head: for ultrasound and other images of
    64 px and more; images loaded at :data:`RECIPE_IMAGE_SIZES` px.
``"low_resolution"``
    skbcnn's own network, wide, trained from scratch without CLAHE, median or
    geometric augmentation: for MedMNIST-size images (28 px).
``"from_scratch"``
    skbcnn's own network trained from scratch with CLAHE, median filtering and
    augmentation: needs no pretrained weights.

:func:`recommended_recipe` picks one from the image size, as ``skbcnn train``
does.
"""

from types import MappingProxyType

from sklearn.pipeline import Pipeline

__all__ = ["FROM_SCRATCH", "LOW_RESOLUTION", "PRETRAINED", "RECIPES", "RECIPE_IMAGE_SIZES",
           "make_cnn_pipeline", "recommended_recipe"]

#: Parameters of the ``"pretrained"`` recipe (read-only): an ImageNet-
#: pretrained EfficientNet-Lite0 fine-tuned whole (batch normalisation
#: frozen) with a linear softmax head, at a small learning rate over a short
#: cosine schedule; no CLAHE or median filter (the backbone learned its own
#: filters on photographs). Why a linear head: :doc:`/benchmarks`.
PRETRAINED = MappingProxyType({
    "enhance__method": "none",
    "denoise__method": "none",
    "cnn__backbone": "efficientnet_lite0",
    "cnn__dense_units": (),
    "cnn__learning_rate": 2e-4,
    "cnn__epochs": 15,
    "cnn__patience": 15,
})

#: Parameters of the ``"low_resolution"`` recipe, for small images such as
#: MedMNIST's 28 x 28 arrays (read-only): no CLAHE, median filter or
#: geometric augmentation (at 28 px they erase a lesion), normalisation with
#: the training set's statistics, and a wider network trained for fewer
#: epochs at a constant rate, without class weights (how it was chosen:
#: :doc:`/benchmarks`). Copy it to change a value:
#: ``{**LOW_RESOLUTION, "cnn__epochs": 30}``.
LOW_RESOLUTION = MappingProxyType({
    "enhance__method": "none",
    "denoise__method": "none",
    "cnn__backbone": None,
    "cnn__dense_units": (128,),
    "cnn__learning_rate": 1e-3,
    "normalize__method": "dataset",
    "augment__rotation": 0,
    "augment__zoom": 0,
    "augment__shift": 0,
    "cnn__conv_filters": (32, 64, 128, 256),
    "cnn__epochs": 60,
    "cnn__patience": 15,
    "cnn__lr_schedule": None,
    "cnn__class_weight": None,
})

#: Parameters of the ``"from_scratch"`` recipe (read-only): the steps' own
#: defaults, CLAHE, a 3x3 median and skbcnn's network trained for up to 200
#: epochs.
FROM_SCRATCH = MappingProxyType({
    "enhance__method": "clahe",
    "denoise__method": "median",
    "cnn__backbone": None,
    "cnn__dense_units": (128,),
    "cnn__learning_rate": 1e-3,
    "cnn__epochs": 200,
    "cnn__patience": 40,
})

#: Every recipe by name (read-only). Each sets every parameter that the
#: default recipe changes, so ``make_cnn_pipeline(**RECIPES[name])`` equals
#: ``make_cnn_pipeline(name)``.
RECIPES = MappingProxyType({
    "pretrained": PRETRAINED,
    "low_resolution": LOW_RESOLUTION,
    "from_scratch": FROM_SCRATCH,
})

#: The side, in pixels, at which ``skbcnn train`` loads image folders for
#: each recipe (``None``: the images' own size, for MedMNIST arrays).
RECIPE_IMAGE_SIZES = MappingProxyType({"pretrained": 224, "low_resolution": None, "from_scratch": 128})

# Below this side a pretrained backbone's last feature map is 1 x 1 (and
# 28-px images were not measured with one): such images get the
# low-resolution recipe.
_SMALLEST_FOR_PRETRAINED = 64


def recommended_recipe(image_shape):
    """The recipe for images of this shape, as ``skbcnn train`` picks it.

    Small images get skbcnn's own network, larger ones a pretrained backbone
    (the comparison behind this rule: :doc:`/benchmarks`).

    Parameters
    ----------
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)`` of one image (``images.shape[1:]``).

    Returns
    -------
    recipe : {"pretrained", "low_resolution"}
        ``"low_resolution"`` for images smaller than 64 px on a side,
        ``"pretrained"`` otherwise.

    Examples
    --------
    >>> from skbcnn.pipeline import recommended_recipe
    >>> recommended_recipe((28, 28)), recommended_recipe((160, 160, 1))
    ('low_resolution', 'pretrained')
    """
    height, width = tuple(image_shape)[:2]
    return "low_resolution" if min(height, width) < _SMALLEST_FOR_PRETRAINED else "pretrained"


def make_cnn_pipeline(recipe="pretrained", *, memory=None, verbose=False, **params):
    """Build the library's recommended pipeline for breast images.

    Steps (stable public names, usable in ``set_params`` and grid search):

    ``enhance``
        :class:`~skbcnn.enhancement.ContrastEnhancer` (CLAHE; off in the
        pretrained and low-resolution recipes).
    ``denoise``
        :class:`~skbcnn.enhancement.Denoiser` (median filter against speckle;
        off in the pretrained and low-resolution recipes).
    ``normalize``
        :class:`~skbcnn.enhancement.IntensityNormalizer` (per-image z-score).
    ``augment``
        :class:`~skbcnn.augmentation.ImageAugmenter` (rotation 15 degrees,
        horizontal flip, zoom 0.15, shift 0.1; training only, fresh every
        epoch).
    ``cnn``
        :class:`~skbcnn.classifier.CNNClassifier` with
        ``class_weight="balanced"`` (BUSI and BreastMNIST are imbalanced).

    Parameters
    ----------
    recipe : {"pretrained", "low_resolution", "from_scratch"}, default="pretrained"
        The starting parameters (:data:`RECIPES`; see the module
        documentation). ``"pretrained"`` fine-tunes EfficientNet-Lite0 and
        suits images of 64 px and more; use ``"low_resolution"`` for
        MedMNIST-size images (:func:`recommended_recipe` picks by size) and
        ``"from_scratch"`` for skbcnn's own network with CLAHE and denoising.
    memory : str, joblib.Memory or None, default=None
        Cache of the fitted preprocessing steps, as in
        :class:`sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time spent in each step.
    **params
        Nested parameters, applied after the recipe's, as for
        ``Pipeline.set_params`` (``cnn__epochs=5``, ``augment__rotation=15``).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The unfitted pipeline.

    Examples
    --------
    >>> from skbcnn import make_cnn_pipeline
    >>> pipe = make_cnn_pipeline(cnn__epochs=5)
    >>> [name for name, _ in pipe.steps]
    ['enhance', 'denoise', 'normalize', 'augment', 'cnn']
    >>> pipe.get_params()["cnn__backbone"], pipe.get_params()["cnn__epochs"]
    ('efficientnet_lite0', 5)

    For small images (MedMNIST, 28 px), the low-resolution recipe; to train
    skbcnn's own network, the from-scratch one:

    >>> make_cnn_pipeline("low_resolution").get_params()["cnn__conv_filters"]
    (32, 64, 128, 256)
    >>> make_cnn_pipeline("from_scratch").get_params()["enhance__method"]
    'clahe'
    """
    from .augmentation import ImageAugmenter
    from .classifier import CNNClassifier
    from .enhancement import ContrastEnhancer, Denoiser, IntensityNormalizer

    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}; got {recipe!r}.")
    pipeline = Pipeline(
        [
            ("enhance", ContrastEnhancer(method="clahe")),
            ("denoise", Denoiser(method="median")),
            ("normalize", IntensityNormalizer(method="zscore")),
            # Stronger zoom/shift than ImageAugmenter's defaults and balanced
            # class weights: both helped on BUSI (see docs/benchmarks.md).
            ("augment", ImageAugmenter(zoom=0.15, shift=0.1)),
            ("cnn", CNNClassifier(class_weight="balanced")),
        ],
        memory=memory,
        verbose=verbose,
    )
    return pipeline.set_params(**{**RECIPES[recipe], **params})
