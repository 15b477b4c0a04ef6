"""
Grad-CAM: does the network look at the lesion?
==============================================

:func:`skbcnn.explain.grad_cam` shows where in each image the evidence for
a class lies. On the synthetic ultrasound set the true lesion masks are
known, so the maps can be checked: :func:`skbcnn.explain.localization_hit_rate`
counts the images whose map peaks inside the lesion (the "pointing game"),
compared with chance and with always pointing at the image centre.
"""

# %%
# Train on synthetic images with known lesions
# --------------------------------------------
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skbcnn import make_cnn_pipeline, plots
from skbcnn.datasets import make_synthetic_ultrasound
from skbcnn.explain import grad_cam, localization_hit_rate

QUICK = os.environ.get("SKBCNN_QUICK") == "1"
n_images, size = (150, 32) if QUICK else (600, 64)

data = make_synthetic_ultrasound(n_images, image_size=size, random_state=1)
labels = data.target_names[data.target]
X_train, X_test, y_train, y_test, m_train, m_test = train_test_split(
    data.images, labels, data.masks, test_size=0.25, stratify=labels, random_state=1)
print(f"data: synthetic ultrasound with lesion masks, {n_images} images of {size} px")

params = dict(cnn__random_state=1, augment__random_state=1)
if QUICK:
    params.update(cnn__epochs=3, cnn__conv_filters=(8, 16), cnn__dense_units=(16,))
pipe = make_cnn_pipeline("from_scratch", **params).fit(X_train, y_train)
y_pred = pipe.predict(X_test)
print(f"held-out accuracy: {np.mean(y_pred == y_test):.2f}")

# %%
# Heat maps
# ---------
# Each map explains the predicted class and is scaled to a peak of 1. White
# outlines are the true lesions (normal images have none); titles read
# *true -> predicted*, wrong predictions in red.
maps = grad_cam(pipe, X_test)
fig = plots.plot_grad_cam(X_test, maps, y_true=y_test, y_pred=y_pred, masks=m_test,
                          n=16, ncols=8)
plt.show()

# %%
# How often does the peak hit the lesion?
# ---------------------------------------
# Chance is the mean lesion area (a random pixel); lesions of this data set
# sit near the centre, so "always the centre pixel" is the fairer baseline.
has_lesion = m_test.any(axis=(1, 2))
chance = m_test[has_lesion].mean()
centre = np.zeros_like(maps)
centre[:, size // 2, size // 2] = 1
correct = y_pred == y_test
rates = {
    "Grad-CAM, predicted class": localization_hit_rate(maps, m_test),
    "Grad-CAM, correctly classified": (localization_hit_rate(maps[correct], m_test[correct])
                                       if (correct & has_lesion).any() else np.nan),
    "centre pixel": localization_hit_rate(centre, m_test),
    "chance (lesion area)": chance,
}
for name, rate in rates.items():
    print(f"{name:32s} {rate:.2f}")
print(f"({has_lesion.sum()} held-out images with a lesion)")

fig, ax = plt.subplots(figsize=(6, 2.8))
ax.barh(list(rates)[::-1], list(rates.values())[::-1],
        color=["grey", "grey", "tab:orange", "tab:orange"])
ax.set_xlim(0, 1)
ax.set_xlabel("fraction of lesion images whose map peaks inside the lesion")
fig.tight_layout()
plt.show()
