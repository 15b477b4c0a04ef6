"""Grad-CAM heat maps and the localisation hit rate."""

import numpy as np
import pytest

from skbcnn.explain import find_target_layer, grad_cam, localization_hit_rate


@pytest.fixture(scope="module")
def maps(fitted_pipeline):
    pipeline, X = fitted_pipeline
    return grad_cam(pipeline, X[:20])


def test_grad_cam_shape_range_and_dtype(fitted_pipeline, maps):
    pipeline, X = fitted_pipeline
    assert maps.shape == (20, *X.shape[1:3])
    assert maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1
    # each non-zero map is normalised to a peak of 1
    peaks = maps.reshape(len(maps), -1).max(axis=1)
    assert np.all((peaks == 0) | np.isclose(peaks, 1))


def test_pipeline_and_bare_classifier_agree(fitted_pipeline, maps):
    pipeline, X = fitted_pipeline
    bare = grad_cam(pipeline[-1], pipeline[:-1].transform(X[:20]))
    np.testing.assert_allclose(bare, maps, atol=1e-5)


def test_class_index_choices(fitted_pipeline, maps):
    pipeline, X = fitted_pipeline
    predicted = np.argmax(pipeline.predict_proba(X[:20]), axis=1)
    np.testing.assert_allclose(grad_cam(pipeline, X[:20], class_index=predicted), maps, atol=1e-5)
    np.testing.assert_allclose(grad_cam(pipeline, X[:20], class_index="predicted"), maps, atol=1e-5)
    one = grad_cam(pipeline, X[:4], class_index=0)
    assert one.shape == (4, *X.shape[1:3])
    with pytest.raises(ValueError, match="class_index"):
        grad_cam(pipeline, X[:2], class_index=7)
    with pytest.raises(ValueError, match="class_index"):
        grad_cam(pipeline, X[:2], class_index="malignant")


def test_explicit_layer_and_unknown_layer(fitted_pipeline):
    pipeline, X = fitted_pipeline
    model = pipeline[-1].model_
    assert find_target_layer(model) == "block2_act1"  # after the last conv's BN and ReLU
    early = grad_cam(pipeline, X[:3], layer="block1_conv1")
    assert early.shape == (3, *X.shape[1:3])
    with pytest.raises(ValueError, match="no layer"):
        grad_cam(pipeline, X[:3], layer="nope")
    with pytest.raises(ValueError, match="4-D"):
        grad_cam(pipeline, X[:3], layer="dense1")


def test_binary_sigmoid_model(synthetic_small):
    from skbcnn import CNNClassifier

    X, y = synthetic_small
    keep = y != "normal"
    clf = CNNClassifier(conv_filters=(4, 8), dense_units=(8,), epochs=1, batch_size=16,
                        random_state=0).fit(X[keep], y[keep])
    assert clf.model_.output_shape == (None, 1)
    m0 = grad_cam(clf, X[keep][:4], class_index=0)
    m1 = grad_cam(clf, X[keep][:4], class_index=1)
    assert m0.shape == m1.shape == (4, 32, 32)
    assert 0 <= m0.min() and m1.max() <= 1
    # evidence for one class is the opposite of evidence for the other
    assert not np.allclose(m0, m1)


def test_unfitted_or_non_cnn_estimator(synthetic_small):
    from sklearn.dummy import DummyClassifier
    from sklearn.exceptions import NotFittedError

    from skbcnn import CNNClassifier

    X, y = synthetic_small
    with pytest.raises(NotFittedError):
        grad_cam(CNNClassifier(), X[:2])
    dummy = DummyClassifier().fit(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match="CNNClassifier"):
        grad_cam(dummy, X[:2])


def test_find_target_layer_needs_a_convolution():
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="no Conv2D"):
        find_target_layer(model)


def test_localization_hit_rate():
    masks = np.zeros((4, 8, 8), bool)
    masks[0, 2:5, 2:5] = True
    masks[1, 0:2, 0:2] = True
    masks[2, 6:, 6:] = True  # image 3: no lesion, not counted
    # the masks themselves as heat maps: every peak is inside
    assert localization_hit_rate(masks.astype(float), masks) == 1.0
    heat = np.zeros((4, 8, 8))
    heat[:, 3, 3] = 1.0  # inside mask 0 only
    assert localization_hit_rate(heat, masks) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="shape"):
        localization_hit_rate(heat[:, :4], masks)
    with pytest.raises(ValueError, match="non-empty"):
        localization_hit_rate(heat, np.zeros_like(masks))


def test_hit_rate_of_grad_cam_maps_against_synthetic_masks(fitted_pipeline, maps):
    # A 2-epoch network is barely trained, so only check the plumbing:
    # masks and maps line up (same size, a hit rate can be computed).
    from skbcnn.datasets import make_synthetic_ultrasound

    data = make_synthetic_ultrasound(90, image_size=32, random_state=0)
    rate = localization_hit_rate(maps, data.masks[:20])
    assert 0.0 <= rate <= 1.0


def test_default_network_explains_the_third_block():
    # Four blocks: the fourth's maps are 1/8 of the input, too coarse to point
    # at a lesion; the third block's (1/4) are the deepest large-enough ones.
    from skbcnn.models import build_cnn

    assert find_target_layer(build_cnn((64, 64, 1), 3)) == "block3_act2"
    assert find_target_layer(build_cnn((64, 64, 1), 3), min_fraction=0.1) == "block4_act2"
