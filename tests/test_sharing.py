"""export_model / import_model: a model folder that loads without pickle."""

import json
import pickle

import numpy as np
import pytest

from skbcnn.persistence import export_model, import_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory, fitted_pipeline):
    pipeline, _ = fitted_pipeline
    return export_model(pipeline, tmp_path_factory.mktemp("export") / "model")


def test_round_trip_gives_identical_predictions(exported, fitted_pipeline, monkeypatch):
    pipeline, X = fitted_pipeline
    # Importing must never unpickle anything.
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
    reloaded = import_model(exported)
    assert [name for name, _ in reloaded.steps] == [name for name, _ in pipeline.steps]
    np.testing.assert_allclose(reloaded.predict_proba(X), pipeline.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(reloaded.classes_, pipeline.classes_)
    assert reloaded.get_params()["cnn__conv_filters"] == pipeline.get_params()["cnn__conv_filters"]


def test_bare_classifier_round_trip(tmp_path, fitted_pipeline):
    pipeline, X = fitted_pipeline
    features = pipeline[:-1].transform(X[:8])
    path = export_model(pipeline[-1], tmp_path / "cnn")
    np.testing.assert_allclose(
        import_model(path).predict_proba(features), pipeline[-1].predict_proba(features), atol=1e-6
    )


def test_tampered_description_is_refused(exported, tmp_path):
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(exported, copy)
    description = json.loads((copy / "skbcnn.json").read_text())
    description["steps"][0]["class"] = "os.system"
    (copy / "skbcnn.json").write_text(json.dumps(description))
    with pytest.raises(ValueError, match="refusing class 'os.system'"):
        import_model(copy)
    (copy / "skbcnn.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid description"):
        import_model(copy)
    (copy / "cnn.keras").unlink()
    with pytest.raises(FileNotFoundError, match="cnn.keras does not exist"):
        import_model(copy)


def test_non_shareable_models_are_refused(tmp_path, fitted_pipeline):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipeline, _ = fitted_pipeline
    foreign = Pipeline([("f", FunctionTransformer()), ("cnn", pipeline[-1])])
    with pytest.raises(TypeError, match="not one of skbcnn's estimators"):
        export_model(foreign, tmp_path / "x")
    with pytest.raises(TypeError, match="last step must be a skbcnn.CNNClassifier"):
        export_model(pipeline[:-1], tmp_path / "y")
