"""skbcnn.evaluation: the metrics, with scikit-learn's definitions, and the report text.

The bootstrap intervals are tested in tests/test_bootstrap.py.
"""

import numpy as np
import pytest


def test_evaluate_uses_scikit_learn_definitions():
    import warnings

    from sklearn.metrics import brier_score_loss, classification_report

    from skbcnn.evaluation import evaluate, format_report

    class Fixed:
        def __init__(self, classes, proba):
            self.classes_, self.proba = np.asarray(classes), np.asarray(proba)

        def predict_proba(self, X):
            return self.proba

    rng = np.random.default_rng(0)
    proba = rng.dirichlet([1, 1, 1], 40)
    y = np.array(["benign", "malignant", "normal"])[rng.integers(0, 3, 40)]
    report = evaluate(Fixed(["benign", "malignant", "normal"], proba), None, y)
    assert report["brier_score"] == pytest.approx(brier_score_loss(y, proba, labels=["benign", "malignant", "normal"]))
    expected = classification_report(y, np.array(["benign", "malignant", "normal"])[proba.argmax(1)],
                                      output_dict=True, zero_division=0)
    assert report["per_class"]["normal"]["f1"] == pytest.approx(expected["normal"]["f1-score"])
    assert report["macro_avg"]["recall"] == pytest.approx(expected["macro avg"]["recall"])
    text = format_report(report)
    assert "(multiclass: squared errors summed over classes, 0 to 2)" in text and "macro avg" in text
    # binary: the usual Brier score of the positive (second) class
    yb = np.where(rng.uniform(size=40) < proba[:, 1], "malignant", "benign")
    pb = np.c_[1 - proba[:, 1], proba[:, 1]]
    report = evaluate(Fixed(["benign", "malignant"], pb), None, yb)
    assert report["brier_score"] == pytest.approx(np.mean((pb[:, 1] - (yb == "malignant")) ** 2))
    # one class predicted for every image: a warning, recorded in the report
    with pytest.warns(UserWarning, match="predicted 'benign' for all 40 images"):
        report = evaluate(Fixed(["benign", "malignant"], np.tile([0.9, 0.1], (40, 1))), None, yb)
    assert report["warnings"] and report["predicted_classes"] == {"benign": 40}
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="the model predicted")  # one-class test set: fine
        evaluate(Fixed(["benign", "malignant"], np.tile([0.9, 0.1], (3, 1))), None, ["benign"] * 3)
