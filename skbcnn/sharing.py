"""Share fitted models without pickle: JSON description + Keras network.

A pickle can run arbitrary code when it is loaded. The pickle-free format
holds no code at all:

``skbcnn.json``
    The pipeline's steps (class names from an allow-list of this library's
    estimators), their parameters and fitted attributes, as plain JSON.
``cnn.keras``
    The network in the Keras 3 format (architecture as JSON, weights),
    checked (Keras' own classes only, no ``Lambda`` layers) and loaded with
    ``safe_mode=True``.

:func:`skbcnn.save` writes both into one checksummed file (its default
format) and :func:`skbcnn.load` reads it; :func:`export_model` writes them
as a folder and :func:`import_model` reads that. Reading only ever
instantiates classes from the allow-list, with JSON values, never calls
``pickle`` and never rebuilds the network from its parameters (nothing is
downloaded).
"""

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from .persistence import _loads_json

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
        "can. Use skbcnn.save(..., format='pickle') for such models (a pickle: only for people who trust you)."
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            dtype = np.dtype(value["dtype"])
            # numbers, and strings of class-name length: a dtype such as
            # "<U200000000" would make a few bytes of JSON allocate gigabytes
            if dtype.kind not in "biufU" or dtype.itemsize > (4 * _MAX_STRING if dtype.kind == "U" else 16):
                raise ValueError(f"arrays of dtype {dtype} are not allowed")
            return np.asarray(value["__ndarray__"], dtype=dtype)
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
            f"({', '.join(sorted(c.rsplit('.', 1)[1] for c in ALLOWED_CLASSES))}); use "
            "skbcnn.save(..., format='pickle') (a pickle: only for people who trust you)."
        )
    params = estimator.get_params(deep=False)
    step = {"name": name, "class": path, "params": _encode(params, f"a parameter of step {name!r}")}
    if path == _CNN:
        fitted = {"classes_": estimator.classes_, "image_shape_": tuple(int(s) for s in estimator.image_shape_),
                  "history_": estimator.history_}
        if getattr(estimator, "input_range_", None) is not None:
            fitted["input_range_"] = tuple(float(v) for v in estimator.input_range_)
        step["fitted"] = _encode(fitted, f"a fitted attribute of step {name!r}")
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
    >>> pipe = make_cnn_pipeline("from_scratch", cnn__conv_filters=(4, 8), cnn__convs_per_block=1,
    ...                          cnn__dense_units=(8,), cnn__epochs=1, cnn__random_state=0).fit(X, y)
    >>> folder = export_model(pipe, tempfile.mkdtemp())
    >>> sorted(p.name for p in folder.iterdir())
    ['cnn.keras', 'skbcnn.json']
    >>> bool(np.allclose(import_model(folder).predict_proba(X), pipe.predict_proba(X), atol=1e-6))
    True
    """
    description, network = _description(estimator)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    # Both files are written under temporary names and renamed into place, so
    # a failed export (full disk, interruption) never leaves a truncated file
    # over a good one; the network's SHA-256 in the JSON lets import_model
    # refuse a cnn.keras that does not belong to the description.
    tmp_model = path / f".cnn.{os.getpid()}.tmp.keras"
    tmp_json = path / f".skbcnn.{os.getpid()}.tmp.json"
    try:
        network.save(tmp_model)
        description["cnn_sha256"] = _sha256(tmp_model)
        tmp_json.write_text(json.dumps(description, indent=1))
        os.replace(tmp_model, path / "cnn.keras")
        os.replace(tmp_json, path / "skbcnn.json")
    finally:
        tmp_model.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)
    return path


def _description(estimator):
    """``(description, network)``: the JSON-able description and the Keras model."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    from . import __version__
    from .persistence import library_versions

    steps = estimator.steps if isinstance(estimator, Pipeline) else [("cnn", estimator)]
    if _class_path(steps[-1][1]) != _CNN:
        raise TypeError(
            f"the last step must be a skbcnn.CNNClassifier to save without pickle; got "
            f"{_class_path(steps[-1][1])} (skbcnn.save(..., format='pickle') saves any estimator, "
            "export_model only skbcnn pipelines)."
        )
    check_is_fitted(steps[-1][1])
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "pipeline": isinstance(estimator, Pipeline),
        "skbcnn_version": __version__,
        "versions": library_versions(),
        "steps": [_describe(name, step) for name, step in steps],
        # how the model was trained (data, recipe, command), set by the CLI
        "training_info": _encode(getattr(estimator, "training_info_", None), "training_info_"),
    }
    return description, steps[-1][1].model_


