"""skbcnn.save / skbcnn.load: checked, atomic, and exact across processes."""

import hashlib
import json
import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import skbcnn
from skbcnn import persistence


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, fitted_pipeline):
    pipeline, X = fitted_pipeline
    path = tmp_path_factory.mktemp("model") / "pipeline.skbcnn"
    skbcnn.save(pipeline, path)
    return path


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


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.skbcnn"
    skbcnn.save({"version": 1}, path, format="pickle")
    good = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        skbcnn.save({"version": 2}, path, format="pickle")
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["model.skbcnn"]  # no temp file left


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


def test_export_writes_both_files_or_neither(fitted_pipeline, tmp_path, monkeypatch):
    pipeline, _ = fitted_pipeline
    folder = persistence.export_model(pipeline, tmp_path / "model")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    # the network's temporary file is written, then the description's fails:
    # neither file is replaced and no temporary file stays behind
    real_fsync, synced = os.fsync, []

    def disk_full_on_the_second_file(fd):
        synced.append(fd)
        if len(synced) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", disk_full_on_the_second_file)
    with pytest.raises(OSError, match="No space left"):
        persistence.export_model(pipeline, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


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
