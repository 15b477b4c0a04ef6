"""Bootstrap confidence intervals of :func:`skbcnn.evaluation.evaluate`'s metrics.

A resample is drawn as a count per unit (an image, or a whole group of
images when groups are known) from numpy's ``Generator``: an image drawn
``k`` times weighs ``k``. Every metric is then a function of those weights,
computed for all resamples at once (weighted confusion counts, weighted
means, a weighted Mann-Whitney AUC), which keeps 1000 resamples well under
a second; each equals the scikit-learn definition used for the point
estimate (``tests/test_bootstrap.py`` checks them against
``sample_weight=``). The interval is the percentile interval of the
resampled values; resamples in which a metric is undefined (no malignant
image drawn, say) are left out of that metric's interval.
"""

import warnings

import numpy as np

# weights held at once (resamples x images): bounds the memory of a block to tens of MB
_BLOCK_CELLS = 2_000_000


def resample_weights(n_units, n_resamples, random_state, n_images=None):
    """Yield blocks of bootstrap counts, shape ``(block, n_units)``, ``n_resamples`` rows in all."""
    rng = np.random.default_rng(random_state)
    uniform = np.full(n_units, 1.0 / n_units)
    block = max(1, min(200, _BLOCK_CELLS // (n_images or n_units)))
    for start in range(0, n_resamples, block):
        # drawing n_units units with replacement = multinomial counts (the blocks
        # continue one random stream: the block size does not change the draws)
        yield rng.multinomial(n_units, uniform, size=min(block, n_resamples - start)).astype(float)


def weighted_auc(weights, positive, score):
    """ROC AUC of ``score`` for the bool labels ``positive``, one per row of ``weights``.

    The Mann-Whitney form: the weighted share of (positive, negative) pairs
    ranked correctly, ties counting one half; it equals
    ``sklearn.metrics.roc_auc_score(positive, score, sample_weight=w)``. NaN
    for a row without positive or without negative weight.
    """
    order = np.argsort(score, kind="stable")
    s = np.asarray(score)[order]
    pos = np.asarray(positive, dtype=bool)[order]
    w = weights[:, order]
    w_pos, w_neg = w * pos, w * ~pos
    # tie blocks of equal scores: [first, end) in the sorted order
    new = np.r_[True, s[1:] != s[:-1]]
    first = np.flatnonzero(new)[np.cumsum(new) - 1]
    end = np.r_[np.flatnonzero(new)[1:], len(s)][np.cumsum(new) - 1]
    below = np.concatenate([np.zeros((len(w), 1)), np.cumsum(w_neg, axis=1)], axis=1)
    credit = below[:, first] + 0.5 * (below[:, end] - below[:, first])
    n_pos, n_neg = w_pos.sum(axis=1), w_neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (w_pos * credit).sum(axis=1) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def _ratio(numerator, denominator, undefined):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), undefined)


