"""
Previewing data augmentation
============================

:class:`~skbcnn.augmentation.ImageAugmenter` draws random rotations, flips,
zooms, shifts and brightness/contrast changes for every training batch of
every epoch. Before training, look at what it does to an image: too strong
and the lesion leaves the frame or its shape cues disappear.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from skbcnn import plots
from skbcnn._config import get_data_home
from skbcnn.augmentation import ImageAugmenter
from skbcnn.datasets import load_busi, make_synthetic_ultrasound

QUICK = os.environ.get("SKBCNN_QUICK") == "1"
size = 96 if QUICK else 128

busi = get_data_home() / "busi256"
if busi.is_dir():
    data = load_busi(busi, classes=("benign",), image_size=size)
    print(f"data: BUSI ({busi}), {len(data.images)} benign images of {size} px")
else:
    data = make_synthetic_ultrasound(8, image_size=size, classes=("benign",), random_state=0)
    print(f"data: synthetic ultrasound (no BUSI under {busi}), {size} px")
image = data.images[0]

# %%
# The defaults of the pipeline
# ----------------------------
# Rotation up to 15 degrees, horizontal flips, zoom of +-10 % and shifts of up
# to 5 % of the image. No vertical flips: depth has a direction in
# ultrasound. BUSI images carry burned-in annotations ("LEFT BREAST"), which
# the flips mirror: the network should not learn from them either way.
fig = plots.plot_augmentation(ImageAugmenter(), image, n=8, random_state=0, ncols=5)
plt.show()

# %%
# Stronger settings
# -----------------
# Larger rotations and zooms plus brightness and contrast changes (relative
# to each image's own intensity range).
strong = ImageAugmenter(rotation=30, zoom=0.25, shift=0.1, brightness=0.15, contrast=0.3)
fig = plots.plot_augmentation(strong, image, n=8, random_state=0, ncols=5)
plt.show()

# %%
# Training only
# -------------
# ``transform`` (what ``predict`` sees) returns the images unchanged, as
# float32; only ``fit_transform`` (what ``fit`` sees) augments.
X = data.images[:4]
augmenter = ImageAugmenter(random_state=0).fit(X)
print("transform is the identity:", np.allclose(augmenter.transform(X), X / 255))
print("fit_transform augments:   ", not np.allclose(augmenter.fit_transform(X), X / 255))
