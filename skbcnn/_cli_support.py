"""Helpers of the command line that do not import TensorFlow.

This module owns what :mod:`skbcnn.cli` needs besides parsing and data:
the quiet TensorFlow start-up, ``--param`` values read and checked against
the pipeline, the progress lines of a grid search, and durations for status
lines. Kept apart so that they can be imported (and tested) without the
parser or TensorFlow.
"""

import json
import os
import re
import sys
import tempfile
import time

__all__ = [
    "import_tensorflow_quietly",
    "coerce_param",
    "check_pipeline_params",
    "SearchProgress",
    "format_duration",
]

# C++ start-up lines that TensorFlow writes straight to file descriptor 2,
# before its logging is initialised (so TF_CPP_MIN_LOG_LEVEL cannot hide them):
# absl's notice, INFO-level lines ("I0000 00:00:... port.cc:153] oneDNN custom
# operations are on ...") and the continuation of cpu_feature_guard's line.
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_INFO_LINE = re.compile(r"^I\d{4} \S+\s+\d+ \S+:\d+\] ")
_CONTINUATION = re.compile(r"^To enable the following instructions:")


def _is_start_up_noise(line):
    return line.strip() == _ABSL_NOTICE or bool(_INFO_LINE.match(line)) or bool(_CONTINUATION.match(line))


def import_tensorflow_quietly():
    """Import TensorFlow without its C++ start-up chatter on stderr.

    TensorFlow's import prints absl's "All log messages before
    absl::InitializeLog()" notice and INFO lines such as "oneDNN custom
    operations are on" directly on file descriptor 2, whatever
    ``TF_CPP_MIN_LOG_LEVEL`` says. During the import, descriptor 2 goes to a
    temporary file; afterwards every other line (warnings, errors) is
    written back to stderr. Numerics are unchanged: oneDNN stays on.

    Returns
    -------
    imported : bool
        False when TensorFlow was already imported, or is not installed
        (the command then reports the missing package itself).

    Examples
    --------
    >>> from skbcnn._cli_support import import_tensorflow_quietly
    >>> import_tensorflow_quietly() in (True, False)
    True
    """
    if "tensorflow" in sys.modules:
        return False
    # The command line owns its process, so it may quiet TensorFlow's C++
    # INFO lines (a library import must not touch the environment); a value
    # the user set wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (some embedded interpreters)
        saved = None
    captured = tempfile.TemporaryFile(mode="w+b")
    imported = False
    try:
        if saved is not None:
            os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401

            imported = True
        except ImportError:
            pass
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        text = captured.read().decode("utf-8", errors="replace")
        captured.close()
    kept = [line for line in text.splitlines() if line.strip() and not _is_start_up_noise(line)]
    if kept:
        print("\n".join(kept), file=sys.stderr, flush=True)
    return imported


# ------------------------------------------------------------- parameters
def _parse_item(text):
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def coerce_param(default, value):
    """A ``--param`` or grid value in the type of the parameter's default.

    Where the default is a tuple (``cnn__conv_filters``, ``cnn__dense_units``,
    ``enhance__percentiles``), ``"16,32"``, ``"(16, 32)"`` and the JSON list
    ``[16, 32]`` all become the tuple ``(16, 32)``; a single number stays a
    number (the estimators take it as a one-element sequence). Other values
    are returned unchanged.

    Parameters
    ----------
    default : object
        The parameter's value in ``make_cnn_pipeline()``.
    value : object
        The value given (after JSON decoding, or the text).

    Returns
    -------
    value : object

    Examples
    --------
    >>> from skbcnn._cli_support import coerce_param
    >>> coerce_param((16, 32, 64), "16,32"), coerce_param((16, 32, 64), [8, 16])
    ((16, 32), (8, 16))
    >>> coerce_param("clahe", "hist")
    'hist'
    """
    if not isinstance(default, (tuple, list)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "([" and text[-1:] in ")]":
            text = text[1:-1]
        if "," not in text:
            return _parse_item(text) if text else value
        return tuple(_parse_item(item) for item in text.split(",") if item.strip())
    if isinstance(value, list):
        return tuple(value)
    return value


def check_pipeline_params(pipeline, keys=None):
    """Run each step's own parameter checks (what ``fit`` would check first).

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Typically ``make_cnn_pipeline()`` with the parameters set.
    keys : iterable of str, optional
        Check only the steps these ``<step>__<name>`` keys belong to.

    Raises
    ------
    ValueError
        The first invalid value, with the step's own message.

    Examples
    --------
    >>> from skbcnn import make_cnn_pipeline
    >>> from skbcnn._cli_support import check_pipeline_params
    >>> check_pipeline_params(make_cnn_pipeline(cnn__conv_filters="16,32"))
    Traceback (most recent call last):
    ...
    ValueError: cnn: conv_filters must be a positive integer; got '1'.
    """
    steps = dict(pipeline.steps)
    names = list(steps) if keys is None else list(dict.fromkeys(k.split("__", 1)[0] for k in keys))
    for name in names:
        step = steps.get(name)
        check = getattr(step, "_validate_params", None)
        if check is None:
            continue
        try:
            check()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name}: {exc}") from None


