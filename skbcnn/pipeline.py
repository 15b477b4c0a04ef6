"""The default end-to-end pipeline and its recipes: enhancement, denoising,
normalisation, augmentation and the CNN, as a scikit-learn ``Pipeline``
(:class:`CNNPipeline`, which picks its recipe at ``fit``).

A *recipe* is a named set of pipeline parameters for one kind of image
(how each was chosen, and what it scores: :doc:`/benchmarks`):

``"pretrained"``
    Fine-tunes an ImageNet-pretrained EfficientNet-Lite0 (weights from a pip
    package, offline) with a linear head: for ultrasound and other images of
    64 px and more; image files loaded at :data:`RECIPE_IMAGE_SIZES` px.
``"low_resolution"``
    skbcnn's own network, wide, trained from scratch without CLAHE, median or
    geometric augmentation: for MedMNIST-size images (28 px).
``"from_scratch"``
    skbcnn's own network trained from scratch with CLAHE, median filtering and
    augmentation: needs no pretrained weights.

``make_cnn_pipeline()`` (``recipe="auto"``, the default) picks one at ``fit``
from the images' size with :func:`recommended_recipe`, the function
``skbcnn train`` uses; the fitted :class:`CNNPipeline` records the recipe
(``recipe_``) and the size and colour of its training images
(``image_size_``, ``color_``), and refuses images of another size or colour
at predict time with the loader call that fixes it.
"""

from types import MappingProxyType

import numpy as np
from sklearn.pipeline import Pipeline

from ._validation import check_images, closest_name

__all__ = ["FROM_SCRATCH", "LOW_RESOLUTION", "PRETRAINED", "RECIPES", "RECIPE_IMAGE_SIZES", "RECIPE_SUMMARIES",
           "CNNPipeline", "make_cnn_pipeline", "recipe_image_size", "recommended_recipe"]

#: Parameters of the ``"pretrained"`` recipe (read-only): an ImageNet-
#: pretrained EfficientNet-Lite0 fine-tuned whole (batch normalisation
#: frozen) with a linear softmax head, at a small learning rate over a short
#: cosine schedule; no CLAHE or median filter (the backbone learned its own
#: filters on photographs). It trains on every training image for the whole
#: schedule (no validation hold-out, so no early stopping) and keeps an
#: exponential moving average of the weights (Keras' ``use_ema`` of the
#: optimizer, routed as ``cnn__optimizer__use_ema``), without class weights.
#: Against the same network with a hold-out, early stopping and balanced
#: class weights, it is more accurate on BUSI's grouped folds (+0.04; the
#: ROC AUCs stayed the same); the figures, and why a linear head:
#: :doc:`/benchmarks`.
PRETRAINED = MappingProxyType({
    "enhance__method": "none",
    "denoise__method": "none",
    "cnn__backbone": "efficientnet_lite0",
    "cnn__dense_units": (),
    "cnn__learning_rate": 2e-4,
    "cnn__epochs": 15,
    # every training image for all 15 epochs: a hold-out of about 50 images
    # picked the kept epoch by noise, and the averaged weights need no pick
    "cnn__validation_split": 0.0,
    "cnn__early_stopping": False,
    "cnn__optimizer__use_ema": True,
    "cnn__class_weight": None,
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
    "cnn__validation_split": 0.1,
    "cnn__early_stopping": True,
    "cnn__optimizer__use_ema": False,
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
    "cnn__class_weight": "balanced",
    "cnn__validation_split": 0.1,
    "cnn__early_stopping": True,
    "cnn__optimizer__use_ema": False,
})

#: Every recipe by name (read-only). Each sets every parameter that the
#: default recipe changes, so ``make_cnn_pipeline(**RECIPES[name])`` equals
#: ``make_cnn_pipeline(name)``.
RECIPES = MappingProxyType({
    "pretrained": PRETRAINED,
    "low_resolution": LOW_RESOLUTION,
    "from_scratch": FROM_SCRATCH,
})

#: The side, in pixels, at which image files are loaded for each recipe, by
#: the loaders' default and by ``skbcnn train`` (``None``: arrays keep their
#: own size, as MedMNIST's do). Read it with :func:`recipe_image_size`.
RECIPE_IMAGE_SIZES = MappingProxyType({"pretrained": 224, "low_resolution": None, "from_scratch": 128})

# What recipe="auto" picks for image files: photographs and scans are larger
# than 64 px, so they are loaded at this recipe's size and then get it.
_RECIPE_FOR_FILES = "pretrained"

