"""The package version, kept in one place (read by the packaging metadata and
``skbcnn --version``)."""

__version__ = "0.1.0"
