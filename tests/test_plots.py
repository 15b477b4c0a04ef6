"""Figures: each function draws, returns its Axes/Figure and saves a non-blank PNG."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from skbcnn import plots  # noqa: E402

HISTORY = {"loss": [1.0, 0.7, 0.5], "val_loss": [1.1, 0.9, 0.8],
           "accuracy": [0.4, 0.6, 0.7], "val_accuracy": [0.3, 0.5, 0.6]}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def assert_png_not_blank(path):
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=float)
    assert pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert pixels.std() > 0


def test_plot_history_from_dict_and_estimator(fitted_pipeline, tmp_path):
    fig = plots.plot_history(HISTORY)
    assert [a.get_title() for a in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].get_lines()) == 2  # training and validation
    assert_png_not_blank(plots.save_figure(fig, tmp_path / "sub" / "history.png"))
    pipeline, _ = fitted_pipeline
    fig = plots.plot_history(pipeline)
    n_epochs = len(pipeline[-1].history_["loss"])
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == n_epochs
    assert plots.plot_history(pipeline[-1]).axes


def test_plot_history_errors_and_given_axes():
    import matplotlib.pyplot as plt

    with pytest.raises(ValueError, match="none of the metrics"):
        plots.plot_history({"auc": [0.5]})
    with pytest.raises(ValueError, match="history_"):
        plots.plot_history(object())
    fig, axes = plt.subplots(1, 2)
    assert plots.plot_history(HISTORY, ax=axes) is fig


def test_plot_confusion_matrix_report_and_pair(tmp_path):
    report = {"classes": ["benign", "malignant"], "confusion_matrix": [[5, 1], [2, 4]]}
    ax = plots.plot_confusion_matrix(report)
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["1", "2", "4", "5"]
    assert_png_not_blank(plots.save_figure(ax, tmp_path / "cm.png"))
    ax = plots.plot_confusion_matrix(report, normalize="true")
    assert "0.83" in [t.get_text() for t in ax.texts]
    ax = plots.plot_confusion_matrix((["a", "b", "c"], ["a", "c", "c"]), labels=["c", "b", "a"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "b", "a"]
    with pytest.raises(ValueError, match="normalize"):
        plots.plot_confusion_matrix(report, normalize="rows")
    with pytest.raises(ValueError, match="report"):
        plots.plot_confusion_matrix(42)


def test_roc_and_reliability_from_estimator(fitted_pipeline, tmp_path):
    pipeline, X = fitted_pipeline
    y = pipeline.predict(X)
    y[:3] = pipeline.classes_[[0, 1, 2]]  # every class present
    ax = plots.plot_roc_curves(pipeline, X, y)
    assert len(ax.get_lines()) == 4  # three classes and chance
    assert_png_not_blank(plots.save_figure(ax, tmp_path / "roc.png"))
    ax = plots.plot_reliability(pipeline, X, y, n_bins=5)
    assert len(ax.get_lines()) == 4  # diagonal and three classes
    assert_png_not_blank(plots.save_figure(ax, tmp_path / "rel.png"))
    ax = plots.plot_reliability(pipeline, X, y, positive_class="malignant")
    assert [line.get_label() for line in ax.get_lines()][-1] == "malignant"


def test_roc_and_reliability_binary_and_errors():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=50)
    y = np.where(p + rng.normal(0, 0.3, 50) > 0.5, "malignant", "benign")
    proba = np.c_[1 - p, p]
    ax = plots.plot_roc_curves(None, None, y, proba=proba, classes=["benign", "malignant"])
    assert len(ax.get_lines()) == 2  # one curve (positive class) and chance
    ax = plots.plot_reliability(None, None, y, proba=proba, classes=["benign", "malignant"])
    assert len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="positive_class"):
        plots.plot_reliability(None, None, y, proba=proba, classes=["benign", "malignant"],
                               positive_class="normal")
    with pytest.raises(ValueError, match="proba"):
        plots.plot_roc_curves(None, None, y, proba=proba[:, :1], classes=["benign", "malignant"])
    with pytest.raises(ValueError, match="estimator"):
        plots.plot_roc_curves(None, None, y)


def test_plot_samples(tmp_path):
    from skbcnn.datasets import make_synthetic_ultrasound

    data = make_synthetic_ultrasound(12, image_size=24, random_state=0)
    pred = data.target.copy()
    pred[0] = (pred[0] + 1) % 3
    fig = plots.plot_samples(data.images, data.target, pred, class_names=data.target_names, n=6, ncols=3)
    titles = [a.title for a in fig.axes]
    assert len(titles) == 6
    assert titles[0].get_text().startswith(str(data.target_names[data.target[0]]))
    assert titles[0].get_color() == "red" and titles[1].get_color() == "black"
    assert_png_not_blank(plots.save_figure(fig, tmp_path / "samples.png"))
    fig = plots.plot_samples(np.random.default_rng(0).uniform(size=(5, 8, 8, 3)), n=20, random_state=0)
    assert len(fig.axes) == 5


def test_plot_enhancement_dict_list_and_pipeline(synthetic_small, tmp_path):
    from sklearn.pipeline import make_pipeline

    from skbcnn.enhancement import ContrastEnhancer, Denoiser

    image = synthetic_small[0][0]
    fig = plots.plot_enhancement(image, {"CLAHE": ContrastEnhancer(), "median": Denoiser()})
    assert [a.get_title() for a in fig.axes] == ["original", "CLAHE", "median"]
    assert_png_not_blank(plots.save_figure(fig, tmp_path / "enh.png"))
    fig = plots.plot_enhancement(image, [ContrastEnhancer()])
    assert [a.get_title() for a in fig.axes] == ["original", "ContrastEnhancer"]
    fig = plots.plot_enhancement(image, make_pipeline(ContrastEnhancer(), Denoiser()))
    assert [a.get_title() for a in fig.axes] == ["original", "contrastenhancer", "denoiser"]
    with pytest.raises(ValueError, match="one image"):
        plots.plot_enhancement(image[None], [ContrastEnhancer()])


def test_plot_augmentation(synthetic_small, tmp_path):
    from skbcnn.augmentation import ImageAugmenter

    image = synthetic_small[0][0]
    fig = plots.plot_augmentation(ImageAugmenter(rotation=20), image, n=5)
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "original"
    assert_png_not_blank(plots.save_figure(fig, tmp_path / "aug.png"))
    with pytest.raises(ValueError, match="preview"):
        plots.plot_augmentation(object(), image)


def test_plot_grad_cam(fitted_pipeline, tmp_path):
    from skbcnn.datasets import make_synthetic_ultrasound
    from skbcnn.explain import grad_cam

    pipeline, X = fitted_pipeline
    masks = make_synthetic_ultrasound(90, image_size=32, random_state=0).masks
    heat = grad_cam(pipeline, X[:6])
    fig = plots.plot_grad_cam(X[:6], heat, y_true=pipeline.predict(X[:6]), masks=masks[:6], ncols=3)
    assert len(fig.axes) == 7  # six panels and the colour bar
    assert fig.axes[-1].get_ylabel() == "Grad-CAM (relative)"
    assert fig.axes[-1].get_ylim() == (0.0, 1.0)
    assert_png_not_blank(plots.save_figure(fig, tmp_path / "cam.png", close=True))
    fig = plots.plot_grad_cam(X[:2], heat[:2], colorbar=False)
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="heatmaps"):
        plots.plot_grad_cam(X[:6], heat[:, :8])


def test_grid_functions_accept_axes():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2)
    images = np.zeros((3, 8, 8), np.uint8)
    assert plots.plot_samples(images, ax=axes) is fig
    assert not axes[1, 1].axison  # unused panel hidden
    with pytest.raises(ValueError, match="at least"):
        plots.plot_samples(np.zeros((5, 8, 8)), ax=axes)
    fig, ax = plt.subplots()
    assert plots.plot_confusion_matrix(([0, 1], [0, 1]), ax=ax) is ax


@pytest.mark.filterwarnings("ignore:A single label was found")
def _rows_do_not_touch(fig, ncols):
    """Every title clears the panel above it (and stays inside the figure)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    for k, axis in enumerate(panels):
        title = axis.title.get_window_extent(renderer)
        assert title.y1 <= fig.bbox.y1, "title cut off at the top"
        if k >= ncols:
            above = panels[k - ncols].get_window_extent(renderer)
            assert title.y1 + 2 <= above.y0, f"title of panel {k} touches the panel above"
        # no title runs into its neighbours' titles
        if k % ncols and panels[k - 1].get_title():
            assert panels[k - 1].title.get_window_extent(renderer).x1 <= title.x0 + 1


