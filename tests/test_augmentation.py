"""ImageAugmenter: train-only, fresh-every-epoch augmentation.

The first part needs no TensorFlow. The integration tests with
skbcnn.CNNClassifier come last and share one module-scoped fitted pipeline.
"""

import pickle

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbcnn._validation import as_float_images
from skbcnn.augmentation import AugmentedImages, ImageAugmenter

ALL_OFF = dict(rotation=0, horizontal_flip=False, vertical_flip=False, zoom=0,
               shift=0, brightness=0, contrast=0)


def images(n=6, size=12, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, size, size) if channels is None else (n, size, size, channels)
    return rng.random(shape, dtype=np.float32)


# (importing skbcnn.augmentation without TensorFlow: tests/test_package.py)


# --------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(rotation=-1), "rotation"),
        (dict(rotation=181), "rotation"),
        (dict(rotation="15"), "rotation"),
        (dict(zoom=-0.1), "zoom"),
        (dict(zoom=1.0), "zoom"),
        (dict(shift=-0.01), "shift"),
        (dict(shift=0.6), "shift"),
        (dict(brightness=-0.1), "brightness"),
        (dict(brightness=1.5), "brightness"),
        (dict(contrast=-0.2), "contrast"),
        (dict(contrast=1.2), "contrast"),
        (dict(horizontal_flip="yes"), "horizontal_flip"),
        (dict(vertical_flip=1), "vertical_flip"),
        (dict(fill_mode="bogus"), "fill_mode"),
        (dict(fill_mode=None), "fill_mode"),
    ],
)
def test_invalid_params_raise_naming_the_param(params, match):
    X = images()
    with pytest.raises(ValueError, match=match):
        ImageAugmenter(**params).fit(X)
    with pytest.raises(ValueError, match=match):
        ImageAugmenter(**params).augment(X, random_state=0)


@pytest.mark.parametrize("fill_mode", ["reflect", "nearest", "constant", "wrap", "mirror"])
def test_every_fill_mode_works(fill_mode):
    X = images()
    out = ImageAugmenter(rotation=45, zoom=0.3, fill_mode=fill_mode).augment(X, random_state=0)
    assert out.shape == X.shape and np.isfinite(out).all()


def test_init_only_stores_and_clone_roundtrips():
    aug = ImageAugmenter(rotation=-5, fill_mode="bogus")  # checked in fit, not here
    assert aug.get_params()["rotation"] == -5
    assert clone(aug).get_params() == aug.get_params()


def test_bad_input_images():
    with pytest.raises(ValueError, match="dimension"):
        ImageAugmenter().fit(np.zeros((4, 5)))
    X = images()
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ImageAugmenter().fit(X)
    with pytest.raises(ValueError, match="n_variants"):
        ImageAugmenter().preview(images()[0], n_variants=0)
    with pytest.raises(ValueError, match="one image"):
        ImageAugmenter().preview(images(channels=1))


# ---------------------------------------------------- transform / fit_transform
def test_transform_is_identity_and_fit_transform_augments():
    X = images()
    aug = ImageAugmenter(random_state=0).fit(X)
    Xt = aug.transform(X)
    assert type(Xt) is np.ndarray and Xt.dtype == np.float32
    assert np.array_equal(Xt, X) and Xt is not X
    drawn = ImageAugmenter(random_state=0).fit_transform(X)
    assert isinstance(drawn, AugmentedImages)
    assert drawn.dtype == np.float32 and drawn.shape == X.shape
    assert not np.array_equal(np.asarray(drawn), X)


def test_transform_scales_integer_images_like_the_classifier():
    X = (images() * 255).astype(np.uint8)
    Xt = ImageAugmenter().fit(X).transform(X)
    assert Xt.dtype == np.float32
    np.testing.assert_array_equal(Xt, as_float_images(X))  # X / 255, as CNNClassifier does


def test_transform_checks_fitted_and_shape():
    with pytest.raises(NotFittedError):
        ImageAugmenter().transform(images())
    aug = ImageAugmenter().fit(images(size=12))
    with pytest.raises(ValueError, match="shape"):
        aug.transform(images(size=10))
    assert aug.image_shape_ == (12, 12) and aug.n_features_in_ == 144