# ------------------------------------------------------------------ search
def format_duration(seconds):
    """``"0.4 s"``, ``"33 s"``, ``"4 min 05 s"``, ``"1 h 02 min"``.

    Examples
    --------
    >>> from skbcnn._cli_support import format_duration
    >>> format_duration(0.42), format_duration(33.2), format_duration(245), format_duration(3720)
    ('0.4 s', '33 s', '4 min 05 s', '1 h 02 min')
    """
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _short(value):
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(_short(v) for v in value) + ")"
    return str(value)


class SearchProgress:
    """A multi-metric scorer that also prints one status line per fitted fold.

    ``GridSearchCV(scoring=SearchProgress(...))`` scores each fold with the
    scikit-learn scorers named in ``scoring`` (the results are those of
    ``scoring=list``) and writes ``fit 3/8  candidate 2/4 (...)  fold 1/2:
    accuracy 0.625 ...  [time left]`` to stderr. The count assumes the fits
    run one after the other in this process (``n_jobs=1``); in worker
    processes each line still names its candidate and scores.

    Parameters
    ----------
    scoring : list of str
        scikit-learn scorer names.
    n_candidates, n_splits : int
        Size of the search.
    keys : list of str
        The grid's parameter names, shown for each candidate.
    n_images : int
        Images of the final refit (for the closing line).
    sequential : bool, default=True
        Whether the fits run one after the other in this process; if not,
        the lines leave out the counts and the time left.

    Attributes
    ----------
    start : float or None
        ``time.perf_counter()`` when the search started (set it before
        ``fit``; else the first scoring starts the clock).
    """

    def __init__(self, scoring, n_candidates, n_splits, keys, n_images=None, sequential=True):
        self.scoring = list(scoring)
        self.n_candidates = n_candidates
        self.n_splits = n_splits
        self.keys = list(keys)
        self.n_images = n_images
        self.sequential = sequential
        self.done = 0
        self.start = None

    def __call__(self, estimator, X, y):
        from sklearn.metrics import check_scoring

        scores = check_scoring(estimator, scoring=self.scoring)(estimator, X, y)
        if self.start is None:  # normally set when the search starts
            self.start = time.perf_counter()
        self.done += 1
        total = self.n_candidates * self.n_splits
        params = estimator.get_params()
        described = ", ".join(f"{k.split('__', 1)[-1]}={_short(params.get(k))}" for k in self.keys)
        index = self.done - 1
        values = "  ".join(f"{name} {value:.3f}" for name, value in scores.items())
        if not self.sequential:
            print(f"fold done{f' ({described})' if described else ''}: {values}", file=sys.stderr, flush=True)
            return scores
        line = (f"fit {self.done}/{total}  candidate {index // self.n_splits + 1}/{self.n_candidates}"
                f"{f' ({described})' if described else ''}  fold {index % self.n_splits + 1}/{self.n_splits}: "
                + values)
        elapsed = time.perf_counter() - self.start
        if self.done < total:
            line += f"  [about {format_duration(elapsed / self.done * (total - self.done + 1))} left]"
        print(line, file=sys.stderr, flush=True)
        if self.done == total:
            images = "all" if self.n_images is None else f"all {self.n_images}"
            print(f"Refitting the best candidate on {images} images...", file=sys.stderr, flush=True)
        return scores
