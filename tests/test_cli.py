"""The ``skbcnn`` command line, run in-process through ``skbcnn.cli.main``."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from skbcnn.cli import build_parser, main, parse_param
from skbcnn.datasets import load_dataset as load_data

# cnn__conv_filters as "4,8": tuples are accepted with or without brackets
TINY = ["--recipe", "from_scratch", "--image-size", "32", "--epochs", "2", "--param", "cnn__conv_filters=4,8",
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
    assert tuple(model[-1].conv_filters) == (4, 8) and model[-1].epochs == 2
    assert model[-1].image_shape_ == (32, 32, 1)
    assert list(model.classes_) == ["benign", "malignant", "normal"]


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_train_progress_on_stderr(tmp_path, capsys, image_folder):
    import skbcnn

    path = tmp_path / "new" / "m.skbcnn"
    code, out, err = run(capsys, "train", image_folder, *TINY, "--classes", "benign,malignant", "--out", path)
    assert code == 0, err
    assert out == ""
    assert "Loaded 8 images" in err and "Trained in" in err and "Model saved" in err
    # by default one status line per epoch: epoch, loss, validation metrics, time left
    epochs = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/2", "2/2"]
    assert all(" loss " in line and " accuracy " in line for line in epochs)  # 8 images: no validation split
    assert "s/epoch, at most" in epochs[0] and "left]" in epochs[0]
    assert "Epoch 1/2" not in err  # Keras' own lines only with -v
    # --verbose: Keras' epoch lines too; the saved model predicts silently and holds no progress callback
    code, out, err = run(capsys, "train", image_folder, *TINY, "--classes", "benign,malignant",
                         "--out", path, "-v", "--force")  # the model of the first run is replaced
    assert code == 0, err
    assert "Epoch 1/2" in out + err and "epoch 1/2" in err
    model = skbcnn.load(path)
    assert model[-1].verbose == 0 and model[-1].callbacks is None
    # --quiet: nothing on stderr
    code, out, err = run(capsys, "train", image_folder, *TINY, "--classes", "benign,malignant",
                         "--out", path, "-q", "--force")
    assert code == 0 and out == "" and err == ""
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
            "grad_cam_chance", "macro_avg", "weighted_avg", "provenance"} <= set(metrics)
    assert metrics["n_samples"] == 30
    # what produced the report: model file, parameters, data, versions, date, command
    made = metrics["provenance"]
    assert made["model_file"] == str(model_file) and len(made["model_file_sha256"]) == 64
    assert made["model_parameters"]["cnn__epochs"] == 2
    assert made["model_parameters"]["cnn__conv_filters"] == [4, 8]
    assert made["data_source"] == "synthetic (random_state=1)" and made["n_images"] == 30
    assert made["command"].startswith("skbcnn evaluate ") and made["created"].endswith("+00:00")
    assert made["skbcnn_version"] and {"python", "scikit-learn", "keras", "tensorflow"} <= set(made["versions"])
    assert "<h2>Provenance</h2>" in page and str(model_file) in page and "scikit-learn" in page
    assert "Model parameters" in page and "cnn__conv_filters" in page
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


def test_train_writes_the_pickle_free_format(model_file):
    from skbcnn.persistence import read_header

    header, members = read_header(model_file)
    assert header["content"] == "safe" and sorted(members) == ["cnn.keras", "skbcnn.json"]


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
        # --param values are read and checked before any data is loaded (the folder does not exist)
        (["train", "/no/such/folder", "--param", "cnn__conv_filters=a,b", "--out", "x"],
         "--param cnn__conv_filters=a,b: cnn: conv_filters must be a positive integer; got 'a'."),
        (["train", "/no/such/folder", "--param", "cnn__dropout=1.5", "--out", "x"], "dropout must be in [0, 1)"),
        (["train", "/no/such/folder", "--epochs", "0", "--out", "x"], "epochs must be a positive integer; got 0"),
        (["info", "/no/such/model.skbcnn"], "does not exist"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    command = argv[0]
    assert err.startswith(f"skbcnn {command}: error:") and message in err


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_search_writes_results_and_best_model(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"cnn__learning_rate": [0.001, 0.01]}))
    out_dir = tmp_path / "search"
    code, out, err = run(capsys, "search", "synthetic", "--n-samples", "40", *TINY, "--grid", grid,
                         "--cv", "2", "--scoring", "accuracy,balanced_accuracy", "--refit",
                         "balanced_accuracy", "--out", out_dir)
    assert code == 0, err
    assert "best balanced_accuracy:" in out and "cnn__learning_rate" in out
    # progress goes to stderr: the plan, one line per fitted fold, the refit
    assert "Fitting 2 folds for each of 2 candidates" in err
    folds = [line for line in err.splitlines() if line.startswith("fit ")]
    assert [line.split()[1] for line in folds] == ["1/4", "2/4", "3/4", "4/4"]
    assert folds[0].startswith("fit 1/4  candidate 1/2 (learning_rate=0.001)  fold 1/2: accuracy ")
    assert "balanced_accuracy" in folds[0] and "left]" in folds[0]
    assert "Refitting the best candidate on all 40 images" in err
    # the whole cv_results_: split scores, times, params as JSON
    with open(out_dir / "cv_results.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 2
    assert {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time", "param_cnn__learning_rate",
            "params", "split0_test_accuracy", "split1_test_accuracy", "mean_test_accuracy",
            "std_test_accuracy", "rank_test_accuracy", "split0_test_balanced_accuracy",
            "split1_test_balanced_accuracy", "mean_test_balanced_accuracy"} <= set(rows[0])
    assert {float(row["param_cnn__learning_rate"]) for row in rows} == {0.001, 0.01}
    assert [json.loads(row["params"]) for row in rows][0]["cnn__learning_rate"] in (0.001, 0.01)
    assert rows[0]["rank_test_balanced_accuracy"] == "1"  # best first
    for row in rows:
        mean = np.mean([float(row["split0_test_accuracy"]), float(row["split1_test_accuracy"])])
        assert float(row["mean_test_accuracy"]) == pytest.approx(mean)
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


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_demo_writes_a_report(tmp_path, capsys):
    code, out, err = run(capsys, "demo", "--n-samples", "40", "--image-size", "32", "--epochs", "1",
                         "--out", tmp_path)
    assert code == 0, err
    assert "Held-out evaluation" in out
    # the demo's report carries intervals (issue #23)
    assert "[low, high]: 95 % intervals, percentile bootstrap of 1000 resamples over 10 images" in out
    assert "percentile bootstrap of 1000 resamples" in (tmp_path / "report.html").read_text(encoding="utf-8")
    # progress as in train: one status line per epoch on stderr
    epochs = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 1 and epochs[0].startswith("epoch 1/1  loss ") and " val_loss " in epochs[0], err
    assert_png_not_blank(tmp_path / "confusion_matrix.png")
    assert (tmp_path / "report.html").is_file()
    made = json.loads((tmp_path / "metrics.json").read_text())["provenance"]
    assert made["model_file"] is None and made["n_images"] == 10
    assert made["training"]["n_images"] == 30 and made["training"]["data_kind"] == "synthetic"
    assert made["training"]["epochs_run"] == 1


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


@pytest.mark.parametrize("command", ["demo", "train", "evaluate", "predict", "search", "info"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: skbcnn {command}" in capsys.readouterr().out


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
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


def test_info_describes_the_model(model_file, capsys):
    code, out, err = run(capsys, "info", model_file)
    assert code == 0, err
    lines = dict(line.split(None, 1) if not line.startswith(("image", "model", "trained")) else
                 (line[:16].strip(), line[17:]) for line in out.splitlines() if not line.startswith("  "))
    assert lines["classes"] == "benign, malignant, normal"
    assert lines["image size"] == "32 x 32 px, grey (1 channel)"
    assert lines["model file"].startswith(str(model_file))
    assert lines["training"].startswith("2 epochs (at most 2)") and "val_loss" in lines["training"]
    assert "  cnn__conv_filters" in out and "[4, 8]" in out
    code, out, err = run(capsys, "info", model_file, "--format", "json")
    assert code == 0, err
    info = json.loads(out)
    assert info["classes"] == ["benign", "malignant", "normal"] and info["image_shape"] == [32, 32, 1]
    assert info["history"]["epochs_run"] == 2 and info["history"]["max_epochs"] == 2
    assert info["changed_parameters"]["cnn__conv_filters"] == [4, 8]
    assert info["parameters"]["cnn__pooling"] == "max" and "cnn__pooling" not in info["changed_parameters"]
    assert len(info["model_file_sha256"]) == 64


def test_evaluate_warns_when_one_class_is_predicted(monkeypatch, tmp_path, capsys):
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    import skbcnn.cli

    data = load_data("synthetic", n_samples=30, image_size=16)
    flat = FunctionTransformer(lambda images: images.reshape(len(images), -1))
    constant = make_pipeline(flat, DummyClassifier(strategy="constant", constant="benign"))
    constant.fit(data.images, data.labels)
    monkeypatch.setattr(skbcnn.cli, "_load_model", lambda path: constant)
    code, out, err = run(capsys, "evaluate", "constant.skbcnn", "synthetic", "--n-samples", "20",
                         "--out", tmp_path, "-q")
    assert code == 0, err
    assert "accuracy" in out
    assert err.splitlines() == [
        "skbcnn evaluate: warning: the model predicted 'benign' for all 20 images: it does not separate the "
        "classes (too few epochs, too little or too imbalanced training data, or images unlike its training "
        "images)."
    ]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<strong>Warning:</strong> the model predicted &#x27;benign&#x27; for all 20 images" in page
    assert json.loads((tmp_path / "metrics.json").read_text())["predicted_classes"] == {"benign": 20}


@pytest.mark.parametrize("command", ["evaluate", "predict", "info"])
def test_help_describes_this_command(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    # these commands train nothing: no option speaks of epochs, training or CV splits
    assert "epoch" not in text and "CV splits" not in text and "training progress" not in text
    if command == "evaluate":
        assert "--random-state RANDOM_STATE seed of the images generated for DATA=synthetic (default 1)" in text
    if command != "info":
        assert "-v, --verbose also describe the model" in text


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_no_tensorflow_start_up_lines_on_stderr(tmp_path):
    # TensorFlow's C++ start-up lines (absl notice, oneDNN INFO) bypass TF_CPP_MIN_LOG_LEVEL;
    # the command line swallows them and keeps everything else
    import os

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = "import sys; from skbcnn.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", code, "info", str(tmp_path / "none.skbcnn")],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"skbcnn info: error: model file {tmp_path / 'none.skbcnn'} does not exist."]
    assert "TF_ENABLE_ONEDNN_OPTS" not in os.environ  # oneDNN stays on: same numerics


@pytest.mark.parametrize("argv, expected", [
    (["train", "synthetic"], "pretrained"),  # 64 px
    (["train", "synthetic", "--image-size", "32"], "low_resolution"),
    (["train", "some/folder"], "pretrained"),  # loaded at 224 px
    (["train", "some/folder", "--image-size", "48"], "low_resolution"),
    (["train", "synthetic", "--image-size", "32", "--backbone", "efficientnet_lite1"], "pretrained"),
    (["train", "some/folder", "--recipe", "from_scratch"], "from_scratch"),
])
def test_auto_recipe_follows_the_image_size(argv, expected):
    from skbcnn.cli import _recipe_image_size, _resolve_recipe

    args = build_parser().parse_args([*argv, "--out", "m.skbcnn"])
    recipe = _resolve_recipe(args)
    assert recipe == expected
    if argv[1] == "some/folder" and "--image-size" not in argv:
        assert _recipe_image_size(args, recipe) == (224 if recipe == "pretrained" else 128)


def test_auto_recipe_reads_the_npz_image_size(tmp_path):
    from skbcnn.cli import _resolve_recipe

    path = tmp_path / "breastmnist.npz"
    np.savez(path, train_images=np.zeros((4, 28, 28), np.uint8), train_labels=np.zeros((4, 1), np.uint8))
    assert _resolve_recipe(build_parser().parse_args(["train", str(path), "--out", "m"])) == "low_resolution"


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_train_default_recipe_fine_tunes_the_pretrained_backbone(tmp_path, capsys, image_folder):
    path = tmp_path / "lite.skbcnn"
    code, out, err = run(capsys, "train", image_folder, "--image-size", "64", "--epochs", "1",
                         "--groups", "near-duplicates", "--out", path)
    assert code == 0, err
    assert "Recipe: pretrained (EfficientNet-Lite0 pretrained on ImageNet, fine-tuned)." in err
    assert "Groups (near-duplicates): 12 for 12 images" in err
    code, out, err = run(capsys, "info", path, "--format", "json")
    info = json.loads(out)
    assert code == 0 and info["training"]["recipe"] == "pretrained"
    assert info["training"]["groups"] == "near-duplicates"
    import skbcnn

    assert skbcnn.load(path)[-1].backbone == "efficientnet_lite0"


@pytest.mark.parametrize("groups, match", [
    ("([", "--groups '\\(\\[' is not a valid regular expression"),
    ("^patient", "the file name '.*png' does not match '\\^patient'"),
])
def test_bad_groups_are_one_line_errors(capsys, image_folder, groups, match, tmp_path):
    code, out, err = run(capsys, "train", image_folder, *TINY, "--groups", groups, "--out", tmp_path / "m")
    assert code == 2
    import re

    assert re.search(match, err.strip().splitlines()[-1]), err
    # a bad pattern is found before any image is loaded
    assert ("Loaded" in err) == (groups == "^patient")


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_search_keeps_groups_in_one_fold(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"cnn__dropout": [0.0]}))
    code, out, err = run(capsys, "search", "synthetic", "--n-samples", "40", *TINY, "--grid", grid, "--cv", "2",
                         "--groups", "(?P<group>[0-9])$", "--out", tmp_path / "search", "-q")
    assert code == 0, err
    assert (tmp_path / "search" / "best_model.skbcnn").is_file()


def test_unknown_positive_class_is_an_error(model_file, capsys):
    # issue #23: "--positive-class cancer" printed "sensitivity nan" with exit status 0
    code, out, err = run(capsys, "evaluate", model_file, "synthetic", "--n-samples", "20",
                         "--positive-class", "cancer")
    assert code == 2 and out == ""
    assert err == ("skbcnn evaluate: error: --positive-class 'cancer' is not a class of the model; "
                   "pass one of: benign, malignant, normal.\n")
    code, out, err = run(capsys, "evaluate", model_file, "synthetic", "--n-samples", "20", "-q",
                         "--positive-class", "benign", "--n-resamples", "0")
    assert code == 0, err
    assert "(class benign)" in out and "[low, high]" not in out


@pytest.mark.parametrize("argv, message", [
    (["--n-resamples", "-1"], "--n-resamples must be 0 (no intervals) or more; got -1."),
    (["--groups", "(unclosed"], "--groups '(unclosed' is not a valid regular expression"),
])
def test_evaluate_option_errors(model_file, capsys, argv, message):
    code, out, err = run(capsys, "evaluate", model_file, "/no/such/folder", *argv)
    assert code == 2 and out == ""  # checked before the (missing) data are loaded
    assert err.startswith("skbcnn evaluate: error: ") and message in err and err.count("\n") == 1


def test_search_rejects_unknown_scorers_before_loading(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text('{"cnn__learning_rate": [0.001]}')
    code, out, err = run(capsys, "search", "/no/such/folder", "--grid", grid, "--scoring", "accuracy,sensitivity")
    assert code == 2 and out == ""
    assert err.startswith("skbcnn search: error: --scoring: unknown scorer(s) sensitivity; pass scikit-learn "
                          "scorer names") and err.count("\n") == 1


def test_evaluate_intervals_groups_and_predictions(model_file, image_folder, tmp_path, capsys):
    out_dir = tmp_path / "report"
    # the first digit of each file name as its group: 0.png..9.png, 10.png and 11.png share "1"
    code, out, err = run(capsys, "evaluate", model_file, image_folder, "--groups", r"^\d",
                         "--n-resamples", "200", "--out", out_dir)
    assert code == 0, err
    assert "Groups (^\\d): 10 for 12 images; the confidence intervals resample whole groups." in err
    assert "[low, high]: 95 % intervals, percentile bootstrap of 200 resamples over 10 groups (seed 0)" in out
    assert "benign-malignant   " in out
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["bootstrap"] == {"unit": "group", "n_units": 10, "n_resamples": 200, "confidence_level": 0.95,
                                    "method": "percentile", "random_state": 0}
    low, high = metrics["intervals"]["accuracy"]
    assert low <= metrics["accuracy"] <= high
    assert "benign_malignant_auc" in metrics and "benign_malignant_auc" in metrics["intervals"]
    assert set(metrics["intervals"]["per_class"]["recall"]) == {"benign", "malignant", "normal"}
    page = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "percentile bootstrap of 200 resamples over 10 groups (whole groups drawn)" in page
    assert "ROC AUC, benign vs malignant (normal images left out)" in page
    # the model card: intended use, protocol (grouped here), limitations, citations
    card = metrics["model_card"]
    assert card["intended_use"].startswith("Research use only; not a medical device.")
    assert card["evaluation_protocol"][1].startswith("Evaluation: confidence intervals resample whole groups "
                                                     "(10 groups)")
    assert "<h2>Model card</h2>" in page and "not a medical device" in page and "CITATION.cff" in page
    assert f"{metrics['accuracy']:.3f} <span class=\"note\">[{low:.3f}, {high:.3f}]</span>" in page
    # predictions.csv: one row per image, every class probability, the group
    rows = list(csv.DictReader(open(out_dir / "predictions.csv", encoding="utf-8")))
    assert list(rows[0]) == ["file", "true_class", "predicted_class", "proba_benign", "proba_malignant",
                             "proba_normal", "group"]
    assert len(rows) == 12
    names = {row["file"].split("/")[-1]: row for row in rows}
    assert names["11.png"]["group"] == "1" and names["3.png"]["group"] == "3"
    assert all(row["true_class"] == row["file"].split("/")[-2] for row in rows)
    assert all(abs(sum(float(row[f"proba_{c}"]) for c in ("benign", "malignant", "normal")) - 1) < 1e-4
               for row in rows)
    assert all(row["predicted_class"] == max(("benign", "malignant", "normal"),
                                             key=lambda c: float(row[f"proba_{c}"])) for row in rows)


def test_info_states_the_model_card(model_file, capsys):
    code, out, err = run(capsys, "info", model_file)
    assert code == 0, err
    lines = out.splitlines()
    assert "intended use     Research use only; not a medical device. Not for diagnosis, screening or treatment " \
           "decisions: a clinician's reading and the usual work-up decide." in lines
    # trained through the command line without --groups: said so
    assert any(line.startswith("protocol         Training: validation hold-out split image by image (no groups)")
               for line in lines)
    assert any(line.startswith("limitations      - Images are resized to one square size (32 x 32 px)")
               for line in lines)
    assert any(line.startswith("                 - No external-site validation") for line in lines)
    assert any(line.startswith("cite             - Synthetic images generated by skbcnn") for line in lines)
    code, out, err = run(capsys, "info", model_file, "--format", "json")
    card = json.loads(out)["model_card"]
    assert set(card) == {"intended_use", "training_data", "evaluation_protocol", "limitations", "citations"}
    assert card["training_data"].startswith("synthetic: 60 images (benign ")


# ------------------------------------------------ --out checked before training (issue #22)
@pytest.fixture
def no_loading(monkeypatch):
    """Loading data fails the test: --out must be refused before it."""
    import skbcnn.cli

    def load(*args, **kwargs):
        raise AssertionError("data loaded before --out was checked")

    monkeypatch.setattr(skbcnn.cli, "_load", load)


@pytest.mark.parametrize("out, message", [
    ("folder", "--out {tmp}/folder is a folder; give the model file's name, e.g. {tmp}/folder/model.skbcnn."),
    ("models/", "--out {tmp}/models/ is a folder; give the model file's name, e.g. {tmp}/models/model.skbcnn."),
    ("a_file/m.skbcnn", "--out {tmp}/a_file/m.skbcnn: {tmp}/a_file is a file, not a folder; choose another place."),
    ("old.skbcnn", "--out {tmp}/old.skbcnn already exists; pass --force to overwrite it, or choose another name."),
])
def test_train_checks_out_before_loading(out, message, tmp_path, capsys, no_loading):
    (tmp_path / "folder").mkdir()
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "old.skbcnn").write_bytes(b"a model")
    code, _, err = run(capsys, "train", "synthetic", *TINY, "--out", f"{tmp_path}/{out}")
    assert code == 2
    assert err.strip() == "skbcnn train: error: " + message.format(tmp=tmp_path)
    assert (tmp_path / "old.skbcnn").read_bytes() == b"a model"


def test_evaluate_refuses_to_overwrite_a_report_without_force(model_file, tmp_path, capsys, no_loading):
    (tmp_path / "report.html").write_text("an earlier report")
    code, _, err = run(capsys, "evaluate", model_file, "synthetic", "--out", tmp_path)
    assert code == 2 and "already holds report.html; pass --force to overwrite them" in err
    code, _, err = run(capsys, "evaluate", model_file, "synthetic", "--out", tmp_path / "report.html")
    assert code == 2 and "is a file; give a folder for the report" in err


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_train_reports_the_kept_epoch_and_recipe(tmp_path, capsys):
    path = tmp_path / "m.skbcnn"
    code, _, err = run(capsys, "train", "synthetic", "--n-samples", "60", *TINY, "--out", path)
    assert code == 0, err
    cnn = __import__("skbcnn").load(path)[-1]
    assert f"kept the weights of epoch {cnn.kept_epoch_}: loss" in err
    code, out, err = run(capsys, "info", path, "--format", "json")
    info = json.loads(out)
    assert info["training"]["kept_epoch"] == info["history"]["kept_epoch"] == cnn.kept_epoch_
    assert info["training"]["recipe"] == info["recipe"] == "from_scratch"
    code, out, err = run(capsys, "info", path)
    assert f"weights of epoch {cnn.kept_epoch_}: loss" in out and "recipe           from_scratch" in out


def test_help_grids_search_parameters_that_change_the_default_network(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert '"cnn__conv_filters": [[' not in text and "cnn__dropout" in text
    assert "a pretrained backbone ignores cnn__conv_filters" in text


def test_evaluate_does_not_overwrite_predictions_without_force(model_file, tmp_path, capsys, no_loading):
    (tmp_path / "predictions.csv").write_text("an earlier table")
    code, _, err = run(capsys, "evaluate", model_file, "synthetic", "--out", tmp_path)
    assert code == 2 and "already holds predictions.csv; pass --force to overwrite them" in err
    assert (tmp_path / "predictions.csv").read_text() == "an earlier table"
