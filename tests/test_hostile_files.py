"""Files from strangers (issue #26): no external program, no file outside the
data, no hang, no crash. Every hostile file is built here; an external
program is a stand-in script that leaves a marker file when it runs."""

import hashlib
import os
import re
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from skbcnn.datasets import ImageReadError, load_image_folder, load_images


@pytest.fixture
def tree(tmp_path):
    """Two classes of three small grey PNGs each."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    for label in ("benign", "malignant"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (20, 16), np.uint8)).save(root / label / f"{i}.png")
    return root


def _stand_in_program(tmp_path, monkeypatch, name):
    """An executable ``name`` first on PATH that only writes a marker file; returns the marker."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    marker = tmp_path / f"{name}-ran"
    program = folder / name
    program.write_text(f"#!/bin/sh\necho \"$@\" >> '{marker}'\nexit 0\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return marker


@pytest.fixture
def fake_ghostscript(tmp_path, monkeypatch):
    from PIL import EpsImagePlugin

    marker = _stand_in_program(tmp_path, monkeypatch, "gs")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # Pillow caches where gs is
    return marker


_EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n%%EndComments\nshowpage\n%%EOF\n"


# ------------------------------------------------ decoders that run programs
def test_postscript_named_like_an_image_never_runs_ghostscript(tree, fake_ghostscript):
    eps = tree / "benign" / "scan.png"
    eps.write_bytes(_EPS)
    with pytest.raises(ImageReadError, match=r"scan.png: not an image file"):
        load_image_folder(tree, image_size=16)
    with pytest.warns(UserWarning, match=r"Skipped 1 unreadable file\(s\).*scan.png"):
        data = load_image_folder(tree, image_size=16, on_error="skip")
    assert len(data.images) == 6 and not any("scan.png" in f for f in data.filenames)
    with pytest.warns(UserWarning, match="scan.png"):
        data = load_images([eps, tree / "benign" / "0.png"], image_size=16, on_error="skip")
    assert len(data.images) == 1
    assert not fake_ghostscript.exists()
    # the stand-in works: Pillow left to choose its decoder does run it
    with pytest.raises(Exception):
        with Image.open(eps) as image:  # unrestricted, to show the danger
            image.load()
    assert fake_ghostscript.exists()


def test_cli_skips_postscript_under_on_error_skip(tree, fake_ghostscript, fitted_pipeline, tmp_path, capsys):
    from skbcnn.cli import _save_model, main

    (tree / "benign" / "scan.png").write_bytes(_EPS)
    model = _save_model(fitted_pipeline[0], tmp_path / "m.skbcnn")
    assert main(["predict", str(model), str(tree / "benign"), "--on-error", "skip"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3 and "scan.png" in err and "scan.png" not in out
    assert not fake_ghostscript.exists()


# -------------------------------------------------------------- thin images
def _png(width, height):
    """A grey PNG of ``width`` x ``height`` black pixels, written without Pillow (tiny when thin)."""

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    rows = (b"\0" + b"\0" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def test_extreme_aspect_ratio_is_refused_before_decoding(tree):
    thin = tree / "malignant" / "thin.png"
    thin.write_bytes(_png(1, 4_000_000))
    assert thin.stat().st_size < 50_000
    start = time.perf_counter()
    with pytest.raises(ImageReadError, match=r"thin.png: image of 1x4000000 pixels .*MAX_ASPECT_RATIO"):
        load_image_folder(tree, image_size=16)
    with pytest.warns(UserWarning, match="thin.png"):
        assert len(load_image_folder(tree, image_size=16, on_error="skip").images) == 6
    assert time.perf_counter() - start < 20


def test_long_image_within_the_ratio_is_shrunk_along_its_length(tmp_path, monkeypatch):
    # 100 times longer than wide: reduced along its length before the
    # anti-aliased resize, whose smoothing kernel grows with the shrink factor
    # (unreduced, this 100 x 10000 image took 40 times longer).
    from skbcnn import datasets

    resized = []
    resize = datasets.resize
    monkeypatch.setattr(datasets, "resize", lambda image, size: resized.append(image.shape) or resize(image, size))
    path = tmp_path / "long.png"
    path.write_bytes(_png(100, 10_000))
    assert load_images(path, image_size=16).images.shape == (1, 16, 16)
    assert max(resized[0]) <= 8 * 16


# ------------------------------------------------------------ group patterns
def test_group_pattern_rule_is_one_function():
    from skbcnn.datasets import file_group

    assert file_group("breakhis", "a/b/SOB_B_A-14-22549AB-40-001.png") == "14-22549AB"
    assert file_group(r"(?P<group>p\d+)_(\d+)", "p7_3.png") == "p7"
    assert file_group(r"p(\d+)_(\d+)", "p7_3.png") == "7"  # first group
    assert file_group(r"p\d+", "x_p7_3.png") == "p7"  # whole match
    assert file_group(r"^q", "p7.png") is None
    with pytest.raises(ValueError, match=r"group pattern '\(\[' is not a valid regular expression"):
        file_group("([", "p7.png")


def test_catastrophic_group_pattern_stops_with_an_error(tree, monkeypatch):
    from skbcnn import datasets

    monkeypatch.setattr(datasets, "GROUP_PATTERN_TIMEOUT", 0.2)
    (tree / "benign" / "0.png").rename(tree / "benign" / ("0" + "a" * 60 + "!.png"))  # listed first
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"took more than 0.2 s on the file name '0a+!.png'.*backtracks"):
        load_image_folder(tree, image_size=8, group_pattern=r"^\d(a|aa)+$")
    assert time.perf_counter() - start < 30


def test_cli_groups_pattern_cannot_hang_training(tree, tmp_path, capsys, monkeypatch):
    from skbcnn import datasets
    from skbcnn.cli import main

    monkeypatch.setattr(datasets, "GROUP_PATTERN_TIMEOUT", 0.2)
    (tree / "benign" / "0.png").rename(tree / "benign" / ("0" + "a" * 60 + "!.png"))
    start = time.perf_counter()
    code = main(["train", str(tree), "--image-size", "16", "--recipe", "from_scratch", "--epochs", "1",
                 "--groups", r"^\d(a|aa)+$", "--out", str(tmp_path / "m.skbcnn"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "--groups: group pattern" in err and "backtracks" in err
    assert time.perf_counter() - start < 60 and not (tmp_path / "m.skbcnn").exists()


# ---------------------------------------------------- links leading outside
@pytest.fixture
def private(tmp_path):
    """A folder beside the data that the data's links point into."""
    folder = tmp_path / "private"
    (folder / "tree").mkdir(parents=True)
    for i in range(2):
        Image.fromarray(np.full((20, 16), 200, np.uint8)).save(folder / "tree" / f"secret{i}.png")
    return folder


def test_image_links_leading_outside_the_data_are_not_read(tree, private):
    (tree / "benign" / "x.png").symlink_to(private / "tree" / "secret0.png")
    (tree / "benign" / "inside.png").symlink_to(tree / "malignant" / "0.png")  # inside: read
    with pytest.raises(ImageReadError, match=r"x.png: a link to .*secret0.png, outside the data folder"):
        load_image_folder(tree, image_size=8)
    with pytest.warns(UserWarning, match=r"Skipped 1 unreadable file\(s\).*x.png: a link to"):
        data = load_image_folder(tree, image_size=8, on_error="skip")
    assert len(data.images) == 7 and not any("secret" in f or f.endswith("x.png") for f in data.filenames)
    # given benign/ alone, its link into malignant/ leads outside too
    with pytest.warns(UserWarning, match=r"Skipped 2 unreadable.*inside.png: a link to"):
        assert len(load_images(tree / "benign", image_size=8, on_error="skip").images) == 3


def test_class_folders_linking_outside_the_data_are_skipped(tree, private):
    (tree / "stolen").symlink_to(private / "tree", target_is_directory=True)
    with pytest.warns(UserWarning, match=r"Skipped 1 class folder\(s\) .* stolen -> .*private/tree"):
        data = load_image_folder(tree, image_size=8)
    assert data.target_names.tolist() == ["benign", "malignant"] and len(data.images) == 6
    with pytest.raises(ValueError, match="class folder .*stolen links to .*outside"):
        load_image_folder(tree, classes=["benign", "stolen"], image_size=8)


# -------------------------------------------------------------- report files
class _Fixed:
    """A fitted classifier stand-in: fixed probabilities, any class names."""

    def __init__(self, classes):
        self.classes_ = np.asarray(classes)

    def predict_proba(self, X):
        proba = np.linspace(1, 2, len(self.classes_))
        return np.tile(proba / proba.sum(), (len(X), 1))


@pytest.mark.filterwarnings("ignore:the model predicted")
def test_report_files_are_created_fresh_never_through_a_planted_link(tmp_path):
    from skbcnn.report import write_report

    out, victim = tmp_path / "report", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("keep me")
    for name in ("metrics.csv", "metrics.json", "report.html", "confusion_matrix.png"):
        (out / name).symlink_to(victim)
    X = np.random.default_rng(0).random((6, 16, 16)).astype(np.float32)
    paths = write_report(_Fixed(["a", "b"]), X, np.array(["a", "b"] * 3), out, n_images=2)
    assert victim.read_text() == "keep me"
    for name in ("metrics.csv", "metrics.json", "report.html", "confusion_matrix.png"):
        assert not (out / name).is_symlink() and (out / name).stat().st_size > 0
    assert paths["metrics_csv"] == out / "metrics.csv"


@pytest.mark.filterwarnings("ignore:the model predicted")
def test_report_with_tex_like_class_names(tmp_path):
    from skbcnn.report import write_report

    names = ["$\\foo{$", "a_b^c"]
    X = np.random.default_rng(0).random((6, 16, 16)).astype(np.float32)
    paths = write_report(_Fixed(names), X, np.array(names * 3), tmp_path / "r", n_images=2)
    assert "$\\foo{$" in (tmp_path / "r" / "metrics.csv").read_text() and paths["confusion_matrix"].is_file()


# ------------------------------------------------- Keras' extraction folder
def _with_member(keras_bytes, name, data, *, bad_crc=False):
    """The .keras zip with one more (stored) member; ``bad_crc`` damages its bytes after the CRC."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(keras_bytes))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for member in source.namelist():
            archive.writestr(member, source.read(member))
        archive.writestr(name, data)
    out = buffer.getvalue()
    return out.replace(data, data[:-1] + b"X") if bad_crc else out


@pytest.mark.parametrize("bad_crc", [True, False], ids=["bad-crc", "intact"])
def test_a_refused_network_leaves_no_extracted_file(fitted_pipeline, tmp_path, monkeypatch, bad_crc):
    import json
    import tempfile

    from skbcnn.persistence import export_model, import_model

    folder = export_model(fitted_pipeline[0], tmp_path / "export")
    keras_file = folder / "cnn.keras"
    keras_file.write_bytes(_with_member(keras_file.read_bytes(), "assets/evil.sh", b"#!/bin/sh\necho pwned\n",
                                        bad_crc=bad_crc))
    description = json.loads((folder / "skbcnn.json").read_text())
    description["cnn_sha256"] = hashlib.sha256(keras_file.read_bytes()).hexdigest()  # reach the network checks
    (folder / "skbcnn.json").write_text(json.dumps(description))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # every temporary folder goes here
    with pytest.raises(ValueError, match=r"cnn.keras: the network holds files skbcnn never writes \(assets/evil.sh"):
        import_model(folder)
    assert list(scratch.rglob("*")) == []
    assert sorted(p.name for p in folder.iterdir()) == ["cnn.keras", "skbcnn.json"]


# ------------------------------------------------------ misuse of the API
def test_threads_saving_to_the_same_path_all_succeed(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    import skbcnn

    path = tmp_path / "m.skbcnn"

    def save(i):
        return skbcnn.save({"i": i, "pad": b"x" * 200_000}, path, format="pickle")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(save, range(48)))  # raises the first failure
    assert len(results) == 48 and skbcnn.load(path, allow_pickle=True)["i"] in range(48)
    assert [p.name for p in tmp_path.iterdir()] == ["m.skbcnn"]


@pytest.mark.parametrize("param, value, match", [
    ("random_state", -1, r"random_state must be an int in the range \[0, 4294967295\]"),
    ("optimizer", None, "optimizer must be one of .* or a Keras optimizer; got None"),
])
def test_classifier_misuse_is_a_parameter_error(param, value, match):
    from skbcnn.classifier import CNNClassifier

    X = np.zeros((8, 16, 16), np.float32)
    with pytest.raises(ValueError, match=match):
        CNNClassifier(**{param: value}, epochs=1).fit(X, [0, 1] * 4)


# ------------------------------------------------------------ clear errors
@pytest.mark.parametrize("labels, shown", [
    (np.array([[0], [2**62]], np.int64), "4611686018427387904"),
    (np.array([[0], [1e19]]), "1e+19"),
], ids=["huge-int", "huge-float"])
def test_medmnist_absurd_labels_are_refused(tmp_path, labels, shown):
    from skbcnn.datasets import load_medmnist

    path = tmp_path / "set.npz"
    np.savez(path, train_images=np.zeros((2, 8, 8), np.uint8), train_labels=labels)
    with pytest.raises(ValueError, match=rf"train_labels holds the label {re.escape(shown)}; labels are class indices below"):
        load_medmnist(path)


def test_medmnist_random_bytes_and_special_files(tmp_path):
    from skbcnn.datasets import load_medmnist

    noise = tmp_path / "noise.npz"
    noise.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(ValueError, match=r"noise.npz is not a readable .npz file: it is not a zip archive") as error:
        load_medmnist(noise)
    assert "pickle" not in str(error.value)
    folder = tmp_path / "folder.npz"
    folder.mkdir()
    with pytest.raises(ValueError, match="folder.npz is not a regular file"):
        load_medmnist(folder)


def test_cli_model_path_that_is_a_folder_or_pipe(tmp_path, capsys):
    from skbcnn.cli import main

    os.mkfifo(tmp_path / "pipe.skbcnn")
    (tmp_path / "dir.skbcnn").mkdir()
    for name in ("pipe.skbcnn", "dir.skbcnn"):
        assert main(["info", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert f"{name} is not a regular file" in err and "does not exist" not in err


def test_absurd_n_jobs_runs_one_job_per_core():
    from skbcnn.enhancement import Denoiser

    X = np.random.default_rng(0).random((6, 16, 16)).astype(np.float32)
    expected = Denoiser(n_jobs=1).fit_transform(X)
    np.testing.assert_array_equal(Denoiser(n_jobs=100_000).fit_transform(X), expected)


# ------------------------------------------- forged, checksum-valid files
def _model_file(path, members):
    """A format-2 safe model file of ``members`` with a correct checksum (as skbcnn.save writes)."""
    import json
    from datetime import datetime, timezone

    from skbcnn import persistence

    header = {"format": "skbcnn-model", "format_version": 2, "content": "safe",
              "estimator": "sklearn.pipeline.Pipeline", "created": datetime.now(timezone.utc).isoformat(),
              "versions": persistence.library_versions(),
              "members": [{"name": name, "size": len(data)} for name, data in members.items()]}
    raw = json.dumps(header).encode()
    body = persistence.MAGIC + struct.pack(">Q", len(raw)) + raw + b"".join(members.values())
    path.write_bytes(body + hashlib.sha256(body).digest())
    return path


def _forged(fitted_pipeline, path, edit):
    import json

    from skbcnn.persistence import _export_members

    members = _export_members(fitted_pipeline[0])
    description = json.loads(members["skbcnn.json"])
    edit(description)
    return _model_file(path, {"skbcnn.json": json.dumps(description).encode(), "cnn.keras": members["cnn.keras"]})


def _set_training(description):
    description["training_info"] = {"class_counts": [1, 2], "versions": ["x"], "data_source": "d\x1b]0;pwned\x07",
                                    "command": "skbcnn train\nrm -rf /", "n_images": 3}


def _set_history(description):
    description["steps"][-1]["fitted"]["history_"] = {"loss": ["x", "y"], "val_loss": [{"a": 1}]}


def _set_classes(description):
    description["steps"][-1]["fitted"]["classes_"] = {
        "__ndarray__": ["a\x1b[2J", "b\nc", "d"], "dtype": "<U8"}


def test_info_on_forged_training_records_prints_escaped_text(fitted_pipeline, tmp_path, capsys):
    from skbcnn.cli import main

    path = _forged(fitted_pipeline, tmp_path / "m.skbcnn", lambda d: (_set_training(d), _set_classes(d)))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b]0;pwned\\x07" in out
    assert "skbcnn train\\nrm -rf /" in out and "a\\x1b[2J, b\\nc, d" in out
    assert main(["info", str(path), "--format", "json"]) == 0


def test_forged_history_is_refused_when_loading(fitted_pipeline, tmp_path, capsys):
    from skbcnn.cli import main

    path = _forged(fitted_pipeline, tmp_path / "m.skbcnn", _set_history)
    assert main(["info", str(path)]) == 2
    assert "history_ of step 'cnn' must map metric names to lists of numbers" in capsys.readouterr().err


def test_predict_prints_one_line_per_image_and_refuses_nan(fitted_pipeline, tree, tmp_path, capsys, monkeypatch):
    from skbcnn.cli import _save_model, main

    (tree / "benign" / "0.png").rename(tree / "benign" / "a\nb\x1b[2J.png")
    model = _save_model(fitted_pipeline[0], tmp_path / "m.skbcnn")
    assert main(["predict", str(model), str(tree / "benign")]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 3 and "a\\nb\\x1b[2J.png" in out and "\x1b" not in out

    import skbcnn

    broken = skbcnn.load(model)
    network = broken[-1].model_
    network.set_weights([np.full_like(w, np.nan) for w in network.get_weights()])
    nan_model = _save_model(broken, tmp_path / "nan.skbcnn")
    assert main(["predict", str(nan_model), str(tree / "benign")]) == 2  # refused when loaded
    out, err = capsys.readouterr()
    assert out == "" and "the network has NaN or infinite weights" in err
    # and whatever gives non-finite probabilities, predict prints no class for them
    monkeypatch.setattr(type(broken), "predict_proba", lambda self, X: np.full((len(X), 3), np.nan))
    assert main(["predict", str(model), str(tree / "benign")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "non-finite probabilities (NaN or inf) for 3 of 3 image(s)" in err


# ------------------------------------------------------ networks too large
@pytest.mark.parametrize("param, value, match", [
    ("kernel_size", 256, "kernel_size=256 is larger than the 16x16 images"),
    ("conv_filters", (10_000_000,), r"16x16x10000000 feature map would take 9.5 GiB"),
    ("dense_units", (10**9,), r"the network would have [0-9,]+ weights, more than the limit"),
], ids=["kernel", "filters", "dense"])
def test_absurd_networks_are_refused_before_tensorflow_sees_them(param, value, match):
    from sklearn.utils.validation import check_is_fitted

    from skbcnn.classifier import CNNClassifier

    X = np.random.default_rng(0).random((16, 16, 16)).astype(np.float32)
    clf = CNNClassifier(**{"conv_filters": (2,), "dense_units": (2,), "epochs": 1, param: value})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, [0, 1] * 8)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(clf)


def test_a_loaded_network_gets_the_same_limits(fitted_pipeline, tmp_path):
    import io
    import json
    import zipfile

    import keras

    from skbcnn.persistence import export_model, import_model

    folder = export_model(fitted_pipeline[0], tmp_path / "export")
    original = zipfile.ZipFile(folder / "cnn.keras")
    shape = json.loads(original.read("config.json"))["config"]["layers"][0]["config"]["batch_shape"][1:]
    forged = keras.Sequential([keras.Input(tuple(shape)), keras.layers.Conv2D(2, 64, padding="same"),
                               keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    forged.save(tmp_path / "forged.keras")
    (folder / "cnn.keras").write_bytes((tmp_path / "forged.keras").read_bytes())
    description = json.loads((folder / "skbcnn.json").read_text())
    description["cnn_sha256"] = hashlib.sha256((folder / "cnn.keras").read_bytes()).hexdigest()
    (folder / "skbcnn.json").write_text(json.dumps(description))
    with pytest.raises(ValueError, match=r"cnn.keras: layer 'conv2d.*' has a 64x64 kernel on 32x32 images"):
        import_model(folder)


# ------------------------------------------------------------ silently wrong
def test_float_tiff_in_0_255_is_read_as_0_255(tmp_path):
    pixels = np.tile(np.linspace(0, 250, 16, dtype=np.float32), (16, 1))
    Image.fromarray(pixels, mode="F").save(tmp_path / "a.tif")
    np.testing.assert_array_equal(load_images(tmp_path / "a.tif", image_size=16).images[0], np.rint(pixels))
    Image.fromarray(pixels / 250, mode="F").save(tmp_path / "b.tif")  # [0, 1]: scaled as before
    np.testing.assert_array_equal(load_images(tmp_path / "b.tif", image_size=16).images[0], np.rint(pixels * 255 / 250))
    Image.fromarray(pixels * 100, mode="F").save(tmp_path / "c.tif")
    with pytest.raises(ImageReadError, match=r"c.tif: .*float pixels reach 2.5e\+04, beyond both"):
        load_images(tmp_path / "c.tif", image_size=16)


def test_a_long_string_array_in_a_description_is_refused_before_allocation(fitted_pipeline, tmp_path):
    def edit(description):
        description["steps"][-1]["fitted"]["classes_"] = {"__ndarray__": [""] * 300_000, "dtype": "<U1024"}

    import skbcnn

    path = _forged(fitted_pipeline, tmp_path / "m.skbcnn", edit)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(ValueError, match=r"string array of dtype <U1024 would take more than 16 MiB"):
        skbcnn.load(path)


def test_save_never_replaces_a_device_or_a_pipe(tmp_path):
    import skbcnn

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "null").symlink_to("/dev/null")
    for name in ("pipe", "null"):
        with pytest.raises(ValueError, match="is not a regular file"):
            skbcnn.save({"a": 1}, tmp_path / name, format="pickle")
    assert (tmp_path / "null").is_symlink() and os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_labels_weights_and_late_parameters_that_would_train_wrong(fitted_pipeline):
    from skbcnn.classifier import CNNClassifier

    X = np.random.default_rng(0).random((12, 16, 16)).astype(np.float32)
    clf = CNNClassifier(conv_filters=(2,), dense_units=(2,), epochs=1)
    with pytest.raises(ValueError, match="y mixes strings and numbers"):
        clf.fit(X, [0, "0", 1, "1"] * 3)
    with pytest.raises(ValueError, match=r"sample_weight must be finite and non-negative; got values in \[-1, 1\]"):
        clf.fit(X, [0, 1] * 6, sample_weight=[1, -1] * 6)
    pipeline, images = fitted_pipeline
    pipeline.set_params(cnn__tta="no")
    try:
        with pytest.raises(ValueError, match="tta must be"):
            pipeline.predict_proba(images[:2])
    finally:
        pipeline.set_params(cnn__tta=False)


def test_an_export_failing_between_its_renames_keeps_the_previous_one(fitted_pipeline, tmp_path, monkeypatch):
    import errno

    from skbcnn.persistence import export_model, import_model

    pipeline, X = fitted_pipeline
    target = export_model(pipeline, tmp_path / "model")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    real_replace = os.replace

    def fail_on_the_description(src, dst, *args, **kwargs):
        if os.fspath(dst).endswith("skbcnn.json") and ".tmp-" in os.fspath(src):
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", fail_on_the_description)
    network = pipeline[-1].model_
    weights = network.get_weights()
    network.set_weights([w + 1 for w in weights])  # another network: its cnn.keras differs
    try:
        with pytest.raises(OSError, match="Input/output error"):
            export_model(pipeline, target)
    finally:
        network.set_weights(weights)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before  # and no temporary file
    np.testing.assert_allclose(import_model(target).predict_proba(X[:4]), pipeline.predict_proba(X[:4]), atol=1e-6)


def test_a_busi_mask_linking_outside_is_refused(tmp_path, private):
    from skbcnn.datasets import load_busi

    root = tmp_path / "busi"
    for label in ("benign", "malignant"):
        (root / label).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.zeros((20, 16), np.uint8)).save(root / label / f"{label} ({i}).png")
            Image.fromarray(np.zeros((20, 16), np.uint8)).save(root / label / f"{label} ({i})_mask.png")
    assert load_busi(root, classes=("benign", "malignant"), image_size=8, return_masks=True).masks.shape == (4, 8, 8)
    (root / "benign" / "benign (1)_mask.png").unlink()
    (root / "benign" / "benign (1)_mask.png").symlink_to(private / "tree" / "secret0.png")
    with pytest.raises(ImageReadError, match=r"benign \(1\)_mask.png: a link to .*secret0.png, outside"):
        load_busi(root, classes=("benign", "malignant"), image_size=8, return_masks=True)


def test_cli_out_never_replaces_a_pipe(tmp_path, capsys):
    import stat

    from skbcnn.cli import main

    fifo = tmp_path / "out.skbcnn"
    os.mkfifo(fifo)
    code = main(["train", "synthetic", "--n-samples", "40", "--image-size", "16", "--recipe", "from_scratch",
                 "--epochs", "1", "--param", "cnn__conv_filters=[2]", "--param", "cnn__dense_units=[2]",
                 "--out", str(fifo), "-q"])
    assert code == 2 and "is not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
