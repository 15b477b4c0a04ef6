"""Transfer learning: CNNClassifier(backbone=...) on keras.applications networks.

No test downloads anything: ImageNet weights are replaced by a weights file
written here (the offline path a user takes) or by random initialisation.
"""

import pickle

import keras
import numpy as np
import pytest

from skbcnn.classifier import CNNClassifier
from skbcnn.explain import find_target_layer
from skbcnn.models import BACKBONES, build_pretrained_cnn

# every test here builds or trains networks (backbones, estimator checks): -m "not slow" skips them
pytestmark = pytest.mark.slow

SMALL = dict(backbone="mobilenet_v3_small", dense_units=(8,), epochs=1, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (24, 32, 32)).astype(np.float32)
    y = np.repeat([0, 1, 2], 8)
    return X, y


@pytest.fixture(scope="module")
def backbone_file(tmp_path_factory):
    """A weights file of the backbone without its top, as Keras' ImageNet file is."""
    keras.utils.set_random_seed(1)
    backbone = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v3_small_notop.weights.h5"
    backbone.save_weights(path)
    return path, [w.numpy() for w in backbone.weights]


@pytest.fixture(scope="module")
def fitted(images):
    X, y = images
    return CNNClassifier(**SMALL, backbone_weights=None).fit(X, y)


def test_grey_images_feed_an_inlined_backbone():
    model = build_pretrained_cnn((32, 32, 1), 3, backbone="mobilenet_v3_small", weights=None)
    assert model.output_shape == (None, 3)
    assert model.get_layer("grey_to_rgb").output.shape[-1] == 3
    # The backbone's layers are part of the model, so Grad-CAM can choose one.
    assert find_target_layer(model) in {layer.name for layer in model.layers}
    binary = build_pretrained_cnn((32, 32, 3), 2, backbone="mobilenet_v3_small", weights=None)
    assert binary.output_shape == (None, 1)


def test_weights_file_is_loaded_and_batch_norm_frozen(backbone_file):
    path, expected = backbone_file
    model = build_pretrained_cnn((32, 32, 1), 2, backbone="mobilenet_v3_small", weights=path)
    backbone_weights = [w for w in model.weights if not w.path.startswith(("dense", "output"))]
    assert len(backbone_weights) == len(expected)
    for weight, value in zip(backbone_weights, expected):
        np.testing.assert_array_equal(weight.numpy(), value)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.trainable for layer in norms)
    # Random initialisation: batch normalisation has to learn its statistics.
    scratch = build_pretrained_cnn((32, 32, 1), 2, backbone="mobilenet_v3_small", weights=None)
    assert all(layer.trainable for layer in scratch.layers if isinstance(layer, keras.layers.BatchNormalization))


def test_classifier_trains_predicts_and_pickles(fitted, images):
    X, y = images
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert fitted.model_.name == "skbcnn_mobilenet_v3_small"
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)


def test_shared_without_pickle(fitted, images, tmp_path):
    from skbcnn.persistence import export_model, import_model

    X, _ = images
    restored = import_model(export_model(fitted, tmp_path / "model"))
    assert restored.get_params()["backbone"] == "mobilenet_v3_small"
    np.testing.assert_allclose(restored.predict_proba(X), fitted.predict_proba(X), atol=1e-6)


def test_grad_cam_works_on_a_backbone(fitted, images):
    from skbcnn.explain import grad_cam

    X, _ = images
    heatmaps = grad_cam(fitted, X[:2])
    assert heatmaps.shape == (2, 32, 32)
    assert np.isfinite(heatmaps).all()


def test_classifier_uses_a_weights_file(backbone_file, images):
    path, expected = backbone_file
    X, y = images
    clf = CNNClassifier(**{**SMALL, "epochs": 1}, backbone_weights=path, learning_rate=1e-12).fit(X, y)
    first_conv = next(layer for layer in clf.model_.layers if isinstance(layer, keras.layers.Conv2D))
    # A learning rate of 1e-12 leaves the loaded weights as they were.
    np.testing.assert_allclose(first_conv.kernel.numpy(), expected[0], atol=1e-6)


def test_unknown_backbone_and_bad_weights_fail_before_training(images):
    X, y = images
    for params, match in [
        ({"backbone": "resnet"}, "backbone must be None or one of"),
        ({"backbone_weights": 3}, "backbone_weights must be 'imagenet', None or the path"),
        ({"backbone_weights": "missing.h5"}, "'missing.h5' is not a file"),
    ]:
        clf = CNNClassifier(**{**SMALL, **params})
        with pytest.raises(ValueError, match=match):
            clf.fit(X, y)


def test_images_smaller_than_the_backbone_allows():
    with pytest.raises(ValueError, match="at least 32 x 32 pixels with 1 or 3 channels; got images of shape"):
        build_pretrained_cnn((28, 28, 1), 2, backbone="mobilenet_v3_small", weights=None)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        build_pretrained_cnn((32, 32, 2), 2, backbone="mobilenet_v3_small", weights=None)


def test_failed_download_says_what_to_do(monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://example.invalid: None -- Name or service not known")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(OSError, match="Could not load the ImageNet weights of the mobilenet_v3_small backbone"):
        build_pretrained_cnn((32, 32, 1), 2, backbone="mobilenet_v3_small")


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_every_backbone_builds(backbone):
    model = build_pretrained_cnn((32, 32, 1), 3, backbone=backbone, weights=None, seed=0)
    assert model.output_shape == (None, 3)