def _export_members(estimator):
    """The ``skbcnn.json`` and ``cnn.keras`` bytes of the safe format of :func:`skbcnn.save`."""
    import tempfile

    description, network = _description(estimator)
    with tempfile.TemporaryDirectory(prefix="skbcnn-") as folder:
        keras_file = Path(folder) / "cnn.keras"
        network.save(keras_file)
        description["cnn_sha256"] = _sha256(keras_file)
        return {"skbcnn.json": json.dumps(description, indent=1).encode(), "cnn.keras": keras_file.read_bytes()}


def _sha256(file):
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- import
#: Largest uncompressed size of the network file's contents (bytes).
MAX_NETWORK_BYTES = 4 << 30
_MAX_DEPTH = 32  # nesting of skbcnn.json; real descriptions need fewer than 10
_FITTED_NAME = re.compile(r"^[a-z][a-z0-9_]*_$")
_CNN_FITTED = {"classes_", "image_shape_", "history_", "input_range_"}
# Modules a network's config.json may name (Keras' own layers, initialisers,
# optimisers, ...); "Lambda" layers and serialized Python functions are code.
_KERAS_MODULES = {
    "keras", "keras.layers", "keras.initializers", "keras.regularizers", "keras.constraints",
    "keras.optimizers", "keras.optimizers.schedules", "keras.losses", "keras.metrics",
    "keras.activations", "keras.models",
}
_KERAS_SRC = ("keras.src.models.", "keras.src.ops.", "keras.src.layers.", "keras.src.losses.",
              "keras.src.metrics.", "keras.src.optimizers.", "keras.src.initializers.")
# Lambda layers and functions are code; TFSMLayer loads a SavedModel from any
# path and the lookup/vectorisation layers read vocabulary files (older Keras
# releases allow both in safe mode).
_CODE_CLASSES = {"Lambda", "TFOpLambda", "__lambda__", "function", "TFSMLayer",
                 "StringLookup", "IntegerLookup", "TextVectorization"}
_MAX_STRING = 1024  # characters of a string array element (class names)


