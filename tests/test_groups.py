"""Near-duplicate groups: finding them, and keeping them on one side of
every split (CV folds and the classifier's early-stopping hold-out)."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold

from skbcnn import make_cnn_pipeline
from skbcnn._config import get_data_home
from skbcnn._training import _stratified_holdout
from skbcnn.classifier import CNNClassifier
from skbcnn.datasets import group_near_duplicates, load_busi

from conftest import TINY_CNN

DATA = get_data_home()


def test_copies_shifts_and_noise_join_one_group_transitively():
    rng = np.random.default_rng(0)
    a, b, c = rng.random((3, 48, 48))
    brighter = a * 1.2 + 0.1  # same picture, other gain: correlation 1
    noisy = brighter + rng.normal(0, 0.02, a.shape)
    images = np.stack([a, b, brighter, c, noisy, b[:, ::-1]])
    assert group_near_duplicates(images).tolist() == [0, 1, 0, 2, 0, 3]


def test_rgb_uint8_and_constant_images():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    flat = np.full((32, 32, 3), 7, dtype=np.uint8)
    groups = group_near_duplicates(np.stack([image, flat, image, flat]))
    assert groups[0] == groups[2]
    # no contrast, nothing to compare: constant images stay alone
    assert len({groups[1], groups[3], groups[0]}) == 3


@pytest.mark.parametrize("images, kwargs, match", [
    (np.zeros((0, 8, 8)), {}, "non-empty stack of images"),
    (np.zeros((8, 8)), {}, "non-empty stack of images"),
    (np.zeros((2, 8, 8)), {"threshold": 0}, r"threshold must be in \(0, 1\]"),
    (np.zeros((2, 8, 8)), {"size": 1}, "size must be an integer >= 2"),
    (np.full((2, 8, 8), np.nan), {}, "NaN or infinite"),
])
def test_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        group_near_duplicates(images, **kwargs)


@pytest.mark.skipif(not (DATA / "busi256").is_dir(), reason=f"busi256 not found in {DATA} (set SKBCNN_DATA)")
def test_busi_has_near_duplicates():
    X, _ = load_busi(DATA / "busi256", image_size=64, return_X_y=True)
    groups = group_near_duplicates(X)
    sizes = np.bincount(groups)
    # 624 images in about 500 groups: a by-file split leaks copies across folds
    assert 450 < len(sizes) < 560
    assert (sizes[groups] > 1).sum() > 150


def test_holdout_takes_whole_groups():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    groups = rng.integers(0, 30, len(y)) + 100 * y  # groups within classes
    X = np.arange(len(y))
    X_train, _, _, (X_val, _) = _stratified_holdout(X, y, None, 0.1, np.random.default_rng(0), groups)
    assert not set(groups[X_train]) & set(groups[X_val])
    assert set(y[X_val]) == {0, 1, 2}
    # too few groups for the fraction asked: no hold-out rather than a bad one, and a warning
    with pytest.warns(UserWarning, match="No validation split that keeps the 3 groups whole"):
        assert _stratified_holdout(X, y, None, 0.1, np.random.default_rng(0), y)[3] is None


def test_fit_accepts_groups_and_checks_their_length(synthetic_small):
    X, y = synthetic_small
    params = {k.removeprefix("cnn__"): v for k, v in TINY_CNN.items() if k.startswith("cnn__")}
    clf = CNNClassifier(**{**params, "epochs": 1})
    with pytest.raises(ValueError, match=r"groups must have one entry per image, shape \(90,\); got \(3,\)"):
        clf.fit(X, y, groups=[1, 2, 3])
    assert clf.fit(X, y, groups=np.arange(len(y)) // 3) is clf


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_grid_search_routes_its_groups_to_the_holdout(synthetic_small, monkeypatch):
    import skbcnn._training as training

    seen = []
    real = training._stratified_holdout

    def spy(X, y, sample_weight, fraction, rng, groups=None):
        seen.append(None if groups is None else len(groups))
        return real(X, y, sample_weight, fraction, rng, groups)

    monkeypatch.setattr(training, "_stratified_holdout", spy)
    X, y = synthetic_small
    groups = np.arange(len(y)) // 3
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_cnn_pipeline(**{**TINY_CNN, "cnn__epochs": 1})
        pipe[-1].set_fit_request(groups=True)
        search = GridSearchCV(pipe, {"cnn__dropout": [0.0]}, cv=GroupKFold(2)).fit(X, y, groups=groups)
    assert search.best_score_ >= 0
    # each CV fit got the groups of its training images, the refit all of them
    assert seen == [45, 45, 90]


def test_holdout_with_groups_on_few_images_uses_fewer_folds():
    y = np.repeat([0, 1, 2], 8)  # 8 per class: fewer than the 10 folds of fraction 0.1
    X = np.arange(len(y))
    groups = np.arange(len(y))
    X_train, _, _, (X_val, y_val) = _stratified_holdout(X, y, None, 0.1, np.random.default_rng(0), groups)
    assert set(y_val) == {0, 1, 2} and len(X_val) + len(X_train) == len(y)
