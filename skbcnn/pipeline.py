"""The default end-to-end pipeline: enhancement, denoising, normalisation,
augmentation and the CNN, as a plain scikit-learn ``Pipeline``."""

from types import MappingProxyType

from sklearn.pipeline import Pipeline

__all__ = ["LOW_RESOLUTION", "make_cnn_pipeline"]

#: Parameters for small images such as MedMNIST's 28 x 28 arrays:
#: ``make_cnn_pipeline(**LOW_RESOLUTION)``. CLAHE tiles, a 3x3 median and
#: geometric augmentation erase a lesion at 28 px; a wider network trained
#: for fewer epochs at a constant rate, without class weights, did best on
#: BreastMNIST (validation accuracy 0.889, AUC 0.946 over three seeds; see
#: the benchmarks page). Read-only: copy it to change a value,
#: ``{**LOW_RESOLUTION, "cnn__epochs": 30}``.
LOW_RESOLUTION = MappingProxyType({
    "enhance__method": "none",
    "denoise__method": "none",
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


def make_cnn_pipeline(*, memory=None, verbose=False, **params):
    """Build the library's recommended pipeline for breast images.

    Steps (stable public names, usable in ``set_params`` and grid search):

    ``enhance``
        :class:`~skbcnn.enhancement.ContrastEnhancer` (CLAHE).
    ``denoise``
        :class:`~skbcnn.enhancement.Denoiser` (median filter against speckle).
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
    memory : str, joblib.Memory or None, default=None
        Cache of the fitted preprocessing steps, as in
        :class:`sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time spent in each step.
    **params
        Nested parameters, as for ``Pipeline.set_params``
        (``cnn__epochs=5``, ``augment__rotation=15``, ``enhance__method="hist"``).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The unfitted pipeline.

    Examples
    --------
    >>> from skbcnn import make_cnn_pipeline
    >>> pipe = make_cnn_pipeline(cnn__epochs=5, augment__rotation=15)
    >>> [name for name, _ in pipe.steps]
    ['enhance', 'denoise', 'normalize', 'augment', 'cnn']
    >>> pipe.get_params()["cnn__epochs"]
    5

    For small images (MedMNIST, 28 px), start from the low-resolution
    parameters:

    >>> from skbcnn.pipeline import LOW_RESOLUTION
    >>> make_cnn_pipeline(**LOW_RESOLUTION).get_params()["enhance__method"]
    'none'
    """
    from .augmentation import ImageAugmenter
    from .classifier import CNNClassifier
    from .enhancement import ContrastEnhancer, Denoiser, IntensityNormalizer

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
    return pipeline.set_params(**params)
