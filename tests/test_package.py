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


def test_license_and_dependencies_match_the_code():
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License") and "Copyright (c) 2026, skbcnn developers" in text
    assert "Neither the name of the copyright holder" in text  # the third clause
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements):
        return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}

    required, extras = names(project["dependencies"]), project["optional-dependencies"]
    assert "matplotlib" in required  # skbcnn.plots and the reports of evaluate/demo --out
    # PyWavelets is optional in the code (Denoiser "wavelet"/"nl_means" say so in fit): an extra
    assert "pywavelets" not in required and "pywavelets" in names(extras["wavelet"])
    assert "pywavelets" in names(extras["test"])
    # public scikit-learn names only for the tags
    assert "sklearn.utils._tags" not in (root / "skbcnn" / "classifier.py").read_text(encoding="utf-8")
