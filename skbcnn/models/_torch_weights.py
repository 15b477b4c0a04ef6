"""Read PyTorch state dicts in the legacy (non-zip) format without PyTorch,
and without letting the file run code.

Pretrained weights reach us as ``.pth`` files inside pip packages (see
:data:`skbcnn.models.BACKBONES`). That format is five consecutive pickles -
a magic number, a protocol version, a system-info dict, the state dict and
the list of storage keys - followed, for each key in that order, by an
8-byte little-endian element count and the raw little-endian data.

A pickle can call any importable function, so the state dict is read with an
unpickler whose ``find_class`` knows only ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the torch storage types (float,
double, half, long, int), each mapped to a harmless stand-in of ours; any
other name is refused before it is looked up, and so is the BUILD
instruction (which sets attributes on objects) on anything but the state
dict's own OrderedDict, whose metadata is dropped. Tensors must be plain
contiguous views inside their storage, and together no larger than the
file. Nothing from torch is imported (it need not be installed).
"""

import collections
import io
import pickle
import struct

import numpy as np

from .._files import open_regular_file

__all__ = ["UnsafeWeightsError", "read_torch_state_dict"]

_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_PROTOCOL_VERSION = 1001


class UnsafeWeightsError(pickle.UnpicklingError):
    """A weights file asks to run or import something that weights never need."""


