"""Read PyTorch state dicts in the legacy (non-zip) format without PyTorch,
and without letting the file run code.

Pretrained weights reach us as ``.pth`` files inside pip packages (see
:data:`skbcnn.models.BACKBONES`). That format is five consecutive pickles -
a magic number, a protocol version, a system-info dict, the state dict and
the list of storage keys - followed, for each key in that order, by an
8-byte little-endian element count and the raw little-endian data.

A pickle can call any importable function, so the state dict is read with an
unpickler whose ``find_class`` knows four names (``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the float/long storage types), each
mapped to a harmless stand-in of ours; any other name is refused before it is
looked up. Nothing from torch is imported (it need not be installed).
"""

import collections
import io
import pickle
import struct

import numpy as np

__all__ = ["UnsafeWeightsError", "read_torch_state_dict"]

_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_PROTOCOL_VERSION = 1001


class UnsafeWeightsError(pickle.UnpicklingError):
    """A weights file asks to run or import something that weights never need."""


class _Storage:
    """Stand-in for a torch storage type: only remembers the dtype."""

    def __init__(self, dtype):
        self.dtype = dtype


class _StorageRef:
    """A reference from the state dict to one raw storage of the file."""

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class _TensorView:
    """``_rebuild_tensor_v2``'s arguments, resolved once the storages are read."""

    def __init__(self, storage, offset, size, stride, *_ignored):
        if not isinstance(storage, _StorageRef):
            raise pickle.UnpicklingError("A tensor in the weights file does not point to a storage.")
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)


_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}

_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _TensorView,
    **{("torch", name): _Storage(dtype) for name, dtype in _STORAGE_DTYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[module, name]
        except KeyError:
            raise UnsafeWeightsError(
                f"Refused to load {module}.{name} from a weights file: a state dict holds only tensors, "
                "so the file is not a plain weights file and may try to run code."
            ) from None

    def persistent_load(self, pid):
        # ('storage', storage type, key, location, numel[, view metadata])
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)):
            raise pickle.UnpicklingError(f"Unexpected persistent id in the weights file: {pid!r:.80}")
        return _StorageRef(str(pid[2]), pid[1].dtype, int(pid[4]))


def _load(stream):
    return _RestrictedUnpickler(stream).load()


def read_torch_state_dict(path):
    """Read a legacy-format PyTorch state dict as NumPy arrays, safely.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.pth`` file written by ``torch.save`` with
        ``_use_new_zipfile_serialization=False``.

    Returns
    -------
    state_dict : dict of str to ndarray
        Tensor names (in file order) to arrays of their shape.

    Raises
    ------
    UnsafeWeightsError
        If a pickle in the file names anything but the four types a state
        dict needs; nothing named in the file is imported or called.
    ValueError
        If the file is not a legacy PyTorch file or is truncated.

    Examples
    --------
    >>> from skbcnn._torch_weights import read_torch_state_dict
    >>> read_torch_state_dict(__file__)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... is not a legacy-format PyTorch weights file ...
    """
    with open(path, "rb") as file:
        data = file.read()
    stream = io.BytesIO(data)
    try:
        magic = _load(stream)
    except UnsafeWeightsError:
        raise
    except Exception:
        magic = None
    if magic != _MAGIC_NUMBER:
        raise ValueError(f"{path} is not a legacy-format PyTorch weights file (no torch magic number).")
    try:
        if _load(stream) != _PROTOCOL_VERSION:
            raise ValueError(f"{path}: unsupported PyTorch protocol version.")
        _load(stream)  # system info: byte order and type sizes, little-endian assumed
        state = _load(stream)
        keys = _load(stream)
    except (UnsafeWeightsError, ValueError):
        raise
    except Exception as error:
        raise ValueError(f"{path}: could not read the PyTorch state dict ({error}).") from error
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise ValueError(f"{path} does not hold a state dict (a mapping of names to tensors).")

    storages, offset = {}, stream.tell()
    for key in keys:
        if offset + 8 > len(data):
            raise ValueError(f"{path} is truncated: storage {key} is missing.")
        (count,) = struct.unpack_from("<q", data, offset)
        storages[str(key)] = (offset + 8, count)
        offset += 8
        # the element size is known from the tensors that point to the storage
        sizes = {v.storage.dtype.itemsize for v in state.values()
                 if isinstance(v, _TensorView) and v.storage.key == str(key)}
        offset += count * (sizes.pop() if sizes else 4)
        if offset > len(data):
            raise ValueError(f"{path} is truncated: storage {key} is incomplete.")

    arrays = {}
    for name, view in state.items():
        if not isinstance(view, _TensorView):
            continue  # e.g. metadata entries; weights are tensors
        if view.storage.key not in storages:
            raise ValueError(f"{path}: tensor {name} points to a storage the file does not hold.")
        start, count = storages[view.storage.key]
        last = view.offset + sum((n - 1) * s for n, s in zip(view.size, view.stride) if n > 0)
        if min(view.size, default=1) > 0 and (view.offset < 0 or min(view.stride, default=0) < 0 or last >= count):
            raise ValueError(f"{path}: tensor {name} reaches outside its storage.")
        flat = np.frombuffer(data, dtype=view.storage.dtype, count=count, offset=start)
        itemsize = flat.itemsize
        arrays[str(name)] = np.lib.stride_tricks.as_strided(
            flat[view.offset:], shape=view.size, strides=tuple(s * itemsize for s in view.stride), writeable=False
        ).copy()
    return arrays