def test_fit_transform_is_seeded():
    X = images()
    a = ImageAugmenter(random_state=3).fit_transform(X)
    b = ImageAugmenter(random_state=3).fit_transform(X)
    c = ImageAugmenter(random_state=4).fit_transform(X)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# ------------------------------------------------------------------- augment
@pytest.mark.parametrize("channels", [None, 1, 3])
def test_augment_shapes_dtypes_and_input_untouched(channels):
    X = images(channels=channels)
    before = X.copy()
    aug = ImageAugmenter(rotation=30, vertical_flip=True, brightness=0.2, contrast=0.3)
    out = aug.augment(X, random_state=0)
    assert out.shape == X.shape and out.dtype == np.float32
    assert out.flags.c_contiguous and np.isfinite(out).all()
    assert np.array_equal(X, before)
    assert not np.array_equal(out, X)


def test_channels_are_transformed_identically():
    X = images()
    aug = ImageAugmenter(rotation=30, vertical_flip=True, brightness=0.2, contrast=0.3)
    grey = aug.augment(X, random_state=5)
    single = aug.augment(X[..., None], random_state=5)
    rgb = aug.augment(np.repeat(X[..., None], 3, axis=-1), random_state=5)
    assert np.array_equal(single[..., 0], grey)
    for c in range(3):
        assert np.array_equal(rgb[..., c], grey)


@pytest.mark.parametrize(
    "make_rng",
    [lambda: 7, lambda: np.random.RandomState(7), lambda: np.random.default_rng(7)],
    ids=["int", "RandomState", "Generator"],
)
def test_augment_is_deterministic_for_every_kind_of_random_state(make_rng):
    X = images()
    aug = ImageAugmenter(rotation=30, brightness=0.1)
    assert np.array_equal(aug.augment(X, random_state=make_rng()),
                          aug.augment(X, random_state=make_rng()))


def test_augment_generator_advances_and_seed_sequence_like_training():
    # AugmentedBatches passes default_rng([seed, epoch, batch]).
    X = images()
    aug = ImageAugmenter(rotation=30)
    e0 = aug.augment(X, random_state=np.random.default_rng([0, 0, 0]))
    e1 = aug.augment(X, random_state=np.random.default_rng([0, 1, 0]))
    again = aug.augment(X, random_state=np.random.default_rng([0, 0, 0]))
    assert np.array_equal(e0, again) and not np.array_equal(e0, e1)
    rng = np.random.default_rng(0)
    assert not np.array_equal(aug.augment(X, random_state=rng), aug.augment(X, random_state=rng))


def test_augment_without_random_state_uses_the_estimators():
    X = images()
    aug = ImageAugmenter(random_state=1)
    assert np.array_equal(aug.augment(X), aug.augment(X, random_state=1))


@pytest.mark.parametrize("channels", [None, 3])
def test_all_off_returns_an_exact_copy(channels):
    X = images(channels=channels)
    out = ImageAugmenter(**ALL_OFF).augment(X, random_state=0)
    assert np.array_equal(out, X) and out is not X
    assert not np.shares_memory(out, X)
    assert np.array_equal(ImageAugmenter(**ALL_OFF, random_state=0).fit_transform(X), X)


def test_flips_only_are_exact_mirrors():
    X = images(n=40)
    out = ImageAugmenter(**{**ALL_OFF, "horizontal_flip": True}).augment(X, random_state=0)
    mirrored = np.array([np.array_equal(o, x[:, ::-1]) for o, x in zip(out, X)])
    unchanged = np.array([np.array_equal(o, x) for o, x in zip(out, X)])
    assert (mirrored ^ unchanged).all() and 5 < mirrored.sum() < 35


def _centroid(image):
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


