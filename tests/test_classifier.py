"""CNNClassifier: scikit-learn classifier semantics on top of scikeras."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import get_tags

from skbcnn.classifier import CNNClassifier

TINY = dict(conv_filters=(4, 8), convs_per_block=1, dense_units=(8,), epochs=2, batch_size=16, random_state=0)


def make_images(n=60, size=16, n_classes=2, seed=0):
    """Class k shows k bright squares; labels sorted (all of class 0 first),
    as in a folder-by-folder load."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0.3, 0.1, (n, size, size)).astype(np.float32)
    y = np.repeat(np.arange(n_classes), int(np.ceil(n / n_classes)))[:n]
    for label in range(1, n_classes):
        X[y >= label, 2 + 6 * (label - 1) : 6 + 6 * (label - 1), 4:10] += 0.8
    return X, y


@pytest.fixture(scope="module")
def data():
    return make_images()


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return CNNClassifier(**TINY).fit(X, y)


def flatten(images):
    return images.reshape(len(images), -1)


# ----------------------------------------------------------------- identity
def test_is_classifier_alone_and_in_pipeline():
    clf = CNNClassifier()
    assert is_classifier(clf)
    assert is_classifier(make_pipeline(FunctionTransformer(), clf))
    tags = get_tags(clf)
    assert tags.estimator_type == "classifier"
    assert tags.classifier_tags is not None
    assert tags.target_tags.required
    assert tags.input_tags.three_d_array


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_cv_on_sorted_labels_is_stratified_and_auc_finite(data):
    X, y = data  # sorted labels: unstratified KFold would give one-class folds
    assert isinstance(check_cv(3, y, classifier=is_classifier(CNNClassifier())), StratifiedKFold)
    scores = cross_val_score(CNNClassifier(**TINY), X, y, cv=3, scoring="roc_auc")
    assert np.isfinite(scores).all()


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_calibration_voting_stacking(data):
    X, y = data
    calibrated = CalibratedClassifierCV(CNNClassifier(**TINY), cv=2).fit(X, y)
    assert calibrated.predict_proba(X).shape == (len(X), 2)

    logistic = make_pipeline(FunctionTransformer(flatten), LogisticRegression())
    voting = VotingClassifier([("cnn", CNNClassifier(**TINY)), ("lr", logistic)], voting="soft")
    assert voting.fit(X, y).predict_proba(X).shape == (len(X), 2)

    stacking = StackingClassifier(
        [("cnn", CNNClassifier(**TINY)), ("lr", logistic)],
        final_estimator=LogisticRegression(), cv=2,
    )
    assert stacking.fit(X, y).predict(X).shape == (len(X),)


# ------------------------------------------------------------ basic behaviour
def test_binary_proba_has_two_columns(fitted, data):
    X, _ = data
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert fitted.model_.output_shape == (None, 1)  # one sigmoid unit


def test_string_labels_multiclass_and_channels():
    X, y = make_images(n=60, n_classes=3)
    names = np.array(["benign", "malignant", "normal"])[y]
    clf = CNNClassifier(**TINY).fit(X[..., None], names)
    np.testing.assert_array_equal(clf.classes_, ["benign", "malignant", "normal"])
    assert clf.predict_proba(X).shape == (60, 3)  # (n, H, W) == (n, H, W, 1)
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.image_shape_ == (16, 16, 1) and clf.n_features_in_ == 256


def test_uint8_images_are_scaled():
    X, y = make_images()
    X8 = (np.clip(X, 0, 1) * 255).astype(np.uint8)
    clf = CNNClassifier(**TINY).fit(X8, y)
    assert clf.predict_proba(X8).shape == (len(X8), 2)


def test_learns_an_easy_task():
    X, y = make_images(n=120)
    clf = CNNClassifier(**{**TINY, "epochs": 15, "early_stopping": False}).fit(X, y)
    assert clf.score(X, y) >= 0.9


