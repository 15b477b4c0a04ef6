"""Run every gallery example in quick mode, so the documentation never drifts.

Each script in ``examples/`` runs in its own process with ``SKBCNN_QUICK=1``
(small data, few epochs) and a headless matplotlib backend, exactly as the
Sphinx gallery runs them; a failing example fails here before it breaks the
documentation build.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_examples_found():
    assert len(EXAMPLES) >= 7, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script):
    env = dict(os.environ, SKBCNN_QUICK="1", MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, (
        f"{script.name} failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-5000:]}"
    )
    assert "data:" in result.stdout, "every example says which data set it used"