def test_geometry_rotation_zoom_shift():
    # a dot 6 px right of the centre turns about the centre by the drawn angle
    dot = np.zeros((1, 31, 31), np.float32)
    dot[0, 15, 21] = 1
    turned = ImageAugmenter(**{**ALL_OFF, "rotation": 90, "fill_mode": "constant"})
    for seed in range(3):
        u = np.random.RandomState(seed).uniform(0, 1, (1, 8))  # augment's draws
        angle = 90 * (2 * u[0, 0] - 1)
        row, col = _centroid(turned.augment(dot, random_state=seed)[0]) - 15
        assert np.hypot(row, col) == pytest.approx(6, abs=0.1)
        assert abs(np.degrees(np.arctan2(row, col))) == pytest.approx(abs(angle), abs=1.5)
    # a bright square grows with zoom > 1 and shrinks with zoom < 1
    square = np.zeros((1, 41, 41), np.float32)
    square[0, 15:26, 15:26] = 1
    grown = ImageAugmenter(**{**ALL_OFF, "zoom": 0.5, "fill_mode": "constant"})
    for seed in range(4):
        scale = 1 + 0.5 * (2 * np.random.RandomState(seed).uniform(0, 1, (1, 8))[0, 1] - 1)
        area = grown.augment(square, random_state=seed).sum() / square.sum()
        assert area == pytest.approx(scale**2, rel=0.1)
    # a shift moves a dot by the drawn number of pixels (rows, columns)
    dot = np.zeros((1, 21, 21), np.float32)
    dot[0, 10, 10] = 1
    shifted = ImageAugmenter(**{**ALL_OFF, "shift": 0.4, "fill_mode": "constant"})
    u = np.random.RandomState(2).uniform(0, 1, (1, 8))
    expected = 0.4 * (2 * u[0, 2:4] - 1) * 21
    moved = shifted.augment(dot, random_state=2)[0]
    np.testing.assert_allclose(_centroid(moved) - 10, expected, atol=1e-3)


def test_brightness_is_relative_to_the_intensity_range():
    X = images()
    aug = ImageAugmenter(**{**ALL_OFF, "brightness": 0.3})
    a = aug.augment(X, random_state=0)
    b = aug.augment(10 * X + 5, random_state=0)  # same images, other scale
    np.testing.assert_allclose(b, 10 * a + 5, rtol=1e-5, atol=1e-4)
    offsets = (a - X).reshape(len(X), -1)
    assert np.allclose(offsets, offsets[:, :1], atol=1e-6)  # one offset per image
    ranges = np.ptp(X.reshape(len(X), -1), axis=1)
    assert (np.abs(offsets[:, 0]) <= 0.3 * ranges + 1e-6).all()


def test_contrast_keeps_the_mean():
    X = images()
    out = ImageAugmenter(**{**ALL_OFF, "contrast": 0.5}).augment(X, random_state=0)
    np.testing.assert_allclose(out.mean(axis=(1, 2)), X.mean(axis=(1, 2)), atol=1e-5)
    ratio = out.std(axis=(1, 2)) / X.std(axis=(1, 2))
    assert ((ratio >= 0.5 - 1e-4) & (ratio <= 1.5 + 1e-4)).all()
    assert not np.allclose(ratio, 1)


def test_read_only_input():
    X = images()
    X.flags.writeable = False
    out = ImageAugmenter(rotation=30).augment(X, random_state=0)
    assert out.flags.writeable and out.shape == X.shape


def test_preview():
    image = images()[0]
    aug = ImageAugmenter(rotation=30)
    variants = aug.preview(image, n_variants=5, random_state=0)
    assert variants.shape == (5, 12, 12) and variants.dtype == np.float32
    assert len({v.tobytes() for v in variants}) == 5
    assert aug.preview(np.stack([image] * 3, -1), n_variants=2).shape == (2, 12, 12, 3)
    assert np.array_equal(variants, aug.preview(image, n_variants=5, random_state=0))


