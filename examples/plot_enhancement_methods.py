"""
Comparing contrast enhancement and denoising methods
====================================================

Ultrasound images are low in contrast and full of speckle. This example
applies every method of :class:`~skbcnn.enhancement.ContrastEnhancer` and of
:class:`~skbcnn.enhancement.Denoiser` to the same image and shows them side by
side with :func:`skbcnn.plots.plot_enhancement`, then the preprocessing of the
default pipeline stage by stage.
"""

# %%
# One image
# ---------
# A malignant BUSI image when the data set is available (``$SKBCNN_DATA``),
# otherwise a synthetic one.
import os

import matplotlib.pyplot as plt

from skbcnn import make_cnn_pipeline, plots
from skbcnn._config import get_data_home
from skbcnn.datasets import load_busi, make_synthetic_ultrasound
from skbcnn.enhancement import ContrastEnhancer, Denoiser

QUICK = os.environ.get("SKBCNN_QUICK") == "1"
size = 96 if QUICK else 160

busi = get_data_home() / "busi256"
if busi.is_dir():
    data = load_busi(busi, classes=("malignant",), image_size=size)
    print(f"data: BUSI ({busi}), {len(data.images)} malignant images of {size} px")
else:
    data = make_synthetic_ultrasound(8, image_size=size, classes=("malignant",), random_state=0)
    print(f"data: synthetic ultrasound (no BUSI under {busi}), {size} px")
image = data.images[0]

# %%
# Contrast enhancement
# --------------------
# Each transformer is applied to the original image. CLAHE equalises the
# histogram tile by tile; ``"hist"`` does it globally; ``"stretch"`` maps the
# 2nd and 98th percentiles to black and white; gamma < 1 brightens dark
# tissue.
contrast = {
    "CLAHE": ContrastEnhancer("clahe"),
    "CLAHE, clip 0.03": ContrastEnhancer("clahe", clip_limit=0.03),
    "histogram eq.": ContrastEnhancer("hist"),
    "stretch 2-98 %": ContrastEnhancer("stretch"),
    "gamma 0.6": ContrastEnhancer("gamma", gamma=0.6),
}
fig = plots.plot_enhancement(image, contrast)
plt.show()

# %%
# Denoising
# ---------
# Speckle filters, applied to the original image. ``nl_means`` is the
# slowest (about 20 ms per image of this size); ``median`` is the default of
# the pipeline.
denoisers = {
    "median 3x3": Denoiser("median"),
    "median 5x5": Denoiser("median", size=5),
    "gaussian": Denoiser("gaussian"),
    "bilateral": Denoiser("bilateral"),
    "total variation": Denoiser("tv"),
    "non-local means": Denoiser("nl_means"),
    "wavelet": Denoiser("wavelet"),
}
fig = plots.plot_enhancement(image, denoisers)
plt.show()

# %%
# The default pipeline, stage by stage
# ------------------------------------
# Given a :class:`~sklearn.pipeline.Pipeline`, ``plot_enhancement`` applies
# the steps one after the other: CLAHE, then the median filter, then the
# per-image z-score (shown rescaled for display), as in the ``"from_scratch"``
# recipe (the pretrained recipe leaves the first two out).
pipe = make_cnn_pipeline("from_scratch")
fig = plots.plot_enhancement(image, pipe[:3])
plt.show()
