"""Share fitted models without pickle: JSON description + Keras weights.

:func:`skbcnn.save` writes a pickle, and unpickling a file from a stranger can
run arbitrary code. For models that travel, :func:`export_model` writes a
folder that holds no code at all:

``skbcnn.json``
    The pipeline's steps (class names from an allow-list of this library's
    estimators), their parameters and fitted attributes, as plain JSON.
``cnn.keras``
    The network in the Keras 3 format (architecture as JSON, weights),
    loaded with ``safe_mode=True``, which refuses serialized Python lambdas.

:func:`import_model` rebuilds the estimator from these files: it only ever
instantiates classes from the allow-list, with JSON values, and never calls
``pickle``.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

__all__ = ["export_model", "import_model", "ALLOWED_CLASSES"]

FORMAT = "skbcnn-export"
FORMAT_VERSION = 1

#: Estimators that may appear in an exported model, by import path.
ALLOWED_CLASSES = {
    "skbcnn.enhancement.ContrastEnhancer",
    "skbcnn.enhancement.Denoiser",
    "skbcnn.enhancement.IntensityNormalizer",
    "skbcnn.enhancement.Resizer",
    "skbcnn.enhancement.ColorConverter",
    "skbcnn.augmentation.ImageAugmenter",
    "skbcnn.classifier.CNNClassifier",
}
_CNN = "skbcnn.classifier.CNNClassifier"


# ------------------------------------------------------------ JSON values
def _encode(value, where):
    """Plain JSON for parameters and fitted attributes; tuples and arrays tagged."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufU":
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(v, where) for k, v in value.items()}
    raise TypeError(
        f"export_model: {where} is a {type(value).__name__}, which cannot be shared without "
        "pickle; only plain values (numbers, strings, lists, tuples, dicts, numeric arrays) "
        "can. Use skbcnn.save for such models."
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def _class_path(estimator):
    return f"{type(estimator).__module__}.{type(estimator).__qualname__}"


def _fitted_attributes(estimator):
    return {
        key: value for key, value in vars(estimator).items()
        if key.endswith("_") and not key.startswith("_") and key != "model_"
    }


def _describe(name, estimator):
    path = _class_path(estimator)
    if path not in ALLOWED_CLASSES:
        raise TypeError(
            f"export_model: step {name!r} is a {path}, which is not one of skbcnn's estimators "
            f"({', '.join(sorted(c.rsplit('.', 1)[1] for c in ALLOWED_CLASSES))}); use skbcnn.save."
        )
    params = estimator.get_params(deep=False)
    step = {"name": name, "class": path, "params": _encode(params, f"a parameter of step {name!r}")}
    if path == _CNN:
        step["fitted"] = _encode(
            {"classes_": estimator.classes_, "image_shape_": estimator.image_shape_,
             "history_": estimator.history_},
            f"a fitted attribute of step {name!r}",
        )
    else:
        step["fitted"] = _encode(_fitted_attributes(estimator), f"a fitted attribute of step {name!r}")
    return step


# ---------------------------------------------------------------- export
def export_model(estimator, path):
    """Write a fitted pipeline (or CNNClassifier) as JSON + ``.keras``, no pickle.

    Parameters
    ----------
    estimator : fitted Pipeline or CNNClassifier
        A pipeline whose steps are skbcnn estimators (e.g. from
        :func:`skbcnn.make_cnn_pipeline`) and ends in a fitted
        :class:`~skbcnn.CNNClassifier`, or the classifier alone. Parameters
        must be plain values (a custom model-building function or callback
        objects cannot be shared this way).
    path : str or path-like
        Folder to create (or overwrite the two files in).

    Returns
    -------
    path : pathlib.Path
        The folder, holding ``skbcnn.json`` and ``cnn.keras``.

    Raises
    ------
    TypeError
        For steps that are not skbcnn estimators or parameters that are not
        plain values.
    sklearn.exceptions.NotFittedError
        When the classifier is not fitted.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skbcnn import make_cnn_pipeline
    >>> from skbcnn.datasets import make_synthetic_ultrasound
    >>> from skbcnn.sharing import export_model, import_model
    >>> X, y = make_synthetic_ultrasound(40, image_size=32, random_state=0, return_X_y=True)
    >>> pipe = make_cnn_pipeline(cnn__conv_filters=(4, 8), cnn__convs_per_block=1,
    ...                          cnn__dense_units=(8,), cnn__epochs=1, cnn__random_state=0).fit(X, y)
    >>> folder = export_model(pipe, tempfile.mkdtemp())
    >>> sorted(p.name for p in folder.iterdir())
    ['cnn.keras', 'skbcnn.json']
    >>> bool(np.allclose(import_model(folder).predict_proba(X), pipe.predict_proba(X), atol=1e-6))
    True
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    from . import __version__
    from .persistence import library_versions

    steps = estimator.steps if isinstance(estimator, Pipeline) else [("cnn", estimator)]
    if _class_path(steps[-1][1]) != _CNN:
        raise TypeError("export_model: the last step must be a skbcnn.CNNClassifier.")
    check_is_fitted(steps[-1][1])
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "pipeline": isinstance(estimator, Pipeline),
        "skbcnn_version": __version__,
        "versions": library_versions(),
        "steps": [_describe(name, step) for name, step in steps],
    }
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    # Both files are written under temporary names and renamed into place, so
    # a failed export (full disk, interruption) never leaves a truncated file
    # over a good one; the network's SHA-256 in the JSON lets import_model
    # refuse a cnn.keras that does not belong to the description.
    tmp_model = path / f".cnn.{os.getpid()}.tmp.keras"
    tmp_json = path / f".skbcnn.{os.getpid()}.tmp.json"
    try:
        steps[-1][1].model_.save(tmp_model)
        description["cnn_sha256"] = _sha256(tmp_model)
        tmp_json.write_text(json.dumps(description, indent=1))
        os.replace(tmp_model, path / "cnn.keras")
        os.replace(tmp_json, path / "skbcnn.json")
    finally:
        tmp_model.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)
    return path


def _sha256(file):
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- import
def _build_step(step):
    import importlib

    path = step["class"]
    if path not in ALLOWED_CLASSES:
        raise ValueError(f"import_model: refusing class {path!r}, which is not one of skbcnn's estimators.")
    module, name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    estimator = cls(**_decode(step["params"]))
    fitted = _decode(step["fitted"])
    for key, value in fitted.items():
        if not (key.endswith("_") and not key.startswith("_")):
            raise ValueError(f"import_model: unexpected fitted attribute {key!r} in step {step['name']!r}.")
    return estimator, fitted


def import_model(path):
    """Rebuild a model written by :func:`export_model`, without unpickling.

    Parameters
    ----------
    path : str or path-like
        The folder written by :func:`export_model`.

    Returns
    -------
    estimator : Pipeline or CNNClassifier
        Fitted, with the same predictions as the exported one.

    Raises
    ------
    ValueError
        If the description is malformed or names a class outside
        :data:`ALLOWED_CLASSES`.
    FileNotFoundError
        If a file is missing.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> from skbcnn.sharing import import_model
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "cnn.keras").write_bytes(b"")
    >>> _ = (folder / "skbcnn.json").write_text(json.dumps(
    ...     {"format": "skbcnn-export", "format_version": 1,
    ...      "steps": [{"name": "x", "class": "os.system", "params": {}, "fitted": {}}]}))
    >>> import_model(folder)  # a class outside the allow-list is refused  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...refusing class 'os.system'...
    """
    import keras
    from sklearn.pipeline import Pipeline

    path = Path(path)
    for file in ("skbcnn.json", "cnn.keras"):
        if not (path / file).is_file():
            raise FileNotFoundError(f"import_model: {path / file} does not exist.")
    try:
        description = json.loads((path / "skbcnn.json").read_text())
        steps = description["steps"]
        ok = description.get("format") == FORMAT and isinstance(steps, list) and steps
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"import_model: {path / 'skbcnn.json'} is not a valid description ({exc}).") from None
    if not ok or description.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"import_model: {path / 'skbcnn.json'} is not a skbcnn export (format version 1).")

    expected_sha256 = description.get("cnn_sha256")  # absent in older exports
    if expected_sha256 is not None and _sha256(path / "cnn.keras") != expected_sha256:
        raise ValueError(
            f"import_model: {path / 'cnn.keras'} does not belong to {path / 'skbcnn.json'} "
            "(SHA-256 mismatch: an interrupted export or an edited file); export the model again."
        )
    try:
        built = [(step["name"], *_build_step(step)) for step in steps]
        name, cnn, fitted = built[-1]
        classes, image_shape = fitted["classes_"], tuple(fitted["image_shape_"])
        pipeline = bool(description["pipeline"])
    except (KeyError, TypeError, AttributeError) as exc:
        # a missing key, a step that is not a dict, unknown parameter names
        raise ValueError(
            f"import_model: {path / 'skbcnn.json'} is not a valid description "
            f"({type(exc).__name__}: {exc})."
        ) from None
    if _class_path(cnn) != _CNN:
        raise ValueError("import_model: the last step must be a skbcnn.CNNClassifier.")
    # Fit the label and feature encoders on one dummy image per class, then
    # swap in the exported network (loaded with safe_mode: no code runs).
    cnn.initialize(np.zeros((len(classes), *image_shape), np.float32), classes)
    cnn.model_ = keras.saving.load_model(path / "cnn.keras", safe_mode=True, compile=True)
    cnn.history_ = fitted.get("history_", {})
    for _, estimator, attributes in built[:-1]:
        vars(estimator).update(attributes)
    if not pipeline:
        return cnn
    return Pipeline([(name, estimator) for name, estimator, _ in built])
