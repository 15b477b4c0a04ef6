"""The hand-off from :class:`~skbcnn.augmentation.ImageAugmenter` to
:class:`~skbcnn.CNNClassifier`: the one contract both sides import.

In a pipeline ``[..., ImageAugmenter, CNNClassifier]`` the augmenter's
``fit_transform`` returns an :class:`AugmentedImages` array: one random draw
of augmented images (what any scikit-learn estimator would train on) that
also carries the un-augmented images (``source``) and the fitted augmenter
(``augmenter``). The classifier calls :func:`unwrap` on its training input;
when it gets an augmenter back, it trains on ``source`` and draws fresh
augmentations for every mini-batch of every epoch.

The hand-off only survives when the augmenter is the step **right before**
the classifier:

* skbcnn's own transformers refuse to be fit on an :class:`AugmentedImages`
  array that carries an augmenter (:func:`check_not_handed_off`), so an
  skbcnn step placed in between fails loudly;
* a third-party step in between (any scikit-learn transformer) returns a
  plain array, which drops the hand-off **silently**: the classifier then
  trains on the single augmented draw it receives, with no fresh
  augmentation per epoch.

This module imports neither TensorFlow nor Keras.
"""

import numpy as np

__all__ = ["AugmentedImages", "unwrap", "check_not_handed_off"]


class AugmentedImages(np.ndarray):
    """Augmented images that remember where they came from.

    A plain :class:`numpy.ndarray` subclass returned by
    :meth:`ImageAugmenter.fit_transform <skbcnn.augmentation.ImageAugmenter.fit_transform>`.
    Estimators that know nothing about it see an ordinary float32 array of
    augmented images (one random draw). :class:`skbcnn.CNNClassifier` reads
    the two extra attributes through :func:`unwrap` and trains on
    ``source`` with fresh augmentations every epoch instead.

    Parameters
    ----------
    augmented : array-like
        The augmented images (one draw).
    source : ndarray or None
        The un-augmented float32 images, same shape.
    augmenter : ImageAugmenter or None
        The fitted augmenter that made the draw.

    Attributes
    ----------
    source : ndarray or None
        The un-augmented float32 images, same shape.
    augmenter : ImageAugmenter or None
        The fitted augmenter that made the draw.

    Notes
    -----
    Only the array returned by ``fit_transform`` (and its pickled copies)
    carries ``source`` and ``augmenter``. Every array *derived* from it (a
    slice, a view, a reordering, a copy, the result of arithmetic) has both
    set to ``None``: numpy does not say which rows a derived array holds, and
    a ``source`` that no longer matches the rows would make the classifier
    train on the wrong images. A derived array therefore behaves like a
    plain one: a classifier trains on that single draw. ``np.asarray(aug)``
    returns a plain :class:`numpy.ndarray`.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.augmentation import ImageAugmenter
    >>> X = np.random.default_rng(0).random((4, 8, 8), dtype=np.float32)
    >>> aug = ImageAugmenter(random_state=0).fit_transform(X)
    >>> type(aug).__name__, aug.shape, aug.dtype
    ('AugmentedImages', (4, 8, 8), dtype('float32'))
    >>> bool(np.array_equal(aug.source, X))
    True
    >>> aug[:2].source is None
    True
    >>> type(np.asarray(aug)).__name__
    'ndarray'
    """

    def __new__(cls, augmented, *, source, augmenter):
        obj = np.asarray(augmented).view(cls)
        obj.source = source
        obj.augmenter = augmenter
        return obj

    def __array_finalize__(self, obj):
        # Called for views, slices, copies and ufunc outputs: never inherit
        # the provenance (see Notes).
        self.source = None
        self.augmenter = None

    def __reduce__(self):
        # ndarray pickles only the data; add our two attributes to the state
        # so that pickle, joblib and Pipeline(memory=...) keep them.
        reconstruct, args, state = super().__reduce__()
        return reconstruct, args, (state, self.source, self.augmenter)

    def __setstate__(self, state):
        array_state, self.source, self.augmenter = state
        super().__setstate__(array_state)


def unwrap(X):
    """Split training input into the images to train on and the augmenter.

    Parameters
    ----------
    X : array-like
        Training images, possibly the :class:`AugmentedImages` output of
        ``ImageAugmenter.fit_transform``.

    Returns
    -------
    images : array-like
        ``X.source`` (the un-augmented images) when ``X`` carries an
        augmenter, else ``X`` itself.
    augmenter : ImageAugmenter or None
        The fitted augmenter to draw fresh augmentations with, or ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn._handoff import unwrap
    >>> from skbcnn.augmentation import ImageAugmenter
    >>> X = np.zeros((2, 8, 8), dtype=np.float32)
    >>> images, augmenter = unwrap(ImageAugmenter(random_state=0).fit_transform(X))
    >>> bool(np.array_equal(images, X)), type(augmenter).__name__
    (True, 'ImageAugmenter')
    >>> unwrap(X)[0] is X, unwrap(X)[1] is None
    (True, True)
    """
    if isinstance(X, AugmentedImages) and X.augmenter is not None:
        return X.source, X.augmenter
    return X, None


def check_not_handed_off(X, step):
    """Refuse to fit ``step`` on images that carry the augmentation hand-off.

    A transformer fit on an :class:`AugmentedImages` array sits between the
    augmenter and the classifier, where its plain output would drop the
    hand-off (see the module docstring).

    Parameters
    ----------
    X : array-like
        The images ``step`` is about to be fit on.
    step : estimator
        The transformer, named in the message.

    Raises
    ------
    ValueError
        When ``X`` carries an augmenter.
    """
    if unwrap(X)[1] is not None:
        name = type(step).__name__
        raise ValueError(
            f"{name} was fit on the output of ImageAugmenter.fit_transform, whose fresh per-epoch "
            f"augmentation only reaches the CNN classifier directly: the augmenter must be the step "
            f"right before the CNN classifier. Move {name} before ImageAugmenter in the pipeline."
        )
