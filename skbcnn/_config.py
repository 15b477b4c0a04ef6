"""Where the real data sets live: one setting, read at call time."""

import os
from pathlib import Path

DATA_ENV_VAR = "SKBCNN_DATA"


def get_data_home():
    """Return the folder that holds real data sets.

    The environment variable ``SKBCNN_DATA`` wins; otherwise ``../shared/data``
    relative to the current working directory (the layout of a development
    checkout), then relative to the source tree.
    """
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR]).expanduser()
    candidates = [
        Path.cwd() / ".." / "shared" / "data",
        Path(__file__).resolve().parents[2] / "shared" / "data",
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return candidates[0]
