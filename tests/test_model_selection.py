"""Model selection over the whole pipeline: multi-metric search, worker
processes, dask, caching, successive halving, group-aware CV, persistence.

One small search (2 candidates x 2 folds, tiny CNN) is run sequentially once
per session and compared with the loky and dask runs of the same search.
"""

import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import is_classifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    HalvingGridSearchCV,
    StratifiedGroupKFold,
    cross_validate,
)

from skbcnn import make_cnn_pipeline
from skbcnn.model_selection import cv_results_rows, format_cv_results, write_cv_results_csv

from conftest import TINY_CNN

GRID = {"cnn__learning_rate": [1e-3, 1e-2]}
SCORING = ["neg_log_loss", "accuracy", "balanced_accuracy", "roc_auc_ovr"]


def make_search(**kwargs):
    return GridSearchCV(
        make_cnn_pipeline(**TINY_CNN), GRID, scoring=SCORING, refit="neg_log_loss", cv=2, **kwargs
    )


@pytest.fixture(scope="module")
def sequential_search(synthetic_small):
    X, y = synthetic_small
    return make_search().fit(X, y)


def assert_same_search(search, reference):
    # Same seeds, same results, whichever process or thread runs the fit
    # (every random layer is seeded and batches are shuffled from our own
    # seed, never from Python's global ``random``).
    assert search.best_params_ == reference.best_params_
    for metric in SCORING:
        np.testing.assert_allclose(
            search.cv_results_[f"mean_test_{metric}"], reference.cv_results_[f"mean_test_{metric}"], atol=1e-5
        )


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_multimetric_search_over_pipeline(sequential_search, synthetic_small, tmp_path):
    X, y = synthetic_small
    search = sequential_search
    assert is_classifier(search.estimator) and is_classifier(search.best_estimator_)
    for metric in SCORING:
        assert np.isfinite(search.cv_results_[f"mean_test_{metric}"]).all()
    assert set(search.best_estimator_.predict(X[:5])) <= set(y)
    rows = cv_results_rows(search)
    assert [row["rank_test_neg_log_loss"] for row in rows] == [1, 2]
    assert rows[0]["cnn__learning_rate"] == search.best_params_["cnn__learning_rate"]
    table = format_cv_results(search)
    assert table.splitlines()[0].startswith("rank  cnn__learning_rate")
    import csv
    import json

    with open(write_cv_results_csv(search, tmp_path / "cv.csv"), newline="") as file:
        written = list(csv.DictReader(file))
    # the whole cv_results_: every key a column, best first, params as JSON
    assert list(written[0]) == list(search.cv_results_)
    assert {"param_cnn__learning_rate", "params", "split0_test_neg_log_loss", "mean_fit_time"} <= set(written[0])
    assert [int(row["rank_test_neg_log_loss"]) for row in written] == [1, 2]
    assert json.loads(written[0]["params"]) == search.best_params_


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_search_with_two_worker_processes(sequential_search, synthetic_small):
    X, y = synthetic_small
    assert_same_search(make_search(n_jobs=2).fit(X, y), sequential_search)


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_search_on_a_dask_cluster(sequential_search, synthetic_small):
    distributed = pytest.importorskip("distributed")
    X, y = synthetic_small
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            search = make_search(n_jobs=-1).fit(X, y)
    assert_same_search(search, sequential_search)


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_pipeline_memory_skips_repeated_preprocessing(synthetic_small, tmp_path, monkeypatch):
    from skbcnn.enhancement import ContrastEnhancer

    calls = []
    original = ContrastEnhancer.transform

    def counting_transform(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(ContrastEnhancer, "transform", counting_transform)
    X, y = synthetic_small
    pipeline = make_cnn_pipeline(memory=str(tmp_path), **TINY_CNN)
    pipeline.fit(X, y)
    first = len(calls)
    pipeline.set_params(cnn__learning_rate=0.01).fit(X, y)  # same preprocessing: cache hit
    assert len(calls) == first
    pipeline.set_params(enhance__method="hist").fit(X, y)  # new preprocessing: recomputed
    assert len(calls) == first + 1
    assert pipeline.predict(X[:3]).shape == (3,)


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_halving_search_with_epochs_as_resource(synthetic_small):
    X, y = synthetic_small
    search = HalvingGridSearchCV(
        make_cnn_pipeline(**TINY_CNN), GRID, resource="cnn__epochs", min_resources=1,
        max_resources=2, factor=2, cv=2, random_state=0,
    ).fit(X, y)
    assert search.n_resources_ == [1, 2]
    assert search.best_estimator_[-1].epochs == 2


def test_group_aware_cross_validation(synthetic_small):
    X, y = synthetic_small
    groups = np.arange(len(X)) // 3  # three images per "patient"
    result = cross_validate(
        make_cnn_pipeline(**TINY_CNN), X, y, groups=groups, cv=StratifiedGroupKFold(2),
        scoring="accuracy", return_indices=True,
    )
    for train, test in zip(result["indices"]["train"], result["indices"]["test"]):
        assert not set(groups[train]) & set(groups[test])


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_groups_through_metadata_routing(synthetic_small):
    X, y = synthetic_small
    groups = np.arange(len(X)) // 3
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_cnn_pipeline(**TINY_CNN), {"cnn__dropout": [0.3]}, cv=GroupKFold(2)
        ).fit(X, y, groups=groups)
    assert search.n_splits_ == 2


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_fitted_search_reloads_in_a_fresh_process(sequential_search, synthetic_small, tmp_path):
    X, _ = synthetic_small
    path = tmp_path / "search.joblib"
    joblib.dump(sequential_search, path)
    np.save(tmp_path / "X.npy", X)
    expected = sequential_search.predict_proba(X)
    code = textwrap.dedent(
        f"""
        import joblib, numpy as np
        search = joblib.load({str(path)!r})
        np.save({str(tmp_path / "p.npy")!r}, search.predict_proba(np.load({str(tmp_path / "X.npy")!r})))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, atol=1e-6)
