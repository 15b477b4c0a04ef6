"""Reliability: a bad-input matrix over every public entry point, and the
behaviour under faults (interrupted training, failing grid candidates).

Every bad-input case states the exception type and a message pattern, or
the documented conversion, and checks that the caller's array is unchanged
afterwards (also after an error). CNN cases never train on bad input: fit
fails in validation first, and predict-side cases reuse the session's
``fitted_pipeline``. Model files (damaged, forged or hostile ones, full
disks, exports that do not belong together) are tested in
tests/test_persistence.py.

The last part checks that loaders never open pipes, sockets or devices, and
that silent wrong results (bad class weights, NaN labels, out-of-range
inputs, too deep networks) are refused or warned about.
"""

import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import FitFailedWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from skbcnn.augmentation import ImageAugmenter
from skbcnn.datasets import load_busi, load_image_folder, load_medmnist
from skbcnn.enhancement import ColorConverter, ContrastEnhancer, Denoiser, IntensityNormalizer, Resizer

TINY = dict(conv_filters=(4,), dense_units=(4,), epochs=1, batch_size=16, random_state=0, validation_split=0.0)
TRANSFORMERS = {
    "ContrastEnhancer": ContrastEnhancer,
    "Denoiser": Denoiser,
    "IntensityNormalizer": IntensityNormalizer,
    "Resizer": lambda: Resizer(image_size=8),
    "ColorConverter": ColorConverter,
    "ImageAugmenter": lambda: ImageAugmenter(random_state=0),
}

rng = np.random.default_rng(0)
GREY = rng.random((3, 12, 12)).astype(np.float32)


def _with(value, index=(1, 2, 3)):
    X = GREY.astype(np.float64)
    X[index] = value
    return X


# input -> (exception type, message pattern); shared by every image estimator
BAD_IMAGES = {
    "nan": (_with(np.nan), ValueError, "NaN or infinite pixels in 1 image"),
    "inf": (_with(-np.inf), ValueError, "NaN or infinite pixels in 1 image"),
    "beyond-float32": (_with(1e300), ValueError, "beyond the float32 range"),
    "1-D": (np.zeros(12), ValueError, r"got an array with 1 dimension\(s\)"),
    "2-D": (np.zeros((3, 12)), ValueError, r"got an array with 2 dimension\(s\)"),
    "5-D": (np.zeros((3, 12, 12, 1, 1)), ValueError, r"got an array with 5 dimension\(s\)"),
    "zero-size": (np.zeros((3, 0, 12)), ValueError, "zero-size images"),
    "no images": (np.zeros((0, 12, 12)), ValueError, "contains no images"),
    "empty list": ([], ValueError, "contains no images"),
    "mixed sizes": ([np.zeros((12, 12)), np.zeros((10, 12))], ValueError, "mixes images of different shapes"),
    "complex": (GREY.astype(complex), ValueError, "Complex data not supported"),
    "strings": (np.full((2, 4, 4), "a"), ValueError, "numeric pixels"),
    "None": (None, ValueError, "numeric pixels"),
}


def _copy(X):
    return [np.copy(x) for x in X] if isinstance(X, list) else np.copy(X)


def _assert_unchanged(X, before):
    if isinstance(X, list):
        assert len(X) == len(before)
        for a, b in zip(X, before):
            np.testing.assert_array_equal(a, b)
    elif X is not None:
        np.testing.assert_array_equal(X, before)


# =================================================================== transformers
@pytest.mark.parametrize("case", list(BAD_IMAGES))
@pytest.mark.parametrize("name", list(TRANSFORMERS))
def test_transformer_bad_images_in_fit_and_transform(name, case):
    X, error, match = BAD_IMAGES[case]
    if name == "Resizer" and case == "mixed sizes":
        pytest.skip("Resizer accepts images of different sizes by design (tested below)")
    before = _copy(X)
    with pytest.raises(error, match=match):
        TRANSFORMERS[name]().fit(X)
    fitted = TRANSFORMERS[name]().fit(GREY)
    if name == "Resizer" and case == "2-D":
        match = "dimension"
    with pytest.raises(error, match=match):
        fitted.transform(X)
    _assert_unchanged(X, before)


