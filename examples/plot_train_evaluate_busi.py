"""
Training and evaluating a CNN on BUSI
=====================================

The whole method in one script: load the BUSI breast ultrasound images,
hold out a stratified test set, train the default pipeline of
:func:`skbcnn.make_cnn_pipeline` (its ``"pretrained"`` recipe: z-score,
augmentation, an ImageNet-pretrained EfficientNet-Lite0 fine-tuned) and
evaluate it with :func:`skbcnn.evaluation.evaluate`, a confusion matrix, ROC
curves and the training history.

BUSI holds near-duplicate images (the same lesion more than once): the test
set here is split by near-duplicate groups
(:func:`skbcnn.datasets.group_near_duplicates`), so that no copy of a test
image is trained on.

Without the BUSI images in ``$SKBCNN_DATA/busi256`` the example runs on the
built-in synthetic ultrasound set instead.
"""

# %%
# Data
# ----
import os
import time

import matplotlib.pyplot as plt
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from skbcnn import make_cnn_pipeline, plots
from skbcnn._config import get_data_home
from skbcnn.datasets import group_near_duplicates, load_busi, make_synthetic_ultrasound
from skbcnn.evaluation import evaluate, format_report
from skbcnn.pipeline import recipe_image_size

QUICK = os.environ.get("SKBCNN_QUICK") == "1"
# the loaders' default: the size the default recipe trains image files at (224 px)
size = 64 if QUICK else recipe_image_size()

busi = get_data_home() / "busi256"
if busi.is_dir():
    data = load_busi(busi, image_size=size)
    source = f"BUSI ({busi})"
else:
    data = make_synthetic_ultrasound(600, image_size=size, random_state=0)
    source = "synthetic ultrasound (BUSI not found)"
X, y = data.images, data.target_names[data.target]
if QUICK:  # a stratified subset
    X, _, y, _ = train_test_split(X, y, train_size=150, stratify=y, random_state=0)
print(f"data: {source}: {len(X)} images of {size} px,",
      {str(name): int((y == name).sum()) for name in data.target_names})

groups = group_near_duplicates(X)
train, test = next(StratifiedGroupKFold(4, shuffle=True, random_state=0).split(X, y, groups))
X_train, X_test, y_train, y_test = X[train], X[test], y[train], y[test]

# %%
# Training
# --------
# BUSI is imbalanced (more benign than malignant or normal images), so the
# classes are weighted (the default). A 10 % validation split, here taken by
# whole near-duplicate groups (``cnn__groups``), keeps the weights of the best
# epoch; the augmenter draws new transforms every epoch.
params = dict(cnn__random_state=0, augment__random_state=0)
if QUICK:
    params.update(cnn__epochs=2)
pipe = make_cnn_pipeline(**params)
start = time.perf_counter()
pipe.fit(X_train, y_train, cnn__groups=groups[train])
epochs = len(pipe[-1].history_["loss"])
print(f"recipe {pipe.recipe_}: trained {epochs} epochs in {time.perf_counter() - start:.0f} s, "
      f"kept the weights of epoch {pipe[-1].kept_epoch_}")

# %%
# Metrics on the held-out images
# ------------------------------
# Sensitivity and specificity are those of the malignant class.
report = evaluate(pipe, X_test, y_test)
print(format_report(report))

# %%
# Figures
# -------
# Rows of the confusion matrix are the true classes (normalised: each row
# sums to 1); ROC curves are one class against the rest.
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
plots.plot_confusion_matrix(report, normalize="true", ax=axes[0])
plots.plot_roc_curves(pipe, X_test, y_test, ax=axes[1])
fig.tight_layout()
plt.show()

# %%
# The training history: loss and accuracy per epoch on the training images
# and on the validation split. A widening gap means overfitting; early
# stopping restores the weights of the best validation loss.
fig = plots.plot_history(pipe)
plt.show()