#: One line per recipe (read-only), for the progress lines of Python and the
#: command line.
RECIPE_SUMMARIES = MappingProxyType({
    "pretrained": "EfficientNet-Lite0 pretrained on ImageNet, fine-tuned",
    "low_resolution": "skbcnn's wide network from scratch, for small images",
    "from_scratch": "skbcnn's own network from scratch, with CLAHE and denoising",
})

# Every parameter some recipe sets: what recipe="auto" decides at fit.
_RECIPE_KEYS = tuple(sorted({key for recipe in RECIPES.values() for key in recipe}))

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


def recipe_image_size(recipe="auto"):
    """The side, in pixels, at which image files are loaded for ``recipe``.

    The one rule the loaders' default ``image_size="auto"`` and
    ``skbcnn train`` follow (:data:`RECIPE_IMAGE_SIZES`), so that Python and
    the command line train on the same images.

    Parameters
    ----------
    recipe : {"auto", "pretrained", "low_resolution", "from_scratch"}, default="auto"
        ``"auto"``: the recipe ``make_cnn_pipeline()`` picks for image files
        (``"pretrained"``: files are larger than 64 px).

    Returns
    -------
    side : int or None
        ``None`` for ``"low_resolution"``: arrays keep their own size.

    Examples
    --------
    >>> from skbcnn.pipeline import recipe_image_size
    >>> recipe_image_size(), recipe_image_size("from_scratch"), recipe_image_size("low_resolution")
    (224, 128, None)
    """
    _check_recipe(recipe)
    return RECIPE_IMAGE_SIZES[_RECIPE_FOR_FILES if recipe == "auto" else recipe]


def _check_recipe(recipe):
    if recipe != "auto" and recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)} or 'auto'; got {recipe!r}.")


def _base_steps():
    """The steps of every recipe, with the values no recipe changes."""
    from .augmentation import ImageAugmenter
    from .classifier import CNNClassifier
    from .enhancement import ContrastEnhancer, Denoiser, IntensityNormalizer

    return [
        ("enhance", ContrastEnhancer(method="clahe")),
        ("denoise", Denoiser(method="median")),
        ("normalize", IntensityNormalizer(method="zscore")),
        # Stronger zoom/shift than ImageAugmenter's defaults and balanced
        # class weights: both helped on BUSI (see docs/benchmarks.md).
        ("augment", ImageAugmenter(zoom=0.15, shift=0.1)),
        # optimizer__use_ema: stated so that a recipe can switch it (a
        # routed Keras optimizer argument has no default of its own here)
        ("cnn", CNNClassifier(class_weight="balanced", optimizer__use_ema=False)),
    ]


def _recipe_values(recipe):
    """Every key of :data:`_RECIPE_KEYS` as ``recipe`` sets it (the base steps' value where it does not)."""
    base = Pipeline(_base_steps()).get_params()
    return {key: RECIPES[recipe].get(key, base[key]) for key in _RECIPE_KEYS}


def _checked_images(X):
    """``X`` checked as every step checks it, grey as ``(n, H, W)`` (the steps then see one layout)."""
    X = check_images(X)  # paths, NaN, mixed sizes: the same one-line messages as the steps'
    return X[..., 0] if X.ndim == 4 and X.shape[-1] == 1 else X


def _shape_and_color(X):
    """``((H, W), "grey" or "rgb")`` of an image batch (one channel counts as grey)."""
    shape = np.shape(X)
    return tuple(int(s) for s in shape[1:3]), "rgb" if len(shape) == 4 and shape[3] == 3 else "grey"


