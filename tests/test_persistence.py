"""skbcnn.save / skbcnn.load: checked, atomic, and exact across processes."""

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
    header, payload = persistence.read_header(model_file)
    assert set(header["versions"]) >= {"skbcnn", "scikit-learn", "keras", "tensorflow", "numpy"}
    assert header["estimator"] == "sklearn.pipeline.Pipeline"
    assert len(payload) == header["payload_size"]


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


def test_version_mismatch_warns(model_file, tmp_path):
    data = model_file.read_bytes()
    offset = len(persistence.MAGIC)
    (size,) = struct.unpack(">Q", data[offset : offset + 8])
    header = json.loads(data[offset + 8 : offset + 8 + size])
    header["versions"]["scikit-learn"] = "0.0.1"
    new_header = json.dumps(header).encode()
    old = tmp_path / "old.skbcnn"
    old.write_bytes(persistence.MAGIC + struct.pack(">Q", len(new_header)) + new_header
                    + data[offset + 8 + size :])
    with pytest.warns(persistence.VersionMismatchWarning, match="scikit-learn 0.0.1"):
        skbcnn.load(old)


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.skbcnn"
    skbcnn.save({"version": 1}, path)
    good = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        skbcnn.save({"version": 2}, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["model.skbcnn"]  # no temp file left