def test_grids_leave_room_for_two_line_titles(tmp_path):
    # the sample and Grad-CAM grids titled "true -> predicted" on two lines, two rows
    from skbcnn.datasets import make_synthetic_ultrasound

    data = make_synthetic_ultrasound(16, image_size=64, random_state=0)
    names = data.target_names[data.target]
    predicted = names.copy()
    predicted[[1, 9]] = "malignant"
    fig = plots.plot_samples(data.images, names, predicted, n=16)
    _rows_do_not_touch(fig, 8)
    assert_png_not_blank(plots.save_figure(fig, tmp_path / "samples.png"))
    heat = np.random.default_rng(0).uniform(size=(16, 64, 64))
    fig = plots.plot_grad_cam(data.images, heat, y_true=names, y_pred=predicted, masks=data.masks)
    _rows_do_not_touch(fig, 8)
    bar = fig.axes[-1]
    assert bar.get_label() == "<colorbar>" and bar.get_ylabel() == "Grad-CAM (relative)"
    # the colour bar sits to the right of every panel
    fig.canvas.draw()
    assert all(a.get_position().x1 <= bar.get_position().x0 for a in fig.axes[:-1])
    assert_png_not_blank(plots.save_figure(fig, tmp_path / "grad_cam.png"))


def test_plot_history_ticks_whole_epochs(tmp_path):
    fig = plots.plot_history(HISTORY)  # 3 epochs: matplotlib alone would tick 1.0, 1.5, 2.0, ...
    fig.canvas.draw()
    for axis in fig.axes:
        ticks = [t for t in axis.get_xticks() if axis.get_xlim()[0] <= t <= axis.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert_png_not_blank(plots.save_figure(fig, tmp_path / "history.png"))


def test_reliability_is_scikit_learns_calibration_display():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(1)
    p = rng.uniform(size=300)
    y = np.where(rng.uniform(size=300) < p, "malignant", "benign")
    ax = plots.plot_reliability(None, None, y, proba=np.c_[1 - p, p], classes=["benign", "malignant"],
                                n_bins=5)
    observed, predicted = calibration_curve(y == "malignant", p, n_bins=5)
    line = ax.get_lines()[-1]
    np.testing.assert_allclose(line.get_xdata(), predicted)
    np.testing.assert_allclose(line.get_ydata(), observed)
    assert ax.get_xlabel() == "mean predicted probability"
