"""Confidence intervals, the benign-vs-malignant AUC and class checks of ``skbcnn.evaluation``."""

import numpy as np
import pytest
from sklearn import metrics

from skbcnn._bootstrap import metric_values, weighted_auc
from skbcnn.evaluation import evaluate, format_report

CLASSES = np.array(["benign", "malignant", "normal"])


class Fixed:
    """A fitted classifier with given probabilities."""

    def __init__(self, classes, proba):
        self.classes_, self.proba = np.asarray(classes), np.asarray(proba, dtype=float)

    def predict_proba(self, X):
        return self.proba


def random_task(n=60, seed=0, k=3):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(k), n)
    # probabilities rounded to 0.1: many ties for the AUC
    proba = np.round(proba, 1)
    proba /= proba.sum(axis=1, keepdims=True)
    truth = rng.integers(0, k, n)
    truth[:k] = np.arange(k)  # every class present
    return proba, truth


def test_weighted_auc_equals_scikit_learn_with_sample_weight():
    proba, truth = random_task(80)
    rng = np.random.default_rng(1)
    weights = rng.multinomial(80, np.full(80, 1 / 80), size=5).astype(float)
    weights[0, truth == 1] = 0  # no positive drawn: undefined
    got = weighted_auc(weights, truth == 1, proba[:, 1])
    assert np.isnan(got[0])
    for w, value in zip(weights[1:], got[1:]):
        assert value == pytest.approx(metrics.roc_auc_score(truth == 1, proba[:, 1], sample_weight=w))


def test_resampled_metrics_equal_scikit_learn_on_the_resampled_images():
    # a resample is a count per image: the metrics equal scikit-learn's on the images drawn
    proba, truth = random_task(70, seed=2)
    rng = np.random.default_rng(3)
    drawn = rng.integers(0, 70, 70)
    drawn = np.r_[drawn, 0, 1, 2]  # every class drawn
    weights = np.bincount(drawn, minlength=70)[None, :].astype(float)
    pred = proba.argmax(axis=1)
    values = metric_values(weights, truth, pred, proba, positive_index=1, benign_malignant=(0, 1))
    y, p, yp = CLASSES[truth[drawn]], proba[drawn], CLASSES[pred[drawn]]
    assert values["accuracy"][0] == pytest.approx(metrics.accuracy_score(y, yp))
    assert values["balanced_accuracy"][0] == pytest.approx(metrics.balanced_accuracy_score(y, yp))
    assert values["roc_auc"][0] == pytest.approx(metrics.roc_auc_score(y, p, multi_class="ovr", labels=CLASSES))
    assert values["log_loss"][0] == pytest.approx(metrics.log_loss(y, p, labels=CLASSES))
    assert values["brier_score"][0] == pytest.approx(metrics.brier_score_loss(y, p, labels=CLASSES))
    assert values["sensitivity"][0] == pytest.approx(metrics.recall_score(y == "malignant", yp == "malignant"))
    table = metrics.classification_report(y, yp, labels=CLASSES, output_dict=True, zero_division=0)
    for j, name in enumerate(CLASSES):
        assert values["per_class"]["f1"][0, j] == pytest.approx(table[name]["f1-score"])
        assert values["per_class"]["precision"][0, j] == pytest.approx(table[name]["precision"])
    assert values["macro_avg"]["recall"][0] == pytest.approx(table["macro avg"]["recall"])
    assert values["weighted_avg"]["f1"][0] == pytest.approx(table["weighted avg"]["f1-score"])
    keep = np.isin(y, ["benign", "malignant"])
    share = p[keep, 1] / (p[keep, 0] + p[keep, 1])
    assert values["benign_malignant_auc"][0] == pytest.approx(metrics.roc_auc_score(y[keep] == "malignant", share))


def test_every_metric_has_an_interval_around_it():
    proba, truth = random_task(90, seed=4)
    report = evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], n_resamples=300)
    assert report["bootstrap"] == {"unit": "image", "n_units": 90, "n_resamples": 300, "confidence_level": 0.95,
                                   "method": "percentile", "random_state": 0}
    ci = report["intervals"]
    for key in ("accuracy", "balanced_accuracy", "roc_auc", "benign_malignant_auc", "log_loss", "brier_score",
                "sensitivity", "specificity"):
        low, high = ci[key]
        assert low < high and low - 0.05 <= report[key] <= high + 0.05, key
    for metric in ("precision", "recall", "f1"):
        assert set(ci["per_class"][metric]) == set(CLASSES)
        assert set(ci["macro_avg"]) == set(ci["weighted_avg"]) == {"precision", "recall", "f1"}
    # a fixed seed: the same intervals again; another seed: others
    again = evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], n_resamples=300)
    assert again["intervals"] == ci
    other = evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], n_resamples=300, random_state=1)
    assert other["intervals"]["accuracy"] != ci["accuracy"]
    # narrower at a lower confidence level; none with n_resamples=0
    narrow = evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], n_resamples=300, confidence_level=0.5)
    assert np.diff(narrow["intervals"]["accuracy"]) < np.diff(ci["accuracy"])
    assert "intervals" not in evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], n_resamples=0)
    text = format_report(report)
    assert "[low, high]: 95 % intervals, percentile bootstrap of 300 resamples over 90 images (seed 0)" in text
    assert f"accuracy           {report['accuracy']:.3f}  [{ci['accuracy'][0]:.3f}, {ci['accuracy'][1]:.3f}]" in text


