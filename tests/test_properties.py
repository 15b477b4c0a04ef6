"""Property-based tests (hypothesis) of the transformers and the folder loader.

Fast and TensorFlow-free. Invariants: output shape, dtype and range, no
in-place modification, determinism under ``random_state``, and lossless
round trips of image files through ``load_image_folder``.
(tests/test_enhancement.py already checks shape/dtype/finiteness of every
method on random uint8 stacks; these add ranges, float and multi-channel
input, and the loaders.)
"""

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from sklearn.base import clone

from skbcnn.augmentation import ImageAugmenter
from skbcnn.datasets import load_image_folder
from skbcnn.enhancement import (
    ColorConverter,
    ContrastEnhancer,
    Denoiser,
    IntensityNormalizer,
    Resizer,
)

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------- strategies
_shapes = st.tuples(
    st.integers(1, 3),  # images
    st.integers(2, 12),  # height
    st.integers(2, 12),  # width
    st.sampled_from([(), (1,), (3,), (4,)]),  # channels
).map(lambda t: t[:3] + t[3])

uint8_stacks = arrays(np.uint8, _shapes, elements=st.integers(0, 255))
# Finite floats of moderate magnitude (also negative, also outside [0, 1]).
float_stacks = arrays(
    np.float32, _shapes,
    elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32),
)
any_stacks = st.one_of(uint8_stacks, float_stacks, arrays(np.uint16, _shapes, elements=st.integers(0, 65535)))


def _in_unit_range(out):
    return np.isfinite(out).all() and out.min() >= -1e-6 and out.max() <= 1 + 1e-6


# ----------------------------------------------------------- transformers
@SETTINGS
@given(X=any_stacks, method=st.sampled_from(["clahe", "hist", "stretch", "gamma", "log"]))
def test_contrast_enhancer_is_finite_float32_in_unit_range(X, method):
    before = X.copy()
    out = ContrastEnhancer(method=method).fit_transform(X)
    assert out.shape == X.shape and out.dtype == np.float32
    assert _in_unit_range(out), (out.min(), out.max())
    np.testing.assert_array_equal(X, before)


@SETTINGS
@given(X=any_stacks)
def test_contrast_none_is_the_documented_conversion(X):
    out = ContrastEnhancer(method="none").fit_transform(X)
    assert out.dtype == np.float32
    if X.dtype.kind == "u":  # integers scaled by their dtype's range
        expected = X.astype(np.float64) / np.iinfo(X.dtype).max
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(out, X)


@SETTINGS
@given(X=any_stacks, method=st.sampled_from(["minmax", "zscore", "dataset"]))
def test_intensity_normalizer_ranges(X, method):
    before = X.copy()
    out = IntensityNormalizer(method=method).fit_transform(X)
    assert out.shape == X.shape and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(X, before)
    flat = out.reshape(len(out), -1)
    if method == "minmax":
        assert _in_unit_range(out)
        for row in flat:  # each image spans [0, 1] unless it is constant (then 0)
            assert row.min() == 0 and (row.max() == 1 or not row.any())
    elif method == "zscore":
        assert np.all(np.abs(flat.mean(axis=1)) < 1e-3)
        assert np.all(flat.std(axis=1) <= 1 + 1e-3)


@SETTINGS
@given(X=float_stacks, method=st.sampled_from(["median", "gaussian", "tv", "none"]))
def test_denoiser_keeps_shape_dtype_and_stays_within_the_input_range(X, method):
    before = X.copy()
    out = Denoiser(method=method).fit_transform(X)
    assert out.shape == X.shape and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(X, before)
    if method in ("median", "gaussian", "none"):  # averaging filters cannot leave [min, max]
        tol = 1e-3 * max(1.0, float(np.abs(X).max()))
        assert out.min() >= X.min() - tol and out.max() <= X.max() + tol


@SETTINGS
@given(X=st.one_of(uint8_stacks, float_stacks), height=st.integers(1, 9), width=st.integers(1, 9))
def test_resizer_shape(X, height, width):
    out = Resizer(image_size=(height, width)).fit_transform(X)
    assert out.shape == (len(X), height, width) + X.shape[3:] and out.dtype == np.float32
    assert np.isfinite(out).all()


