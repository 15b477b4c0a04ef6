"""Reading a search's ``cv_results_`` as a table and a CSV file, without pandas.

The searches themselves are scikit-learn's own (``GridSearchCV``,
``RandomizedSearchCV``, ``HalvingGridSearchCV``, ...): the pipeline of
:func:`skbcnn.make_cnn_pipeline` is a regular classifier, so they work on it
unchanged. This module only turns their results into rows, a printable
table and a CSV file.
"""

import csv
import json
from pathlib import Path

import numpy as np

from ._json import jsonable

__all__ = ["cv_results_rows", "format_cv_results", "write_cv_results_csv"]


def _results_of(search_or_results):
    return getattr(search_or_results, "cv_results_", search_or_results)


def _ranking_metric(search_or_results):
    """The metric that orders the rows: the search's ``refit`` metric, else the first."""
    results = _results_of(search_or_results)
    refit = getattr(search_or_results, "refit", None)
    if isinstance(refit, str) and f"rank_test_{refit}" in results:
        return refit
    return next((key[len("rank_test_"):] for key in results if key.startswith("rank_test_")), None)


def _plain(value):
    """numpy scalars and masked entries as plain Python values."""
    if value is np.ma.masked:
        return None
    return value.item() if isinstance(value, np.generic) else value


def cv_results_rows(search_or_results):
    """One dict per candidate, best first.

    Parameters
    ----------
    search_or_results : fitted search or dict
        A fitted scikit-learn search, or its ``cv_results_``.

    Returns
    -------
    rows : list of dict
        Each with the candidate's parameters (``param_…`` keys without the
        prefix), ``mean_test_<metric>``, ``std_test_<metric>``,
        ``rank_test_<metric>`` for every metric, ``mean_fit_time`` and, for
        successive halving, ``iter`` and ``n_resources``. Sorted by the rank of
        the search's ``refit`` metric, else of the first metric (ties keep
        the search's order).

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 1.0]}, cv=3).fit(X, y)
    >>> [row["C"] for row in cv_results_rows(search)]
    [1.0, 0.01]
    """
    results = _results_of(search_or_results)
    n = len(results["params"])
    metrics = [key[len("rank_test_"):] for key in results if key.startswith("rank_test_")]
    columns = [k for k in results if k.startswith("param_")]
    columns += [f"{stat}_test_{m}" for m in metrics for stat in ("mean", "std", "rank")]
    columns += [k for k in ("mean_fit_time", "iter", "n_resources") if k in results]
    rows = [
        {key.removeprefix("param_"): _plain(results[key][i]) for key in columns}
        for i in range(n)
    ]
    metric = _ranking_metric(search_or_results)
    if metric is not None:
        rows.sort(key=lambda row: row[f"rank_test_{metric}"])
    return rows


def format_cv_results(search_or_results, *, top=10, digits=3):
    """The best candidates of a search as a fixed-width text table.

    Parameters
    ----------
    search_or_results : fitted search or dict
        A fitted scikit-learn search, or its ``cv_results_``.
    top : int, default=10
        Number of rows shown.
    digits : int, default=3
        Decimals of the scores.

    Returns
    -------
    table : str
        A header line, then one line per candidate, best first: its rank,
        parameters, mean and spread of each score, and mean fit time.

    Examples
    --------
    A search's ``cv_results_`` (here written by hand) gives the same table
    as the search itself:

    >>> results = {
    ...     "params": [{"C": 0.01}, {"C": 1.0}], "param_C": [0.01, 1.0],
    ...     "mean_test_score": [0.873, 0.973], "std_test_score": [0.038, 0.009],
    ...     "rank_test_score": [2, 1], "mean_fit_time": [1.52, 2.31],
    ... }
    >>> print(format_cv_results(results))  # doctest: +NORMALIZE_WHITESPACE
    rank  C     mean_test_score  std_test_score  mean_fit_time
    1     1.0   0.973            0.009           2.3s
    2     0.01  0.873            0.038           1.5s
    """
    rows = cv_results_rows(search_or_results)[:top]
    if not rows:
        return "(no candidates)"
    params = [k for k in rows[0] if not k.startswith(("mean_", "std_", "rank_")) and k not in ("iter", "n_resources")]
    scores = [k for k in rows[0] if k.startswith(("mean_test_", "std_test_"))]
    extra = [k for k in ("iter", "n_resources", "mean_fit_time") if k in rows[0]]
    rank = f"rank_test_{_ranking_metric(search_or_results)}"
    header = ["rank", *params, *scores, *extra]

    def cell(key, row):
        value = row[rank] if key == "rank" else row[key]
        if isinstance(value, float) and key != "mean_fit_time" and key not in params:
            return f"{value:.{digits}f}"
        if key == "mean_fit_time":
            return f"{value:.1f}s"
        return str(value)

    table = [header] + [[cell(k, row) for k in header] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table)


def _csv_cell(value):
    """A ``cv_results_`` entry as a CSV cell: numbers and text as they are,
    sequences and dicts as JSON, masked (parameter not in this grid) empty."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, (tuple, list, dict)):
        return json.dumps(jsonable(value), sort_keys=isinstance(value, dict))
    return value


def write_cv_results_csv(search_or_results, path):
    """Write a search's whole ``cv_results_`` to a CSV file, best first.

    One row per candidate and one column per ``cv_results_`` key, named as
    there (as ``pandas.DataFrame(search.cv_results_)`` would):
    ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
    ``std_score_time``, ``param_<name>`` (empty where a candidate's grid
    lacks the parameter; tuples as JSON lists), ``params`` (the candidate's
    parameters as one JSON object), every ``split<k>_test_<metric>`` (and
    ``split<k>_train_<metric>`` with ``return_train_score=True``),
    ``mean_test_<metric>``, ``std_test_<metric>``, ``rank_test_<metric>``.
    Rows are sorted by the rank of the ``refit`` metric (else the first).

    Parameters
    ----------
    search_or_results : fitted search or dict
        A fitted scikit-learn search, or its ``cv_results_``.
    path : str or path-like
        The CSV file to write.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 1.0]}, cv=3).fit(X, y)
    >>> path = write_cv_results_csv(search, os.path.join(tempfile.mkdtemp(), "cv.csv"))
    >>> print(path.read_text().splitlines()[0].replace(",", " "))  # doctest: +NORMALIZE_WHITESPACE
    mean_fit_time std_fit_time mean_score_time std_score_time param_C params
    split0_test_score split1_test_score split2_test_score mean_test_score std_test_score rank_test_score
    >>> path.read_text().splitlines()[1].split(",")[4:6]
    ['1.0', '"{""C"": 1.0}"']
    """
    results = _results_of(search_or_results)
    columns = list(results)
    n = len(results["params"]) if "params" in results else 0
    order = list(range(n))
    metric = _ranking_metric(search_or_results)
    if metric is not None:
        ranks = results[f"rank_test_{metric}"]
        order.sort(key=lambda i: ranks[i])
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for i in order:
            writer.writerow([_csv_cell(results[key][i]) for key in columns])
    return path