class _StorageRef:
    """A reference from the state dict to one raw storage of the file."""

    __slots__ = ("key", "dtype", "numel")

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class _TensorView:
    """``_rebuild_tensor_v2``'s arguments, resolved once the storages are read."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _is_int_tuple(value):
    return isinstance(value, tuple) and all(type(v) is int for v in value)


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    # Stand-in for torch._utils._rebuild_tensor_v2: only records, and only
    # arguments of the types a real state dict holds.
    if not isinstance(storage, _StorageRef) or type(offset) is not int or not (
            _is_int_tuple(size) and _is_int_tuple(stride) and len(size) == len(stride)):
        raise pickle.UnpicklingError("A tensor in the weights file is not a plain view of a storage.")
    return _TensorView(storage, offset, size, stride)


def _storage_type(dtype):
    # A new stand-in for each reference, so that nothing in a file can alter a
    # shared object (BUILD, which sets attributes, is refused anyway).
    def storage_type():
        raise pickle.UnpicklingError("A storage type cannot be called in a weights file.")

    storage_type.dtype = dtype
    return storage_type


_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}


class _TruncatedName(pickle.UnpicklingError):
    """A name in a pickle was cut off by the end of the file."""


class _RestrictedUnpickler(pickle._Unpickler):
    # The pure-Python unpickler, because its opcode table can be changed:
    # BUILD sets attributes on (or calls __setstate__ of) the object below it;
    # a state dict uses it only to attach ``_metadata`` to its OrderedDict,
    # which is dropped here, and any other BUILD is refused. The pickles are
    # small (names and shapes; the data follows them), so speed does not matter.
    dispatch = dict(pickle._Unpickler.dispatch)

    def _build(self):
        state = self.stack.pop()
        if not (type(self.stack[-1]) is collections.OrderedDict and isinstance(state, dict)):
            raise UnsafeWeightsError("Refused a BUILD instruction in a weights file on something other "
                                     "than the state dict itself.")

    dispatch[pickle.BUILD[0]] = _build

    def __init__(self, stream):
        super().__init__(stream)
        self._stream = stream
        with stream.getbuffer() as view:
            self._end = view.nbytes

    def find_class(self, module, name):
        if self._stream.tell() >= self._end:
            # The file ends right after this name: it was cut inside the
            # name (a truncated file), not a name chosen to run code.
            raise _TruncatedName(f"{module}.{name}")
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _storage_type(_STORAGE_DTYPES[name])
        raise UnsafeWeightsError(
            f"Refused to load {module}.{name} from a weights file: a state dict holds only tensors, "
            "so the file is not a plain weights file and may try to run code."
        )

    def persistent_load(self, pid):
        # ('storage', storage type, key, location, numel[, view metadata])
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and callable(pid[1]) and isinstance(getattr(pid[1], "dtype", None), np.dtype)
                and isinstance(pid[2], (str, int)) and type(pid[4]) is int):
            raise pickle.UnpicklingError(f"Unexpected persistent id in the weights file: {pid!r:.80}")
        return _StorageRef(str(pid[2]), pid[1].dtype, pid[4])


def _load(stream):
    return _RestrictedUnpickler(stream).load()


def _is_dense(size, stride):
    """Whether the view covers prod(size) distinct, adjacent elements: C order
    with its axes in any order (weights are often stored transposed)."""
    if 0 in size:
        return True
    step = 1
    for st, n in sorted((st, n) for n, st in zip(size, stride) if n != 1):
        if st != step:
            return False
        step *= n
    return True


def read_torch_state_dict(path, *, check=None):
    """Read a legacy-format PyTorch state dict as NumPy arrays, safely.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.pth`` file written by ``torch.save`` with
        ``_use_new_zipfile_serialization=False``.
    check : callable, optional
        Called with the file's bytes before anything is parsed (e.g. to
        compare a checksum); it raises to refuse the file.

    Returns
    -------
    state_dict : dict of str to ndarray
        Tensor names (in file order) to arrays of their shape.

    Raises
    ------
    UnsafeWeightsError
        If a pickle in the file names anything but the types a state dict
        needs, or uses BUILD; nothing named in the file is imported or called.
    ValueError
        If the file is not a legacy PyTorch file, is truncated, was written
        on a big-endian machine, or is not a regular file (a named pipe or a
        folder is refused without being read); the message names the file.
    OSError
        If the file cannot be opened (missing, no permission).

    Examples
    --------
    >>> from skbcnn.models._torch_weights import read_torch_state_dict
    >>> read_torch_state_dict(__file__)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... is not a legacy-format PyTorch weights file ...
    """
    # Regular files only: a named pipe would block this read forever.
    with open_regular_file(path) as file:
        data = file.read()
    if check is not None:
        check(data)
    stream = io.BytesIO(data)
    try:
        magic = _load(stream)
    except UnsafeWeightsError as error:
        raise UnsafeWeightsError(f"{path}: {error}") from None
    except Exception:
        magic = None
    if magic != _MAGIC_NUMBER:
        raise ValueError(f"{path} is not a legacy-format PyTorch weights file (no torch magic number).")
    try:
        version = _load(stream)
        system_info = _load(stream)
        if version == _PROTOCOL_VERSION:
            state = _load(stream)
            keys = _load(stream)
    except _TruncatedName:
        raise ValueError(f"{path} is truncated (it ends inside a pickle); download or copy it again.") from None
    except UnsafeWeightsError as error:
        raise UnsafeWeightsError(f"{path}: {error}") from None
    except EOFError:
        raise ValueError(f"{path} is truncated (it ends inside a pickle); download or copy it again.") from None
    except Exception as error:  # the pickle module raises many kinds on damaged input
        raise ValueError(f"{path}: could not read the PyTorch state dict ({type(error).__name__}: "
                         f"{error}); the file is damaged or not a PyTorch weights file.") from None
    if version != _PROTOCOL_VERSION:
        raise ValueError(f"{path}: unsupported PyTorch protocol version {version!r:.40}.")
    # The raw storages are read as little-endian; a file that says otherwise
    # would give byte-swapped (wrong) weights without any error.
    if isinstance(system_info, dict) and system_info.get("little_endian", True) is not True:
        raise ValueError(f"{path} was written on a big-endian machine (its system info says "
                         "little_endian: False); skbcnn reads little-endian weights files only.")
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise ValueError(f"{path} does not hold a state dict (a mapping of names to tensors).")

    views = {str(name): view for name, view in state.items() if isinstance(view, _TensorView)}
    dtypes = {}
    for name, view in views.items():
        if dtypes.setdefault(view.storage.key, view.storage.dtype) != view.storage.dtype:
            raise ValueError(f"{path}: storage {view.storage.key} is read with two data types.")
    storages, offset = {}, stream.tell()
    for key in keys:
        key = str(key)
        if offset + 8 > len(data):
            raise ValueError(f"{path} is truncated: storage {key} is missing.")
        (count,) = struct.unpack_from("<q", data, offset)
        itemsize = dtypes.get(key, np.dtype("<f4")).itemsize
        if count < 0 or offset + 8 + count * itemsize > len(data):
            raise ValueError(f"{path} is truncated: storage {key} is incomplete.")
        storages[key] = (offset + 8, count)
        offset += 8 + count * itemsize

    arrays, total = {}, 0
    for name, view in views.items():
        if view.storage.key not in storages:
            raise ValueError(f"{path}: tensor {name} points to a storage the file does not hold.")
        start, count = storages[view.storage.key]
        n = int(np.prod(view.size, dtype=np.int64))
        # weights are plain contiguous arrays; other views (repeated
        # elements through zero strides, say) could ask for any memory
        if (min(view.size, default=1) < 0 or view.offset < 0 or view.offset + n > count
                or not _is_dense(view.size, view.stride)):
            raise ValueError(f"{path}: tensor {name} reaches outside its storage or is not contiguous.")
        total += n * view.storage.dtype.itemsize
        if total > len(data):
            raise ValueError(f"{path}: the tensors would take more memory than the file holds.")
        flat = np.frombuffer(data, dtype=view.storage.dtype, count=count, offset=start)[view.offset:]
        itemsize = flat.itemsize
        arrays[name] = np.lib.stride_tricks.as_strided(
            flat, shape=view.size, strides=tuple(st * itemsize for st in view.stride), writeable=False
        ).copy()
    return arrays
