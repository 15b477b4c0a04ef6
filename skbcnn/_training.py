"""How :class:`skbcnn.CNNClassifier` trains a network: the training engine.

The classifier owns its parameters and checks its data; this module owns
what happens between a built, compiled Keras model and a trained one:

* TensorFlow's process settings, applied when a fit starts or a fitted
  classifier is unpickled or loaded (:func:`configure_tensorflow`), never at
  import;
* the stratified (optionally grouped) validation hold-out,
  :func:`_stratified_holdout`;
* the callbacks of the training policy: early stopping, the learning-rate
  schedule (:func:`lr_callbacks`) and the stop on a non-finite loss;
* the batches, freshly augmented every epoch when an augmenter was handed
  over (:class:`AugmentedBatches`);
* keeping memory flat over many fits in one process (:func:`build_optimizer`,
  :func:`forget_traced_custom_gradients`);
* test-time augmentation views (:func:`tta_views`).

Memory over many fits (TensorFlow backend)
------------------------------------------
Repeated ``keras.Model.fit`` calls grow the process even after
``keras.backend.clear_session()`` (keras-team/keras#17458,
tensorflow/tensorflow#61791; the figures are on the benchmarks page). The
growth has two sources, both global registries that outlive the model:

1. The optimizer's slot variables, when Keras creates them inside the traced
   train function, are initialised through ``tf.cond`` branch functions that
   TensorFlow adds to the eager context's function library and never removes.
   Building the optimizer eagerly before ``fit`` creates the same
   zero-initialised variables without any traced function.
2. Keras' TensorFlow optimizer sums the gradients with
   ``ReplicaContext.all_reduce``, a ``tf.custom_gradient`` function. Traced in
   graph mode, ``custom_gradient`` registers its gradient function under a
   fresh ``CustomGradient-<n>`` name in TensorFlow's global gradient registry,
   and that closure keeps the whole traced train graph alive. The gradient
   function is only looked up while a graph is being differentiated; once
   ``fit`` has traced its train step nothing asks for it again, so the
   entries registered during ``fit`` are dropped after it.

Both use TensorFlow internals; if they move, the helpers do nothing.
"""

import contextlib
import functools
import logging
import os
import warnings
from dataclasses import dataclass

import keras
import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

__all__ = [
    "AugmentedBatches",
    "build_optimizer",
    "check_finite_history",
    "configure_tensorflow",
    "forget_traced_custom_gradients",
    "lr_callbacks",
    "TrainingPolicy",
    "train",
    "tta_views",
]


# ------------------------------------------------------------- TensorFlow
def _no_retracing_warning(record):
    # Each fitted model traces its own predict function, so a grid search or
    # CV loop triggers TensorFlow's "excessive retracing" warning although
    # nothing is wrong; it is not actionable for our users.
    return "triggered tf.function retracing" not in record.getMessage()


def configure_tensorflow():
    """Apply skbcnn's TensorFlow settings; called before a classifier's
    network exists (when a fit starts, and when a fitted
    :class:`~skbcnn.CNNClassifier` is unpickled or loaded).

    Idempotent, and it never overrides a choice the user made:

    * the thread budget: joblib's worker processes (``GridSearchCV(n_jobs=2)``)
      get ``OMP_NUM_THREADS = cores // n_jobs``, which TensorFlow ignores (it
      would start one thread per core in every worker); ``SKBCNN_NUM_THREADS``
      sets the limit explicitly. Applied only when one of the two variables
      is set and TensorFlow's thread counts are still unset, and only before
      TensorFlow has executed anything (later it keeps its pool);
    * a filter on the ``"tensorflow"`` logger that drops the "excessive
      retracing" warning (``addFilter`` adds it once).
    """
    logging.getLogger("tensorflow").addFilter(_no_retracing_warning)
    _limit_threads()