class CNNPipeline(Pipeline):
    """The pipeline :func:`make_cnn_pipeline` returns: a scikit-learn
    ``Pipeline`` that picks its recipe at ``fit`` and records its input.

    Build it with :func:`make_cnn_pipeline`; everything a ``Pipeline`` does
    (``set_params``, ``clone``, ``GridSearchCV``, joblib, slicing) works the
    same. What it adds:

    * with ``recipe="auto"``, ``fit`` picks the recipe from the images' size
      with :func:`recommended_recipe` (as ``skbcnn train`` does) and sets
      that recipe's parameters on the steps, except those in
      ``fixed_params``;
    * ``fit`` records the recipe used (``recipe_``) and the size and colour
      of the training images (``image_size_``, ``color_``); ``predict``,
      ``predict_proba`` and ``score`` refuse images of another size or
      colour with the loader call that gives the right ones;
    * a path given instead of images, or a misspelt parameter name, is an
      error that says what to do.

    Parameters
    ----------
    steps : list of (str, estimator)
        The steps, as in :class:`sklearn.pipeline.Pipeline` (with the names
        :func:`make_cnn_pipeline` gives them, for the recipes).
    recipe : {"auto", "pretrained", "low_resolution", "from_scratch"}, default="auto"
        ``"auto"``: the recipe is chosen at ``fit`` from the images' size. A
        name: that recipe's parameters (set when the name is given, not
        again at ``fit``).
    fixed_params : tuple of str, default=()
        Recipe parameters chosen by the user (``make_cnn_pipeline``'s
        ``**params`` and later ``set_params`` calls add them here): the
        recipe never changes them. A value set directly on a step (not
        through the pipeline) is kept too, unless it is one some recipe
        gives that parameter.
    transform_input, memory, verbose
        As in :class:`sklearn.pipeline.Pipeline`.

    Attributes
    ----------
    recipe_ : str
        The recipe the pipeline was fitted with.
    image_size_ : tuple of int
        ``(H, W)`` of the training images.
    color_ : {"grey", "rgb"}
        Colour of the training images.

    Examples
    --------
    >>> from skbcnn import make_cnn_pipeline
    >>> from skbcnn.datasets import make_synthetic_ultrasound
    >>> X, y = make_synthetic_ultrasound(40, image_size=28, random_state=0, return_X_y=True)
    >>> pipe = make_cnn_pipeline(cnn__conv_filters=(4, 8), cnn__dense_units=(8,), cnn__epochs=1,
    ...                          cnn__random_state=0).fit(X, y)
    >>> pipe.recipe_, pipe.image_size_, pipe.color_
    ('low_resolution', (28, 28), 'grey')
    """

    def __init__(self, steps, *, recipe="auto", fixed_params=(), transform_input=None, memory=None,
                 verbose=False):
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)
        self.recipe = recipe
        self.fixed_params = fixed_params

    def __getitem__(self, ind):
        # a slice holds no classifier, hence no recipe: a plain Pipeline
        if isinstance(ind, slice):
            if ind.step not in (1, None):
                raise ValueError("Pipeline slicing only supports a step of 1")
            return Pipeline(self.steps[ind], memory=self.memory, verbose=self.verbose)
        return super().__getitem__(ind)

    def __repr__(self, N_CHAR_MAX=700):
        text = super().__repr__(N_CHAR_MAX)
        # the recipe fit chose is not a parameter: say it beside them
        return text if getattr(self, "recipe_", None) is None else f"{text}  # fitted: recipe_={self.recipe_!r}"

    def set_params(self, **params):
        """Set parameters, as ``Pipeline.set_params``; see :class:`CNNPipeline`.

        Recipe parameters set here join ``fixed_params`` (the recipe chosen
        at ``fit`` keeps them); a recipe name given as ``recipe`` sets that
        recipe's parameters. An unknown name is an error that suggests the
        closest valid one.

        Parameters
        ----------
        **params
            ``<step>__<name>`` values, steps, or the pipeline's own
            parameters.

        Returns
        -------
        self : CNNPipeline
        """
        self._check_names(params)
        if "recipe" in params:
            _check_recipe(params["recipe"])
        super().set_params(**params)
        chosen = {key for key in params if key in _RECIPE_KEYS}
        if chosen - set(self.fixed_params):
            self.fixed_params = tuple(sorted({*self.fixed_params, *chosen}))
        if params.get("recipe", "auto") != "auto":
            self._apply_recipe(params["recipe"])
        return self

    def _check_names(self, params):
        valid = self.get_params(deep=True)
        steps = dict(self.steps)
        for key in params:
            step, _, rest = key.partition("__")
            routed = "__" in rest and rest.split("__", 1)[0] in getattr(steps.get(step), "_routing_prefixes", ())
            if key not in valid and key not in steps and not routed:
                raise ValueError(
                    f"{key!r} is not a parameter of this pipeline.{closest_name(key, list(valid))} Parameters "
                    f"are <step>__<name> with steps {', '.join(steps)} (pipe.get_params() lists them).")

    def _apply_recipe(self, recipe):
        """Set ``recipe``'s parameters on the steps, except the user's and those of missing steps.

        The user's: ``fixed_params``, and values no recipe gives (set
        directly on a step, e.g. ``pipe["cnn"].set_params(epochs=3)``).
        """
        present = self.get_params(deep=True)
        known = [_recipe_values(name) for name in RECIPES]
        values = {key: value for key, value in _recipe_values(recipe).items()
                  if key in present and key not in self.fixed_params
                  and any(type(v[key]) is type(present[key]) and v[key] == present[key] for v in known)}
        Pipeline.set_params(self, **values)

    def fit(self, X, y=None, **params):
        """Pick the recipe (``recipe="auto"``), then fit as ``Pipeline.fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Training images (e.g. ``load_image_folder(path).images``).
        y : array-like of shape (n_samples,)
            Labels.
        **params
            Fit parameters of the steps (``cnn__groups=...``).

        Returns
        -------
        self : CNNPipeline
            The fitted pipeline.
        """
        _check_recipe(self.recipe)
        X = _checked_images(X)
        recipe = recommended_recipe(np.shape(X)[1:]) if self.recipe == "auto" else self.recipe
        if self.recipe == "auto":
            self._apply_recipe(recipe)
        if getattr(self.steps[-1][1], "verbose", None) == "status":  # the command line's progress lines
            import sys

            print(f"Recipe: {recipe} ({RECIPE_SUMMARIES[recipe]}) for images of {np.shape(X)[1:]}.",
                  file=sys.stderr, flush=True)
        super().fit(X, y, **params)
        self.recipe_ = recipe
        self.image_size_, self.color_ = _shape_and_color(X)
        return self

    def _check_input(self, X):
        """``X`` with grey as ``(n, H, W)``; refuses paths, and images of another size or colour than in ``fit``."""
        X = _checked_images(X)
        expected = getattr(self, "image_size_", None)
        if expected is None:  # not fitted: the steps say so
            return X
        size, color = _shape_and_color(X)
        if (size, color) != (tuple(expected), self.color_):
            side = expected[0] if expected[0] == expected[1] else tuple(expected)
            raise ValueError(
                f"this pipeline was trained on {expected[0]} x {expected[1]} {self.color_} images; got "
                f"{size[0]} x {size[1]} {color} images. Load them as in training: "
                f"load_images(paths, image_size={side!r}, color={self.color_!r}) (load_image_folder and "
                "load_busi take the same image_size and color).")
        return X

    def predict(self, X, **params):
        """Predict with the fitted pipeline (images as in ``fit``); see ``Pipeline.predict``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Images of the size and colour recorded in ``image_size_`` and ``color_``.
        **params
            As in :meth:`sklearn.pipeline.Pipeline.predict`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return super().predict(self._check_input(X), **params)

    def predict_proba(self, X, **params):
        """Class probabilities (images as in ``fit``); see ``Pipeline.predict_proba``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Images of the size and colour recorded in ``image_size_`` and ``color_``.
        **params
            As in :meth:`sklearn.pipeline.Pipeline.predict_proba`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return super().predict_proba(self._check_input(X), **params)

    def score(self, X, y=None, sample_weight=None, **params):
        """Accuracy on images ``X`` (as in ``fit``); see ``Pipeline.score``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Images of the size and colour recorded in ``image_size_`` and ``color_``.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), optional
            Sample weights.
        **params
            As in :meth:`sklearn.pipeline.Pipeline.score`.

        Returns
        -------
        score : float
        """
        return super().score(self._check_input(X), y, sample_weight=sample_weight, **params)