def test_resizer_accepts_mixed_sizes_but_not_bad_members():
    images = [GREY[0], GREY[1, :8]]
    assert Resizer(image_size=8).fit_transform(images).shape == (2, 8, 8)
    with pytest.raises(ValueError, match=r"X\[1\] contains NaN"):
        Resizer(image_size=8).fit([GREY[0], _with(np.nan)[1, :8]])
    with pytest.raises(ValueError, match="different channel layouts"):
        Resizer(image_size=8).fit([np.zeros((8, 8, 3)), np.zeros((6, 8, 4))])


# Documented conversions: integers scaled by their dtype's range, bool as 0/1
# float, float64 kept (as float32).
CONVERSIONS = {
    "uint8": (np.full((2, 4, 4), 255, np.uint8), 1.0),
    "uint16": (np.full((2, 4, 4), 65535, np.uint16), 1.0),
    "uint16-half": (np.full((2, 4, 4), 32768, np.uint16), 32768 / 65535),
    "int8-min": (np.full((2, 4, 4), -128, np.int8), -1.0),
    "bool": (np.ones((2, 4, 4), bool), 1.0),
    "float64": (np.full((2, 4, 4), 0.25), 0.25),
    "float64-negative": (np.full((2, 4, 4), -3.5), -3.5),
}


@pytest.mark.parametrize("case", list(CONVERSIONS))
@pytest.mark.parametrize(
    "make", [lambda: ContrastEnhancer("none"), lambda: Denoiser("none"), lambda: ColorConverter("grey"),
             lambda: Resizer(4), lambda: ImageAugmenter()],
    ids=["ContrastEnhancer-none", "Denoiser-none", "ColorConverter", "Resizer", "ImageAugmenter.transform"],
)
def test_dtype_conversions(make, case):
    X, value = CONVERSIONS[case]
    before = X.copy()
    out = make().fit(X).transform(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.full(out.shape, value, np.float32), rtol=1e-6)
    np.testing.assert_array_equal(X, before)


def test_bool_masks_are_full_intensity_everywhere():
    # regression: bool became uint8 0/1 and then 1/255 after the dtype scaling
    mask = np.zeros((2, 8, 8), bool)
    mask[:, 2:6, 2:6] = True
    out = ContrastEnhancer("none").fit_transform(mask)
    np.testing.assert_array_equal(out, mask.astype(np.float32))
    assert IntensityNormalizer("minmax").fit_transform(mask).max() == 1.0


RGBA = rng.random((2, 6, 6, 4)).astype(np.float32)


@pytest.mark.parametrize("name", ["ContrastEnhancer", "Denoiser", "IntensityNormalizer", "ImageAugmenter"])
def test_rgba_keeps_four_channels(name):
    before = RGBA.copy()
    out = TRANSFORMERS[name]().fit(RGBA).transform(RGBA)
    assert out.shape == RGBA.shape and out.dtype == np.float32
    np.testing.assert_array_equal(RGBA, before)


def test_rgba_alpha_is_dropped_by_color_converter():
    from skimage.color import rgb2gray

    grey = ColorConverter("grey").fit_transform(RGBA)
    np.testing.assert_allclose(grey, rgb2gray(RGBA[..., :3]), rtol=1e-6)
    rgb = ColorConverter("rgb").fit_transform(RGBA)
    np.testing.assert_array_equal(rgb, RGBA[..., :3])
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        ColorConverter().fit(np.zeros((2, 4, 4, 2)))


@pytest.mark.parametrize("name", list(TRANSFORMERS))
@pytest.mark.parametrize("fit_channels, predict_channels", [((), (3,)), ((3,), ()), ((), (1,))])
def test_channel_mismatch_between_fit_and_transform(name, fit_channels, predict_channels):
    X_fit = np.zeros((2, 8, 8) + fit_channels, np.float32)
    X_new = np.zeros((2, 8, 8) + predict_channels, np.float32)
    fitted = TRANSFORMERS[name]().fit(X_fit)
    match = "channel shape" if name == "Resizer" else "fitted on images of shape"
    with pytest.raises(ValueError, match=match):
        fitted.transform(X_new)


