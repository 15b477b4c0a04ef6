"""``make_cnn_pipeline`` and its ``CNNPipeline``: the recipe chosen at fit as
``skbcnn train`` chooses it, the input contract recorded on the model, and
messages that point to the fix (issue #22)."""

import json
import warnings

import joblib
import numpy as np
import pytest
from conftest import TINY_CNN
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

import skbcnn
from skbcnn import CNNClassifier, make_cnn_pipeline
from skbcnn.cli import _resolve_recipe, build_parser, main
from skbcnn.datasets import load_image_folder, load_images, make_synthetic_ultrasound
from skbcnn.pipeline import LOW_RESOLUTION, PRETRAINED, CNNPipeline

# skbcnn's own network, tiny (the low-resolution recipe's would take minutes)
TINY_OWN = {"cnn__conv_filters": (4, 8), "cnn__convs_per_block": 1, "cnn__dense_units": (8,),
            "cnn__epochs": 1, "cnn__batch_size": 16, "cnn__random_state": 0, "augment__random_state": 0}


@pytest.fixture
def no_training(monkeypatch):
    """Pipeline.fit does nothing: CNNPipeline.fit still picks and sets the recipe."""
    monkeypatch.setattr(Pipeline, "fit", lambda self, X, y=None, **params: self)


@pytest.mark.parametrize("side", [28, 224])
def test_auto_recipe_is_the_one_skbcnn_train_picks(side, tmp_path, no_training):
    images = np.zeros((4, side, side), np.uint8)
    np.savez(tmp_path / "images.npz", train_images=images, train_labels=np.array([[0], [1], [0], [1]]))
    cli = _resolve_recipe(build_parser().parse_args(["train", str(tmp_path / "images.npz"), "--out", "m"]))
    pipe = make_cnn_pipeline().fit(images, [0, 1, 0, 1])
    assert pipe.recipe_ == cli == ("low_resolution" if side == 28 else "pretrained")
    assert pipe.get_params()["cnn__backbone"] == (None if side == 28 else "efficientnet_lite0")
    assert pipe.recipe == "auto"  # the parameter stays; what fit chose is recipe_
    assert "# fitted: recipe_=" in repr(pipe)


def test_auto_recipe_trains_the_low_resolution_network_on_28px():
    X, y = make_synthetic_ultrasound(40, image_size=28, random_state=0, return_X_y=True)
    pipe = make_cnn_pipeline(**TINY_OWN).fit(X, y)
    assert pipe.recipe_ == "low_resolution" and pipe.image_size_ == (28, 28) and pipe.color_ == "grey"
    assert pipe.get_params()["normalize__method"] == LOW_RESOLUTION["normalize__method"]
    assert pipe[-1].model_.count_params() < 10_000  # the tiny network asked for, not a backbone


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_auto_recipe_fine_tunes_the_backbone_and_warns_about_ignored_parameters():
    # the example: conv_filters with the default pipeline trains the backbone unchanged
    X, y = make_synthetic_ultrasound(12, image_size=64, random_state=0, return_X_y=True)
    pipe = make_cnn_pipeline(cnn__conv_filters=(8, 16), cnn__epochs=1, cnn__random_state=0)
    with pytest.warns(UserWarning, match=r"conv_filters=\(8, 16\) ignored: backbone='efficientnet_lite0'"):
        pipe.fit(X, y)
    assert pipe.recipe_ == "pretrained" and pipe[-1].backbone == "efficientnet_lite0"


def test_explicit_parameters_win_over_the_recipe_chosen_at_fit(no_training):
    small, large = np.zeros((4, 28, 28), np.uint8), np.zeros((4, 64, 64), np.uint8)
    # 2e-4 is also the pretrained recipe's rate: given by the user, it must stay
    pipe = make_cnn_pipeline(cnn__learning_rate=PRETRAINED["cnn__learning_rate"]).fit(small, [0, 1, 0, 1])
    params = pipe.get_params()
    assert params["cnn__learning_rate"] == PRETRAINED["cnn__learning_rate"]
    assert params["cnn__conv_filters"] == LOW_RESOLUTION["cnn__conv_filters"]
    assert params["cnn__epochs"] == LOW_RESOLUTION["cnn__epochs"]
    # as in a grid search: a clone, then set_params
    candidate = clone(pipe).set_params(cnn__epochs=PRETRAINED["cnn__epochs"]).fit(small, [0, 1, 0, 1])
    assert candidate.get_params()["cnn__epochs"] == PRETRAINED["cnn__epochs"]
    # fitted again on large images: the other recipe, every one of its values
    pipe.fit(large, [0, 1, 0, 1])
    params = pipe.get_params()
    assert pipe.recipe_ == "pretrained" and params["cnn__backbone"] == "efficientnet_lite0"
    assert params["normalize__method"] == "zscore" and params["augment__rotation"] == 15
    assert params["cnn__learning_rate"] == PRETRAINED["cnn__learning_rate"]


