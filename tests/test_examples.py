"""The gallery examples: found, and each says which data set it used.

The examples themselves run once in CI, in the documentation build
(``.ci/run``: ``SKBCNN_QUICK=1 sphinx-build -W``, with
``abort_on_example_error``), where a failing example stops the build; they
are not run a second time here. To run one locally:
``SKBCNN_QUICK=1 MPLBACKEND=Agg python examples/<name>.py``.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_examples_found():
    assert len(EXAMPLES) >= 7, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_says_which_data_it_uses(script):
    # every example prints a "data: ..." line, so its output says which data set it used
    assert 'print(f"data: ' in script.read_text(encoding="utf-8"), script.name