@pytest.mark.parametrize(
    "estimator, match",
    [
        (ContrastEnhancer(method=None), "method must be one of"),
        (ContrastEnhancer(clip_limit="0.1"), "clip_limit must be a number"),
        (ContrastEnhancer(gamma=True), "gamma must be a number"),
        (Denoiser(size=True), "size must be an integer"),
        (Denoiser(method="median", sigma=0), r"sigma must be in \(0, inf\]"),
        (IntensityNormalizer(method=1), "method must be one of"),
        (Resizer(image_size=(8, 0)), r"image_size must be in \[1, inf\]"),
        (Resizer(image_size=8.0), r"image_size must be an int or a pair \(height, width\); got 8.0"),
        (ColorConverter(mode=None), "mode must be one of"),
        (ImageAugmenter(zoom=1.0), r"zoom must be in \[0, 1\)"),
        (ImageAugmenter(rotation=-1), r"rotation must be in \[0, 180\]"),
        (ImageAugmenter(fill_mode="edge"), "fill_mode must be one of"),
        (ImageAugmenter(horizontal_flip="yes"), "horizontal_flip must be True or False"),
    ],
    ids=repr,
)
def test_invalid_transformer_hyperparameters(estimator, match):
    with pytest.raises(ValueError, match=match):
        estimator.fit(GREY)
    assert not hasattr(estimator, "image_shape_")


@pytest.mark.parametrize("name", list(TRANSFORMERS))
def test_transform_before_fit(name):
    with pytest.raises(NotFittedError):
        TRANSFORMERS[name]().transform(GREY)


# ======================================================================== loaders
def _image_tree(root, n=2, size=(10, 10)):
    from PIL import Image

    for label in ("benign", "malignant", "normal"):
        (root / label).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full(size, 40 * i, np.uint8)).save(root / label / f"{label} ({i}).png")
    return root


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(image_size=0), ValueError, "image_size must be positive"),
        (dict(image_size=(8, 8.5)), ValueError, "image_size must be an int, a"),
        (dict(image_size=("8", "8")), ValueError, "image_size must be an int, a"),
        (dict(image_size=True), ValueError, "image_size must be an int, a"),
        (dict(image_size=(8, 8, 8)), ValueError, "image_size must be an int, a"),
        (dict(color="cmyk"), ValueError, "color must be one of"),
        (dict(on_error="ignore"), ValueError, "on_error must be"),
        (dict(classes=["benign", "benign"]), ValueError, "repeated names"),
        (dict(classes=["cyst"]), FileNotFoundError, "class folder .*cyst does not exist"),
    ],
)
@pytest.mark.parametrize("loader", [load_image_folder, load_busi])
def test_folder_loader_bad_arguments(tmp_path, loader, kwargs, error, match):
    root = _image_tree(tmp_path / "data")
    if loader is load_busi and "cyst" in kwargs.get("classes", []):
        error, match = FileNotFoundError, "has no class folder"
    with pytest.raises(error, match=match):
        loader(root, **kwargs)


@pytest.mark.parametrize("loader", [load_image_folder, load_busi, load_medmnist])
def test_loaders_missing_path(tmp_path, loader):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        loader(tmp_path / "missing")


def _npz(tmp_path, images, labels, name="set.npz"):
    path = tmp_path / name
    np.savez(path, train_images=images, train_labels=labels)
    return path


LABELS = np.array([[0], [1]], np.uint8)


@pytest.mark.parametrize(
    "images, labels, match",
    [
        (np.zeros((0, 8, 8), np.uint8), np.zeros((0, 1), np.uint8), "holds no images or zero-size"),
        (np.zeros((2, 0, 8), np.uint8), LABELS, "holds no images or zero-size"),
        (np.zeros((2, 8), np.uint8), LABELS, r"shape \(N, H, W\[, C\]\)"),
        (np.zeros((2, 8, 8, 1, 1), np.uint8), LABELS, r"shape \(N, H, W\[, C\]\)"),
        (np.zeros((3, 8, 8), np.uint8), LABELS, "matching 2 labels"),
        (np.zeros((2, 8, 8)), LABELS, "expected uint8 images; got float64"),
        (np.zeros((2, 8, 8), np.uint16), LABELS, "expected uint8 images; got uint16"),
        (np.zeros((2, 8, 8, 2), np.uint8), LABELS, "1, 3 or 4 channels"),
        (np.zeros((2, 8, 8), np.uint8), np.array([[-1], [0]]), "non-negative integer labels"),
        (np.zeros((2, 8, 8), np.uint8), np.array([[0.5], [1.0]]), "non-negative integer labels"),
        (np.zeros((2, 8, 8), np.uint8), np.array([["a"], ["b"]]), "non-negative integer labels"),
    ],
    ids=["empty", "zero-size", "2-D", "5-D", "length", "float", "uint16", "2-channel", "negative-label",
         "fractional-label", "string-label"],
)
def test_medmnist_bad_arrays(tmp_path, images, labels, match):
    with pytest.raises(ValueError, match=match):
        load_medmnist(_npz(tmp_path, images, labels))


