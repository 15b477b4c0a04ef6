"""
Benign vs malignant, or three classes?
======================================

BUSI has three classes: benign, malignant and normal (no lesion). The
clinical question is often binary, benign vs malignant, on images that show
a lesion. The same pipeline does both: with two classes the network ends in
one sigmoid unit, with three in a softmax, and ``predict_proba`` always has
one column per class. This example trains both and compares the
malignant-vs-rest ROC curves on the same held-out lesion images.
"""

# %%
# Data
# ----
import os

import matplotlib.pyplot as plt
from sklearn.metrics import RocCurveDisplay
from sklearn.model_selection import train_test_split

from skbcnn import make_cnn_pipeline
from skbcnn._config import get_data_home
from skbcnn.datasets import load_busi, make_synthetic_ultrasound
from skbcnn.evaluation import evaluate

QUICK = os.environ.get("SKBCNN_QUICK") == "1"
size = 32 if QUICK else 64

busi = get_data_home() / "busi256"
if busi.is_dir():
    data = load_busi(busi, image_size=size)
    source = f"BUSI ({busi})"
else:
    data = make_synthetic_ultrasound(600, image_size=size, random_state=0)
    source = "synthetic ultrasound (BUSI not found)"
X, y = data.images, data.target_names[data.target]
if QUICK:
    X, _, y, _ = train_test_split(X, y, train_size=150, stratify=y, random_state=0)
print(f"data: {source}: {len(X)} images of {size} px")

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0)
lesion_train, lesion_test = y_train != "normal", y_test != "normal"

# %%
# Two models
# ----------
# The binary model never sees normal images; the 3-class model sees all.
params = dict(cnn__class_weight="balanced", cnn__random_state=0, augment__random_state=0)
if QUICK:
    params.update(cnn__epochs=3, cnn__conv_filters=(8, 16), cnn__dense_units=(16,))
else:
    params.update(cnn__epochs=25, cnn__conv_filters=(16, 32, 64))
binary = make_cnn_pipeline("from_scratch", **params).fit(X_train[lesion_train], y_train[lesion_train])
multi = make_cnn_pipeline("from_scratch", **params).fit(X_train, y_train)
print("binary classes:", [str(c) for c in binary.classes_], "output units:", binary[-1].model_.output_shape[-1])
print("3-class classes:", [str(c) for c in multi.classes_], "output units:", multi[-1].model_.output_shape[-1])

# %%
# Scores
# ------
# Each model on its own task, then both on the question they share:
# is a lesion malignant? (held-out benign and malignant images; for the
# 3-class model, P(malignant) against the rest).
for name, model, Xe, ye in [
    ("binary, lesion images", binary, X_test[lesion_test], y_test[lesion_test]),
    ("3-class, all images", multi, X_test, y_test),
]:
    report = evaluate(model, Xe, ye)
    print(f"{name:22s} accuracy {report['accuracy']:.2f}  balanced {report['balanced_accuracy']:.2f}"
          f"  ROC AUC {report['roc_auc']:.2f}  malignant sensitivity {report['sensitivity']:.2f}"
          f"  specificity {report['specificity']:.2f}")

X_lesion, y_lesion = X_test[lesion_test], y_test[lesion_test]
fig, ax = plt.subplots(figsize=(5, 4.5))
for name, model in [("benign vs malignant", binary), ("3-class", multi)]:
    p_malignant = model.predict_proba(X_lesion)[:, list(model.classes_).index("malignant")]
    RocCurveDisplay.from_predictions(y_lesion, p_malignant, pos_label="malignant", name=name,
                                     ax=ax)
ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
ax.set_title(f"Malignant vs benign, {len(y_lesion)} held-out lesion images")
fig.tight_layout()
plt.show()
