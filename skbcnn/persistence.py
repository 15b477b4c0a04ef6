"""Saving and loading fitted estimators: one checked file, pickle-free by default.

File layout (format version 2): the magic bytes ``SKBCNN-MODEL\\n``, an
8-byte big-endian header length, a JSON header (format, ``content``,
estimator type, creation time, library versions, names and sizes of the
members), the members' bytes, and the SHA-256 of everything before it.
``load`` checks the structure and the checksum before reading any member,
so a corrupted, truncated or edited file is refused with a clear error.

The members are either the pickle-free export of
:mod:`skbcnn.sharing` (``skbcnn.json`` and ``cnn.keras``, the default) or a
joblib pickle (``model.joblib``). A pickle can run arbitrary code when it is
loaded, and a checksum cannot tell (whoever writes the file writes the
checksum), so ``load`` refuses pickles unless called with ``trusted=True``.
Files of format version 1 (a pickle payload, only the payload under the
checksum) are read the same way.
"""

import glob
import hashlib
import io
import json
import os
import platform
import stat
import struct
import warnings
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import joblib

__all__ = ["save", "load", "read_header", "write_atomically", "library_versions",
           "VersionMismatchWarning", "UntrustedFileError"]

MAGIC = b"SKBCNN-MODEL\n"
FORMAT_VERSION = 2


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


_FORMATS = ("safe", "pickle")
_PICKLE_MEMBER = "model.joblib"
_DIGEST_SIZE = 32  # the SHA-256 that ends a version-2 file
#: Largest JSON header read from a model file (bytes).
MAX_HEADER_BYTES = 1 << 20


class UntrustedFileError(ValueError):
    """A model file holds a pickle and the caller did not say it trusts it.

    Examples
    --------
    >>> from skbcnn.persistence import UntrustedFileError
    >>> issubclass(UntrustedFileError, ValueError)
    True
    """


def save(estimator, path, *, format="safe", compress=3):
    """Save a fitted estimator or pipeline to one file at ``path``.

    Two payloads are possible, both behind a JSON header (library versions,
    estimator type, creation time) and a SHA-256 checksum of the whole file:

    - ``format="safe"`` (default): the pickle-free format of
      :func:`skbcnn.sharing.export_model` (``skbcnn.json`` with the steps'
      parameters and fitted attributes, and the network as a ``.keras``
      file). :func:`load` rebuilds it without running code from the file.
      Only pipelines of skbcnn estimators ending in a fitted
      :class:`~skbcnn.CNNClassifier` (or the classifier alone) with plain
      parameter values can be saved this way.
    - ``format="pickle"``: a joblib pickle, for anything picklable (a grid
      search, other libraries' estimators). Unpickling can run arbitrary
      code, so :func:`load` refuses it unless called with ``trusted=True``.

    The file is written to a temporary file beside ``path`` and renamed into
    place, so a crash or a full disk never leaves a truncated model where a
    good one was. It gets the permissions of a new file under the user's
    umask. When ``path`` is a symbolic link, the file it points to is
    replaced (the link stays).

    Parameters
    ----------
    estimator : object
        The fitted estimator.
    path : str or path-like
        Destination file (conventionally ``*.skbcnn``); its folder must exist.
    format : {"safe", "pickle"}, default="safe"
        Payload format, see above.
    compress : int, default=3
        joblib compression level (0-9) of a pickle payload.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    TypeError
        With ``format="safe"``, for an estimator that cannot be saved
        without pickle (the message says why).
    FileNotFoundError
        When the folder of ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> import skbcnn
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skbcnn"
    >>> _ = skbcnn.save(LogisticRegression(C=2.0), path, format="pickle")
    >>> skbcnn.load(path, trusted=True).C
    2.0
    """
    if format not in _FORMATS:
        raise ValueError(f"format must be 'safe' or 'pickle'; got {format!r}.")
    if isinstance(compress, bool) or not isinstance(compress, int) or not 0 <= compress <= 9:
        raise ValueError(f"compress must be an integer from 0 to 9; got {compress!r}.")
    if format == "safe":
        from .sharing import _export_members

        members = _export_members(estimator)
    else:
        buffer = io.BytesIO()
        joblib.dump(estimator, buffer, compress=compress)
        members = {_PICKLE_MEMBER: buffer.getvalue()}
    header = {
        "format": "skbcnn-model",
        "format_version": FORMAT_VERSION,
        "content": format,
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "members": [{"name": name, "size": len(data)} for name, data in members.items()],
    }
    header_bytes = json.dumps(header, sort_keys=True).encode()
    body = b"".join([MAGIC, struct.pack(">Q", len(header_bytes)), header_bytes, *members.values()])
    return write_atomically(path, body + hashlib.sha256(body).digest())