@pytest.mark.parametrize("channels", [1, 4])
def test_medmnist_single_channel_and_rgba_are_converted(tmp_path, channels):
    images = rng.integers(0, 256, (2, 8, 8, channels), dtype=np.uint8)
    path = _npz(tmp_path, images, LABELS)
    grey = load_medmnist(path).images
    rgb = load_medmnist(path, color="rgb").images
    assert grey.shape == (2, 8, 8) and rgb.shape == (2, 8, 8, 3)
    if channels == 1:
        np.testing.assert_array_equal(grey, images[..., 0])
    else:  # alpha dropped, like the image-file loaders do
        np.testing.assert_array_equal(rgb, images[..., :3])
    # integral float labels (e.g. written by pandas) are accepted
    assert load_medmnist(_npz(tmp_path, images, LABELS.astype(float), "f.npz")).target.tolist() == [0, 1]


# ==================================================== CNNClassifier and pipeline
@pytest.fixture(scope="module")
def small():
    from skbcnn.datasets import make_synthetic_ultrasound

    X, y = make_synthetic_ultrasound(32, image_size=16, classes=("benign", "malignant"),
                                     random_state=0, return_X_y=True)
    return X, y


FIT_CASES = {  # not already in tests/test_classifier.py::test_bad_training_input
    "inf": (_with(np.inf), [0, 1, 0], ValueError, "NaN or infinite"),
    "beyond-float32": (_with(-1e300), [0, 1, 0], ValueError, "beyond the float32 range"),
    "1-D": (np.zeros(12), list(range(12)), ValueError, r"1 dimension\(s\)"),
    "zero-size": (np.zeros((3, 12, 0)), [0, 1, 0], ValueError, "zero-size images"),
    "mixed sizes": ([GREY[0], GREY[1, :8]], [0, 1], ValueError, "mixes images of different shapes"),
    "complex": (GREY.astype(complex), [0, 1, 0], ValueError, "Complex data"),
    "y None": (GREY, None, ValueError, "requires y to be passed"),
    "y one-hot": (GREY, np.eye(3)[:, :2], ValueError, "1-D array of class labels"),
    "y too long": (GREY, [0, 1, 0, 1], ValueError, "3 images but y has 4 labels"),
    "y empty": (GREY, [], ValueError, "3 images but y has 0 labels"),
    "single class": (GREY, ["a", "a", "a"], ValueError, r"at least two classes in y; got only \['a'\]"),
    "y NaN": (GREY, [0.0, np.nan, 1.0], ValueError, r"y contains NaN \(missing labels\) for 1 image"),
    "y None label": (GREY, np.array(["a", None, "b"], dtype=object), ValueError, "y contains NaN"),
}


@pytest.mark.parametrize("case", list(FIT_CASES))
@pytest.mark.parametrize("target", ["CNNClassifier", "pipeline"])
def test_cnn_fit_bad_input_fails_before_training(target, case):
    from skbcnn import CNNClassifier, make_cnn_pipeline

    X, y, error, match = FIT_CASES[case]
    if target == "pipeline" and case.startswith("y "):
        pytest.skip("the transformers ignore y; covered by the CNNClassifier case")
    estimator = CNNClassifier(**TINY) if target == "CNNClassifier" else make_cnn_pipeline(
        "from_scratch", **{f"cnn__{k}": v for k, v in TINY.items()})
    before = _copy(X)
    with pytest.raises(error, match=match):
        estimator.fit(X, None if y is None else np.asarray(y))
    _assert_unchanged(X, before)
    final = estimator if target == "CNNClassifier" else estimator[-1]
    assert not hasattr(final, "model_")


