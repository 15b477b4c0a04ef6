"""skbcnn.report: the report folder (metrics, predictions, figures, page) and its provenance."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from test_plots import assert_png_not_blank  # noqa: E402


def test_write_report_without_a_cnn(tmp_path):
    # any classifier with predict_proba: no history or Grad-CAM figure
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from skbcnn.datasets import make_synthetic_ultrasound
    from skbcnn.report import write_report

    data = make_synthetic_ultrasound(45, image_size=16, random_state=0)
    flat = FunctionTransformer(lambda images: images.reshape(len(images), -1) / 255)
    model = make_pipeline(flat, LogisticRegression(max_iter=200)).fit(
        data.images, data.target_names[data.target]
    )
    paths = write_report(model, data.images, data.target, tmp_path / "r", class_names=data.target_names)
    assert set(paths) == {"metrics_json", "metrics_csv", "predictions_csv", "confusion_matrix", "roc_curves",
                          "reliability", "samples", "html"}
    for key in ("confusion_matrix", "roc_curves", "reliability", "samples"):
        assert_png_not_blank(paths[key])
    import json

    metrics = json.loads(paths["metrics_json"].read_text())
    assert metrics["n_samples"] == 45 and metrics["classes"] == ["benign", "malignant", "normal"]
    page = paths["html"].read_text()
    assert 'alt="samples.png"' in page and "grad_cam.png" not in page
    # predictions.csv without file names: the image's index, and no group column
    import csv

    rows = list(csv.reader(open(paths["predictions_csv"], encoding="utf-8")))
    assert rows[0] == ["file", "true_class", "predicted_class", "proba_benign", "proba_malignant", "proba_normal"]
    assert [r[0] for r in rows[1:4]] == ["0", "1", "2"] and len(rows) == 46
    assert rows[1][1] == data.target_names[data.target[0]]
    # one image: undefined metrics become JSON null, not NaN
    paths = write_report(model, data.images[:1], data.target[:1], tmp_path / "one",
                         class_names=data.target_names)
    assert json.loads(paths["metrics_json"].read_text())["roc_auc"] is None


def test_provenance_records_versions_and_plain_json_parameters():
    import json

    from sklearn.linear_model import LogisticRegression

    from skbcnn.report import build_provenance

    info = build_provenance(LogisticRegression(C=np.float64(0.5), class_weight={1: np.inf}))
    assert list(info["versions"])[:2] == ["python", "skbcnn"]
    assert info["model_parameters"]["C"] == 0.5 and info["model_parameters"]["class_weight"] == {"1": None}
    json.dumps(info, allow_nan=False)  # strict JSON: numpy values and NaN/inf converted