def write_atomically(path, data):
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The temporary file (``.<name>.tmp-<pid>`` beside the target) is created
    with mode ``0o666`` less the umask; leftovers of killed writers (whose
    process is gone) are removed first. A symbolic link is written through:
    the file it points to is replaced.

    Parameters
    ----------
    path : str or path-like
        Destination file.
    data : bytes
        The file's content.

    Returns
    -------
    path : pathlib.Path
        ``path`` as given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skbcnn.persistence import write_atomically
    >>> path = write_atomically(pathlib.Path(tempfile.mkdtemp()) / "a.txt", b"hello")
    >>> path.read_bytes()
    b'hello'
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot save {target}: the folder {target.parent} does not exist.")
    if target.is_dir():
        raise IsADirectoryError(f"cannot save {target}: it is a folder.")
    _remove_stale_temporary_files(target)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _remove_stale_temporary_files(target):
    """Delete ``.<name>.tmp-<pid>`` files whose writing process no longer runs."""
    prefix = f".{target.name}.tmp-"
    for leftover in target.parent.glob(glob.escape(prefix) + "*"):
        pid = leftover.name[len(prefix):]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
            alive = int(pid) != os.getpid()
        except ProcessLookupError:
            alive = False
        except OSError:  # e.g. PermissionError: another user's running process
            alive = True
        if not alive:
            leftover.unlink(missing_ok=True)


