"""Saving, loading and sharing fitted estimators: every way a model reaches disk.

This module owns the three layouts a fitted model can take on disk, and the
one set of helpers they share (the JSON reader, the atomic write of
temporary files renamed into place; library versions and SHA-256 come from
``skbcnn._provenance``, shared with the reports):

``save`` / ``load``: one checked ``.skbcnn`` file
    The magic bytes ``SKBCNN-MODEL\\n``, an 8-byte big-endian header length,
    a JSON header (format, ``content``, estimator type, creation time,
    library versions, names and sizes of the members), the members' bytes,
    and the SHA-256 of everything before it (format version 2). ``load``
    checks the structure and the checksum before reading any member, so a
    corrupted, truncated or edited file is refused with a clear error. The
    members are the pickle-free description below (``format="safe"``, the
    default) or a joblib pickle (``model.joblib``, ``format="pickle"``).
``export_model`` / ``import_model``: a folder of two files
    The pickle-free description as ``skbcnn.json`` and ``cnn.keras``, for
    tools that read the parts.

The pickle-free description holds no code:

``skbcnn.json``
    The pipeline's steps (class names from :data:`ALLOWED_CLASSES`, this
    library's estimators), their parameters and fitted attributes, as plain
    JSON, and the SHA-256 of ``cnn.keras``.
``cnn.keras``
    The network in the Keras 3 format (architecture as JSON, weights),
    checked (Keras' own classes only, no ``Lambda`` layers) and loaded with
    ``safe_mode=True``.

Reading it only ever instantiates allow-listed classes with JSON values,
never calls ``pickle`` and never rebuilds the network from its parameters
(nothing is downloaded).

Which to use: :func:`save` with its default format to keep or share a
model (one file, every byte under the checksum); ``format="pickle"`` only
for what the safe format cannot hold (a grid search, other libraries'
estimators), between people who trust each other, because a pickle can run
arbitrary code when it is loaded and a checksum cannot tell (whoever writes
the file writes the checksum): :func:`load` refuses one unless called with
``allow_pickle=True``. :func:`export_model` when a tool wants the two parts as
files (only the network is under a checksum there).

Importing this module does not import TensorFlow; writing or reading a
network does.
"""

import glob
import hashlib
import io
import json
import os
import re
import shutil
import stat
import struct
import tempfile
import threading
import warnings
from datetime import datetime, timezone
from pathlib import Path

import joblib
import numpy as np

from ._provenance import library_versions, sha256_of_file
from ._steps import final_step

__all__ = ["save", "load", "read_header", "export_model", "import_model", "ALLOWED_CLASSES",
           "write_atomically", "library_versions", "VersionMismatchWarning", "UntrustedFileError"]

MAGIC = b"SKBCNN-MODEL\n"
#: Version of the ``.skbcnn`` file layout that :func:`save` writes.
FORMAT_VERSION = 2
#: Format name and version of ``skbcnn.json``, the pickle-free description.
EXPORT_FORMAT = "skbcnn-export"
EXPORT_FORMAT_VERSION = 1
#: Largest JSON header read from a model file (bytes).
MAX_HEADER_BYTES = 1 << 20
#: Largest uncompressed size of the network file's contents (bytes).
MAX_NETWORK_BYTES = 4 << 30

_FORMATS = ("safe", "pickle")
_PICKLE_MEMBER = "model.joblib"
_SAFE_MEMBERS = ("skbcnn.json", "cnn.keras")
_DIGEST_SIZE = 32  # the SHA-256 that ends a version-2 file

#: Estimators that may appear in a pickle-free model, by import path.
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
# make_cnn_pipeline's Pipeline subclass, saved with its recipe and input contract
_CNN_PIPELINE = "skbcnn.pipeline.CNNPipeline"
_CNN_PIPELINE_FITTED = ("recipe_", "image_size_", "color_")


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


class UntrustedFileError(ValueError):
    """A model file holds a pickle and the caller did not say it trusts it.

    Examples
    --------
    >>> from skbcnn.persistence import UntrustedFileError
    >>> issubclass(UntrustedFileError, ValueError)
    True
    """