def metric_values(weights, truth, predicted, proba, *, positive_index, benign_malignant):
    """Every metric of ``evaluate`` for each row of ``weights`` (bootstrap counts per image).

    ``truth`` and ``predicted`` are class indices; the conventions are the
    point estimate's: per-class precision/recall/F1 are 0 when undefined
    (scikit-learn's ``zero_division=0``), balanced accuracy averages the
    recall of the classes present, sensitivity/specificity and AUCs are NaN
    when undefined.
    """
    n_classes = proba.shape[1]
    true_1hot = np.eye(n_classes, dtype=bool)[truth]
    pred_1hot = np.eye(n_classes, dtype=bool)[predicted]
    total = weights.sum(axis=1)
    support = weights @ true_1hot
    n_predicted = weights @ pred_1hot
    hits = weights @ (true_1hot & pred_1hot)
    precision = _ratio(hits, n_predicted, 0.0)
    recall = _ratio(hits, support, 0.0)
    f1 = _ratio(2 * hits, support + n_predicted, 0.0)
    present = support > 0
    share = support / total[:, None]
    values = {
        "accuracy": hits.sum(axis=1) / total,
        "balanced_accuracy": (recall * present).sum(axis=1) / present.sum(axis=1),
    }
    aucs = [weighted_auc(weights, true_1hot[:, c], proba[:, c]) for c in range(1, n_classes)]
    if n_classes == 2:
        values["roc_auc"] = aucs[0]
    else:  # macro one-vs-rest: undefined (NaN) unless every class was drawn
        values["roc_auc"] = np.mean([weighted_auc(weights, true_1hot[:, 0], proba[:, 0]), *aucs], axis=0)
    if benign_malignant is not None:
        b, m = benign_malignant
        keep = (truth == b) | (truth == m)
        values["benign_malignant_auc"] = weighted_auc(
            weights[:, keep], truth[keep] == m, malignant_share(proba[keep], b, m))
    # per-image losses, averaged with the weights (scikit-learn clips at the dtype's eps)
    eps = np.finfo(proba.dtype).eps
    loss = -np.log(np.clip(proba[np.arange(len(truth)), truth], eps, 1 - eps))
    values["log_loss"] = weights @ loss / total
    if n_classes == 2:
        squared = (proba[:, 1] - true_1hot[:, 1]) ** 2
    else:
        squared = ((proba - true_1hot) ** 2).sum(axis=1)
    values["brier_score"] = weights @ squared / total
    positive = true_1hot[:, positive_index]
    flagged = pred_1hot[:, positive_index]
    values["sensitivity"] = _ratio(weights @ (positive & flagged), weights @ positive, np.nan)
    values["specificity"] = _ratio(weights @ (~positive & ~flagged), weights @ ~positive, np.nan)
    per_class = {"precision": precision, "recall": recall, "f1": f1}
    values["per_class"] = per_class
    values["macro_avg"] = {k: v.mean(axis=1) for k, v in per_class.items()}
    values["weighted_avg"] = {k: (v * share).sum(axis=1) for k, v in per_class.items()}
    return values


def malignant_share(proba, benign, malignant):
    """p(malignant) / (p(benign) + p(malignant)): the score of the benign-vs-malignant AUC."""
    pair = proba[:, benign] + proba[:, malignant]
    return np.where(pair > 0, proba[:, malignant] / np.where(pair > 0, pair, 1), 0.5)


def _concat(blocks):
    if isinstance(blocks[0], dict):
        return {k: _concat([b[k] for b in blocks]) for k in blocks[0]}
    return np.concatenate(blocks, axis=0)


def _percentiles(values, confidence_level, class_names=None):
    if isinstance(values, dict):
        return {k: _percentiles(v, confidence_level, class_names) for k, v in values.items()}
    tail = 50 * (1 - confidence_level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all resamples undefined: NaN
        low, high = np.nanpercentile(values, [tail, 100 - tail], axis=0)
    if values.ndim == 2:  # per class: {name: [low, high]}
        return {name: [float(lo), float(hi)] for name, lo, hi in zip(class_names, low, high)}
    return [float(low), float(high)]


def bootstrap_intervals(truth, predicted, proba, *, class_names, positive_index, benign_malignant,
                        groups, n_resamples, confidence_level, random_state):
    """Percentile intervals of every metric, and how they were drawn.

    Returns ``(intervals, info)``: ``intervals`` mirrors the metric names
    (``[low, high]``; per class ``{metric: {class: [low, high]}}``), ``info``
    records ``unit`` ("image" or "group"), ``n_units``, ``n_resamples``,
    ``confidence_level``, ``method`` and ``random_state``.
    """
    if groups is None:
        unit_of_image = np.arange(len(truth))
    else:
        # whole groups are drawn: every image of a drawn group comes with it
        unit_of_image = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
    n_units = int(unit_of_image.max()) + 1
    blocks = [
        metric_values(counts[:, unit_of_image], truth, predicted, proba,
                      positive_index=positive_index, benign_malignant=benign_malignant)
        for counts in resample_weights(n_units, n_resamples, random_state, n_images=len(truth))
    ]
    intervals = _percentiles(_concat(blocks), confidence_level, class_names)
    info = {
        "unit": "image" if groups is None else "group",
        "n_units": n_units,
        "n_resamples": int(n_resamples),
        "confidence_level": float(confidence_level),
        "method": "percentile",
        "random_state": random_state,
    }
    return intervals, info