@functools.cache
def _limit_threads():
    value = os.environ.get("SKBCNN_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if not value or keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() or threading.get_inter_op_parallelism_threads():
        return  # the user chose TensorFlow's threads: theirs wins
    try:
        threading.set_intra_op_parallelism_threads(int(value))
        threading.set_inter_op_parallelism_threads(max(1, min(2, int(value))))
    except RuntimeError:  # TensorFlow already running: too late, keep its pool
        pass


# ----------------------------------------------------------------- memory
def build_optimizer(model):
    """Create the optimizer's variables eagerly (memory source 1 above)."""
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
    """Drop the ``CustomGradient-*`` entries registered inside the block
    (memory source 2 above)."""
    registry = _gradient_registry()
    before = set(registry) if registry is not None else None
    try:
        yield
    finally:
        if registry is not None:
            for name in set(registry) - before:
                if name.startswith("CustomGradient-"):
                    registry.pop(name, None)


# ---------------------------------------------------------------- batches
class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled mini-batches, each augmented anew when Keras asks for it.

    Nothing is materialised beyond one batch: batch ``b`` is drawn with the
    seed ``(seed, epoch, b)``, so training is reproducible even when Keras
    fetches batches in any order. (Keras peeks at two batches and calls
    ``on_epoch_end`` once before training starts, so its first epoch uses
    ``epoch == 1``; the counter only has to differ between epochs.)

    Parameters
    ----------
    X : ndarray of shape (n_samples, H, W, C)
        Original (unaugmented) float images.
    y : ndarray
        Encoded targets.
    sample_weight : ndarray or None
        Per-image weights.
    batch_size : int
        Images per batch.
    augmenter : skbcnn.augmentation.ImageAugmenter
        Fitted augmenter whose ``augment`` draws the random transforms.
    seed : int
        Base seed.
    workers : int, default=1
        Threads Keras uses to fetch batches.
    """

    def __init__(self, X, y, sample_weight, *, batch_size, augmenter, seed, workers=1):
        super().__init__(workers=workers, use_multiprocessing=False)
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.batch_size = batch_size
        self.augmenter = augmenter
        self.seed = seed
        self.epoch = 0
        self._order = self._shuffle()

    def _shuffle(self):
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.X))

    def __len__(self):
        return int(np.ceil(len(self.X) / self.batch_size))

    def __getitem__(self, index):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        images = self.augmenter.augment(self.X[rows], random_state=rng)
        if self.sample_weight is None:
            return images, self.y[rows]
        return images, self.y[rows], self.sample_weight[rows]

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._shuffle()


def _augmented_training_data(X, y, sample_weight, batch_size, augmenter, rng):
    """Keras ``fit`` arguments that draw fresh augmentations every epoch."""
    # The draws depend on both seeds, so changing augment__random_state
    # alone gives other augmentations (None: the classifier's seed only).
    seed = [int(rng.integers(2**31 - 1))]
    if isinstance(augmenter.random_state, (int, np.integer)):
        seed.append(int(augmenter.random_state))
    batches = AugmentedBatches(
        X, y, sample_weight, batch_size=batch_size, augmenter=augmenter,
        seed=int(np.random.default_rng(seed).integers(2**31 - 1)),
    )
    # AugmentedBatches shuffles itself, from its own seed; Keras' shuffle of
    # a PyDataset would use Python's global ``random``, which other threads
    # (a dask worker's event loop) also draw from.
    return dict(x=batches, shuffle=False)


# ------------------------------------------------------------ the policy
class _StopWhenLossIsNotFinite(keras.callbacks.Callback):
    """Stop training after an epoch whose loss is NaN or infinite.

    Checked per epoch, not per batch like ``keras.callbacks.TerminateOnNaN``;
    the classifier then raises a clear ``FloatingPointError``
    (:func:`check_finite_history`).
    """

    # Any batch-level hook makes Keras wait for every batch's logs, which
    # slows every epoch measurably (benchmarks/bench_training.py).
    def on_epoch_end(self, epoch, logs=None):
        if not np.isfinite((logs or {}).get("loss", 0.0)):
            self.model.stop_training = True


def check_finite_history(history):
    """Raise ``FloatingPointError`` when a training loss in ``history`` is not finite.

    Parameters
    ----------
    history : dict of list
        Per-epoch values, as in ``CNNClassifier.history_``.
    """
    losses = np.asarray(history.get("loss", []), dtype=float)
    if losses.size and not np.isfinite(losses).all():
        epoch = int(np.argmin(np.isfinite(losses)))
        raise FloatingPointError(
            f"Training diverged: the loss became {losses[epoch]} at epoch {epoch + 1}. "
            "Lower learning_rate, check the input images for extreme values, "
            "or normalise them (skbcnn.enhancement.IntensityNormalizer)."
        )


def lr_callbacks(lr_schedule, *, learning_rate, epochs, patience, validating):
    """The Keras callbacks of a learning-rate schedule.

    Parameters
    ----------
    lr_schedule : {None, "plateau", "cosine"}
        ``None``: constant; ``"plateau"``: halve after ``max(2, patience // 2)``
        epochs without improvement, down to ``learning_rate / 100``;
        ``"cosine"``: half cosine from ``learning_rate`` to 0 over ``epochs``.
    learning_rate : float
        Starting learning rate.
    epochs : int
        Length of the cosine decay.
    patience : int
        Early-stopping patience; the plateau schedule waits half of it.
    validating : bool
        Whether ``val_loss`` exists (else the plateau watches ``loss``).

    Returns
    -------
    callbacks : list of keras.callbacks.Callback
    """
    if lr_schedule == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if validating else "loss", factor=0.5,
            patience=max(2, patience // 2), min_lr=learning_rate / 100,
        )]
    if lr_schedule == "cosine":
        def cosine(epoch, lr):
            return float(learning_rate * 0.5 * (1 + np.cos(np.pi * min(epoch, epochs) / epochs)))

        return [keras.callbacks.LearningRateScheduler(cosine)]
    return []


# Fewer validation images of a class than this and the hold-out's scores are
# noise (6 images of 3 classes: val_accuracy moves in steps of 0.17).
_FEWEST_PER_CLASS = 5


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
            # stacklevel: through train and scikeras' fit, to CNNClassifier.fit
            warnings.warn(
                f"No validation split that keeps the {len(np.unique(groups))} groups whole and holds every "
                "class: training without a hold-out (no early stopping). Use fewer, larger groups or "
                "more images.", UserWarning, stacklevel=6)
            return X, y, sample_weight, None
        idx_train, idx_val = splits[0]
    counts = np.bincount(labels[idx_val].astype(int))
    if counts[counts > 0].min() < _FEWEST_PER_CLASS:
        # stacklevel: through train and scikeras' fit, to CNNClassifier.fit
        warnings.warn(
            f"The validation hold-out has only {len(idx_val)} images ({counts[counts > 0].min()} in its smallest "
            f"class, fewer than {_FEWEST_PER_CLASS}): its val_loss, which picks the epoch kept by early "
            "stopping, is mostly noise. Train on more images, or raise validation_split "
            f"(now {fraction:g}), or set early_stopping=False.", UserWarning, stacklevel=6)
    validation = (X[idx_val], y[idx_val])
    weights = None if sample_weight is None else sample_weight[idx_train]
    return X[idx_train], y[idx_train], weights, validation


@dataclass(frozen=True)
class TrainingPolicy:
    """How :func:`train` trains: the classifier's training parameters of one fit.

    Built by :class:`skbcnn.CNNClassifier` from its parameters; immutable, so
    nothing changes it while a fit runs.

    Attributes
    ----------
    batch_size : int
        Images per mini-batch.
    seed : int or None
        Seeds the hold-out and the augmentation draws.
    validation_split : float
        Fraction held out, stratified (by groups when given); 0: none.
    early_stopping : bool
        Stop on ``val_loss`` after ``patience`` epochs without improvement
        and restore the best weights (needs a hold-out).
    patience : int
        Early-stopping patience.
    lr_schedule, learning_rate, schedule_epochs
        The learning-rate schedule, see :func:`lr_callbacks` (whose
        ``epochs`` is ``schedule_epochs``).
    verbose : int, default=0
        Keras' verbosity.
    """

    batch_size: int
    seed: object
    validation_split: float
    early_stopping: bool
    patience: int
    lr_schedule: object
    learning_rate: float
    schedule_epochs: int
    verbose: int = 0


def train(model, X, y, sample_weight, policy, *, epochs, initial_epoch, callbacks, augmenter=None, groups=None,
          **fit_args):
    """Train a compiled Keras ``model`` under the classifier's training policy.

    Parameters
    ----------
    model : keras.Model
        Built and compiled network, trained in place.
    X : ndarray of shape (n_samples, H, W, C)
        Training images as the network sees them.
    y : ndarray
        Encoded targets.
    sample_weight : ndarray of shape (n_samples,) or None
        Per-image weights.
    policy : TrainingPolicy
        Batch size, seed, hold-out, early stopping and learning-rate schedule.
    epochs : int
        Epochs to run in this call.
    initial_epoch : int
        Epoch to start counting from (warm start).
    callbacks : list of keras.callbacks.Callback
        The user's callbacks; the policy's are added after them.
    augmenter : ImageAugmenter, optional
        Draw fresh augmentations of every batch with it (see
        :mod:`skbcnn._handoff`).
    groups : ndarray of shape (n_samples,), optional
        Groups kept whole by the hold-out.
    **fit_args
        Further ``keras.Model.fit`` arguments.

    Returns
    -------
    history : dict of list
        Keras' per-epoch history of this call.
    kept_epoch : int
        The epoch (1-based, counted from the first fit) whose weights the
        model holds: early stopping's best ``val_loss`` (Keras restores it
        at the end of training), else the last epoch.
    """
    callbacks = list(callbacks) + [_StopWhenLossIsNotFinite()]
    rng = np.random.default_rng(policy.seed)

    validation_data = None
    if policy.validation_split > 0:
        X, y, sample_weight, validation_data = _stratified_holdout(
            X, y, sample_weight, policy.validation_split, rng, groups
        )
    stopper = None
    if validation_data is not None and policy.early_stopping:
        stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=policy.patience,
                                                restore_best_weights=True)
        callbacks.append(stopper)
    callbacks.extend(lr_callbacks(
        policy.lr_schedule, learning_rate=policy.learning_rate, epochs=policy.schedule_epochs,
        patience=policy.patience,
        validating=validation_data is not None,
    ))

    if augmenter is not None:
        data = _augmented_training_data(X, y, sample_weight, policy.batch_size, augmenter, rng)
    else:
        data = dict(x=X, y=y, sample_weight=sample_weight, batch_size=policy.batch_size, shuffle=True)
    # Without these two, every fit would leave memory behind (module docstring).
    build_optimizer(model)
    with forget_traced_custom_gradients():
        hist = model.fit(
            **data, epochs=initial_epoch + epochs, initial_epoch=initial_epoch,
            validation_data=validation_data, callbacks=callbacks, verbose=policy.verbose, **fit_args,
        )
    if stopper is not None and stopper.best_weights is not None:
        return hist.history, stopper.best_epoch + 1
    return hist.history, initial_epoch + len(hist.history.get("loss", []))


# -------------------------------------------------------------- predict
def tta_views(images):
    """The test-time augmentation views of a batch: itself, its horizontal
    mirror and two copies rotated by +-8 degrees (reflecting borders).

    Parameters
    ----------
    images : ndarray of shape (n, H, W, C) or (n, H, W)
        Images.

    Returns
    -------
    views : list of ndarray
        Four arrays of the shape of ``images``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn._training import tta_views
    >>> views = tta_views(np.zeros((2, 8, 8, 1), dtype=np.float32))
    >>> len(views), views[1].shape
    (4, (2, 8, 8, 1))
    """
    return [images, images[:, :, ::-1], _rotate(images, 8), _rotate(images, -8)]


def _rotate(images, degrees):
    """Rotate a batch of images about their centres (reflecting borders)."""
    from scipy.ndimage import rotate

    return rotate(images, degrees, axes=(2, 1), reshape=False, order=1, mode="reflect")