def _loads_json(text, where):
    """``json.loads`` whose failures (also too deep nesting) are ValueErrors naming ``where``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{where} is nested too deeply (JSON)") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise ValueError(f"{where} is not valid JSON ({exc})") from None


def read_header(path):
    """Read and check a model file without unpickling or loading anything.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    header : dict
        The JSON header (``content`` is ``"safe"`` or ``"pickle"``).
    members : dict of bytes
        The verified payloads by name: ``skbcnn.json`` and ``cnn.keras``
        for the safe format, ``model.joblib`` for a pickle.

    Raises
    ------
    ValueError
        If the file is not a skbcnn model, is truncated, or its checksum
        does not match.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skbcnn.persistence import read_header, save
    >>> path = save({"a": 1}, pathlib.Path(tempfile.mkdtemp()) / "m.skbcnn", format="pickle")
    >>> header, members = read_header(path)
    >>> header["content"], list(members)
    ('pickle', ['model.joblib'])
    """
    path = Path(path)
    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(f"{path} is not a regular file (a pipe, socket or device); refusing to read it.")
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError(
            f"{path} is not a skbcnn model file (it does not start with the skbcnn header); a file "
            "from joblib.dump is a pickle: if you trust it, convert it in Python with "
            "skbcnn.save(joblib.load(path), 'model.skbcnn')."
        )
    offset = len(MAGIC)
    if len(data) < offset + 8:
        raise ValueError(f"{path}: the model file header is damaged or truncated (no header length).")
    (header_size,) = struct.unpack(">Q", data[offset : offset + 8])
    if header_size > MAX_HEADER_BYTES or offset + 8 + header_size > len(data):
        raise ValueError(
            f"{path}: the model file header is damaged or truncated (it announces {header_size} bytes)."
        )
    header_bytes = data[offset + 8 : offset + 8 + header_size]
    try:
        header = _loads_json(header_bytes, "the header")
    except ValueError as exc:
        raise ValueError(f"{path}: the model file header is damaged or truncated ({exc}).") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the model file header is damaged (not a JSON object).")
    version = header.get("format_version")
    if header.get("format") != "skbcnn-model" or version not in (1, FORMAT_VERSION):
        raise ValueError(f"{path}: unsupported model file format {version!r}.")
    body = data[offset + 8 + header_size :]
    if version == 1:
        return _check_version_1(path, header, body)

    expected = {"content": str, "estimator": str, "created": str, "versions": dict, "members": list}
    damaged = [key for key, kind in expected.items() if not isinstance(header.get(key), kind)]
    members = header.get("members") if isinstance(header.get("members"), list) else []
    if not all(
        isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("size"), int)
        and not isinstance(m.get("size"), bool) and m["size"] >= 0 for m in members
    ):
        damaged.append("members")
    if damaged:
        raise ValueError(f"{path}: the model file header is damaged (missing or invalid {damaged}).")
    stored = sum(m["size"] for m in members) + _DIGEST_SIZE
    if len(body) != stored:
        raise ValueError(
            f"{path} is truncated or padded: it has {len(body)} bytes after the header, "
            f"the header says {stored}."
        )
    if hashlib.sha256(data[:-_DIGEST_SIZE]).digest() != data[-_DIGEST_SIZE:]:
        raise ValueError(f"{path} is corrupted or was modified: its SHA-256 checksum does not match.")
    names = [m["name"] for m in members]
    wanted = ["skbcnn.json", "cnn.keras"] if header["content"] == "safe" else [_PICKLE_MEMBER]
    if header["content"] not in _FORMATS or sorted(names) != sorted(wanted):
        raise ValueError(
            f"{path}: the model file holds {names} as {header['content']!r} content; "
            f"expected {wanted}."
        )
    contents, start = {}, 0
    for member in members:
        contents[member["name"]] = body[start : start + member["size"]]
        start += member["size"]
    return header, contents


def _check_version_1(path, header, payload):
    """Files of skbcnn <= 0.x: a pickle, only its payload under the checksum."""
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
    return {**header, "content": "pickle"}, {_PICKLE_MEMBER: payload}


def load(path, *, trusted=False):
    """Load an estimator saved with :func:`save`.

    Checks the file's structure and SHA-256 checksum first, and warns
    (:class:`VersionMismatchWarning`) when skbcnn, scikit-learn, Keras,
    TensorFlow or NumPy versions differ from those that wrote it.

    A file in the safe format is rebuilt by
    :func:`skbcnn.sharing.import_model`'s code: only allow-listed skbcnn
    classes with JSON values, and the network from its ``.keras`` file in
    Keras' safe mode. No code from the file runs, nothing is downloaded.

    A pickle payload is refused unless ``trusted=True``: unpickling can run
    any code its author chose, and the checksum cannot tell, because whoever
    wrote the file can write a matching checksum too.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    trusted : bool, default=False
        Unpickle a pickle payload. Pass ``True`` only for files that you or
        someone you trust wrote: the file can run code on your machine.

    Returns
    -------
    estimator : object
        The saved estimator.

    Raises
    ------
    UntrustedFileError
        For a pickle payload without ``trusted=True``.
    ValueError
        If the file is not a skbcnn model file, is truncated, corrupted or
        malformed (the message names the file and the problem).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skbcnn.persistence import load, save
    >>> path = save(LogisticRegression(C=0.5), pathlib.Path(tempfile.mkdtemp()) / "m.skbcnn",
    ...             format="pickle")
    >>> load(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    skbcnn.persistence.UntrustedFileError: ... holds a pickle...
    >>> load(path, trusted=True).C
    0.5
    >>> _ = path.write_bytes(path.read_bytes()[:-10])  # truncate the file
    >>> load(path, trusted=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... is truncated or padded: ...
    """
    header, members = read_header(path)
    if header["content"] == "pickle" and trusted is not True:
        raise UntrustedFileError(
            f"{path} holds a pickle, and unpickling can run arbitrary code, so it is not loaded. "
            "If you trust its author, convert it once in Python: "
            f"skbcnn.save(skbcnn.load({str(path)!r}, trusted=True), 'model.skbcnn') writes the "
            "pickle-free format (or pass trusted=True to skbcnn.load)."
        )
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
    if header["content"] == "pickle":
        return joblib.load(io.BytesIO(members[_PICKLE_MEMBER]))
    from .sharing import _import_members

    return _import_members(members["skbcnn.json"], members["cnn.keras"], Path(path))
