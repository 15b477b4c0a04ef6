"""Shared fixtures. Fitted models are session-scoped: TensorFlow is slow to
import and to train, so each tiny model is trained once per test run."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# The real data of a development checkout (and of CI) sit beside the
# repository; the library itself only reads $SKBCNN_DATA or ~/skbcnn_data.
_SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if _SHARED_DATA.is_dir():
    os.environ.setdefault("SKBCNN_DATA", str(_SHARED_DATA))

# Tiny, fast CNN settings for tests (a few seconds per fit on 2 CPU cores):
# skbcnn's own network, not the default pretrained backbone.
TINY_CNN = dict(
    recipe="from_scratch",
    cnn__conv_filters=(4, 8),
    cnn__convs_per_block=1,
    cnn__dense_units=(8,),
    cnn__epochs=2,
    cnn__batch_size=16,
    cnn__random_state=0,
    augment__random_state=0,
)


@pytest.fixture(scope="session")
def synthetic_small():
    """90 synthetic ultrasound images of 32 px, labels as strings."""
    from skbcnn.datasets import make_synthetic_ultrasound

    data = make_synthetic_ultrasound(90, image_size=32, random_state=0)
    return data.images, data.target_names[data.target]


@pytest.fixture(scope="session")
def fitted_pipeline(synthetic_small):
    """The default pipeline, tiny CNN, fitted once: ``(pipeline, X)``."""
    from skbcnn import make_cnn_pipeline

    X, y = synthetic_small
    pipeline = make_cnn_pipeline(**TINY_CNN).fit(X, y)
    return pipeline, X
