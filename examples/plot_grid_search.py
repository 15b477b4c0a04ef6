"""
Grid search over preprocessing and learning rate
=================================================

The pipeline of :func:`skbcnn.make_cnn_pipeline` is an ordinary
scikit-learn classifier, so :class:`~sklearn.model_selection.GridSearchCV`
tunes preprocessing and network together: here the contrast enhancement
method (``enhance__method``) and the learning rate
(``cnn__learning_rate``), scored by stratified cross-validation.

``memory=`` caches the fitted preprocessing steps (joblib): the CLAHE and
median filter of a fold are computed once and reused by every learning rate.
:func:`skbcnn.model_selection.format_cv_results` prints the results.
"""

# %%
# Data
# ----
import os
import shutil
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from joblib import Memory
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from skbcnn import make_cnn_pipeline
from skbcnn._config import get_data_home
from skbcnn.datasets import load_busi, make_synthetic_ultrasound
from skbcnn.model_selection import format_cv_results

QUICK = os.environ.get("SKBCNN_QUICK") == "1"
size = 32 if QUICK else 40
n_images = 90 if QUICK else 200

busi = get_data_home() / "busi256"
if busi.is_dir():
    data = load_busi(busi, image_size=size)
    source = f"BUSI ({busi})"
else:
    data = make_synthetic_ultrasound(n_images, image_size=size, random_state=0)
    source = "synthetic ultrasound (BUSI not found)"
X, y = data.images, data.target_names[data.target]
if len(X) > n_images:  # a stratified subset keeps the search short
    X, _, y, _ = train_test_split(X, y, train_size=n_images, stratify=y, random_state=0)
print(f"data: {source}: {len(X)} images of {size} px")

# %%
# The search
# ----------
# A small network and few epochs: a grid search trains one network per
# candidate and fold (here 4 candidates x 3 folds, plus the final refit;
# in quick mode 2 x 2).
cache = tempfile.mkdtemp(prefix="skbcnn-cache-")
pipe = make_cnn_pipeline(
    "from_scratch",  # skbcnn's own small network: quick to search
    memory=Memory(cache, verbose=0),
    cnn__conv_filters=(8, 16),
    cnn__dense_units=(16,),
    cnn__epochs=1 if QUICK else 6,
    cnn__class_weight="balanced",
    cnn__early_stopping=False,
    cnn__random_state=0,
    augment__random_state=0,
)
grid = {"enhance__method": ["clahe", "stretch"], "cnn__learning_rate": [1e-3, 3e-3]}
if QUICK:  # one learning rate: each fit costs a few seconds of TensorFlow set-up
    grid["cnn__learning_rate"] = [3e-3]
search = GridSearchCV(
    pipe,
    grid,
    cv=StratifiedKFold(2 if QUICK else 3, shuffle=True, random_state=0),
    scoring=["balanced_accuracy", "roc_auc_ovr"],
    refit="roc_auc_ovr",
)
start = time.perf_counter()
search.fit(X, y)
print(f"{len(search.cv_results_['params'])} candidates, "
      f"{search.n_splits_} folds: {time.perf_counter() - start:.0f} s")

# %%
# Results, best first (ranked by the ``refit`` metric, ROC AUC):
print(format_cv_results(search))
print("best:", search.best_params_)

# %%
# The cache
# ---------
# Every fit of the search (candidates x folds, plus the refit) runs the four
# preprocessing steps, but the cache holds one result per distinct
# (step, parameters, training fold): the learning rate does not change the
# preprocessing, so with two learning rates half of the step fits are read
# from the cache.
n_step_fits = 4 * (len(search.cv_results_["params"]) * search.n_splits_ + 1)
n_cached = sum(1 for _ in Path(cache).rglob("output.pkl"))
print(f"preprocessing step fits: {n_step_fits}, computed: {n_cached}, "
      f"from the cache: {n_step_fits - n_cached}")
shutil.rmtree(cache)

# %%
# Mean cross-validated ROC AUC of each candidate, with its standard deviation
# over the folds.
results = search.cv_results_
labels = [f"{p['enhance__method']}\nlr={p['cnn__learning_rate']:g}" for p in results["params"]]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(np.arange(len(labels)), results["mean_test_roc_auc_ovr"],
       yerr=results["std_test_roc_auc_ovr"], capsize=4, color="tab:blue")
ax.set_xticks(np.arange(len(labels)), labels)
ax.set_ylim(0.4, 1.0)
ax.axhline(0.5, color="grey", lw=1, ls="--")
ax.set_ylabel("ROC AUC (one-vs-rest, CV)")
ax.set_title("GridSearchCV over the pipeline")
fig.tight_layout()
plt.show()