def test_values_set_directly_on_a_step_are_kept(no_training):
    pipe = make_cnn_pipeline()
    pipe["cnn"].set_params(epochs=3)  # not through the pipeline: no recipe gives 3 epochs
    pipe.fit(np.zeros((4, 28, 28), np.uint8), [0, 1, 0, 1])
    assert pipe[-1].epochs == 3 and pipe[-1].conv_filters == LOW_RESOLUTION["cnn__conv_filters"]


def test_named_recipes_keep_their_parameters(no_training):
    pipe = make_cnn_pipeline("from_scratch").fit(np.zeros((4, 28, 28), np.uint8), [0, 1, 0, 1])
    assert pipe.recipe_ == "from_scratch" and pipe.get_params()["enhance__method"] == "clahe"
    pipe.set_params(recipe="low_resolution")  # a name sets that recipe's parameters
    assert pipe.get_params()["cnn__conv_filters"] == LOW_RESOLUTION["cnn__conv_filters"]
    with pytest.raises(ValueError, match="recipe must be one of"):
        pipe.set_params(recipe="resnet")


def test_cnn_pipeline_is_a_scikit_learn_classifier(tmp_path):
    pipe = make_cnn_pipeline(cnn__epochs=3)
    assert isinstance(pipe, Pipeline) and is_classifier(pipe)
    copy = clone(pipe)
    assert type(copy) is CNNPipeline and copy.get_params()["cnn__epochs"] == 3
    assert copy.fixed_params == ("cnn__epochs",) and copy.recipe == "auto"
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    assert joblib.load(tmp_path / "pipe.joblib").get_params()["cnn__epochs"] == 3
    assert type(pipe[:-1]) is Pipeline  # preprocessing only: no recipe


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_grid_search_over_the_auto_pipeline_trains_each_candidate():
    X, y = make_synthetic_ultrasound(36, image_size=28, random_state=0, return_X_y=True)
    rates = [1e-3, PRETRAINED["cnn__learning_rate"]]
    search = GridSearchCV(make_cnn_pipeline(**TINY_OWN), {"cnn__learning_rate": rates},
                          cv=StratifiedKFold(2, shuffle=True, random_state=0)).fit(X, y)
    assert search.best_estimator_.recipe_ == "low_resolution"
    assert search.best_estimator_[-1].learning_rate == search.best_params_["cnn__learning_rate"]


def test_predict_refuses_images_of_another_size_with_the_fix(fitted_pipeline):
    pipeline, X = fitted_pipeline  # from_scratch, 32 px grey
    assert pipeline.recipe_ == "from_scratch" and pipeline.image_size_ == (32, 32)
    fix = r"load_images\(paths, image_size=32, color='grey'\)"
    for method in (pipeline.predict, pipeline.predict_proba):
        with pytest.raises(ValueError, match=f"trained on 32 x 32 grey images; got 16 x 16 grey.*{fix}") as error:
            method(np.zeros((2, 16, 16), np.uint8))
        assert "\n" not in str(error.value) and "ContrastEnhancer" not in str(error.value)
    with pytest.raises(ValueError, match=f"got 32 x 32 rgb images.*{fix}"):
        pipeline.score(np.zeros((2, 32, 32, 3), np.uint8), ["benign", "normal"])
    assert pipeline.predict(X[:2, :, :, np.newaxis]).shape == (2,)  # one channel is grey


@pytest.mark.parametrize("X", ["data/Dataset_BUSI_with_GT", ["scan1.png", "scan2.png"]])
def test_paths_given_as_images_name_the_loaders(X, fitted_pipeline):
    for estimator in (make_cnn_pipeline(), fitted_pipeline[0]):
        with pytest.raises(ValueError, match=r"X is a path .*load_image_folder\(path\).*load_images\(paths\)"):
            estimator.fit(X, [0, 1]) if estimator is not fitted_pipeline[0] else estimator.predict(X)
    with pytest.raises(ValueError, match="load_image_folder"):
        CNNClassifier().fit(X, [0, 1])


def test_misspelt_parameters_suggest_the_closest_name(capsys):
    with pytest.raises(ValueError, match=r"'cnn__epoch' is not a parameter.* Did you mean 'cnn__epochs'\?"):
        make_cnn_pipeline(cnn__epoch=5)
    with pytest.raises(ValueError, match=r"Did you mean 'augment__rotation'\?"):
        make_cnn_pipeline().set_params(augment__rotate=10)
    make_cnn_pipeline(cnn__optimizer__weight_decay=1e-4)  # scikeras-routed names stay valid
    code = main(["train", "synthetic", "--param", "cnn__epoch=3", "--out", "never-written.skbcnn"])
    assert code == 2 and "Did you mean 'cnn__epochs'?" in capsys.readouterr().err


