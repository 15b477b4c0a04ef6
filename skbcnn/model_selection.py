"""Reading a search's ``cv_results_`` as a table, without pandas.

The searches themselves are scikit-learn's own (``GridSearchCV``,
``RandomizedSearchCV``, ``HalvingGridSearchCV``, ...): the pipeline of
:func:`skbcnn.make_cnn_pipeline` is a regular classifier, so they work on it
unchanged. This module only turns their results into rows, a printable
table and a CSV file.
"""

import csv
from pathlib import Path

import numpy as np

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

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 1.0]}, cv=3).fit(X, y)
    >>> print(format_cv_results(search))  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    rank  C     mean_test_score  std_test_score  mean_fit_time
    1     1.0   0.973            0.009           ...s
    2     0.01  0.873            0.038           ...s
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


def write_cv_results_csv(search_or_results, path):
    """Write every candidate of a search to a CSV file, best first.

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
    >>> path.read_text().splitlines()[0]
    'C,mean_test_score,std_test_score,rank_test_score,mean_fit_time'
    """
    rows = cv_results_rows(search_or_results)
    path = Path(path)
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    return path
