"""Finding the final step of a fitted model: the one place that looks inside pipelines.

A fitted model reaches skbcnn's tools as a :class:`~skbcnn.CNNClassifier`
alone or as a pipeline that ends in one. Reports, Grad-CAM, plots, the
command line and the model files all need that final estimator (its
``model_``, ``history_``, ``image_shape_`` or ``verbose``), and Grad-CAM
also needs the preprocessing before it; they get both from here.

A pipeline here is anything with a non-empty ``steps`` list of
``(name, estimator)`` pairs, as :class:`sklearn.pipeline.Pipeline` and its
subclasses have (:func:`split_final_step` also slices it, as a
scikit-learn ``Pipeline`` can be). Nothing else is looked into: a search object (such as
``GridSearchCV``) is returned as it is, its ``best_estimator_`` is the
caller's business. This module imports neither TensorFlow nor scikit-learn.

Examples
--------
>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from skbcnn._steps import final_step, split_final_step
>>> pipeline = make_pipeline(StandardScaler(), LogisticRegression())
>>> final_step(pipeline)
LogisticRegression()
>>> split_final_step(pipeline)
(Pipeline(steps=[('standardscaler', StandardScaler())]), LogisticRegression())
>>> split_final_step(LogisticRegression(C=2.0))
(None, LogisticRegression(C=2.0))
"""

__all__ = ["final_step", "split_final_step"]


def final_step(estimator):
    """The last step of a pipeline, or ``estimator`` itself.

    Parameters
    ----------
    estimator : object
        A pipeline or any other estimator.

    Returns
    -------
    final : object
        ``estimator.steps[-1][1]`` for a pipeline, else ``estimator``.
    """
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def split_final_step(estimator):
    """``(preprocessing, final)``: what comes before the last step, and that step.

    Parameters
    ----------
    estimator : object
        A :class:`sklearn.pipeline.Pipeline` (its leading steps are returned
        as one pipeline, which shares their fitted state) or any other
        estimator. A pipeline of two steps or more must support slicing as
        a scikit-learn ``Pipeline`` (or a subclass) does.

    Returns
    -------
    preprocessing : Pipeline or None
        ``estimator[:-1]`` for a pipeline of two steps or more; None when
        nothing comes before the final step.
    final : object
        :func:`final_step` of ``estimator``.
    """
    steps = getattr(estimator, "steps", None)
    if not steps:
        return None, estimator
    return (estimator[:-1] if len(steps) > 1 else None), steps[-1][1]