# ------------------------------------------------------------ shared helpers
def _loads_json(text, where):
    """``json.loads`` whose failures (also too deep nesting) are ValueErrors naming ``where``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{where} is nested too deeply (JSON)") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise ValueError(f"{where} is not valid JSON ({exc})") from None


def _require_fields(header, expected, path):
    """Refuse a header whose fields are missing or not of the ``expected`` types."""
    damaged = [key for key, kind in expected.items() if not isinstance(header.get(key), kind)]
    members = header.get("members")
    if "members" in expected and isinstance(members, list) and not all(
        isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("size"), int)
        and not isinstance(m.get("size"), bool) and m["size"] >= 0 for m in members
    ):
        damaged.append("members")
    if damaged:
        raise ValueError(f"{path}: the model file header is damaged (missing or invalid {damaged}).")


def _write_target(path, *, through_link):
    """The file that writing ``path`` replaces, checked.

    With ``through_link``, a symbolic link at ``path`` stays and the file it
    points to is replaced; without, the link itself is replaced.
    """
    path = Path(path)
    if path.is_symlink():
        target = Path(os.path.realpath(path)) if through_link else path
    else:
        target = path
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot save {target}: the folder {target.parent} does not exist.")
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(f"cannot save {target}: it is a folder.")
    if target.exists() and not target.is_symlink() and not target.is_file():
        # the rename would replace a device or a named pipe (as root, /dev/null itself)
        raise ValueError(f"cannot save {target}: it is not a regular file (a device, named pipe or socket); "
                         "give the path of a new or regular file.")
    return target


def _write_files(files, *, through_links):
    """Write ``{path: bytes}`` through temporary files, then rename them all into place.

    Each file is first written to ``.<name>.tmp-<pid>`` beside its target
    (created exclusively, never through a link, with mode ``0o666`` less
    the umask) and synced to disk. Only when every one is written are they
    renamed into place, in the order given, so a failure (a full disk, an
    interruption) leaves every target as it was; the temporary files are
    removed in every case. Leftovers of killed writers (whose process is
    gone) are removed first. ``through_links`` says whether a symbolic link
    at a target is written through (see :func:`_write_target`). Writes from
    threads of one process run one after another.
    """
    with _WRITE_LOCK:
        _write_files_unlocked(files, through_links=through_links)


# Saves in one process run one at a time: a temporary name holds the process
# id only, and the stale-file cleanup of one thread's save would otherwise
# remove another thread's temporary file of the same target.
_WRITE_LOCK = threading.Lock()


def _write_files_unlocked(files, *, through_links):
    targets = [_write_target(path, through_link=through_links) for path in files]
    temporaries = []
    try:
        for target, data in zip(targets, files.values()):
            _remove_stale_temporary_files(target)
            tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
            tmp.unlink(missing_ok=True)
            temporaries.append(tmp)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        _rename_all(temporaries, targets)
    finally:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)


def _rename_all(temporaries, targets):
    """Rename each temporary file onto its target; if one rename fails, put the earlier targets back.

    Several files (an export's ``cnn.keras`` and ``skbcnn.json``) belong
    together: a failure between two renames must not leave a new network
    beside an old description. The previous version of each target is kept
    as a hard link ``.<name>.tmp-<pid>-old`` until all renames are done.
    """
    backups, done = [], []  # (backup path, None: the target is new, False: none could be kept)
    try:
        for target in targets:
            backup = target.parent / f".{target.name}.tmp-{os.getpid()}-old"
            backup.unlink(missing_ok=True)
            if not os.path.lexists(target):
                backups.append(None)
                continue
            try:
                os.link(target, backup, follow_symlinks=False)  # the link itself, if a link is replaced
                backups.append(backup)
            except (OSError, NotImplementedError):  # no hard links here: this target cannot be put back
                backups.append(False)
        for tmp, target in zip(temporaries, targets):
            os.replace(tmp, target)
            done.append(target)
    except BaseException:
        for backup, target in zip(backups, done):
            if backup is None:
                target.unlink(missing_ok=True)
            elif backup:
                os.replace(backup, target)
        raise
    finally:
        for backup in backups:
            if backup:
                backup.unlink(missing_ok=True)


def write_atomically(path, data, *, through_link=True):
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The temporary file (``.<name>.tmp-<pid>`` beside the target) is created
    with mode ``0o666`` less the umask and synced to disk before the rename;
    leftovers of killed writers (whose process is gone) are removed first.

    Parameters
    ----------
    path : str or path-like
        Destination file.
    data : bytes
        The file's content.
    through_link : bool, default=True
        A symbolic link at ``path`` is written through (the file it points
        to is replaced); with False the link itself is replaced by a new
        file and its target is left alone (report files, whose folder may
        hold links someone else planted).

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
    _write_files({path: data}, through_links=through_link)
    return Path(path)


def _remove_stale_temporary_files(target):
    """Delete the ``.<name>.tmp-<pid>`` files of ``target`` whose writing process no longer runs."""
    pattern = re.compile(re.escape(f".{target.name}.tmp-") + r"([0-9]+)(-old)?")
    for leftover in target.parent.glob(glob.escape(f".{target.name}.tmp-") + "*"):
        match = pattern.fullmatch(leftover.name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
            alive = pid != os.getpid()
        except ProcessLookupError:
            alive = False
        except OSError:  # e.g. PermissionError: another user's running process
            alive = True
        if not alive:
            leftover.unlink(missing_ok=True)


# ------------------------------------------------- one checked .skbcnn file
def save(estimator, path, *, format="safe", compress=3):
    """Save a fitted estimator or pipeline to one file at ``path``.

    Two payloads are possible, both behind a JSON header (library versions,
    estimator type, creation time) and a SHA-256 checksum of the whole file:

    - ``format="safe"`` (default): the pickle-free description that
      :func:`export_model` writes as a folder (``skbcnn.json`` with the
      steps' parameters and fitted attributes, and the network as a
      ``.keras`` file). :func:`load` rebuilds it without running code from the file.
      Only pipelines of skbcnn estimators ending in a fitted
      :class:`~skbcnn.CNNClassifier` (or the classifier alone) with plain
      parameter values can be saved this way.
    - ``format="pickle"``: a joblib pickle, for anything picklable (a grid
      search, other libraries' estimators). Unpickling can run arbitrary
      code, so :func:`load` refuses it unless called with ``allow_pickle=True``.

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
    >>> skbcnn.load(path, allow_pickle=True).C
    2.0
    """
    if format not in _FORMATS:
        raise ValueError(f"format must be 'safe' or 'pickle'; got {format!r}.")
    if isinstance(compress, bool) or not isinstance(compress, int) or not 0 <= compress <= 9:
        raise ValueError(f"compress must be an integer from 0 to 9; got {compress!r}.")
    if format == "safe":
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
    if header.get("format") != "skbcnn-model" or version != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported model file format {version!r}.")
    body = data[offset + 8 + header_size :]

    _require_fields(header, {"content": str, "estimator": str, "created": str, "versions": dict,
                             "members": list}, path)
    members = header["members"]
    stored = sum(m["size"] for m in members) + _DIGEST_SIZE
    if len(body) != stored:
        raise ValueError(
            f"{path} is truncated or padded: it has {len(body)} bytes after the header, "
            f"the header says {stored}."
        )
    if hashlib.sha256(data[:-_DIGEST_SIZE]).digest() != data[-_DIGEST_SIZE:]:
        raise ValueError(f"{path} is corrupted or was modified: its SHA-256 checksum does not match.")
    names = [m["name"] for m in members]
    wanted = list(_SAFE_MEMBERS) if header["content"] == "safe" else [_PICKLE_MEMBER]
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


def load(path, *, allow_pickle=False):
    """Load an estimator saved with :func:`save`.

    Checks the file's structure and SHA-256 checksum first, and warns
    (:class:`VersionMismatchWarning`) when skbcnn, scikit-learn, Keras,
    TensorFlow or NumPy versions differ from those that wrote it.

    A file in the safe format is rebuilt as :func:`import_model` rebuilds
    an export folder: only allow-listed skbcnn classes with JSON values, and
    the network from its ``.keras`` file in Keras' safe mode. No code from
    the file runs, nothing is downloaded.

    A pickle payload is refused unless ``allow_pickle=True``: unpickling can run
    any code its author chose, and the checksum cannot tell, because whoever
    wrote the file can write a matching checksum too.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    allow_pickle : bool, default=False
        Unpickle a pickle payload. Pass ``True`` only for files that you or
        someone you trust wrote: the file can run code on your machine.

    Returns
    -------
    estimator : object
        The saved estimator.

    Raises
    ------
    UntrustedFileError
        For a pickle payload without ``allow_pickle=True``.
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
    >>> load(path, allow_pickle=True).C
    0.5
    >>> _ = path.write_bytes(path.read_bytes()[:-10])  # truncate the file
    >>> load(path, allow_pickle=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... is truncated or padded: ...
    """
    header, members = read_header(path)
    if header["content"] == "pickle" and allow_pickle is not True:
        raise UntrustedFileError(
            f"{path} holds a pickle, and unpickling can run arbitrary code, so it is not loaded. "
            "If you trust its author, convert it once in Python: "
            f"skbcnn.save(skbcnn.load({str(path)!r}, allow_pickle=True), 'model.skbcnn') writes the "
            "pickle-free format (or pass allow_pickle=True to skbcnn.load)."
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
    return _import_members(members["skbcnn.json"], members["cnn.keras"], Path(path))


# ------------------------------------ the pickle-free description: writing
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
            # each element costs itemsize bytes however short it is in the JSON
            # ("" is 3 characters, a <U1024 element 4 KiB): bound the total too
            if dtype.kind == "U" and _count(value["__ndarray__"]) * dtype.itemsize > _MAX_STRING_ARRAY_BYTES:
                raise ValueError(f"a string array of dtype {dtype} would take more than "
                                 f"{_MAX_STRING_ARRAY_BYTES >> 20} MiB")
            return np.asarray(value["__ndarray__"], dtype=dtype)
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


_MAX_STRING_ARRAY_BYTES = 16 << 20  # class names: a few hundred bytes in real files


def _count(nested):
    """Number of leaves of nested lists (the elements of an encoded array)."""
    if not isinstance(nested, list):
        return 1
    return sum(_count(item) for item in nested)


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
        step["fitted"] = _encode(estimator._fitted_state(), f"a fitted attribute of step {name!r}")
    else:
        step["fitted"] = _encode(_fitted_attributes(estimator), f"a fitted attribute of step {name!r}")
    return step


def export_model(estimator, path):
    """Write a fitted pipeline (or CNNClassifier) as JSON + ``.keras``, no pickle.

    The folder holds the pickle-free description that :func:`save` stores
    in one file by default. Both files are written beside their targets
    (and synced to disk) and renamed into place only once both are written,
    so a failed export leaves the previous one as it was. A symbolic link
    in the folder named ``skbcnn.json`` or ``cnn.keras`` is replaced by the
    new file; the file it pointed to is left alone.

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
    >>> from skbcnn.persistence import export_model, import_model
    >>> X, y = make_synthetic_ultrasound(40, image_size=32, random_state=0, return_X_y=True)
    >>> pipe = make_cnn_pipeline("from_scratch", cnn__conv_filters=(4, 8), cnn__convs_per_block=1,
    ...                          cnn__dense_units=(8,), cnn__epochs=1, cnn__random_state=0).fit(X, y)
    >>> folder = export_model(pipe, tempfile.mkdtemp())
    >>> sorted(p.name for p in folder.iterdir())
    ['cnn.keras', 'skbcnn.json']
    >>> bool(np.allclose(import_model(folder).predict_proba(X), pipe.predict_proba(X), atol=1e-6))
    True
    """
    members = _export_members(estimator)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    # Both files are renamed into place only once both are written, so a
    # failed export never leaves a truncated file over a good one; the
    # network's SHA-256 in the JSON lets import_model refuse a cnn.keras
    # that does not belong to the description. A symbolic link in the
    # folder is replaced by the file, the file it pointed to is left alone.
    _write_files({path / name: members[name] for name in ("cnn.keras", "skbcnn.json")}, through_links=False)
    return path


def _description(estimator):
    """``(description, network)``: the JSON-able description and the Keras model."""
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    # a pipeline is what skbcnn._steps looks into: its final step is not itself
    cnn = final_step(estimator)
    pipeline = cnn is not estimator
    if _class_path(cnn) != _CNN:
        raise TypeError(
            f"the last step must be a skbcnn.CNNClassifier to save without pickle; got "
            f"{_class_path(cnn)} (skbcnn.save(..., format='pickle') saves any estimator, "
            "export_model only skbcnn pipelines)."
        )
    check_is_fitted(cnn)
    steps = estimator.steps if pipeline else [("cnn", estimator)]
    description = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "pipeline": pipeline,
        "skbcnn_version": __version__,
        "versions": library_versions(),
        "steps": [_describe(name, step) for name, step in steps],
        # how the model was trained (data, recipe, command), set by the CLI
        "training_info": _encode(getattr(estimator, "training_info_", None), "training_info_"),
    }
    if _class_path(estimator) == _CNN_PIPELINE:
        # make_cnn_pipeline's: its recipe and the input contract it recorded at fit
        description["cnn_pipeline"] = _encode({
            "params": {"recipe": estimator.recipe, "fixed_params": tuple(estimator.fixed_params)},
            "fitted": {key: getattr(estimator, key) for key in _CNN_PIPELINE_FITTED if hasattr(estimator, key)},
        }, "a parameter of the pipeline")
    return description, cnn.model_


def _export_members(estimator):
    """The ``skbcnn.json`` and ``cnn.keras`` bytes of the pickle-free description.

    What :func:`save` stores in one file (its safe format) and
    :func:`export_model` writes as a folder.
    """
    description, network = _description(estimator)
    # Keras writes a network only to a named file: it goes through a private
    # temporary folder, removed afterwards, and is read back once.
    with tempfile.TemporaryDirectory(prefix="skbcnn-") as folder:
        keras_file = Path(folder) / "cnn.keras"
        network.save(keras_file)
        network_bytes = keras_file.read_bytes()
    description["cnn_sha256"] = hashlib.sha256(network_bytes).hexdigest()
    # the same bytes on every platform (ASCII, "\n" line ends)
    return {"skbcnn.json": json.dumps(description, indent=1).encode(), "cnn.keras": network_bytes}


# ------------------------------------ the pickle-free description: reading
_MAX_DEPTH = 32  # nesting of skbcnn.json; real descriptions need fewer than 10
_FITTED_NAME = re.compile(r"^[a-z][a-z0-9_]*_$")
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


# The members Keras writes for a network without assets (every skbcnn
# network): anything else would be extracted by Keras into a temporary folder
# of its own, which it leaves behind when the extraction fails.
_KERAS_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}


def _load_network(keras_file, where):
    """The network of a ``.keras`` file, checked before Keras reads it (safe mode).

    Keras reads a copy in a temporary folder skbcnn creates and removes on
    every path (Keras may extract the weights beside the file it reads), and
    only files with the members skbcnn writes, so Keras never extracts
    anything elsewhere.
    """
    import keras

    from ._training import configure_tensorflow

    configure_tensorflow()  # thread settings only apply before the network exists
    with tempfile.TemporaryDirectory(prefix="skbcnn-network-") as folder:
        own = Path(folder) / "cnn.keras"
        shutil.copyfile(keras_file, own)
        _check_keras_file(own, where)
        try:
            return keras.saving.load_model(own, safe_mode=True, compile=True)
        except Exception as exc:  # Keras raises many kinds; all mean "this file is not a usable network"
            raise ValueError(f"{where}: the network cannot be loaded ({type(exc).__name__}: {exc}).") from None


def _check_keras_file(keras_file, where):
    """Refuse a ``.keras`` file that is not a zip of skbcnn's members, too large, or names code."""
    import zipfile

    if not zipfile.is_zipfile(keras_file):
        raise ValueError(f"{where}: not a Keras .keras file (not a zip archive).")
    try:
        with zipfile.ZipFile(keras_file) as archive:
            names = set(archive.namelist())
            missing = sorted({"config.json", "model.weights.h5"} - names)
            if missing:
                raise ValueError(f"{where}: not a Keras .keras file (it lacks {missing}).")
            extra = sorted(names - _KERAS_MEMBERS)
            if extra:
                raise ValueError(
                    f"{where}: the network holds files skbcnn never writes ({', '.join(extra[:3])}"
                    f"{', ...' if len(extra) > 3 else ''}); refusing to load it."
                )
            size = sum(info.file_size for info in archive.infolist())
            if size > MAX_NETWORK_BYTES:
                raise ValueError(
                    f"{where}: the network unpacks to {size} bytes, more than the limit of "
                    f"{MAX_NETWORK_BYTES} (skbcnn.persistence.MAX_NETWORK_BYTES)."
                )
            config = _loads_json(archive.read("config.json"), f"{where}: config.json")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{where}: damaged Keras file ({type(exc).__name__}: {exc}).") from None
    if _too_deep(config, 256):
        raise ValueError(f"{where}: config.json is nested too deeply.")
    _check_keras_config(config, where)


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
    """Audit the classifier's fitted attributes in a description before any is set."""
    from .classifier import FITTED_ATTRIBUTES

    unknown = sorted(set(fitted) - set(FITTED_ATTRIBUTES))
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
    # what Keras records: per metric, one number per epoch (readers format them as numbers)
    if not all(isinstance(key, str) and isinstance(values, list)
               and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
               for key, values in history.items()):
        raise ValueError(f"{where}: history_ of step {name!r} must map metric names to lists of numbers.")
    input_range = fitted.get("input_range_")
    if input_range is not None and not (
        isinstance(input_range, tuple) and len(input_range) == 2
        and all(isinstance(v, (int, float)) and np.isfinite(v) for v in input_range)
    ):
        raise ValueError(f"{where}: input_range_ of step {name!r} must be two finite numbers.")
    kept_epoch = fitted.get("kept_epoch_")  # absent in files from before it was recorded
    if kept_epoch is not None and not (isinstance(kept_epoch, int) and not isinstance(kept_epoch, bool)
                                       and kept_epoch >= 1):
        raise ValueError(f"{where}: kept_epoch_ of step {name!r} must be a positive integer.")


def _check_network(model, classes, shape, where, network):
    from .models._limits import check_loaded_network

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"{network}: the network must have one input and one output.")
    # the limits of a network built from parameters: TensorFlow aborts the
    # process on some absurd ones (a kernel larger than its input) at predict
    check_loaded_network(model, network)
    if not all(np.isfinite(np.asarray(w)).all() for w in model.get_weights()):
        raise ValueError(f"{network}: the network has NaN or infinite weights (damaged, or saved after training "
                         "diverged); it would predict NaN probabilities. Train the model again.")
    inputs = tuple(model.inputs[0].shape[1:])
    if len(inputs) != 3 or any(d is not None and d != s for d, s in zip(inputs, shape)):
        raise ValueError(f"{where}: image_shape_ {shape} does not match the input {inputs} of the network "
                         f"in {network}.")
    outputs = model.outputs[0].shape[-1]
    if not (outputs == len(classes) or (len(classes) == 2 and outputs == 1)):
        raise ValueError(f"{where}: classes_ has {len(classes)} classes but the network in {network} has "
                         f"{outputs} output(s); the files do not belong together.")


def _rebuild(text, keras_file, where, network):
    """The estimator described by ``text`` (skbcnn.json) with the network in ``keras_file``.

    ``where`` and ``network`` name the two parts in error messages.
    """
    try:
        description = _loads_json(text, "the file")
    except ValueError as exc:
        raise ValueError(f"{where}: is not a valid description ({exc}).") from None
    if _too_deep(description, _MAX_DEPTH):
        raise ValueError(f"{where}: is not a valid description (the JSON is nested too deeply).")
    steps = description.get("steps") if isinstance(description, dict) else None
    if (not isinstance(description, dict) or description.get("format") != EXPORT_FORMAT
            or description.get("format_version") != EXPORT_FORMAT_VERSION
            or not isinstance(steps, list) or not steps):
        raise ValueError(f"{where}: is not a skbcnn export (format {EXPORT_FORMAT!r}, "
                         f"version {EXPORT_FORMAT_VERSION}, "
                         "a non-empty list of steps).")
    if not isinstance(description.get("pipeline"), bool):
        raise ValueError(f"{where}: is not a valid description (KeyError: 'pipeline' must be true or false).")
    if sha256_of_file(keras_file) != description.get("cnn_sha256"):
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
    _check_cnn_fitted(fitted, name, where)
    model = _load_network(keras_file, network)
    _check_network(model, fitted["classes_"], fitted["image_shape_"], where, network)
    try:
        cnn._restore(model, fitted)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: step {name!r} cannot be set up ({type(exc).__name__}: {exc}).") from None
    for _, estimator, attributes in built[:-1]:
        vars(estimator).update(attributes)
    if not description["pipeline"]:
        return cnn
    pipeline = _rebuild_pipeline([(n, estimator) for n, estimator, _ in built], description, where)
    training_info = _decode_checked(description.get("training_info"), where)
    if isinstance(training_info, dict):
        pipeline.training_info_ = training_info
    return pipeline


def _rebuild_pipeline(steps, description, where):
    """A plain ``Pipeline``, or the ``CNNPipeline`` (recipe, input contract) that was saved."""
    from sklearn.pipeline import Pipeline

    saved = description.get("cnn_pipeline")
    if saved is None:  # a user's own pipeline, or a file from before CNNPipeline
        return Pipeline(steps)
    from .pipeline import RECIPES, CNNPipeline

    saved = _decode_checked(saved, f"{where}: is not a valid description: cnn_pipeline")
    params = saved.get("params") if isinstance(saved, dict) else None
    fitted = saved.get("fitted") if isinstance(saved, dict) else None
    valid = (isinstance(params, dict) and isinstance(fitted, dict)
             and (params.get("recipe") == "auto" or params.get("recipe") in RECIPES)
             and isinstance(params.get("fixed_params"), tuple)
             and all(isinstance(k, str) for k in params["fixed_params"])
             and set(fitted) <= set(_CNN_PIPELINE_FITTED)
             and fitted.get("recipe_", "pretrained") in RECIPES
             and fitted.get("color_", "grey") in ("grey", "rgb"))
    size = fitted.get("image_size_") if valid else None
    if not valid or (size is not None and not (isinstance(size, tuple) and len(size) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size))):
        raise ValueError(f"{where}: is not a valid description (cnn_pipeline holds unexpected values).")
    pipeline = CNNPipeline(steps, recipe=params["recipe"], fixed_params=params["fixed_params"])
    vars(pipeline).update(fitted)
    return pipeline


def _import_members(description, network, path):
    """Rebuild from the ``skbcnn.json`` and ``cnn.keras`` bytes of a model file."""
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
        The folder written by :func:`export_model`; only its ``skbcnn.json``
        and ``cnn.keras`` are read.

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
    >>> import hashlib, json, tempfile, pathlib
    >>> from skbcnn.persistence import import_model
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "cnn.keras").write_bytes(b"")
    >>> _ = (folder / "skbcnn.json").write_text(json.dumps(
    ...     {"format": "skbcnn-export", "format_version": 1, "pipeline": False,
    ...      "cnn_sha256": hashlib.sha256(b"").hexdigest(),
    ...      "steps": [{"name": "x", "class": "os.system", "params": {}, "fitted": {}}]}))
    >>> import_model(folder)  # a class outside the allow-list is refused  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...refusing class 'os.system'...
    """
    path = Path(path)
    for file in _SAFE_MEMBERS:
        if not (path / file).exists():
            raise FileNotFoundError(f"import_model: {path / file} does not exist.")
        if not stat.S_ISREG((path / file).stat().st_mode):
            raise ValueError(f"import_model: {path / file} is not a regular file.")
    text = (path / "skbcnn.json").read_bytes()
    return _rebuild(text, path / "cnn.keras", f"import_model: {path / 'skbcnn.json'}",
                    f"import_model: {path / 'cnn.keras'}")