def test_reproducible_with_random_state(fitted, data):
    X, y = data
    again = CNNClassifier(**TINY).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_history_early_stopping_and_warm_start(data):
    X, y = data
    clf = CNNClassifier(**{**TINY, "epochs": 3, "warm_start": True}).fit(X, y)
    assert set(clf.history_) >= {"loss", "val_loss", "accuracy"}
    first = len(clf.history_["loss"])
    model = clf.model_
    clf.fit(X, y)
    assert clf.model_ is model  # same network, trained further
    assert len(clf.history_["loss"]) == first + 3

    stopping = CNNClassifier(**{**TINY, "epochs": 40, "patience": 1, "learning_rate": 1e-6}).fit(X, y)
    assert len(stopping.history_["loss"]) < 40


def test_class_weight_and_sample_weight_leave_input_alone(data):
    X, y = data
    weights = np.ones(len(y))
    CNNClassifier(**{**TINY, "class_weight": "balanced", "epochs": 1}).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(weights, 1)


def test_read_only_input(data):
    X, y = data
    X = X.copy()
    X.setflags(write=False)
    CNNClassifier(**{**TINY, "epochs": 1}).fit(X, y).predict(X)


# ---------------------------------------------------------------- persistence
@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads), ("joblib", "joblib")])
def test_pickle_round_trip(fitted, data, tmp_path, dumps, loads):
    X, _ = data
    if dumps == "joblib":
        joblib.dump(fitted, tmp_path / "m.joblib")
        restored = joblib.load(tmp_path / "m.joblib")
    else:
        restored = loads(dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    unfitted = pickle.loads(pickle.dumps(CNNClassifier(epochs=3)))
    assert unfitted.get_params()["epochs"] == 3


def test_clone_keeps_routed_params():
    clf = CNNClassifier(epochs=3, optimizer__beta_1=0.8, fit__verbose=0)
    cloned = clone(clf)
    assert cloned.get_params()["optimizer__beta_1"] == 0.8
    assert cloned.get_params()["epochs"] == 3


def test_routed_optimizer_params_reach_keras(data):
    X, y = data
    clf = CNNClassifier(**{**TINY, "epochs": 1}, optimizer="sgd", learning_rate=0.05, optimizer__momentum=0.5)
    clf.fit(X, y)
    assert np.isclose(float(clf.model_.optimizer.learning_rate), 0.05)
    assert np.isclose(clf.model_.optimizer.momentum, 0.5)


def test_custom_model_function(data):
    import keras

    def tiny_model(meta, compile_kwargs):
        inputs = keras.Input(meta["X_shape_"][1:])
        x = keras.layers.Flatten()(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
        model.compile(optimizer=compile_kwargs["optimizer"], loss="binary_crossentropy")
        return model

    X, y = data
    clf = CNNClassifier(tiny_model, epochs=1, random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 2)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.zeros((4, 8)), [0, 1, 0, 1], "dimension"),
        (np.zeros((4, 8, 8, 1, 1)), [0, 1, 0, 1], "dimension"),
        (np.full((4, 8, 8), np.nan), [0, 1, 0, 1], "NaN or infinite"),
        (np.zeros((4, 8, 8)), [0, 1, 0], "4 images but y has 3 labels"),
        (np.zeros((4, 8, 8)), [1, 1, 1, 1], "at least two classes"),
        (np.zeros((0, 8, 8)), [], "no images"),
    ],
)
def test_bad_training_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        CNNClassifier(**TINY).fit(X, np.asarray(y))


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("dropout", -0.1, r"dropout must be in \[0, 1\)"),
        ("conv_filters", (8, 0), "conv_filters must be a positive integer"),
        ("conv_filters", (), "at least one convolution block"),
        ("optimizer", "adamm", "optimizer must be one of"),
        ("learning_rate", 0, "learning_rate must be a positive"),
        ("pooling", "median", "pooling must be"),
        ("epochs", 0, "epochs must be a positive integer"),
        ("class_weight", "equal", "class_weight must be"),
    ],
)
def test_invalid_hyperparameters_fail_before_training(data, param, value, match):
    X, y = data
    clf = CNNClassifier(**{**TINY, param: value})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def test_misspelt_keyword_is_refused():
    with pytest.raises(TypeError, match="learnig_rate"):
        CNNClassifier(learnig_rate=0.1)


