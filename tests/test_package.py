"""Packaging promises: light import, version, CLI entry point."""

import subprocess
import sys

import pytest

import skbcnn


def test_version():
    assert skbcnn.__version__.count(".") == 2


@pytest.mark.parametrize(
    "module",
    ["skbcnn", "skbcnn.datasets", "skbcnn.enhancement", "skbcnn.augmentation", "skbcnn.persistence"],
)
def test_import_does_not_load_tensorflow(module):
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in ('tensorflow', 'keras', 'scikeras') if m in sys.modules); "
        "print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{module} imported {result.stdout.strip()}"


def test_lazy_public_names():
    assert skbcnn.CNNClassifier.__module__ == "skbcnn.classifier"
    assert callable(skbcnn.make_cnn_pipeline)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        skbcnn.nope  # noqa: B018


def test_cli_help_and_version():
    result = subprocess.run([sys.executable, "-m", "skbcnn", "--version"], capture_output=True, text=True)
    assert result.stdout.strip() == f"skbcnn {skbcnn.__version__}"
    result = subprocess.run([sys.executable, "-m", "skbcnn", "demo", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--n-samples" in result.stdout
