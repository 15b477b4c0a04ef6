"""scikit-learn's common estimator checks for CNNClassifier.

The classifier declares image input (``three_d_array``), and scikit-learn
runs no check on such estimators. A test-only subclass reads each row of a
2-D table as a small grey image (the row, repeated to 2 x 2f pixels so that
one pooling layer fits), which lets the tabular checks exercise the real
classifier: validation, encoders, fit/predict, cloning, pickling, tags.
The expected failures below are the checks whose premise does not hold for
an image classifier, each with its reason (also listed on the Reliability
page of the docs).
"""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbcnn.classifier import CNNClassifier

# every test here builds or trains networks (backbones, estimator checks): -m "not slow" skips them
pytestmark = pytest.mark.slow


class TabularCNN(CNNClassifier):
    """CNNClassifier on 2-D tables: row ``x`` becomes the image ``[[x x], [x x]]``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = False
        return tags

    @staticmethod
    def _as_images(X):
        if hasattr(X, "tocsr"):
            return X  # sparse: to be refused by the real validation
        table = np.asarray(X)
        if table.ndim == 2 and table.dtype.kind in "biuf":
            return np.tile(table[:, None, :], (1, 2, 2))
        return X  # anything else goes to the real validation, to be refused there

    def fit(self, X, y, sample_weight=None, **kwargs):
        return super().fit(self._as_images(X), y, sample_weight=sample_weight, **kwargs)

    def predict_proba(self, X, **kwargs):
        return super().predict_proba(self._as_images(X), **kwargs)

    def predict(self, X, **kwargs):
        return super().predict(self._as_images(X), **kwargs)

    def score(self, X, y, sample_weight=None):
        return super().score(self._as_images(X), y, sample_weight=sample_weight)


_IMAGE_MESSAGES = "errors are worded for images (skbcnn._validation), not with scikit-learn's tabular sentences"
EXPECTED_FAILED_CHECKS = {
    "check_classifiers_train": "a one-epoch, two-filter network does not reach the check's accuracy threshold",
    "check_class_weight_classifiers": "a one-epoch, two-filter network does not reach the check's accuracy threshold",
    "check_sample_weight_equivalence_on_dense_data": (
        "stochastic mini-batch training: weighting an image by 2 is not the same fit as repeating it"
    ),
    "check_estimators_empty_data_messages": _IMAGE_MESSAGES,
    "check_fit2d_predict1d": _IMAGE_MESSAGES,
    "check_n_features_in": "n_features_in_ counts the pixels of the (adapted) image, not the table's columns",
    "check_n_features_in_after_fitting": _IMAGE_MESSAGES,
    "check_fit2d_1sample": "one image cannot be split into training and validation data",
    "check_dtype_object": "object arrays are refused, not converted to numbers",
    "check_supervised_y_2d": "(n, 1) targets are raveled without a DataConversionWarning",
    "check_do_not_raise_errors_in_init_or_set_params": "unknown keywords are a TypeError in __init__ on purpose (typos)",
    "check_estimator_tags_renamed": "only the test adapter subclass trips it",
    "check_mixin_order": "only the test adapter subclass trips it (scikeras' base order)",
}


@parametrize_with_checks(
    [TabularCNN(conv_filters=(2,), convs_per_block=1, kernel_size=1, dense_units=(), epochs=1,
                validation_split=0, early_stopping=False, random_state=0)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
