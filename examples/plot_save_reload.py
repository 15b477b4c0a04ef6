"""
Saving a model and reloading it elsewhere
=========================================

Two ways to keep a fitted pipeline:

* :func:`skbcnn.save` / :func:`skbcnn.load`: one file with a header (library
  versions), a JSON description and the Keras network under one SHA-256
  checksum; no pickle, so it is safe to open a file from someone else.
* :func:`skbcnn.persistence.export_model` / :func:`skbcnn.persistence.import_model`:
  the same description and network as a folder of two files.

Both are reloaded here in a *fresh Python process*, as a deployment would,
and give the same predictions as the model that was trained.
"""

# %%
# Train a small model
# -------------------
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

import skbcnn
from skbcnn import make_cnn_pipeline
from skbcnn._config import get_data_home
from skbcnn.datasets import load_busi, make_synthetic_ultrasound
from skbcnn.persistence import read_header
from skbcnn.persistence import export_model

QUICK = os.environ.get("SKBCNN_QUICK") == "1"
size = 32 if QUICK else 48

busi = get_data_home() / "busi256"
if busi.is_dir():
    data = load_busi(busi, classes=("benign", "malignant"), image_size=size)
    source = f"BUSI benign vs malignant ({busi})"
else:
    data = make_synthetic_ultrasound(300, image_size=size, classes=("benign", "malignant"),
                                     random_state=0)
    source = "synthetic ultrasound, benign vs malignant (BUSI not found)"
X, y = data.images, data.target_names[data.target]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=100 if QUICK else 0.75, test_size=40 if QUICK else 0.25,
    stratify=y, random_state=0)
print(f"data: {source}: {len(X_train)} training and {len(X_test)} test images of {size} px")

pipe = make_cnn_pipeline("from_scratch", cnn__epochs=2 if QUICK else 15, cnn__conv_filters=(8, 16),
                         cnn__dense_units=(16,), cnn__random_state=0, augment__random_state=0)
pipe.fit(X_train, y_train)
proba = pipe.predict_proba(X_test)

# %%
# Save both ways
# --------------
# ``skbcnn.save`` writes the file atomically; its header can be read (and
# its checksum verified) without unpickling anything.
folder = Path(tempfile.mkdtemp(prefix="skbcnn-models-"))
model_file = skbcnn.save(pipe, folder / "busi.skbcnn")
header, members = read_header(model_file)
print(f"{model_file.name}: {model_file.stat().st_size / 1024:.0f} KiB, {header['estimator']},",
      f"{header['content']} content {sorted(members)}, versions {header['versions']}")

export_dir = export_model(pipe, folder / "busi-export")
for file in sorted(export_dir.iterdir()):
    print(f"{export_dir.name}/{file.name}: {file.stat().st_size / 1024:.0f} KiB")
steps = json.loads((export_dir / "skbcnn.json").read_text())["steps"]
print("exported steps:", [(step["name"], step["class"].rsplit(".", 1)[1]) for step in steps])

# %%
# Reload in a fresh process
# -------------------------
# A new interpreter loads both, predicts the same test images and writes the
# probabilities back.
np.save(folder / "X_test.npy", X_test)
script = """
import sys
from pathlib import Path
import numpy as np
import skbcnn
from skbcnn.persistence import import_model

folder = Path(sys.argv[1])
X = np.load(folder / "X_test.npy")
np.save(folder / "proba_load.npy", skbcnn.load(folder / "busi.skbcnn").predict_proba(X))
np.save(folder / "proba_import.npy", import_model(folder / "busi-export").predict_proba(X))
"""
subprocess.run([sys.executable, "-c", script, str(folder)], check=True)
proba_load = np.load(folder / "proba_load.npy")
proba_import = np.load(folder / "proba_import.npy")

for name, other in [("skbcnn.load", proba_load), ("import_model", proba_import)]:
    print(f"{name:13s} identical probabilities: {np.array_equal(proba, other)}, "
          f"largest difference {np.abs(proba - other).max():.1e}")
assert np.allclose(proba, proba_load, atol=1e-6) and np.allclose(proba, proba_import, atol=1e-6)

# %%
# Every test image's predicted probability of malignancy, before and after
# the round trip, lies on the diagonal.
column = list(pipe.classes_).index("malignant")
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.plot([0, 1], [0, 1], color="grey", lw=1)
ax.scatter(proba[:, column], proba_load[:, column], s=40, label="skbcnn.save / load")
ax.scatter(proba[:, column], proba_import[:, column], s=12, marker="x",
           label="export_model / import_model")
ax.set_xlabel("P(malignant), trained model")
ax.set_ylabel("P(malignant), reloaded in a new process")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()

shutil.rmtree(folder)  # the model files were temporary