def test_group_bootstrap_of_identical_copies_equals_the_image_bootstrap_of_one_per_group():
    # known answer: when every group holds 3 identical copies of one image, drawing whole
    # groups is drawing that image with weight 3, and every metric is unchanged by a common weight
    proba, truth = random_task(40, seed=5)
    y = CLASSES[truth]
    one_each = evaluate(Fixed(CLASSES, proba), None, y, n_resamples=400)
    copies = np.repeat(np.arange(40), 3)
    grouped = evaluate(Fixed(CLASSES, proba[copies]), None, y[copies], groups=copies, n_resamples=400)
    assert grouped["bootstrap"]["unit"] == "group" and grouped["bootstrap"]["n_units"] == 40
    np.testing.assert_allclose(_flat(grouped["intervals"]), _flat(one_each["intervals"]), equal_nan=True)
    assert grouped["accuracy"] == pytest.approx(one_each["accuracy"])
    # treating the copies as independent images understates the uncertainty
    naive = evaluate(Fixed(CLASSES, proba[copies]), None, y[copies], n_resamples=400)
    assert np.diff(naive["intervals"]["accuracy"]) < np.diff(grouped["intervals"]["accuracy"])


def _flat(intervals):
    if isinstance(intervals, dict):
        return [v for key in sorted(intervals) for v in _flat(intervals[key])]
    return list(intervals)


def test_a_perfect_model_has_point_intervals():
    truth = np.arange(30) % 3
    proba = np.eye(3)[truth] * 0.8 + 0.2 / 3
    report = evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], groups=np.arange(30) // 2, n_resamples=200)
    for key in ("accuracy", "balanced_accuracy", "roc_auc", "benign_malignant_auc", "sensitivity", "specificity"):
        assert report["intervals"][key] == [1.0, 1.0], key
    assert report["intervals"]["log_loss"] == pytest.approx([report["log_loss"]] * 2)


def test_benign_malignant_auc_leaves_the_normal_images_out():
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 3, 120)
    proba = rng.dirichlet([1, 1, 1], 120)
    proba[truth == 2] = [0.01, 0.01, 0.98]  # normal: trivially separated
    report = evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], n_resamples=0)
    keep = truth < 2
    expected = metrics.roc_auc_score(truth[keep] == 1, proba[keep, 1] / proba[keep, :2].sum(axis=1))
    assert report["benign_malignant_auc"] == pytest.approx(expected)
    assert report["roc_auc"] > report["benign_malignant_auc"] + 0.1  # normal lifts the macro AUC
    assert "benign-malignant   " in format_report(report)
    # two classes, or no benign/malignant pair: no such entry
    binary = evaluate(Fixed(CLASSES[:2], proba[keep][:, :2] / proba[keep][:, :2].sum(1, keepdims=True)), None,
                      CLASSES[truth[keep]], n_resamples=0)
    assert "benign_malignant_auc" not in binary
    other = evaluate(Fixed(["a", "b", "c"], proba), None, np.array(["a", "b", "c"])[truth], n_resamples=0)
    assert "benign_malignant_auc" not in other


@pytest.mark.parametrize("kwargs, message", [
    ({"positive_class": "cancer"},
     "positive_class 'cancer' is not a class of the model; pass one of: benign, malignant, normal."),
    ({"n_resamples": -1}, "n_resamples must be a non-negative integer"),
    ({"n_resamples": 1.5}, "n_resamples must be a non-negative integer"),
    ({"confidence_level": 95}, "confidence_level must be between 0 and 1"),
    ({"groups": [1, 2]}, "groups must give one group per image: 30 images, 2 groups."),
])
def test_bad_arguments_are_one_line_errors(kwargs, message):
    proba, truth = random_task(30)
    with pytest.raises(ValueError) as error:
        evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], **kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_positive_class_named_by_its_text():
    # the command line passes text: "1" names the int class 1
    proba, truth = random_task(30, k=2)
    report = evaluate(Fixed([0, 1], proba), None, truth, positive_class="0", n_resamples=0)
    assert report["positive_class"] == 0
    assert report["sensitivity"] == pytest.approx(np.mean(proba[truth == 0].argmax(1) == 0))


def test_intervals_do_not_depend_on_the_block_size(monkeypatch):
    # large test sets are resampled in smaller blocks (memory): same draws, same intervals
    import skbcnn._bootstrap

    proba, truth = random_task(50, seed=7)
    whole = evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], n_resamples=250)
    monkeypatch.setattr(skbcnn._bootstrap, "_BLOCK_CELLS", 50 * 7)  # blocks of 7 resamples
    blocks = evaluate(Fixed(CLASSES, proba), None, CLASSES[truth], n_resamples=250)
    np.testing.assert_allclose(_flat(blocks["intervals"]), _flat(whole["intervals"]), equal_nan=True)