@pytest.mark.parametrize(
    "param, value, match",
    [  # not already in tests/test_classifier.py
        ("batch_size", 0, "batch_size must be a positive integer"),
        ("validation_split", 1.0, r"validation_split must be in \[0, 1\)"),
        ("kernel_size", 2.5, "kernel_size must be a positive integer"),
        ("activation", "sigmoidish", "activation must be one of"),
        ("dense_units", (8, -1), "dense_units must be a positive integer"),
        ("patience", True, "patience must be a positive integer"),
        ("tta", "no", "tta must be True or False"),
        ("early_stopping", "yes", "early_stopping must be True or False"),
        ("class_weight", [1, 2], "class_weight must be"),
        ("class_weight", {0: -1.0}, r"class_weight\[0\] must be a finite number >= 0; got -1.0"),
        ("class_weight", {1: float("inf")}, r"class_weight\[1\] must be a finite number >= 0; got inf"),
        ("class_weight", {1: float("nan")}, r"class_weight\[1\] must be a finite number >= 0; got nan"),
        ("class_weight", {0: 1.0, 7: 2.0}, r"class_weight has the key 7, which is not a class in y"),
        ("conv_filters", (4,) * 5, r"conv_filters=\(4, 4, 4, 4, 4\) has 5 blocks.* 16x16 pixels: at most 4"),
    ],
)
def test_invalid_cnn_hyperparameters_fail_before_training(small, param, value, match):
    from skbcnn import CNNClassifier, make_cnn_pipeline

    X, y = small
    clf = CNNClassifier(**{**TINY, param: value})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
    pipe = make_cnn_pipeline("from_scratch", **{f"cnn__{param}": value})
    with pytest.raises(ValueError, match=match):
        pipe.fit(X, y)


@pytest.mark.parametrize("case", [c for c in BAD_IMAGES if c != "None"] + ["wrong size", "rgb"])
def test_fitted_pipeline_predict_bad_input(fitted_pipeline, case):
    pipeline, X_train = fitted_pipeline
    if case in BAD_IMAGES:
        X, error, match = BAD_IMAGES[case]
    else:
        # issue #22: make_cnn_pipeline's pipeline names the loader call that gives the training
        # size and colour (it used to name its first step's fitted shape)
        fix = r"load_images\(paths, image_size=32, color='grey'\)"
        X, error, match = {
            "wrong size": (X_train[:2, :16, :16], ValueError, f"trained on 32 x 32 grey images; got 16 x 16.*{fix}"),
            "rgb": (np.repeat(X_train[:2, ..., None], 3, -1), ValueError, f"got 32 x 32 rgb images.*{fix}"),
        }[case]
    if case in ("2-D", "5-D", "1-D"):
        match = "dimension"
    before = _copy(X)
    for method in (pipeline.predict, pipeline.predict_proba):
        with pytest.raises(error, match=match):
            method(X)
    _assert_unchanged(X, before)


def test_fitted_pipeline_takes_grey_images_with_or_without_a_channel_axis(fitted_pipeline):
    # issue #22: (n, H, W, 1) is adapted to the (n, H, W) of fit (it used to be refused)
    pipeline, X = fitted_pipeline
    np.testing.assert_allclose(pipeline.predict_proba(X[:2, ..., None]), pipeline.predict_proba(X[:2]))


def test_fitted_classifier_predict_channel_mismatch(fitted_pipeline):
    pipeline, X = fitted_pipeline
    features = pipeline[:-1].transform(X[:2])
    cnn = pipeline[-1]
    assert cnn.image_shape_ == (32, 32, 1)
    cnn.predict(features[..., None])  # (n, H, W) and (n, H, W, 1) are the same to the CNN
    with pytest.raises(ValueError, match=r"fitted on images of shape \(32, 32, 1\) but got .*\(32, 32, 3\)"):
        cnn.predict(np.repeat(features[..., None], 3, -1))
    with pytest.raises(ValueError, match="NaN or infinite"):
        cnn.predict_proba(np.full_like(features, np.nan))


def test_fitted_pipeline_dtype_conversions_give_the_same_predictions(fitted_pipeline):
    pipeline, X = fitted_pipeline
    X = X[:6]
    assert X.dtype == np.uint8
    expected = pipeline.predict_proba(X)
    for converted in (X.astype(np.uint16) * 257, X / 255.0, (X / 255.0).astype(np.float32)):
        before = converted.copy()
        np.testing.assert_allclose(pipeline.predict_proba(converted), expected, atol=1e-5)
        np.testing.assert_array_equal(converted, before)
    assert pipeline.predict(list(X)).tolist() == pipeline.predict(X).tolist()  # list of equal images


def test_fitted_pipeline_score_errors(fitted_pipeline):
    pipeline, X = fitted_pipeline
    with pytest.raises(ValueError, match=r"labels not seen in fit: \['cyst'\]"):
        pipeline.score(X[:2], ["cyst", "benign"])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        pipeline.score(X[:3], ["benign", "benign"])