def make_cnn_pipeline(recipe="auto", *, memory=None, verbose=False, **params):
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
        :class:`~skbcnn.classifier.CNNClassifier`; ``class_weight="balanced"``
        in the from-scratch recipe (BUSI and BreastMNIST are imbalanced),
        none in the others (measured: :doc:`/benchmarks`).

    Parameters
    ----------
    recipe : {"auto", "pretrained", "low_resolution", "from_scratch"}, default="auto"
        The starting parameters (:data:`RECIPES`; see the module
        documentation). ``"auto"`` picks the recipe at ``fit`` from the
        images' size (:func:`recommended_recipe`, as ``skbcnn train``):
        ``"low_resolution"`` under 64 px, else ``"pretrained"``; until then
        the steps hold the pretrained recipe's values. ``"pretrained"``
        fine-tunes EfficientNet-Lite0, ``"low_resolution"`` suits
        MedMNIST-size images, ``"from_scratch"`` trains skbcnn's own network
        with CLAHE and denoising.
    memory : str, joblib.Memory or None, default=None
        Cache of the fitted preprocessing steps, as in
        :class:`sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time spent in each step.
    **params
        Nested parameters, applied after the recipe's and kept by
        ``recipe="auto"`` (``cnn__epochs=5``, ``augment__rotation=15``). A
        misspelt name is an error that suggests the closest one.

    Returns
    -------
    pipeline : CNNPipeline
        The unfitted pipeline (a scikit-learn ``Pipeline``); after ``fit``,
        ``recipe_`` names the recipe used.

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
    _check_recipe(recipe)
    pipeline = CNNPipeline(_base_steps(), recipe=recipe, memory=memory, verbose=verbose)
    # until fit, "auto" holds the recipe image files get
    pipeline._apply_recipe(_RECIPE_FOR_FILES if recipe == "auto" else recipe)
    return pipeline.set_params(**params)
