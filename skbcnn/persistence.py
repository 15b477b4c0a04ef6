"""Saving and loading fitted estimators: joblib with a checked header.

File layout: the magic bytes ``SKBCNN-MODEL\\n``, an 8-byte big-endian header
length, a JSON header (library versions, estimator type, SHA-256 and size of
the payload) and the joblib payload. ``load`` checks the header and the
checksum *before* unpickling anything, so a corrupted, truncated or edited
file is refused with a clear error.

.. warning::
   A model file is a pickle, and unpickling can run arbitrary code. The
   checksum catches accidents and naive edits, not an attacker (who can
   rewrite the checksum too). Only load files from people you trust.
"""

import hashlib
import io
import json
import os
import platform
import struct
import tempfile
import warnings
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import joblib

__all__ = ["save", "load", "library_versions", "VersionMismatchWarning"]

MAGIC = b"SKBCNN-MODEL\n"
FORMAT_VERSION = 1


class VersionMismatchWarning(UserWarning):
    """A model file was written with other library versions than installed.

    Examples
    --------
    >>> import warnings
    >>> from skbcnn.persistence import VersionMismatchWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", VersionMismatchWarning)  # refuse such files
    ...     issubclass(VersionMismatchWarning, UserWarning)
    True
    """


def library_versions():
    """Versions of the libraries a saved model depends on (no TF import).

    Returns
    -------
    versions : dict
        ``{"skbcnn": ..., "scikit-learn": ..., "keras": ..., "tensorflow": ...,
        "numpy": ..., "python": ...}``; ``None`` for what is not installed.

    Examples
    --------
    >>> from skbcnn.persistence import library_versions
    >>> sorted(library_versions())
    ['keras', 'numpy', 'python', 'scikit-learn', 'skbcnn', 'tensorflow']
    """
    from . import __version__

    def installed(*names):
        for name in names:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return None

    return {
        "skbcnn": __version__,
        "scikit-learn": installed("scikit-learn"),
        "keras": installed("keras"),
        "tensorflow": installed("tensorflow", "tensorflow-cpu"),
        "numpy": installed("numpy"),
        "python": platform.python_version(),
    }


def save(estimator, path, *, compress=3):
    """Save a (fitted) estimator or pipeline to ``path``.

    The file is written to a temporary file beside ``path`` and renamed into
    place, so a crash or a full disk never leaves a truncated model where a
    good one was.

    Parameters
    ----------
    estimator : object
        Anything joblib can pickle: a fitted pipeline, classifier, search.
    path : str or path-like
        Destination file (conventionally ``*.skbcnn``).
    compress : int, default=3
        joblib compression level (0-9).

    Returns
    -------
    path : pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> import skbcnn
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skbcnn"
    >>> _ = skbcnn.save(LogisticRegression(C=2.0), path)
    >>> skbcnn.load(path).C
    2.0
    """
    path = Path(path)
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer, compress=compress)
    payload = buffer.getvalue()
    header = {
        "format": "skbcnn-model",
        "format_version": FORMAT_VERSION,
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "payload_size": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    header_bytes = json.dumps(header, sort_keys=True).encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC)
            out.write(struct.pack(">Q", len(header_bytes)))
            out.write(header_bytes)
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_header(path):
    """Read and check a model file's header and payload without unpickling.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    header : dict
        The JSON header.
    payload : bytes
        The verified joblib payload.

    Raises
    ------
    ValueError
        If the file is not a skbcnn model, is truncated, or its checksum
        does not match.
    """
    path = Path(path)
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError(
            f"{path} is not a skbcnn model file (it does not start with the "
            "skbcnn header); files from joblib.dump load with joblib.load."
        )
    offset = len(MAGIC)
    try:
        (header_size,) = struct.unpack(">Q", data[offset : offset + 8])
        header = json.loads(data[offset + 8 : offset + 8 + header_size])
    except (struct.error, ValueError) as exc:
        raise ValueError(f"{path}: the model file header is damaged or truncated ({exc}).") from None
    payload = data[offset + 8 + header_size :]
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the model file header is damaged (not a JSON object).")
    if header.get("format") != "skbcnn-model" or header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported model file format {header.get('format_version')!r}.")
    expected = {"payload_size": int, "payload_sha256": str, "versions": dict}
    damaged = [key for key, kind in expected.items() if not isinstance(header.get(key), kind)]
    if damaged:
        raise ValueError(f"{path}: the model file header is damaged (missing or invalid {damaged}).")
    if len(payload) != header["payload_size"]:
        raise ValueError(
            f"{path} is truncated or padded: the payload has {len(payload)} bytes, "
            f"the header says {header['payload_size']}."
        )
    if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
        raise ValueError(f"{path} is corrupted or was modified: its SHA-256 checksum does not match.")
    return header, payload


def load(path):
    """Load an estimator saved with :func:`save`.

    Checks the file's structure and SHA-256 checksum before unpickling, and
    warns (:class:`VersionMismatchWarning`) when skbcnn, scikit-learn, Keras,
    TensorFlow or NumPy versions differ from those that wrote it.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`. Only load files you trust: unpickling
        can execute code.

    Returns
    -------
    estimator : object
        The saved estimator.

    Raises
    ------
    ValueError
        If the file is not a skbcnn model file, is truncated or corrupted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skbcnn.persistence import load, save
    >>> path = save(LogisticRegression(C=0.5), pathlib.Path(tempfile.mkdtemp()) / "m.skbcnn")
    >>> load(path).C
    0.5
    >>> _ = path.write_bytes(path.read_bytes()[:-10])  # truncate the file
    >>> load(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... is truncated or padded: ...
    """
    header, payload = read_header(path)
    current = library_versions()
    different = {
        name: (saved, current.get(name))
        for name, saved in header["versions"].items()
        if name != "python" and saved != current.get(name)
    }
    if different:
        listing = ", ".join(f"{n} {old} -> {new}" for n, (old, new) in sorted(different.items()))
        warnings.warn(
            f"{path} was saved with other library versions ({listing}); "
            "predictions may differ or loading may fail.",
            VersionMismatchWarning,
            stacklevel=2,
        )
    return joblib.load(io.BytesIO(payload))
