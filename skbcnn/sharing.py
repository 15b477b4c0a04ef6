"""Deprecated alias of :mod:`skbcnn.persistence`, which owns saving and sharing models.

``export_model``, ``import_model`` and ``ALLOWED_CLASSES`` moved to
:mod:`skbcnn.persistence`, beside ``save`` and ``load``, which use the same
pickle-free format. The names this module had (also ``FORMAT``,
``FORMAT_VERSION`` and ``MAX_NETWORK_BYTES``, and the private helpers
``_export_members``, ``_sha256``, ``_decode`` and ``_check_keras_config``)
can still be read from here, with a :class:`FutureWarning`; nothing else
is forwarded, and this module will be removed in a future release.

Reading is all it forwards: a limit such as ``MAX_NETWORK_BYTES`` must be
set on :mod:`skbcnn.persistence`, setting it here changes nothing.

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
'FutureWarning'
"""

import warnings

__all__ = ["export_model", "import_model", "ALLOWED_CLASSES"]

# The names of the old module, by their names in skbcnn.persistence: the
# export's format and version live beside those of the .skbcnn file now.
_FORWARDED = {
    "export_model": "export_model",
    "import_model": "import_model",
    "ALLOWED_CLASSES": "ALLOWED_CLASSES",
    "FORMAT": "EXPORT_FORMAT",
    "FORMAT_VERSION": "EXPORT_FORMAT_VERSION",
    "MAX_NETWORK_BYTES": "MAX_NETWORK_BYTES",
    "_export_members": "_export_members",
    "_sha256": "sha256_of_file",
    "_decode": "_decode",
    "_check_keras_config": "_check_keras_config",
}


def __getattr__(name):
    if name not in _FORWARDED:
        raise AttributeError(f"module 'skbcnn.sharing' has no attribute {name!r}")
    from . import persistence

    moved = _FORWARDED[name]
    warnings.warn(
        f"skbcnn.sharing is deprecated: use skbcnn.persistence.{moved} instead of "
        f"skbcnn.sharing.{name}.",
        FutureWarning,
        stacklevel=2,
    )
    return getattr(persistence, moved)