@settings(max_examples=20, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 3),
    height=st.integers(1, 10),
    width=st.integers(1, 10),
    channels=st.sampled_from([None, 1, 3]),
    params=st.fixed_dictionaries(
        dict(
            rotation=st.floats(0, 180),
            horizontal_flip=st.booleans(),
            vertical_flip=st.booleans(),
            zoom=st.floats(0, 0.9),
            shift=st.floats(0, 0.5),
            brightness=st.floats(0, 1),
            contrast=st.floats(0, 1),
            fill_mode=st.sampled_from(["reflect", "nearest", "constant", "wrap", "mirror"]),
        )
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_augment_properties(data, n, height, width, channels, params, seed):
    shape = (n, height, width) + (() if channels is None else (channels,))
    X = data.draw(hnp.arrays(np.float32, shape, elements=st.floats(-1e3, 1e3, width=32)))
    before = X.copy()
    aug = ImageAugmenter(**params)
    out = aug.augment(X, random_state=seed)
    assert out.shape == X.shape and out.dtype == np.float32
    assert np.isfinite(out).all()
    assert np.array_equal(X, before)
    assert np.array_equal(out, aug.augment(X, random_state=seed))


# ----------------------------------------------------------- AugmentedImages
def test_augmented_images_carry_source_and_augmenter():
    X = images()
    aug = ImageAugmenter(random_state=0)
    drawn = aug.fit_transform(X)
    assert drawn.augmenter is aug
    assert type(drawn.source) is np.ndarray and drawn.source.dtype == np.float32
    assert np.array_equal(drawn.source, X) and not np.shares_memory(drawn.source, X)
    assert type(np.asarray(drawn)) is np.ndarray


def test_integer_images_source_is_scaled_float():
    X = (images() * 255).astype(np.uint8)
    drawn = ImageAugmenter(random_state=0).fit_transform(X)
    np.testing.assert_array_equal(drawn.source, as_float_images(X))


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_augmented_images_survive_pickling(dump, tmp_path):
    X = images()
    drawn = ImageAugmenter(rotation=20, random_state=0).fit_transform(X)
    if dump == "pickle":
        back = pickle.loads(pickle.dumps(drawn))
    else:
        joblib.dump(drawn, tmp_path / "a.joblib")
        back = joblib.load(tmp_path / "a.joblib")
    assert isinstance(back, AugmentedImages)
    assert np.array_equal(back, drawn)
    assert np.array_equal(back.source, drawn.source)
    assert isinstance(back.augmenter, ImageAugmenter)
    assert back.augmenter.get_params() == drawn.augmenter.get_params()
    assert back.augmenter.image_shape_ == (12, 12)


@pytest.mark.parametrize(
    "derive",
    [lambda a: a[:3], lambda a: a[::-1], lambda a: a[[0, 2]], lambda a: a.copy(),
     lambda a: a + 1, lambda a: a.reshape(len(a), -1), lambda a: a.view()],
    ids=["slice", "reversed", "fancy", "copy", "ufunc", "reshape", "view"],
)
def test_derived_arrays_lose_source_and_augmenter(derive):
    drawn = ImageAugmenter(random_state=0).fit_transform(images())
    derived = derive(drawn)
    assert derived.source is None and derived.augmenter is None
    assert drawn.source is not None  # the original keeps them


class _Recorder(ClassifierMixin, BaseEstimator):
    """Final step that records what its fit received."""

    def fit(self, X, y):
        self.got_source_ = getattr(X, "source", None) is not None
        self.got_augmenter_ = getattr(X, "augmenter", None)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_cached_pipeline_keeps_source_and_augmenter(tmp_path):
    # Pipeline(memory=...) pickles each fitted step's output: on a cache hit
    # the final step must still get the source and the augmenter.
    X, y = images(n=20), np.arange(20) % 2
    memory = joblib.Memory(tmp_path, verbose=0)
    for attempt in range(2):  # the second fit loads the augment step from the cache
        pipe = Pipeline([("augment", ImageAugmenter(random_state=0)), ("clf", _Recorder())],
                        memory=memory)
        pipe.fit(X, y)
        assert pipe[-1].got_source_
        assert isinstance(pipe[-1].got_augmenter_, ImageAugmenter)
        assert pipe[-1].got_augmenter_ is pipe[0]  # the pipeline's own fitted step
    assert any(tmp_path.rglob("output.pkl"))  # it really was cached


def test_with_a_plain_sklearn_estimator():
    # Outside skbcnn, fit sees one augmented draw; predict sees the images.
    X, y = images(n=30), np.arange(30) % 2
    pipe = make_pipeline(
        ImageAugmenter(rotation=20, random_state=0),
        FunctionTransformer(lambda Z: np.asarray(Z).reshape(len(Z), -1)),
        LogisticRegression(),
    ).fit(X, y)
    assert pipe.predict(X).shape == (30,)
    np.testing.assert_array_equal(pipe[:-1].transform(X), X.reshape(30, -1))


# ------------------------------------------------------------ sklearn checks
def test_tags_are_honest():
    tags = get_tags(ImageAugmenter())
    assert not tags.input_tags.two_d_array and tags.input_tags.three_d_array
    assert not tags.non_deterministic  # seeded by random_state
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    assert tags.requires_fit and not tags.target_tags.required


class _TabularAugmenter(ImageAugmenter):
    """sklearn's common checks only feed 2-D tables (and skip estimators
    whose tags refuse them). This test-only view reads an (n, f) table as n
    grey images of 1 x f pixels, so the API checks run on the real code."""

    def _images(self, X):
        if hasattr(X, "toarray"):  # sparse: handed over as is, to be refused
            return X
        X = np.asarray(X)
        return X[:, None, :] if X.ndim == 2 else X

    def fit(self, X, y=None):
        return super().fit(self._images(X), y)

    def transform(self, X):
        out = super().transform(self._images(X))
        return out.reshape(len(out), -1)

    def fit_transform(self, X, y=None):
        out = np.asarray(super().fit_transform(self._images(X), y))
        return out.reshape(len(out), -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags


_BY_DESIGN = ("fit_transform returns a random training draw, fit().transform() "
              "the inference identity")
_WORDING = ("refused with skbcnn's image-shaped message (skbcnn._validation), "
            "not sklearn's tabular wording")
EXPECTED_FAILED_CHECKS = {
    "check_transformer_general": _BY_DESIGN,
    "check_transformer_data_not_an_array": _BY_DESIGN,
    "check_n_features_in_after_fitting": _WORDING + " ('fitted on images of shape ...')",
    "check_fit2d_predict1d": _WORDING,
    "check_estimators_empty_data_messages": _WORDING + " ('zero-size images')",
    "check_dtype_object": "object arrays are refused, not converted to numbers",
}


@parametrize_with_checks(
    [_TabularAugmenter(), _TabularAugmenter(rotation=0, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ================================================ with skbcnn.CNNClassifier
# These need TensorFlow; one tiny pipeline is fitted twice (same seeds) while a
# spy records every batch that the classifier's AugmentedBatches hands Keras.
TINY_CNN = dict(conv_filters=(4, 8), dense_units=(8,), epochs=2, batch_size=16, random_state=0)


def _tiny_pipeline():
    from skbcnn.classifier import CNNClassifier

    return Pipeline([("augment", ImageAugmenter(rotation=30, random_state=0)),
                     ("cnn", CNNClassifier(**TINY_CNN))])


@pytest.fixture(scope="module")
def trained():
    """``(pipeline, X, y, runs)``: runs[k] lists the batches of fit k as
    ``(epoch, index, source_rows, sources, augmented)``."""
    pytest.importorskip("tensorflow")
    from skbcnn.synthetic import make_synthetic_ultrasound
    from skbcnn._training import AugmentedBatches

    data = make_synthetic_ultrasound(60, image_size=32, random_state=0)
    X, y = data.images, data.target_names[data.target]
    original = AugmentedBatches.__getitem__
    runs = []

    def spy(self, index):
        batch = original(self, index)
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        runs[-1].append((self.epoch, index, rows, self.X[rows].copy(), np.array(batch[0])))
        return batch

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AugmentedBatches, "__getitem__", spy)
        for _ in range(2):
            runs.append([])
            pipeline = _tiny_pipeline().fit(X, y)
    return pipeline, X, y, runs


def test_train_only_predict_sees_the_images_unchanged(trained, monkeypatch):
    pipeline, X, _, _ = trained

    def forbidden(*args, **kwargs):
        raise AssertionError("augment called at prediction time")

    monkeypatch.setattr(ImageAugmenter, "augment", forbidden)
    monkeypatch.setattr(ImageAugmenter, "_augment", forbidden)
    cnn = pipeline[-1]
    direct = cnn.predict_proba(as_float_images(X))  # the CNN on the raw images
    np.testing.assert_array_equal(pipeline.predict_proba(X), direct)
    np.testing.assert_array_equal(pipeline.predict(X), cnn.classes_[direct.argmax(axis=1)])
    assert 0 <= pipeline.score(X, trained[2]) <= 1


def test_training_draws_from_the_source_not_the_single_draw(trained):
    _, X, _, runs = trained
    source = as_float_images(X)[..., None]  # the classifier adds the channel axis
    for _, _, rows, sources, augmented in runs[0]:
        for image in sources:  # every training image is an original one
            assert any(np.array_equal(image, s) for s in source)
        assert augmented.shape == sources.shape and augmented.dtype == np.float32


def _complete_epochs(records, n_train=54):
    """``{epoch: {row: (original, augmented)}}`` for the epochs that cover
    every training image. Keras first peeks at two batches to learn their
    shape (and then calls ``on_epoch_end``): that partial "epoch" is left out.
    """
    epochs = {}
    for epoch, _, rows, sources, augmented in records:
        for row, original, image in zip(rows, sources, augmented):
            epochs.setdefault(epoch, {})[int(row)] = (original, image)
    return {e: rows for e, rows in epochs.items() if len(rows) == n_train}


def test_fresh_augmentation_every_epoch(trained):
    _, _, _, runs = trained
    epochs = _complete_epochs(runs[0])
    assert len(epochs) == TINY_CNN["epochs"]  # 60 images - 6 held out = 54
    first, second = (epochs[e] for e in sorted(epochs))
    for row, (original, image) in first.items():
        assert not np.array_equal(image, original)  # augmented...
        assert not np.array_equal(image, second[row][1])  # ...afresh each epoch
        np.testing.assert_array_equal(original, second[row][0])


def test_epoch_draws_are_reproducible_for_the_same_seed(trained):
    _, _, _, (first, second) = trained
    key = lambda rec: (rec[0], rec[1])  # noqa: E731
    first, second = sorted(first, key=key), sorted(second, key=key)
    assert [key(r) for r in first] == [key(r) for r in second]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[2], b[2])
        np.testing.assert_array_equal(a[4], b[4])


def test_only_one_batch_is_materialised_at_a_time(trained):
    _, _, _, runs = trained
    assert max(len(rec[4]) for rec in runs[0]) <= TINY_CNN["batch_size"]
    for epoch in _complete_epochs(runs[0]):
        batches = [rec for rec in runs[0] if rec[0] == epoch]
        assert sorted(len(rec[4]) for rec in batches) == [6, 16, 16, 16]


def test_augmented_batches_unit():
    pytest.importorskip("tensorflow")
    from skbcnn._training import AugmentedBatches

    X = images(n=20, channels=1)
    y = np.arange(20) % 2
    aug = ImageAugmenter(rotation=30).fit(X)
    make = lambda: AugmentedBatches(X, y, None, batch_size=8, augmenter=aug, seed=3)  # noqa: E731
    a, b = make(), make()
    assert len(a) == 3
    first = [a[i][0] for i in range(len(a))]
    assert [len(x) for x in first] == [8, 8, 4]
    assert all(np.array_equal(x, b[i][0]) for i, x in enumerate(first))  # reproducible
    rows0 = a._order[:8].copy()
    a.on_epoch_end()
    rows1 = a._order
    second = a[0][0]
    where = {int(r): i for i, r in enumerate(rows1)}
    shared = [(i, where[int(r)]) for i, r in enumerate(rows0) if int(r) in where and where[int(r)] < 8]
    for i, j in shared:
        assert not np.array_equal(first[0][i], second[j])
    np.testing.assert_array_equal(X, images(n=20, channels=1))  # source untouched
