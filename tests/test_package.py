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


def test_no_module_imports_a_private_name_of_another():
    # docs/architecture.md: a name that starts with "_" is its module's own;
    # what another module needs is public (it may live in a private module).
    import ast
    from pathlib import Path

    package = Path(skbcnn.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                found += [f"{path.relative_to(package)}: {node.module}.{alias.name}" for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert found == []


def test_every_public_estimator_can_be_saved_without_pickle():
    # a class missing from the safe loader's allow-list fails here, not at a user's save
    import inspect

    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

    import skbcnn.augmentation
    import skbcnn.enhancement
    from skbcnn.persistence import ALLOWED_CLASSES

    modules = [skbcnn, skbcnn.enhancement, skbcnn.augmentation]
    classes = {getattr(module, name) for module in modules for name in module.__all__}
    # a pipeline is saved as its steps (CNNPipeline's recipe and contract beside them)
    estimators = {f"{cls.__module__}.{cls.__name__}" for cls in classes
                  if inspect.isclass(cls) and issubclass(cls, BaseEstimator) and not issubclass(cls, Pipeline)}
    assert "skbcnn.classifier.CNNClassifier" in estimators
    assert estimators <= set(ALLOWED_CLASSES), sorted(estimators - set(ALLOWED_CLASSES))
