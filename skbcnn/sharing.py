"""Deprecated alias of :mod:`skbcnn.persistence`, which owns saving and sharing models.

``export_model``, ``import_model`` and ``ALLOWED_CLASSES`` moved to
:mod:`skbcnn.persistence`, beside ``save`` and ``load``, which use the same
pickle-free format. Reading them from here still works, with a
:class:`DeprecationWarning`; this module will be removed in a future
release.

Examples
--------
>>> import warnings
>>> import skbcnn.persistence
>>> from skbcnn import sharing
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     sharing.export_model is skbcnn.persistence.export_model
True
>>> caught[0].category.__name__
'DeprecationWarning'
"""

import warnings

__all__ = ["export_model", "import_model", "ALLOWED_CLASSES"]

# Names that changed on the move: the export's format and version live beside
# those of the .skbcnn file now.
_RENAMED = {"FORMAT": "EXPORT_FORMAT", "FORMAT_VERSION": "EXPORT_FORMAT_VERSION"}


def __getattr__(name):
    from . import persistence

    moved = _RENAMED.get(name, name)
    if name.startswith("__") or not hasattr(persistence, moved):
        raise AttributeError(f"module 'skbcnn.sharing' has no attribute {name!r}")
    warnings.warn(
        f"skbcnn.sharing is deprecated: use skbcnn.persistence.{moved} instead of "
        f"skbcnn.sharing.{name}.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(persistence, moved)
