"""Opening files that may come from strangers: regular files only, never blocking.

One helper, :func:`open_regular_file`, used by everything that reads a file
named by a user or found in a folder (image files and masks, PyTorch
weights files): a named pipe would block the reader forever, a device
could be endless, a folder is not a file.
"""

import os
import stat

__all__ = ["NotARegularFileError", "open_regular_file"]


class NotARegularFileError(ValueError):
    """A path names a folder, named pipe, socket or device where a file was expected."""


def _kind(mode):
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def open_regular_file(path):
    """Open ``path`` for reading in binary mode if it is a regular file.

    The file is opened with ``O_NONBLOCK`` (opening a named pipe must not
    wait for a writer) and its type is checked on the open descriptor, so a
    file swapped for a pipe between a check and the open is still refused.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    file : io.BufferedReader
        The open file; close it (``with open_regular_file(path) as f``).

    Raises
    ------
    NotARegularFileError
        If ``path`` is a folder, named pipe, socket or device (the message
        names the path and what it is).
    OSError
        If it cannot be opened (``FileNotFoundError``, ``PermissionError``).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFileError(f"{path}: not a regular file ({_kind(mode)}); refusing to read it.")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