def _too_deep(value, limit):
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _check_keras_config(config, where):
    """Refuse a network config that names code or classes outside Keras."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            registered = item.get("registered_name")
            if isinstance(registered, str) and ">" in registered and registered.split(">", 1)[0] not in ("", "keras"):
                # "package>Name": a custom object registered in the loading
                # process, not Keras' own (those are "Name" or ">Name")
                raise ValueError(f"{where}: the network names the registered object "
                                 f"{item.get('registered_name')!r}, which is not part of Keras; refusing to load it.")
            if "class_name" in item:
                module, name = item.get("module"), item.get("class_name")
                allowed = module is None or module in _KERAS_MODULES or (
                    isinstance(module, str) and module.startswith(_KERAS_SRC))
                if name in _CODE_CLASSES or not allowed:
                    raise ValueError(
                        f"{where}: the network names {name!r} from module {module!r}, which is code "
                        "or not part of Keras; refusing to load it."
                    )
            stack.extend(item.values())


def _load_network(keras_file, where):
    """The network of a ``.keras`` file, checked before Keras reads it (safe mode)."""
    import zipfile

    import keras

    if not zipfile.is_zipfile(keras_file):
        raise ValueError(f"{where}: not a Keras .keras file (not a zip archive).")
    try:
        with zipfile.ZipFile(keras_file) as archive:
            names = set(archive.namelist())
            missing = sorted({"config.json", "model.weights.h5"} - names)
            if missing:
                raise ValueError(f"{where}: not a Keras .keras file (it lacks {missing}).")
            size = sum(info.file_size for info in archive.infolist())
            if size > MAX_NETWORK_BYTES:
                raise ValueError(
                    f"{where}: the network unpacks to {size} bytes, more than the limit of "
                    f"{MAX_NETWORK_BYTES} (skbcnn.sharing.MAX_NETWORK_BYTES)."
                )
            config = _loads_json(archive.read("config.json"), f"{where}: config.json")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{where}: damaged Keras file ({type(exc).__name__}: {exc}).") from None
    if _too_deep(config, 256):
        raise ValueError(f"{where}: config.json is nested too deeply.")
    _check_keras_config(config, where)
    try:
        return keras.saving.load_model(keras_file, safe_mode=True, compile=True)
    except Exception as exc:  # Keras raises many kinds; all mean "this file is not a usable network"
        raise ValueError(f"{where}: the network cannot be loaded ({type(exc).__name__}: {exc}).") from None


def _decode_checked(value, where):
    try:
        return _decode(value)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{where} ({type(exc).__name__}: {exc}).") from None


def _build_step(step, where):
    import importlib

    if not isinstance(step, dict):
        raise ValueError(f"{where}: is not a valid description (a step is a {type(step).__name__}, "
                         "not an object; TypeError).")
    missing = [key for key in ("name", "class", "params", "fitted") if key not in step]
    if missing:
        raise ValueError(f"{where}: is not a valid description (KeyError: a step lacks {missing}).")
    name, path = step["name"], step["class"]
    if path not in ALLOWED_CLASSES:
        raise ValueError(f"import_model: refusing class {path!r}, which is not one of skbcnn's estimators "
                         f"({where}).")
    if not isinstance(step["params"], dict) or not isinstance(step["fitted"], dict):
        raise ValueError(f"{where}: is not a valid description (params and fitted of step {name!r} "
                         "must be objects).")
    params = _decode_checked(step["params"], f"{where}: is not a valid description: step {name!r} params")
    fitted = _decode_checked(step["fitted"], f"{where}: is not a valid description: step {name!r} fitted")
    module, class_name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), class_name)
    try:
        estimator = cls(**params)
    except TypeError as exc:  # an unknown or misspelt parameter name
        raise ValueError(f"{where}: is not a valid description (step {name!r}: TypeError: {exc}).") from None
    for key in fitted:
        if not (isinstance(key, str) and _FITTED_NAME.match(key)):
            raise ValueError(f"{where}: unexpected fitted attribute {key!r} in step {name!r}.")
    return name, estimator, fitted


def _check_cnn_fitted(fitted, name, where):
    unknown = sorted(set(fitted) - _CNN_FITTED)
    missing = sorted({"classes_", "image_shape_"} - set(fitted))
    if unknown or missing:
        raise ValueError(
            f"{where}: is not a valid description (step {name!r} "
            + (f"lacks the fitted attribute(s) {missing}" if missing else f"has unexpected {unknown}") + ")."
        )
    classes, shape = fitted["classes_"], fitted["image_shape_"]
    if not (isinstance(classes, np.ndarray) and classes.ndim == 1 and len(np.unique(classes)) == len(classes) >= 2):
        raise ValueError(f"{where}: classes_ of step {name!r} must list at least two distinct classes.")
    if not (isinstance(shape, tuple) and len(shape) == 3
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)):
        raise ValueError(f"{where}: image_shape_ of step {name!r} must be (height, width, channels); "
                         f"got {shape!r}.")
    history = fitted.get("history_", {})
    if not isinstance(history, dict):
        raise ValueError(f"{where}: history_ of step {name!r} must be an object.")
    input_range = fitted.get("input_range_")
    if input_range is not None and not (
        isinstance(input_range, tuple) and len(input_range) == 2
        and all(isinstance(v, (int, float)) and np.isfinite(v) for v in input_range)
    ):
        raise ValueError(f"{where}: input_range_ of step {name!r} must be two finite numbers.")
    return classes, shape, history, input_range


def _check_network(model, classes, shape, where, network):
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"{network}: the network must have one input and one output.")
    inputs = tuple(model.inputs[0].shape[1:])
    if len(inputs) != 3 or any(d is not None and d != s for d, s in zip(inputs, shape)):
        raise ValueError(f"{where}: image_shape_ {shape} does not match the input {inputs} of the network "
                         f"in {network}.")
    outputs = model.outputs[0].shape[-1]
    if not (outputs == len(classes) or (len(classes) == 2 and outputs == 1)):
        raise ValueError(f"{where}: classes_ has {len(classes)} classes but the network in {network} has "
                         f"{outputs} output(s); the files do not belong together.")


def _attach_network(cnn, model, classes, shape, history, input_range):
    """Make ``cnn`` fitted with ``model`` without building another network."""
    from .classifier import _seed_from

    # What CNNClassifier._initialize does, except building a network: the
    # label and feature encoders are fitted on one blank image per class.
    cnn._seed = _seed_from(cnn.random_state)
    cnn._random_state = None
    cnn.classes_ = None
    X, y = cnn._validate_data(np.zeros((len(classes), *shape), np.float32), classes, reset=True)
    cnn.target_encoder_ = cnn.target_encoder.fit(y)
    vars(cnn).update(getattr(cnn.target_encoder_, "get_metadata", dict)())
    cnn.feature_encoder_ = cnn.feature_encoder.fit(X)
    cnn._initialize_callbacks()
    cnn.model_ = model
    cnn.history_ = history
    if input_range is not None:
        cnn.input_range_ = tuple(float(v) for v in input_range)


def _rebuild(text, keras_file, where, network):
    """The estimator described by ``text`` (skbcnn.json) with the network in ``keras_file``.

    ``where`` and ``network`` name the two parts in error messages.
    """
    from sklearn.pipeline import Pipeline

    try:
        description = _loads_json(text, "the file")
    except ValueError as exc:
        raise ValueError(f"{where}: is not a valid description ({exc}).") from None
    if _too_deep(description, _MAX_DEPTH):
        raise ValueError(f"{where}: is not a valid description (the JSON is nested too deeply).")
    steps = description.get("steps") if isinstance(description, dict) else None
    if (not isinstance(description, dict) or description.get("format") != FORMAT
            or description.get("format_version") != FORMAT_VERSION
            or not isinstance(steps, list) or not steps):
        raise ValueError(f"{where}: is not a skbcnn export (format {FORMAT!r}, version {FORMAT_VERSION}, "
                         "a non-empty list of steps).")
    if not isinstance(description.get("pipeline"), bool):
        raise ValueError(f"{where}: is not a valid description (KeyError: 'pipeline' must be true or false).")
    expected_sha256 = description.get("cnn_sha256")  # absent in older exports
    if expected_sha256 is not None and _sha256(keras_file) != expected_sha256:
        raise ValueError(
            f"{network} does not belong to {where} (SHA-256 mismatch: an interrupted export or an "
            "edited file); export the model again."
        )
    built = [_build_step(step, where) for step in steps]
    name, cnn, fitted = built[-1]
    if _class_path(cnn) != _CNN or any(_class_path(e) == _CNN for _, e, _ in built[:-1]):
        raise ValueError(f"{where}: the last step, and only it, must be a skbcnn.CNNClassifier.")
    if not description["pipeline"] and len(built) != 1:
        raise ValueError(f"{where}: is not a valid description (a bare classifier has one step).")
    names = [n for n, _, _ in built]
    if not all(isinstance(n, str) and n and "__" not in n for n in names) or len(set(names)) != len(names):
        raise ValueError(f"{where}: is not a valid description (step names must be distinct, non-empty "
                         f"and without '__'; got {names}).")
    classes, shape, history, input_range = _check_cnn_fitted(fitted, name, where)
    model = _load_network(keras_file, network)
    _check_network(model, classes, shape, where, network)
    try:
        _attach_network(cnn, model, classes, shape, history, input_range)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: step {name!r} cannot be set up ({type(exc).__name__}: {exc}).") from None
    for _, estimator, attributes in built[:-1]:
        vars(estimator).update(attributes)
    if not description["pipeline"]:
        return cnn
    pipeline = Pipeline([(n, estimator) for n, estimator, _ in built])
    training_info = _decode_checked(description.get("training_info"), where)
    if isinstance(training_info, dict):
        pipeline.training_info_ = training_info
    return pipeline


def _import_members(description, network, path):
    """Rebuild from the ``skbcnn.json`` and ``cnn.keras`` bytes of a model file."""
    import tempfile

    # Keras reads a .keras file by name: the bytes go to a private temporary
    # folder, which is removed afterwards.
    with tempfile.TemporaryDirectory(prefix="skbcnn-") as folder:
        keras_file = Path(folder) / "cnn.keras"
        keras_file.write_bytes(network)
        return _rebuild(description, keras_file, f"{path} (skbcnn.json)", f"{path} (cnn.keras)")


def import_model(path):
    """Rebuild a model written by :func:`export_model`, without unpickling.

    Only classes of :data:`ALLOWED_CLASSES` are instantiated, with JSON
    values; the network is the one stored in ``cnn.keras``, read in Keras'
    safe mode after its config has been checked (Keras' own classes only, no
    ``Lambda`` layers). The network is never rebuilt from the parameters,
    so nothing is downloaded (not even for ``backbone_weights="imagenet"``)
    and no file outside the folder is read or written.

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
        If the description is malformed, names a class outside
        :data:`ALLOWED_CLASSES`, or does not match the network (the message
        names the file and the problem).
    FileNotFoundError
        If a file is missing.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> from skbcnn.sharing import import_model
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "cnn.keras").write_bytes(b"")
    >>> _ = (folder / "skbcnn.json").write_text(json.dumps(
    ...     {"format": "skbcnn-export", "format_version": 1, "pipeline": False,
    ...      "steps": [{"name": "x", "class": "os.system", "params": {}, "fitted": {}}]}))
    >>> import_model(folder)  # a class outside the allow-list is refused  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...refusing class 'os.system'...
    """
    import stat

    path = Path(path)
    for file in ("skbcnn.json", "cnn.keras"):
        if not (path / file).exists():
            raise FileNotFoundError(f"import_model: {path / file} does not exist.")
        if not stat.S_ISREG((path / file).stat().st_mode):
            raise ValueError(f"import_model: {path / file} is not a regular file.")
    text = (path / "skbcnn.json").read_bytes()
    return _rebuild(text, path / "cnn.keras", f"import_model: {path / 'skbcnn.json'}",
                    f"import_model: {path / 'cnn.keras'}")
