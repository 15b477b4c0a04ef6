"""skbcnn.persistence: save / load (checked, atomic, exact across processes),
export_model / import_model, and the files a stranger can hand over
(damaged headers, pickles that run commands, descriptions and networks that
name code, links and pipes): each is refused with a message naming the file.
"""

import errno
import hashlib
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import skbcnn
from skbcnn import persistence
from skbcnn.persistence import export_model, import_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, fitted_pipeline):
    pipeline, X = fitted_pipeline
    path = tmp_path_factory.mktemp("model") / "pipeline.skbcnn"
    skbcnn.save(pipeline, path)
    return path


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_round_trip_in_a_fresh_process(model_file, fitted_pipeline, tmp_path):
    pipeline, X = fitted_pipeline
    np.save(tmp_path / "X.npy", X)
    code = textwrap.dedent(
        f"""
        import numpy as np, skbcnn
        model = skbcnn.load({str(model_file)!r})
        np.save({str(tmp_path / "proba.npy")!r}, model.predict_proba(np.load({str(tmp_path / "X.npy")!r})))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), pipeline.predict_proba(X))


def test_header_records_versions_and_checksum(model_file):
    header, members = persistence.read_header(model_file)
    assert set(header["versions"]) >= {"skbcnn", "scikit-learn", "keras", "tensorflow", "numpy"}
    assert header["estimator"] == "skbcnn.pipeline.CNNPipeline"  # make_cnn_pipeline's Pipeline subclass (issue #22)
    assert header["content"] == "safe"  # the default: no pickle inside
    assert [m["name"] for m in header["members"]] == ["skbcnn.json", "cnn.keras"]
    assert [len(members[m["name"]]) for m in header["members"]] == [m["size"] for m in header["members"]]


def test_corrupted_file_is_refused(model_file, tmp_path):
    data = bytearray(model_file.read_bytes())
    data[-100] ^= 0xFF
    bad = tmp_path / "bad.skbcnn"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum does not match"):
        skbcnn.load(bad)


def test_truncated_file_is_refused(model_file, tmp_path):
    bad = tmp_path / "short.skbcnn"
    bad.write_bytes(model_file.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        skbcnn.load(bad)
    bad.write_bytes(model_file.read_bytes()[:20])
    with pytest.raises(ValueError, match="damaged or truncated"):
        skbcnn.load(bad)


def test_not_a_model_file(tmp_path):
    other = tmp_path / "other.pkl"
    other.write_bytes(b"\x80\x04 not ours")
    with pytest.raises(ValueError, match="not a skbcnn model file"):
        skbcnn.load(other)


def rewrite_header(source, target, edit, *, checksum=True):
    """Copy a model file with an edited header; recompute the checksum unless told not to."""
    data = source.read_bytes()
    offset = len(persistence.MAGIC)
    (size,) = struct.unpack(">Q", data[offset : offset + 8])
    header = json.loads(data[offset + 8 : offset + 8 + size])
    edit(header)
    new_header = json.dumps(header).encode()
    body = persistence.MAGIC + struct.pack(">Q", len(new_header)) + new_header + data[offset + 8 + size : -32]
    target.write_bytes(body + (hashlib.sha256(body).digest() if checksum else data[-32:]))
    return target


def test_version_mismatch_warns(model_file, tmp_path):
    old = rewrite_header(model_file, tmp_path / "old.skbcnn",
                         lambda header: header["versions"].update({"scikit-learn": "0.0.1"}))
    with pytest.warns(persistence.VersionMismatchWarning, match="scikit-learn 0.0.1"):
        skbcnn.load(old)


@pytest.mark.parametrize("field, value", [("created", "2001-01-01T00:00:00+00:00"),
                                          ("estimator", "os.system"), ("versions", {"skbcnn": "9"})])
def test_every_header_field_is_under_the_checksum(model_file, tmp_path, field, value):
    edited = rewrite_header(model_file, tmp_path / "edited.skbcnn", lambda h: h.update({field: value}),
                            checksum=False)
    with pytest.raises(ValueError, match="checksum does not match"):
        skbcnn.load(edited)


def test_pickles_need_allow_pickle(tmp_path):
    path = skbcnn.save({"version": 1}, tmp_path / "m.skbcnn", format="pickle")
    with pytest.raises(persistence.UntrustedFileError, match="holds a pickle.*allow_pickle=True"):
        skbcnn.load(path)
    with pytest.raises(persistence.UntrustedFileError):
        skbcnn.load(path, allow_pickle="yes")  # only True means yes
    assert skbcnn.load(path, allow_pickle=True) == {"version": 1}


def test_safe_format_refuses_what_it_cannot_hold(tmp_path):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="format='pickle'"):
        skbcnn.save(LogisticRegression(), tmp_path / "m.skbcnn")
    with pytest.raises(ValueError, match="format must be 'safe' or 'pickle'"):
        skbcnn.save(LogisticRegression(), tmp_path / "m.skbcnn", format="joblib")
    assert list(tmp_path.iterdir()) == []


def test_description_arrays_cannot_ask_for_huge_strings():
    from skbcnn.persistence import _decode

    assert _decode({"__ndarray__": ["benign"], "dtype": "<U9"}).tolist() == ["benign"]
    with pytest.raises(ValueError, match="arrays of dtype <U200000000 are not allowed"):
        _decode({"__ndarray__": ["a"], "dtype": "<U200000000"})


@pytest.mark.parametrize("item", [
    {"class_name": "TFSMLayer", "module": "keras.layers", "config": {"filepath": "/etc"}},
    {"class_name": "StringLookup", "module": "keras.layers", "config": {"vocabulary": "/etc/passwd"}},
    {"class_name": "Dense", "module": "keras.layers", "registered_name": "evil>Dense"},
])
def test_network_configs_that_read_files_or_custom_objects_are_refused(item):
    from skbcnn.persistence import _check_keras_config

    with pytest.raises(ValueError, match="refusing to load it"):
        _check_keras_config({"config": {"layers": [item]}}, "m.skbcnn (cnn.keras)")


def test_export_replaces_links_and_save_writes_through_them(fitted_pipeline, tmp_path):
    pipeline, _ = fitted_pipeline
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("cnn.keras", "skbcnn.json"):
        (elsewhere / name).write_bytes(b"keep me")
        (folder / name).symlink_to(elsewhere / name)
    persistence.export_model(pipeline, folder)
    for name in ("cnn.keras", "skbcnn.json"):
        assert not (folder / name).is_symlink() and (folder / name).read_bytes() != b"keep me"
        assert (elsewhere / name).read_bytes() == b"keep me"  # the link's target is left alone
    # save keeps its documented rule: the file a link points to is replaced
    (elsewhere / "m.skbcnn").write_bytes(b"old")
    (tmp_path / "m.skbcnn").symlink_to(elsewhere / "m.skbcnn")
    skbcnn.save({"version": 1}, tmp_path / "m.skbcnn", format="pickle")
    assert (tmp_path / "m.skbcnn").is_symlink()
    assert skbcnn.load(elsewhere / "m.skbcnn", allow_pickle=True) == {"version": 1}


def test_stale_temporary_files_are_only_those_written_here(tmp_path):
    target = tmp_path / "m.skbcnn"
    dead = 2 ** 22 + 12345  # above the largest pid Linux hands out
    stale, other = tmp_path / f".m.skbcnn.tmp-{dead}", tmp_path / f".m.skbcnn.tmp-{dead}.mine"
    stale.write_bytes(b"")
    other.write_bytes(b"")
    persistence.write_atomically(target, b"x")
    assert not stale.exists() and other.exists()


# ========================================================= persistence and sharing
def _write_model_file(path, header, payload=b"x"):
    raw = json.dumps(header).encode()
    path.write_bytes(persistence.MAGIC + struct.pack(">Q", len(raw)) + raw + payload)
    return path


@pytest.mark.parametrize(
    "header, match",
    [
        ([1, 2], r"header is damaged \(not a JSON object\)"),
        ({"format": "skbcnn-model", "format_version": 1}, "unsupported model file format 1"),
        ({"format": "skbcnn-model", "format_version": 99}, "unsupported model file format 99"),
    ],
    ids=["list", "unreleased-format-1", "future-format"],
)
def test_load_damaged_headers_are_value_errors(tmp_path, header, match, capsys):
    path = _write_model_file(tmp_path / "m.skbcnn", header)
    with pytest.raises(ValueError, match=match):
        skbcnn.load(path)
    # and the CLI reports them as a usage error
    from skbcnn.cli import main

    assert main(["predict", str(path), str(tmp_path)]) == 2
    assert "skbcnn predict: error:" in capsys.readouterr().err


def test_load_and_save_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        skbcnn.load(tmp_path / "missing.skbcnn")
    with pytest.raises(IsADirectoryError):
        skbcnn.load(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"cannot save .*dir.skbcnn: the folder .*such does not exist"):
        skbcnn.save({"a": 1}, tmp_path / "no" / "such" / "dir.skbcnn", format="pickle")
    with pytest.raises(ValueError, match="compress"):
        skbcnn.save({"a": 1}, tmp_path / "m.skbcnn", compress=12)
    assert list(tmp_path.iterdir()) == []  # no temporary file left


class _DiskFull:
    """A file object whose writes fail with ENOSPC after ``limit`` bytes."""

    def __init__(self, file, limit):
        self.file, self.left = file, limit

    def write(self, data):
        if len(data) > self.left:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.left -= len(data)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


@pytest.mark.parametrize("failure", ["write", "unpicklable", "interrupt"])
def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch, failure):
    path = tmp_path / "model.skbcnn"
    skbcnn.save({"version": 1}, path, format="pickle")
    good = path.read_bytes()
    new = {"version": 2, "weights": np.zeros(1000)}
    if failure == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda *a, **k: _DiskFull(real_fdopen(*a, **k), limit=100))
        error, match = OSError, "No space left"
    elif failure == "unpicklable":
        new["callback"] = lambda: None
        error, match = (pickle.PicklingError, AttributeError), None
    else:
        def interrupt(fd):
            raise KeyboardInterrupt

        monkeypatch.setattr(os, "fsync", interrupt)
        error, match = KeyboardInterrupt, None
    with pytest.raises(error, match=match):
        skbcnn.save(new, path, format="pickle")
    assert path.read_bytes() == good
    assert skbcnn.load(path, allow_pickle=True) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["model.skbcnn"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, fitted_pipeline):
    from skbcnn.persistence import export_model

    return export_model(fitted_pipeline[0], tmp_path_factory.mktemp("shared") / "model")


def _edited_copy(exported, tmp_path, edit):
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    description = json.loads((copy / "skbcnn.json").read_text())
    edit(description)
    (copy / "skbcnn.json").write_text(json.dumps(description))
    return copy


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d["steps"][0].pop("class"), "not a valid description .*KeyError"),
        (lambda d: d["steps"].__setitem__(0, "enhance"), "not a valid description .*TypeError"),
        (lambda d: d["steps"][0]["params"].update(sharpen=True), "not a valid description .*sharpen"),
        (lambda d: d["steps"][-1]["params"].update(learnig_rate=1), "not a valid description .*learnig_rate"),
        (lambda d: d["steps"][-1]["fitted"].pop("classes_"), "not a valid description .*classes_"),
        (lambda d: d.pop("pipeline"), "not a valid description .*pipeline"),
        (lambda d: d.update(steps=[]), "not a skbcnn export"),
        (lambda d: d.update(format_version=2), "not a skbcnn export"),
        (lambda d: d["steps"][0].update({"class": "builtins.eval"}), "refusing class 'builtins.eval'"),
        (lambda d: d.update(cnn_sha256="0" * 64), "does not belong to"),
    ],
    ids=["no-class", "step-not-a-dict", "unknown-param", "misspelt-cnn-param", "no-classes",
         "no-pipeline-flag", "no-steps", "future-format", "foreign-class", "checksum"],
)
def test_import_malformed_descriptions_are_value_errors(exported, tmp_path, edit, match):
    from skbcnn.persistence import import_model

    with pytest.raises(ValueError, match=match):
        import_model(_edited_copy(exported, tmp_path, edit))


def test_import_refuses_a_network_from_another_export(exported, tmp_path, fitted_pipeline):
    from skbcnn.persistence import export_model, import_model

    other_cnn = pickle.loads(pickle.dumps(fitted_pipeline[0][-1]))
    other_cnn.model_.set_weights([w + 0.01 for w in other_cnn.model_.get_weights()])
    other = export_model(other_cnn, tmp_path / "other")
    mixed = tmp_path / "mixed"
    shutil.copytree(exported, mixed)
    shutil.copy(other / "cnn.keras", mixed / "cnn.keras")
    with pytest.raises(ValueError, match="does not belong to"):
        import_model(mixed)


@pytest.mark.parametrize("stage", ["network", "description"])
def test_failed_export_keeps_the_previous_export(exported, tmp_path, fitted_pipeline, monkeypatch, stage):
    import keras

    from skbcnn.persistence import export_model, import_model

    pipeline, X = fitted_pipeline
    target = tmp_path / "model"
    shutil.copytree(exported, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if stage == "network":
        monkeypatch.setattr(keras.Model, "save", disk_full)
    else:  # the description's temporary file cannot be written
        real_open = os.open

        def open_or_disk_full(path, *args, **kwargs):
            if "skbcnn.json" in os.fspath(path):
                disk_full()
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", open_or_disk_full)
    with pytest.raises(OSError, match="No space left"):
        export_model(pipeline, target)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before  # no temp files either
    np.testing.assert_allclose(import_model(target).predict_proba(X[:4]), pipeline.predict_proba(X[:4]),
                               atol=1e-6)


def test_export_unfitted_or_foreign(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from skbcnn import CNNClassifier
    from skbcnn.persistence import export_model

    with pytest.raises(NotFittedError):
        export_model(CNNClassifier(), tmp_path / "a")
    with pytest.raises(TypeError, match="last step must be a skbcnn.CNNClassifier"):
        export_model(LogisticRegression(), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ================================================ export_model / import_model
def test_round_trip_gives_identical_predictions(exported, fitted_pipeline, monkeypatch):
    pipeline, X = fitted_pipeline
    # Importing must never unpickle anything.
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
    reloaded = import_model(exported)
    assert [name for name, _ in reloaded.steps] == [name for name, _ in pipeline.steps]
    np.testing.assert_allclose(reloaded.predict_proba(X), pipeline.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(reloaded.classes_, pipeline.classes_)
    assert reloaded.get_params()["cnn__conv_filters"] == pipeline.get_params()["cnn__conv_filters"]


def test_bare_classifier_round_trip(tmp_path, fitted_pipeline):
    pipeline, X = fitted_pipeline
    features = pipeline[:-1].transform(X[:8])
    path = export_model(pipeline[-1], tmp_path / "cnn")
    np.testing.assert_allclose(
        import_model(path).predict_proba(features), pipeline[-1].predict_proba(features), atol=1e-6
    )


def test_tampered_description_is_refused(exported, tmp_path):
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(exported, copy)
    description = json.loads((copy / "skbcnn.json").read_text())
    description["steps"][0]["class"] = "os.system"
    (copy / "skbcnn.json").write_text(json.dumps(description))
    with pytest.raises(ValueError, match="refusing class 'os.system'"):
        import_model(copy)
    (copy / "skbcnn.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid description"):
        import_model(copy)
    (copy / "cnn.keras").unlink()
    with pytest.raises(FileNotFoundError, match="cnn.keras does not exist"):
        import_model(copy)


def test_non_shareable_models_are_refused(tmp_path, fitted_pipeline):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipeline, _ = fitted_pipeline
    foreign = Pipeline([("f", FunctionTransformer()), ("cnn", pipeline[-1])])
    with pytest.raises(TypeError, match="not one of skbcnn's estimators"):
        export_model(foreign, tmp_path / "x")
    with pytest.raises(TypeError, match="last step must be a skbcnn.CNNClassifier"):
        export_model(pipeline[:-1], tmp_path / "y")


# ======================================= untrusted model files, files, silent results
# A model file from a stranger must never run code: the attack files below
# are built here, with correct checksums, as an attacker would.
class _RunsCommand:
    """Unpickling this calls os.system: it creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _v2_file(path, members, *, content="safe", header_edit=None):
    """A format-2 model file with the given members and a correct checksum."""
    from datetime import datetime, timezone

    header = {"format": "skbcnn-model", "format_version": 2, "content": content,
              "estimator": "sklearn.pipeline.Pipeline", "created": datetime.now(timezone.utc).isoformat(),
              "versions": persistence.library_versions(),
              "members": [{"name": name, "size": len(data)} for name, data in members.items()]}
    if header_edit is not None:
        header_edit(header)
    raw = json.dumps(header).encode()
    body = persistence.MAGIC + struct.pack(">Q", len(raw)) + raw + b"".join(members.values())
    path.write_bytes(body + hashlib.sha256(body).digest())
    return path


def test_a_pickle_that_runs_a_command_is_refused_everywhere(tmp_path, capsys):
    from skbcnn.cli import main

    marker = tmp_path / "pwned"
    payload = pickle.dumps(_RunsCommand(marker))
    path = tmp_path / "attack.skbcnn"
    _v2_file(path, {"model.joblib": payload}, content="pickle")
    persistence.read_header(path)  # intact: the checksum is right
    with pytest.raises(persistence.UntrustedFileError, match=r"holds a pickle.*allow_pickle=True"):
        skbcnn.load(path)
    (tmp_path / "images").mkdir()
    for argv in (["predict", str(path), str(tmp_path / "images")], ["evaluate", str(path), "synthetic"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "holds a pickle" in err and "reads only the pickle-free format" in err
        assert "skbcnn.save(skbcnn.load(" in err and "allow_pickle=True" in err  # how to convert it
    assert not marker.exists()


def test_cli_writes_and_reads_only_the_pickle_free_format(fitted_pipeline, tmp_path, capsys, monkeypatch):
    from skbcnn.cli import _save_model, main

    model = _save_model(fitted_pipeline[0], tmp_path / "m.skbcnn")
    assert persistence.read_header(model)[0]["content"] == "safe"
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
    import joblib

    monkeypatch.setattr(joblib, "load", lambda *a, **k: pytest.fail("joblib.load called"))
    from PIL import Image

    Image.fromarray(np.full((32, 32), 90, np.uint8)).save(tmp_path / "scan.png")
    assert main(["predict", str(model), str(tmp_path / "scan.png"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["path"].endswith("scan.png")


@pytest.fixture(scope="module")
def safe_members(fitted_pipeline):
    from skbcnn.persistence import _export_members

    return _export_members(fitted_pipeline[0])


def _edited_members(members, edit=None, network=None):
    description = json.loads(members["skbcnn.json"])
    if edit is not None:
        edit(description)
    if network is not None:
        description["cnn_sha256"] = hashlib.sha256(network).hexdigest()  # reach the network checks
    return {"skbcnn.json": json.dumps(description).encode(),
            "cnn.keras": members["cnn.keras"] if network is None else network}


def _zip(**files):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _network_with_config(members, edit):
    """The exported .keras file with its config.json edited."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(members["cnn.keras"]))
    config = json.loads(source.read("config.json"))
    edit(config)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, json.dumps(config) if name == "config.json" else source.read(name))
    return buffer.getvalue()


def _add_layer(config, layer):
    config["config"]["layers"].insert(1, layer)


MALFORMED_SAFE_FILES = {
    "no-classes": (dict(edit=lambda d: d["steps"][-1]["fitted"].pop("classes_")),
                   r"skbcnn.json\): is not a valid description \(step 'cnn' lacks the fitted attribute\(s\) "
                   r"\['classes_'\]"),
    "classes-vs-network": (dict(edit=lambda d: d["steps"][-1]["fitted"]["classes_"].update(
        __ndarray__=["a", "b", "c", "d"])), r"classes_ has 4 classes but the network .* has 3 output"),
    "shape-vs-network": (dict(edit=lambda d: d["steps"][-1]["fitted"].update(
        image_shape_={"__tuple__": [64, 64, 1]})), r"image_shape_ \(64, 64, 1\) does not match the input"),
    "deep-json": (dict(raw=b"[" * 100_000 + b"]" * 100_000), r"skbcnn.json\): is not a valid description "
                  r"\(the file is nested too deeply"),
    "deep-but-parsable": (dict(edit=lambda d: d.update(extra=json.loads("[" * 200 + "]" * 200))),
                          "nested too deeply"),
    "object-array": (dict(edit=lambda d: d["steps"][-1]["fitted"]["classes_"].update(dtype="O")),
                     "arrays of dtype object are not allowed"),
    "not-a-zip": (dict(network=b"PK but not really a zip"), r"cnn.keras\): not a Keras .keras file \(not a zip"),
    "zip-without-config": (dict(network=_zip(**{"model.weights.h5": b""})),
                           r"cnn.keras\): not a Keras .keras file \(it lacks \['config.json'\]\)"),
    "broken-weights": (dict(network=_zip(**{"config.json": b"{}", "model.weights.h5": b"x",
                                            "metadata.json": b"{}"})),
                       r"cnn.keras\): the network cannot be loaded"),
}


@pytest.mark.parametrize("case", list(MALFORMED_SAFE_FILES))
def test_malformed_safe_files_name_the_file_and_the_problem(safe_members, tmp_path, case):
    change, match = MALFORMED_SAFE_FILES[case]
    members = _edited_members(safe_members, change.get("edit"), change.get("network"))
    if "raw" in change:
        members["skbcnn.json"] = change["raw"]
    path = _v2_file(tmp_path / "bad.skbcnn", members)
    with pytest.raises(ValueError, match=match) as error:
        skbcnn.load(path)
    assert str(path) in str(error.value)
    assert type(error.value) is ValueError and "\n" not in str(error.value)


@pytest.mark.parametrize("layer", [
    {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil", "function": {
        "module": "builtins", "class_name": "function", "config": "print", "registered_name": "function"}}},
    {"module": "os", "class_name": "system", "config": {"name": "evil"}},
], ids=["lambda-layer", "foreign-module"])
def test_networks_that_name_code_are_refused(safe_members, tmp_path, layer):
    network = _network_with_config(safe_members, lambda config: _add_layer(config, layer))
    path = _v2_file(tmp_path / "bad.skbcnn", _edited_members(safe_members, network=network))
    with pytest.raises(ValueError, match=r"cnn.keras\): the network names .* which is code or not part of Keras"):
        skbcnn.load(path)


def test_import_never_builds_or_downloads_a_network(safe_members, fitted_pipeline, tmp_path, monkeypatch):
    import keras

    from skbcnn import classifier, models
    from skbcnn.persistence import export_model, import_model

    def forbidden(*args, **kwargs):
        pytest.fail("a network was built or downloaded while loading a model file")

    for target, name in [(keras.utils, "get_file"), (models, "build_cnn"), (models, "build_pretrained_cnn"),
                         (classifier, "build_cnn"), (classifier, "build_pretrained_cnn"),
                         (classifier.CNNClassifier, "_build_keras_model")]:
        monkeypatch.setattr(target, name, forbidden)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KERAS_HOME", str(home / ".keras"))

    def pretrained(description):
        description["steps"][-1]["params"].update(backbone="efficientnetv2_b0", backbone_weights="imagenet")

    pipeline, X = fitted_pipeline
    path = _v2_file(tmp_path / "m.skbcnn", _edited_members(safe_members, pretrained))
    loaded = skbcnn.load(path)
    assert loaded[-1].backbone == "efficientnetv2_b0"  # the parameter, kept for a refit
    np.testing.assert_allclose(loaded.predict_proba(X[:4]), pipeline.predict_proba(X[:4]), atol=1e-6)
    assert loaded[-1].input_range_ == pipeline[-1].input_range_
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "cnn.keras").write_bytes(safe_members["cnn.keras"])
    (folder / "skbcnn.json").write_bytes(_edited_members(safe_members, pretrained)["skbcnn.json"])
    np.testing.assert_allclose(import_model(folder).predict_proba(X[:4]), pipeline.predict_proba(X[:4]),
                               atol=1e-6)
    assert not home.exists()  # nothing written outside the model file


def test_safe_file_members_must_match_the_content(safe_members, tmp_path):
    path = _v2_file(tmp_path / "m.skbcnn", {"model.joblib": b"x"})  # "safe" with a pickle inside
    with pytest.raises(ValueError, match=r"holds \['model.joblib'\] as 'safe' content"):
        skbcnn.load(path)
    path = _v2_file(tmp_path / "m.skbcnn", dict(safe_members), header_edit=lambda h: h.update(content="json"))
    with pytest.raises(ValueError, match="as 'json' content"):
        skbcnn.load(path)


def test_load_refuses_pipes(tmp_path):
    os.mkfifo(tmp_path / "pipe.skbcnn")
    with pytest.raises(ValueError, match="not a regular file"):
        skbcnn.load(tmp_path / "pipe.skbcnn")  # and does not hang


# ------------------------------------------------------------------ saving files
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_files_respect_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = skbcnn.save({"a": 1}, tmp_path / "m.skbcnn", format="pickle")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode


def test_a_killed_save_leaves_no_temporary_file_after_the_next_save(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    leftover = tmp_path / f".m.skbcnn.tmp-{int(dead.stdout)}"  # what a killed save leaves
    leftover.write_bytes(b"half a model")
    other = tmp_path / ".other.skbcnn.tmp-1"  # another file's, pid 1 is running: kept
    other.write_bytes(b"")
    skbcnn.save({"a": 1}, tmp_path / "m.skbcnn", format="pickle")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.skbcnn.tmp-1", "m.skbcnn"]


def test_saving_onto_a_symlink_writes_through_it(tmp_path):
    real = tmp_path / "models" / "real.skbcnn"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.skbcnn"
    link.symlink_to(real)
    skbcnn.save({"a": 2}, link, format="pickle")
    assert link.is_symlink() and skbcnn.load(real, allow_pickle=True) == {"a": 2}
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.skbcnn"]
    dangling = tmp_path / "dangling.skbcnn"
    dangling.symlink_to(tmp_path / "gone" / "x.skbcnn")
    with pytest.raises(FileNotFoundError, match=r"cannot save .*gone/x.skbcnn: the folder .*gone does not"):
        skbcnn.save({"a": 3}, dangling, format="pickle")
