"""Provenance: what produced a model or a result, in one place.

The library versions a model file records (:func:`library_versions`, read
by :mod:`skbcnn.persistence`), a file's SHA-256, and the provenance block of
the reports and ``skbcnn info`` (:func:`build_provenance`, public as
``skbcnn.report.build_provenance``). Imports no TensorFlow.
"""

import hashlib
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ._json import jsonable

__all__ = ["library_versions", "sha256_of_file", "build_provenance"]

# distribution names whose versions are recorded (the first installed of each tuple)
_LIBRARIES = {
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "scikit-learn": ("scikit-learn",),
    "scikit-image": ("scikit-image",),
    "scikeras": ("scikeras",),
    "keras": ("keras",),
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "pillow": ("pillow",),
    "matplotlib": ("matplotlib",),
}


def _installed_version(*names):
    """Version of the first installed distribution among ``names``, or None."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def library_versions(extra=None):
    """Versions of the libraries a saved model depends on (no TF import).

    Parameters
    ----------
    extra : dict, optional
        More libraries to record, as ``{label: (distribution, ...)}``: the
        version of the first installed distribution of each tuple, after
        the default ones (labels already there are looked up again).

    Returns
    -------
    versions : dict
        ``{"skbcnn": ..., "scikit-learn": ..., "keras": ..., "tensorflow": ...,
        "numpy": ..., "python": ...}`` and the ``extra`` labels; ``None`` for
        what is not installed.

    Examples
    --------
    >>> from skbcnn.persistence import library_versions
    >>> sorted(library_versions())
    ['keras', 'numpy', 'python', 'scikit-learn', 'skbcnn', 'tensorflow']
    >>> list(library_versions(extra={"scipy": ("scipy",)}))[-1]
    'scipy'
    """
    from . import __version__

    versions = {
        "skbcnn": __version__,
        "scikit-learn": _installed_version("scikit-learn"),
        "keras": _installed_version("keras"),
        "tensorflow": _installed_version("tensorflow", "tensorflow-cpu"),
        "numpy": _installed_version("numpy"),
        "python": platform.python_version(),
    }
    versions.update((label, _installed_version(*names)) for label, names in (extra or {}).items())
    return versions


def sha256_of_file(file):
    """Hex SHA-256 of a file's bytes, read in blocks (networks can be large)."""
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _library_versions():
    """Python's version, then skbcnn's and those of :data:`_LIBRARIES`, in that order."""
    versions = library_versions(extra=_LIBRARIES)
    return {label: versions[label] for label in ("python", "skbcnn", *_LIBRARIES)}


def _model_parameters(estimator):
    params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
    return {k: jsonable(v) for k, v in sorted(params.items())
            if k != "steps" and not hasattr(v, "get_params")}


def build_provenance(estimator=None, *, model_file=None, data_source=None, n_images=None, command=None):
    """What produced a result: model, its parameters, data, versions and date.

    Parameters
    ----------
    estimator : fitted estimator, optional
        Its class (and pipeline steps), every parameter
        (``get_params(deep=True)``, as JSON) and, when the command line
        trained it, ``training_info_`` (data source, image counts, date).
    model_file : str or path-like, optional
        The model file it was loaded from (its SHA-256 is recorded).
    data_source : str, optional
        Where the evaluated images came from.
    n_images : int, optional
        How many images were evaluated.
    command : str, optional
        The command line that ran.

    Returns
    -------
    provenance : dict
        ``created`` (UTC, ISO 8601), ``skbcnn_version``, ``command``,
        ``model_file``, ``model_file_sha256``, ``model`` (class and steps),
        ``model_parameters``, ``training``, ``data_source``, ``n_images``
        and ``versions`` (Python and library versions); unknown entries are
        None.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skbcnn.report import build_provenance
    >>> info = build_provenance(LogisticRegression(C=0.5), data_source="synthetic", n_images=10)
    >>> info["model"], info["model_parameters"]["C"], info["versions"]["python"] is not None
    ('LogisticRegression', 0.5, True)
    """
    from . import __version__

    model = None
    if estimator is not None:
        steps = getattr(estimator, "steps", None)
        model = type(estimator).__name__
        if steps:
            model += "(" + ", ".join(f"{name}={type(step).__name__}" for name, step in steps) + ")"
    training = getattr(estimator, "training_info_", None)
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "skbcnn_version": __version__,
        "command": command,
        "model_file": None if model_file is None else str(model_file),
        "model_file_sha256": sha256_of_file(model_file) if model_file is not None and Path(model_file).is_file() else None,
        "model": model,
        "model_parameters": None if estimator is None else _model_parameters(estimator),
        "training": jsonable(training) if isinstance(training, dict) else None,
        "data_source": None if data_source is None else str(data_source),
        "n_images": None if n_images is None else int(n_images),
        "versions": _library_versions(),
    }