def test_python_and_the_command_line_predict_the_same_files(tmp_path, capsys):
    from PIL import Image

    data = make_synthetic_ultrasound(12, image_size=96, random_state=1)
    root = tmp_path / "images"
    for i, (image, label) in enumerate(zip(data.images, data.target_names[data.target])):
        (root / label).mkdir(parents=True, exist_ok=True)
        side = 60 + 5 * i  # files of many sizes, as real ones come
        Image.fromarray(image).resize((side, side)).save(root / label / f"{i}.png")
    loaded = load_image_folder(root)  # the loader's default size: the recipe's
    assert loaded.images.shape[1:] == (224, 224)
    pipe = make_cnn_pipeline(**{**TINY_CNN, "cnn__epochs": 1}).fit(loaded.images, loaded.target)
    path = tmp_path / "model.skbcnn"
    skbcnn.save(pipe, path)
    files = sorted(str(p) for p in root.glob("*/*.png"))
    assert main(["predict", str(path), *files, "--format", "json"]) == 0
    cli = {row["path"]: list(row["probabilities"].values()) for row in json.loads(capsys.readouterr().out)}
    model = skbcnn.load(path)
    assert model.image_size_ == (224, 224) and model.recipe_ == "from_scratch"
    images = load_images(files)  # the defaults fit the model
    np.testing.assert_allclose(model.predict_proba(images.images), [cli[f] for f in images.filenames], atol=1e-5)
    with pytest.raises(ValueError, match=r"load_images\(paths, image_size=224, color='grey'\)"):
        model.predict(load_images(files, image_size=128).images)
    assert main(["info", str(path), "--format", "json"]) == 0  # trained in Python: the recipe fit chose
    assert json.loads(capsys.readouterr().out)["recipe"] == "from_scratch"


def test_fit_shows_the_status_line_and_keeps_the_best_epoch(capsys, tmp_path):
    from skbcnn.cli import _trained_message
    from skbcnn.plots import plot_history

    X, y = make_synthetic_ultrasound(60, image_size=32, random_state=0, return_X_y=True)
    pipe = make_cnn_pipeline(**{**TINY_CNN, "cnn__epochs": 4, "cnn__patience": 1, "cnn__lr_schedule": None,
                                "cnn__validation_split": 0.25, "cnn__learning_rate": 0.05,
                                "cnn__verbose": "status"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # 5 validation images per class: no warning
        pipe.fit(X, y)
    err = capsys.readouterr().err
    assert "Recipe: from_scratch" in err and "epoch 1/4" in err
    cnn = pipe[-1]
    val_loss = cnn.history_["val_loss"]
    assert cnn.kept_epoch_ == 1 + int(np.argmin(val_loss))
    message = _trained_message(pipe, 1.0)
    assert f"kept the weights of epoch {cnn.kept_epoch_}: loss {cnn.history_['loss'][cnn.kept_epoch_ - 1]:.3f}" in message
    assert f"val_loss {val_loss[cnn.kept_epoch_ - 1]:.3f}" in message
    skbcnn.save(pipe, tmp_path / "m.skbcnn")
    assert skbcnn.load(tmp_path / "m.skbcnn")[-1].kept_epoch_ == cnn.kept_epoch_
    fig = plot_history(pipe)
    assert f"kept (epoch {cnn.kept_epoch_})" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_a_tiny_validation_hold_out_is_warned_about():
    X, y = make_synthetic_ultrasound(30, image_size=32, random_state=0, return_X_y=True)
    with pytest.warns(UserWarning, match=r"hold-out has only 3 images .*fewer than 5.*raise validation_split"):
        make_cnn_pipeline(**{**TINY_CNN, "cnn__epochs": 1}).fit(X, y)


def test_the_pretrained_recipe_announces_no_early_stop_it_cannot_make():
    # It trains every image for the whole schedule (no hold-out, no early
    # stopping, issue #27); a recipe with a hold-out must be able to stop.
    if PRETRAINED.get("cnn__early_stopping", True) and PRETRAINED.get("cnn__validation_split", 0.1) > 0:
        assert PRETRAINED["cnn__patience"] < PRETRAINED["cnn__epochs"]
    else:
        assert PRETRAINED["cnn__validation_split"] == 0 and PRETRAINED["cnn__early_stopping"] is False
