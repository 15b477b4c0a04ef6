"""Plain JSON for what skbcnn writes for people to read: reports, provenance,
search tables and ``skbcnn info``. One converter, so a value reads the same
everywhere.

Model files do not use it: :mod:`skbcnn.persistence` encodes values without
loss (tuples and arrays tagged) because it reads them back, and refuses what
it cannot encode instead of writing its ``repr``.
"""

import math

import numpy as np

__all__ = ["jsonable"]


def jsonable(value):
    """``value`` as plain Python that :func:`json.dumps` writes as strict JSON.

    NumPy scalars and arrays become numbers and lists, tuples become lists,
    dict keys become strings, NaN and infinities become ``None`` (JSON has
    no NaN), functions and classes their dotted name, and any other object
    its ``repr`` (so a cell still says which estimator a candidate had).

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn._json import jsonable
    >>> jsonable({"a": (np.int64(1), np.nan), 2: np.array([0.5])})
    {'a': [1, None], '2': [0.5]}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if callable(value) and hasattr(value, "__name__"):
        return getattr(value, "__module__", "") + "." + value.__name__
    return repr(value)