def test_predict_errors(fitted, data):
    X, y = data
    with pytest.raises(NotFittedError):
        CNNClassifier().predict(X)
    with pytest.raises(ValueError, match=r"fitted on images of shape \(16, 16, 1\)"):
        fitted.predict(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match="not seen in fit"):
        fitted.score(X[:2], [0, 7])


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_nan_loss_is_a_clear_error_and_keeps_previous_fit(fitted, data):
    X, y = data
    clf = clone(fitted).set_params(epochs=1).fit(X, y)
    before = clf.predict_proba(X)
    huge = np.full_like(X, 3e38)
    with pytest.raises(FloatingPointError, match="Training diverged"):
        clf.fit(huge, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_test_time_augmentation_averages_views(fitted, data):
    X, _ = data
    plain = fitted.predict_proba(X)
    tta = pickle.loads(pickle.dumps(fitted)).set_params(tta=True)
    averaged = tta.predict_proba(X)
    assert averaged.shape == plain.shape
    np.testing.assert_allclose(averaged.sum(axis=1), 1, rtol=1e-5)
    assert not np.allclose(averaged, plain)


@pytest.mark.parametrize("schedule, expected", [("cosine", 0.25), ("plateau", None)])
def test_learning_rate_schedules(data, schedule, expected):
    X, y = data
    clf = CNNClassifier(**{**TINY, "epochs": 3, "learning_rate": 0.01, "lr_schedule": schedule}).fit(X, y)
    final = float(clf.model_.optimizer.learning_rate.numpy())
    if expected is not None:  # lr of the last epoch: 0.01 * (1 + cos(2 pi / 3)) / 2
        assert final == pytest.approx(0.01 * expected, rel=1e-4)
    assert 1e-4 - 1e-9 <= final <= 0.01
    with pytest.raises(ValueError, match="lr_schedule must be"):
        CNNClassifier(**{**TINY, "lr_schedule": "step"}).fit(X, y)


def test_single_image_predict_keeps_two_dimensions(fitted, data):
    X, _ = data
    assert fitted.predict_proba(X[:1]).shape == (1, 2)
    assert fitted.predict(X[:1]).shape == (1,)


def test_no_partial_fit():
    clf = CNNClassifier()
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="use warm_start=True"):
        clf.partial_fit  # noqa: B018


def test_low_resolution_parameters_apply_and_train_on_28px_images():
    from skbcnn import make_cnn_pipeline
    from skbcnn.datasets import make_synthetic_ultrasound
    from skbcnn.pipeline import LOW_RESOLUTION

    params = make_cnn_pipeline(**LOW_RESOLUTION).get_params()
    assert {key: params[key] for key in LOW_RESOLUTION} == LOW_RESOLUTION
    X, y = make_synthetic_ultrasound(40, image_size=28, random_state=0, return_X_y=True)
    tiny = {"cnn__conv_filters": (4, 8), "cnn__dense_units": (8,), "cnn__epochs": 2, "cnn__random_state": 0}
    pipe = make_cnn_pipeline(**{**LOW_RESOLUTION, **tiny}).fit(X, y)
    assert pipe.predict_proba(X).shape == (40, 3)


@pytest.mark.parametrize("recipe", ["pretrained", "low_resolution", "from_scratch"])
def test_recipe_parameters_over_the_default_give_the_recipe(recipe):
    from skbcnn import make_cnn_pipeline
    from skbcnn.pipeline import RECIPES

    def plain(pipe):
        # the steps' parameters (the pipeline's own recipe and fixed_params say how they were given)
        return {k: v for k, v in pipe.get_params().items()
                if k not in ("steps", "recipe", "fixed_params") and not hasattr(v, "get_params")}

    assert plain(make_cnn_pipeline(**RECIPES[recipe])) == plain(make_cnn_pipeline(recipe))
    assert make_cnn_pipeline(recipe).get_params()["cnn__backbone"] == (
        "efficientnet_lite0" if recipe == "pretrained" else None)


def test_unknown_recipe_and_recommended_recipe():
    from skbcnn import make_cnn_pipeline
    from skbcnn.pipeline import recommended_recipe

    with pytest.raises(ValueError, match=r"recipe must be one of \['from_scratch', 'low_resolution', 'pretrained'\]"):
        make_cnn_pipeline("resnet")
    assert recommended_recipe((28, 28)) == "low_resolution"
    assert recommended_recipe((63, 200, 3)) == "low_resolution"
    assert recommended_recipe((64, 64)) == "pretrained"
