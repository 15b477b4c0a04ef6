"""skbcnn._steps: the final step of a pipeline and the preprocessing before it."""

import subprocess
import sys

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skbcnn._steps import final_step, split_final_step


def test_pipeline_splits_into_preprocessing_and_final_step():
    final = LogisticRegression()
    pipeline = make_pipeline(StandardScaler(), MinMaxScaler(), final)
    preprocessing, found = split_final_step(pipeline)
    assert found is final and final_step(pipeline) is final
    assert isinstance(preprocessing, Pipeline)
    assert [name for name, _ in preprocessing.steps] == ["standardscaler", "minmaxscaler"]
    assert preprocessing[0] is pipeline[0]  # the same fitted steps, not copies


def test_one_step_pipeline_has_no_preprocessing():
    final = LogisticRegression()
    assert split_final_step(Pipeline([("clf", final)])) == (None, final)


def test_other_estimators_are_their_own_final_step():
    # a search is not looked into: its best_estimator_ is the caller's business
    for estimator in (LogisticRegression(), GridSearchCV(make_pipeline(LogisticRegression()), {}), {"a": 1}):
        assert final_step(estimator) is estimator
        assert split_final_step(estimator) == (None, estimator)


def test_import_does_not_load_tensorflow():
    code = "import sys, skbcnn._steps; sys.exit(any(m in sys.modules for m in ('tensorflow', 'keras')))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