@SETTINGS
@given(X=st.one_of(uint8_stacks, float_stacks), mode=st.sampled_from(["grey", "rgb"]))
def test_color_converter_shape(X, mode):
    out = ColorConverter(mode=mode).fit_transform(X)
    expected = X.shape[:3] if mode == "grey" else X.shape[:3] + (3,)
    assert out.shape == expected and out.dtype == np.float32


@SETTINGS
@given(X=st.one_of(uint8_stacks, float_stacks), seed=st.integers(0, 2**31 - 1),
       rotation=st.floats(0, 180), zoom=st.floats(0, 0.5), shift=st.floats(0, 0.5))
def test_image_augmenter_is_deterministic_and_leaves_input_alone(X, seed, rotation, zoom, shift):
    before = X.copy()
    params = dict(rotation=rotation, zoom=zoom, shift=shift, random_state=seed)
    first = ImageAugmenter(**params).fit_transform(X)
    second = clone(ImageAugmenter(**params)).fit_transform(X)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))
    assert first.shape == X.shape and first.dtype == np.float32
    np.testing.assert_array_equal(X, before)
    # inference is the identity (after the float conversion)
    identity = ImageAugmenter(**params).fit(X).transform(X)
    np.testing.assert_array_equal(identity, ContrastEnhancer("none").fit_transform(X))


# ---------------------------------------------------------------- loaders
_grey_images = st.tuples(st.integers(1, 20), st.integers(1, 20)).flatmap(
    lambda hw: arrays(np.uint8, hw, elements=st.integers(0, 255))
)
_rgb_images = st.tuples(st.integers(1, 20), st.integers(1, 20)).flatmap(
    lambda hw: arrays(np.uint8, hw + (3,), elements=st.integers(0, 255))
)


def _write_tree(root, images_by_class, ext):
    for label, images in images_by_class.items():
        (root / label).mkdir()
        for i, image in enumerate(images):
            Image.fromarray(image).save(root / label / f"{i:03d}{ext}")


@SETTINGS
@given(
    shape=st.tuples(st.integers(1, 16), st.integers(1, 16)),
    data=st.data(),
    ext=st.sampled_from([".png", ".tif", ".bmp"]),
    n=st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_grey_files_round_trip_exactly(shape, data, ext, n):
    grey = arrays(np.uint8, shape, elements=st.integers(0, 255))
    classes = {"a": [data.draw(grey) for _ in range(n[0])], "b": [data.draw(grey) for _ in range(n[1])]}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_tree(root, classes, ext)
        bunch = load_image_folder(root, image_size=None, color="grey")
    expected = np.stack(classes["a"] + classes["b"])
    assert bunch.images.dtype == np.uint8
    np.testing.assert_array_equal(bunch.images, expected)
    assert bunch.target.tolist() == [0] * n[0] + [1] * n[1]


@SETTINGS
@given(shape=st.tuples(st.integers(1, 16), st.integers(1, 16)), data=st.data(),
       ext=st.sampled_from([".png", ".tif"]))
def test_rgb_files_round_trip_exactly(shape, data, ext):
    rgb = arrays(np.uint8, shape + (3,), elements=st.integers(0, 255))
    classes = {"a": [data.draw(rgb)], "b": [data.draw(rgb)]}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_tree(root, classes, ext)
        bunch = load_image_folder(root, image_size=None, color="rgb")
    np.testing.assert_array_equal(bunch.images, np.stack(classes["a"] + classes["b"]))


@SETTINGS
@given(
    images=st.lists(st.one_of(_grey_images, _rgb_images), min_size=2, max_size=4),
    size=st.one_of(st.integers(1, 12), st.tuples(st.integers(1, 12), st.integers(1, 12))),
    color=st.sampled_from(["grey", "rgb"]),
)
def test_mixed_files_are_resized_to_image_size(images, size, color):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_tree(root, {"a": images[:1], "b": images[1:]}, ".png")
        bunch = load_image_folder(root, image_size=size, color=color)
    hw = (size, size) if isinstance(size, int) else size
    assert bunch.images.shape == (len(images), *hw) + ((3,) if color == "rgb" else ())
    assert bunch.images.dtype == np.uint8
