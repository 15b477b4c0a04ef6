"""The ``skbcnn`` command line, run in-process through ``skbcnn.cli.main``."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from skbcnn.cli import build_parser, load_data, main, parse_param

TINY = ["--image-size", "32", "--epochs", "2", "--param", "cnn__conv_filters=[4, 8]",
        "--param", "cnn__dense_units=[8]", "--param", "cnn__batch_size=16"]
PNGS = ["confusion_matrix.png", "roc_curves.png", "reliability.png", "history.png",
        "samples.png", "grad_cam.png"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def assert_png_not_blank(path):
    from PIL import Image

    with Image.open(path) as image:
        assert np.asarray(image.convert("L"), dtype=float).std() > 0, path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """One tiny model trained through ``skbcnn train`` for the whole module."""
    path = tmp_path_factory.mktemp("model") / "model.skbcnn"
    code = main(["train", "synthetic", "--n-samples", "60", *TINY, "--out", str(path), "-q"])
    assert code == 0 and path.is_file()
    return path


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """A class-folder tree of synthetic images (50 px PNGs)."""
    from skbcnn.datasets import make_synthetic_ultrasound

    root = tmp_path_factory.mktemp("folder")
    data = make_synthetic_ultrasound(12, image_size=50, random_state=3)
    for i, (image, label) in enumerate(zip(data.images, data.target_names[data.target])):
        write_png(root / label / f"{i}.png", image)
    return root


def test_train_writes_a_loadable_pipeline(model_file, capsys):
    import skbcnn

    model = skbcnn.load(model_file)
    assert [name for name, _ in model.steps][-1] == "cnn"
    assert model[-1].conv_filters == [4, 8] and model[-1].epochs == 2
    assert model[-1].image_shape_ == (32, 32, 1)
    assert list(model.classes_) == ["benign", "malignant", "normal"]


def test_train_progress_on_stderr(tmp_path, capsys, image_folder):
    import skbcnn

    path = tmp_path / "new" / "m.skbcnn"
    code, out, err = run(capsys, "train", image_folder, *TINY, "--classes", "benign,malignant", "--out", path)
    assert code == 0, err
    assert out == ""
    assert "Loaded 8 images" in err and "Trained in" in err and "Model saved" in err
    # --verbose: Keras' epoch lines; the saved model predicts silently
    code, out, err = run(capsys, "train", image_folder, *TINY, "--classes", "benign,malignant",
                         "--out", path, "-v")
    assert code == 0, err
    assert "Epoch 1/2" in out + err
    assert skbcnn.load(path)[-1].verbose == 0
    image = next((image_folder / "benign").glob("*.png"))
    code, out, err = run(capsys, "predict", path, image, "--format", "json")
    assert code == 0 and json.loads(out)[0]["predicted"] in ("benign", "malignant")


def test_evaluate_writes_the_report(model_file, tmp_path, capsys):
    out_dir = tmp_path / "report"
    code, out, err = run(capsys, "evaluate", model_file, "synthetic", "--n-samples", "30", "--out", out_dir)
    assert code == 0, err
    assert "accuracy" in out and "confusion matrix" in out and "Grad-CAM hit rate" in out
    for name in PNGS:
        assert_png_not_blank(out_dir / name)
    page = (out_dir / "report.html").read_text(encoding="utf-8")
    for name in PNGS:
        assert f'alt="{name}"' in page and f'href="{name}"' in page
    assert page.count("data:image/png;base64,") == len(PNGS)
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert {"accuracy", "balanced_accuracy", "roc_auc", "log_loss", "brier_score", "sensitivity",
            "specificity", "per_class", "confusion_matrix", "classes", "grad_cam_hit_rate",
            "grad_cam_chance"} <= set(metrics)
    assert metrics["n_samples"] == 30
    rows = list(csv.DictReader(open(out_dir / "metrics.csv")))
    assert [r["class"] for r in rows] == ["benign", "malignant", "normal"]
    assert sum(int(r["support"]) for r in rows) == 30


def test_evaluate_on_a_class_folder_at_the_model_size(model_file, image_folder, capsys):
    # the folder holds 50 px images: they are loaded at the model's 32 px
    code, out, err = run(capsys, "evaluate", model_file, image_folder, "-q")
    assert code == 0, err
    assert "images             12" in out
    assert err == ""


@pytest.mark.parametrize("fmt", ["text", "csv", "json"])
def test_predict_formats(model_file, image_folder, capsys, fmt):
    files = sorted((image_folder / "benign").glob("*.png"))
    code, out, err = run(capsys, "predict", model_file, files[0], image_folder / "malignant", "--format", fmt)
    assert code == 0, err
    n = 1 + len(list((image_folder / "malignant").glob("*.png")))
    classes = {"benign", "malignant", "normal"}
    if fmt == "text":
        lines = out.strip().splitlines()
        assert len(lines) == n
        path, predicted, probs = lines[0].split("\t")
        assert path == str(files[0]) and predicted in classes
        values = dict(p.split("=") for p in probs.split())
        assert set(values) == classes and sum(map(float, values.values())) == pytest.approx(1, abs=0.01)
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert len(rows) == n
        assert set(rows[0]) == {"path", "predicted", "proba_benign", "proba_malignant", "proba_normal"}
    else:
        rows = json.loads(out)
        assert len(rows) == n and rows[0]["predicted"] in classes
        assert set(rows[0]["probabilities"]) == classes


def test_predict_reports_unreadable_files(model_file, image_folder, tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    good = next((image_folder / "normal").glob("*.png"))
    code, out, err = run(capsys, "predict", model_file, good, bad, tmp_path / "missing.png")
    assert code == 2
    assert len(out.strip().splitlines()) == 1  # the good file is still predicted
    assert f"skbcnn predict: error: {bad}" in err and "missing.png" in err


def test_bad_model_files(model_file, tmp_path, capsys):
    code, _, err = run(capsys, "predict", tmp_path / "none.skbcnn", tmp_path)
    assert code == 2 and "skbcnn predict: error:" in err and "does not exist" in err
    corrupt = tmp_path / "corrupt.skbcnn"
    data = bytearray(model_file.read_bytes())
    data[-100] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    code, _, err = run(capsys, "evaluate", corrupt, "synthetic")
    assert code == 2 and "skbcnn evaluate: error:" in err and "corrupted" in err
    truncated = tmp_path / "truncated.skbcnn"
    truncated.write_bytes(model_file.read_bytes()[:40])
    code, _, err = run(capsys, "predict", truncated, tmp_path)
    assert code == 2 and "damaged or truncated" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "synthetic", "--param", "cnn__nope=1", "--out", "x"], "unknown pipeline parameter"),
        (["train", "synthetic", "--param", "nonsense", "--out", "x"], "KEY=VALUE"),
        (["train", "/no/such/folder", "--out", "x"], "does not exist"),
        (["train", "synthetic", "--classes", "benign,cyst", "--out", "x"], "cyst"),
        (["search", "synthetic", "--grid", "/no/grid.json"], "does not exist"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    command = argv[0]
    assert err.startswith(f"skbcnn {command}: error:") and message in err


def test_search_writes_results_and_best_model(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"cnn__learning_rate": [0.001, 0.01]}))
    out_dir = tmp_path / "search"
    code, out, err = run(capsys, "search", "synthetic", "--n-samples", "40", *TINY, "--grid", grid,
                         "--cv", "2", "--scoring", "accuracy,balanced_accuracy", "--refit",
                         "balanced_accuracy", "--out", out_dir)
    assert code == 0, err
    assert "best balanced_accuracy:" in out and "cnn__learning_rate" in out
    assert "Fitting 2 folds for each of 2 candidates" in err  # progress goes to stderr
    rows = list(csv.DictReader(open(out_dir / "cv_results.csv")))
    assert len(rows) == 2
    assert {"mean_test_accuracy", "mean_test_balanced_accuracy", "cnn__learning_rate"} <= set(rows[0])
    assert {float(row["cnn__learning_rate"]) for row in rows} == {0.001, 0.01}
    assert rows[0]["rank_test_balanced_accuracy"] == "1"  # best first
    import skbcnn

    assert skbcnn.load(out_dir / "best_model.skbcnn")[-1].learning_rate in (0.001, 0.01)


def test_search_grid_errors(tmp_path, capsys):
    toml = tmp_path / "grid.toml"
    toml.write_text('[[grid]]\ncnn__learning_rate = [0.001]\n[[grid]]\ncnn__bogus = ["avg"]\n')
    code, _, err = run(capsys, "search", "synthetic", "--grid", toml)
    assert code == 2 and "cnn__bogus" in err
    broken = tmp_path / "grid.json"
    broken.write_text("{not json")
    code, _, err = run(capsys, "search", "synthetic", "--grid", broken)
    assert code == 2 and "not valid JSON" in err
    toml.write_text('cnn__pooling = ["max"]\n')
    code, _, err = run(capsys, "search", "synthetic", "--grid", toml, "--refit", "roc_auc")
    assert code == 2 and "--refit" in err


def test_demo_writes_a_report(tmp_path, capsys):
    code, out, err = run(capsys, "demo", "--n-samples", "40", "--image-size", "32", "--epochs", "1",
                         "-q", "--out", tmp_path)
    assert code == 0, err
    assert "Held-out evaluation" in out
    assert_png_not_blank(tmp_path / "confusion_matrix.png")
    assert (tmp_path / "report.html").is_file()


def test_load_data_sources(tmp_path, image_folder):
    data = load_data("synthetic", n_samples=9, image_size=16)
    assert data.images.shape == (9, 16, 16) and data.masks.shape == (9, 16, 16)
    data = load_data(image_folder, image_size=20, color="rgb", classes=["normal", "benign"])
    assert data.images.shape[1:] == (20, 20, 3) and set(data.labels) == {"normal", "benign"}
    npz = tmp_path / "breastmnist.npz"
    np.savez(npz, test_images=np.zeros((4, 28, 28), np.uint8), test_labels=np.array([[0], [1], [1], [0]]))
    data = load_data(npz, split="test")
    assert data.images.shape == (4, 28, 28) and data.kind == "medmnist"
    assert list(data.labels) == ["malignant", "normal/benign", "normal/benign", "malignant"]
    # BUSI is recognised by its mask files
    busi = tmp_path / "busi"
    for label in ("benign", "malignant", "normal"):
        for i in range(2):
            write_png(busi / label / f"{label} ({i}).png", np.full((30, 30), 40 * i + 20))
            write_png(busi / label / f"{label} ({i})_mask.png", np.pad(np.full((10, 10), 255), 10))
    data = load_data(busi, image_size=24)
    assert data.kind == "busi" and data.masks.shape == (6, 24, 24) and data.masks.any()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="npz"):
        load_data(tmp_path / "notes.txt")


def test_parse_param():
    assert parse_param("cnn__dropout=0.5") == ("cnn__dropout", 0.5)
    assert parse_param("cnn__batch_norm=false") == ("cnn__batch_norm", False)
    assert parse_param("augment__fill_mode=nearest") == ("augment__fill_mode", "nearest")
    assert parse_param("cnn__optimizer__beta_1=0.8") == ("cnn__optimizer__beta_1", 0.8)


@pytest.mark.parametrize("command", ["demo", "train", "evaluate", "predict", "search"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: skbcnn {command}" in capsys.readouterr().out


def test_module_entry_point_in_a_subprocess():
    # the one subprocess test: ``python -m skbcnn``, and --help without TensorFlow
    code = (
        "import sys, runpy; sys.argv = ['skbcnn', 'search', '--help']\n"
        "try:\n    runpy.run_module('skbcnn', run_name='__main__')\n"
        "except SystemExit as e:\n    assert e.code == 0\n"
        "assert 'tensorflow' not in sys.modules, 'help imported TensorFlow'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--grid" in result.stdout
