"""Where the real data sets are found: ``$SKBCNN_DATA`` when set, else
``~/skbcnn_data``; read at each call, so a change of the variable takes effect
without a restart."""

import os
from pathlib import Path

DATA_ENV_VAR = "SKBCNN_DATA"


def get_data_home():
    """Return the folder that holds real data sets.

    ``$SKBCNN_DATA`` when set, else ``~/skbcnn_data`` (a per-user folder, as
    scikit-learn's ``~/scikit_learn_data``); never a path relative to the
    working directory. The folder need not exist.

    Returns
    -------
    path : pathlib.Path
        The data folder.

    Examples
    --------
    >>> from pathlib import Path
    >>> from skbcnn._config import get_data_home
    >>> isinstance(get_data_home(), Path)
    True
    """
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR]).expanduser()
    return Path.home() / "skbcnn_data"