# ============================================================================ CLI
@pytest.fixture
def npz_files(tmp_path):
    files = {}
    for name, images, labels in [
        ("one_class", np.zeros((6, 16, 16), np.uint8), np.zeros((6, 1), np.uint8)),
        ("empty", np.zeros((0, 16, 16), np.uint8), np.zeros((0, 1), np.uint8)),
        ("two_channels", np.zeros((4, 16, 16, 2), np.uint8), np.array([[0], [1], [0], [1]], np.uint8)),
        ("float_images", np.zeros((4, 16, 16)), np.array([[0], [1], [0], [1]], np.uint8)),
    ]:
        files[name] = tmp_path / f"{name}.npz"
        np.savez(files[name], train_images=images, train_labels=labels)
    return files


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{one_class}"], "at least two classes"),
        (["{empty}"], "holds no images"),
        (["{two_channels}"], "1, 3 or 4 channels"),
        (["{float_images}"], "expected uint8 images"),
        (["synthetic", "--n-samples", "12", "--image-size", "16", "--epochs", "0"],
         "epochs must be a positive integer"),
        (["synthetic", "--n-samples", "12", "--image-size", "16", "--param", "cnn__dropout=2"],
         r"dropout must be in \[0, 1\)"),
        (["synthetic", "--n-samples", "12", "--image-size", "16", "--param", "cnn__tta=no"],
         "tta must be True or False"),
        (["synthetic", "--n-samples", "12", "--image-size", "16", "--param", "augment__zoom=1"],
         r"zoom must be in \[0, 1\)"),
        (["synthetic", "--n-samples", "12", "--image-size", "0"], "image_size"),
    ],
    ids=["one-class", "empty", "two-channels", "float-images", "epochs-0", "dropout-2", "tta-no", "zoom-1",
         "image-size-0"],
)
def test_cli_train_bad_input_exits_2(npz_files, tmp_path, capsys, argv, message):
    from skbcnn.cli import main

    argv = [a.format(**npz_files) for a in argv]
    code = main(["train", *argv, "--out", str(tmp_path / "m.skbcnn"), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("skbcnn train: error:")
    assert __import__("re").search(message, err), err
    assert not (tmp_path / "m.skbcnn").exists()


# ========================================================================= faults
class _Raise:
    """A Keras callback that raises ``exc`` after the first training batch."""

    def __new__(cls, exc):
        import keras

        class Raiser(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                raise exc("stop!")

        return Raiser()


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupted_first_fit_leaves_the_estimator_unfitted(small, exc):
    from skbcnn import CNNClassifier

    X, y = small
    clf = CNNClassifier(**TINY, callbacks=[_Raise(exc)])
    with pytest.raises(exc, match="stop!"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert not hasattr(clf, "history_") and not hasattr(clf, "classes_")


@pytest.mark.parametrize("warm_start", [False, True])
def test_interrupted_refit_keeps_the_previous_model(small, warm_start):
    from skbcnn import CNNClassifier

    X, y = small
    clf = CNNClassifier(**TINY, warm_start=warm_start).fit(X, y)
    proba, history, model = clf.predict_proba(X), dict(clf.history_), clf.model_
    for exc in (KeyboardInterrupt, RuntimeError):
        clf.set_params(callbacks=[_Raise(exc)])
        with pytest.raises(exc, match="stop!"):
            clf.fit(X, y)  # (warm start: regression, the new callback used to be ignored)
        np.testing.assert_array_equal(clf.predict_proba(X), proba)
        assert clf.history_ == history and clf.model_ is model
    clf.set_params(callbacks=None).fit(X, y)  # and it can still be trained
    assert len(clf.history_["loss"]) == (2 if warm_start else 1)


def test_grid_search_with_a_failing_candidate_finishes(small):
    from sklearn.model_selection import GridSearchCV

    from skbcnn import CNNClassifier

    X, y = small
    search = GridSearchCV(CNNClassifier(**TINY), {"dropout": [0.1, 1.5]}, cv=2, error_score=np.nan,
                          refit=False)
    with pytest.warns(FitFailedWarning, match=r"dropout must be in \[0, 1\); got 1.5"):
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert search.best_params_ == {"dropout": 0.1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        with pytest.raises(ValueError, match="dropout must be"):  # error_score="raise"
            GridSearchCV(CNNClassifier(**TINY), {"dropout": [1.5]}, cv=2, error_score="raise").fit(X, y)


def _tensorflow_registries():
    """Sizes of the two TensorFlow registries that used to grow with every fit."""
    tf = pytest.importorskip("tensorflow")
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops

    del tf
    return len(context.context().list_function_names()), len(ops._gradient_registry.list())


@pytest.mark.parametrize("augment", [False, True])
@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_repeated_fits_leave_no_traced_functions_behind(small, augment):
    # Each fit used to leave ~11 MB: optimizer slot initialisers traced as tf.cond
    # branch functions, and a custom-gradient closure holding the train graph
    # (skbcnn/_training.py; the RSS figures are in benchmarks/bench_memory.py).
    from skbcnn import CNNClassifier
    from skbcnn.augmentation import ImageAugmenter

    X, y = small
    if augment:
        X = ImageAugmenter(random_state=0).fit_transform(X)

    CNNClassifier(**TINY).fit(X, y).predict(small[0])
    before = _tensorflow_registries()
    for seed in range(3):
        CNNClassifier(**{**TINY, "random_state": seed}).fit(X, y).predict(small[0])
    assert _tensorflow_registries() == before


def test_warm_start_fits_after_the_registry_cleanup(small):
    # The dropped gradient functions are only needed while the train step is
    # traced; a warm-start fit reuses (or re-traces) it without them.
    from skbcnn import CNNClassifier

    X, y = small
    clf = CNNClassifier(**TINY, warm_start=True).fit(X, y)
    clf.fit(X, y)
    clf.fit(X[:20], y[:20])  # another batch count: Keras may retrace
    assert len(clf.history_["loss"]) == 3 and np.isfinite(clf.history_["loss"]).all()


# ------------------------------------------------------------ files and loaders
def _special_files(folder):
    """A named pipe, a socket and a link to a device, all named like images."""
    import socket

    os.mkfifo(folder / "pipe.png")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock.png"))
    (folder / "zero.png").symlink_to("/dev/zero")
    return sock


@pytest.fixture
def tree_with_special_files(tmp_path):
    root = _image_tree(tmp_path / "data")
    sock = _special_files(root / "benign")
    yield root
    sock.close()


def test_loaders_never_open_pipes_sockets_or_devices(tree_with_special_files):
    import signal

    root = tree_with_special_files
    signal.alarm(60)  # a hang fails the test instead of the run
    try:
        with pytest.warns(UserWarning, match=r"Skipped 3 unreadable file\(s\).*pipe.png: not a regular file"):
            data = load_image_folder(root, image_size=8, on_error="skip")
        assert len(data.images) == 6 and len(data.skipped) == 3
        with pytest.raises(ValueError, match=r"pipe.png: not a regular file .*\(and 2 more\)"):
            load_image_folder(root, image_size=8)
        with pytest.raises(ValueError, match="not a regular file"):
            load_busi(root, image_size=8, on_error="raise")
    finally:
        signal.alarm(0)


def test_cli_on_error_choice(tree_with_special_files, fitted_pipeline, tmp_path, capsys):
    import signal

    from skbcnn.cli import _save_model, main
    from skbcnn.datasets import load_dataset as load_data

    root = tree_with_special_files
    signal.alarm(60)
    try:
        assert main(["train", str(root), "--image-size", "8", "--out", str(tmp_path / "m.skbcnn")]) == 2
        assert "pipe.png: not a regular file" in capsys.readouterr().err
        with pytest.warns(UserWarning, match="not a regular file"):
            assert len(load_data(root, image_size=8, on_error="skip").images) == 6
        model = _save_model(fitted_pipeline[0], tmp_path / "m.skbcnn")
        assert main(["predict", str(model), str(root / "benign"), "--on-error", "raise"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and "skbcnn predict: error:" in err and "not a regular file" in err
        assert main(["predict", str(model), str(root / "benign"), "--on-error", "skip"]) == 0
        out, err = capsys.readouterr()
        assert len(out.splitlines()) == 2 and "warning: skipped" in err and "sock.png" in err
        assert main(["predict", str(model), str(root / "benign")]) == 2  # default: report, predict, status 2
        assert len(capsys.readouterr().out.splitlines()) == 2
    finally:
        signal.alarm(0)
    assert build_parser_has_on_error()


def build_parser_has_on_error():
    from skbcnn.cli import build_parser

    parser = build_parser()
    return all(parser.parse_args([*argv, "--on-error", "skip"]).on_error == "skip" for argv in (
        ["train", "x", "--out", "m"], ["evaluate", "m", "x"], ["search", "x", "--grid", "g"], ["predict", "m", "x"]))


def _busi_tree_with_masks(root, mask_size=(10, 10)):
    from PIL import Image

    for label in ("benign", "malignant", "normal"):
        (root / label).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((10, 10), 40 * i, np.uint8)).save(root / label / f"{label} ({i}).png")
            Image.fromarray(np.zeros(mask_size, np.uint8)).save(root / label / f"{label} ({i})_mask.png")
    return root


def test_busi_masks_go_through_the_pixel_guard(tmp_path, monkeypatch):
    from skbcnn import datasets

    root = _busi_tree_with_masks(tmp_path / "busi", mask_size=(40, 40))
    monkeypatch.setattr(datasets, "MAX_IMAGE_PIXELS", 1000)  # images 100 px pass, masks 1600 px do not
    with pytest.raises(ValueError, match=r"benign \(0\)_mask.png: image is larger than the limit of 1000 pixels"):
        load_busi(root, image_size=8, return_masks=True)
    monkeypatch.undo()
    (root / "malignant" / "malignant (1)_mask.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ValueError, match=r"malignant \(1\)_mask.png: (corrupt|not an image)"):
        load_busi(root, image_size=8, return_masks=True)
    (root / "malignant" / "malignant (1)_mask.png").unlink()
    os.mkfifo(root / "malignant" / "malignant (1)_mask.png")
    with pytest.raises(ValueError, match=r"malignant \(1\)_mask.png: not a regular file"):
        load_busi(root, image_size=8, return_masks=True)


def test_a_huge_sparse_mask_is_refused_without_decoding(tmp_path):
    from PIL import Image

    root = _busi_tree_with_masks(tmp_path / "busi")
    big = root / "normal" / "normal (1)_mask.png"
    Image.new("L", (12000, 12000)).save(big)  # a small file announcing 144 megapixels
    assert big.stat().st_size < 1_000_000
    with pytest.raises(ValueError, match=r"normal \(1\)_mask.png: image is larger than the limit"):
        load_busi(root, image_size=8, return_masks=True)


def test_large_images_decode_in_reduced_form_quickly(tmp_path):
    import time

    from PIL import Image

    from skbcnn.datasets import _read_image

    big = tmp_path / "big.png"
    pixels = np.zeros((8000, 8000), np.uint8)
    pixels[::97] = 200
    Image.fromarray(pixels).save(big)
    start = time.perf_counter()
    image = _read_image(big, (64, 64), "grey")
    assert time.perf_counter() - start < 5  # 36 s before reduced decoding
    assert image.shape == (64, 64)
    # reduced decoding keeps 4x the target resolution: the same image as a full decode
    from skimage.transform import resize

    y, x = np.mgrid[0:1200, 0:1000]
    smooth = (127 + 100 * np.sin(x / 70.0) * np.cos(y / 50.0)).astype(np.uint8)
    for name in ("smooth.png", "smooth.jpg"):
        Image.fromarray(smooth).save(tmp_path / name)
        full = np.asarray(Image.open(tmp_path / name).convert("L"))
        expected = np.rint(resize(full, (48, 40), anti_aliasing=True, preserve_range=True))
        assert np.abs(_read_image(tmp_path / name, (48, 40), "grey") - expected).mean() < 1.5


# -------------------------------------------------------------- silent results
def test_predicting_far_outside_the_training_range_warns_once(fitted_pipeline):
    pipeline, X = fitted_pipeline
    cnn = pickle.loads(pickle.dumps(pipeline[-1]))
    features = pipeline[:-1].transform(X[:4])
    low, high = cnn.input_range_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cnn.predict_proba(features)  # the training range: no warning
        pipeline.predict_proba(X[:4])
    cnn.set_params(tta=True)  # four predictions, one warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cnn.predict(features * 255)
    messages = [str(w.message) for w in caught if "predictions on such images" in str(w.message)]
    assert len(messages) == 1
    assert f"[{low:.3g}, {high:.3g}]" in messages[0]
    assert f"{(features * 255).max():.3g}]" in messages[0]
