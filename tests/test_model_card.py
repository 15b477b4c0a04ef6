"""The model card: intended use, training data, protocol, limitations and citations."""

import pytest
from sklearn.dummy import DummyClassifier

from skbcnn.report import model_card


def fitted(training_info=None):
    model = DummyClassifier().fit([[0], [1]], ["benign", "malignant"])
    if training_info is not None:
        model.training_info_ = training_info
    return model


def test_a_model_trained_in_python_says_what_is_not_recorded():
    card = model_card(fitted())
    assert card["intended_use"].startswith("Research use only; not a medical device.")
    assert card["training_data"].startswith("not recorded in the model file")
    assert card["evaluation_protocol"] == ["Training: not recorded."]
    assert card["limitations"][0].startswith("Images are resized to one square size:")
    assert card["citations"][0].startswith("The training data are not recorded")
    assert card["citations"][-1] == "skbcnn itself: see CITATION.cff in its source repository."


@pytest.mark.parametrize("info, cited", [
    ({"data_kind": "busi"}, "Dataset of breast ultrasound images. Data in Brief. 2020;28:104863"),
    ({"data_kind": "medmnist"}, "MedMNIST v2"),
    ({"data_kind": "folder", "groups": "breakhis"}, "histopathological image classification"),
    ({"data_kind": "folder", "data_source": "/data/BreaKHis_v1"}, "histopathological image classification"),
    ({"data_kind": "folder", "data_source": "/data/mine"}, "cite the publication of the data set"),
])
def test_citations_follow_the_training_data(info, cited):
    card = model_card(fitted({"data_source": "x", "n_images": 10, **info}))
    assert cited in card["citations"][0]


def test_protocol_and_limitations_from_the_recorded_training_and_the_bootstrap():
    info = {"data_source": "Dataset_BUSI_with_GT", "data_kind": "busi", "n_images": 624,
            "class_counts": {"benign": 350, "malignant": 168, "normal": 106}, "groups": "near-duplicates",
            "image_shape": [224, 224, 3]}
    card = model_card(fitted(info), bootstrap={"unit": "group", "n_units": 500})
    assert card["training_data"] == "Dataset_BUSI_with_GT: 624 images (benign 350, malignant 168, normal 106)"
    assert card["evaluation_protocol"] == [
        "Training: validation hold-out grouped (near-duplicates): a group never sits on both sides.",
        "Evaluation: confidence intervals resample whole groups (500 groups), so related images are not "
        "counted as independent evidence.",
    ]
    assert "(224 x 224 px)" in card["limitations"][0]
    assert card["limitations"][1].startswith("No external-site validation")
    card = model_card(fitted({**info, "groups": None}), bootstrap={"unit": "image", "n_units": 624})
    assert "split image by image (no groups)" in card["evaluation_protocol"][0]
    assert "too narrow" in card["evaluation_protocol"][1]


def test_citation_file_names_this_version_and_the_data_sets_the_card_cites():
    import re
    from pathlib import Path

    yaml = pytest.importorskip("yaml")
    import skbcnn
    from skbcnn._model_card import CITATIONS

    path = Path(__file__).resolve().parents[1] / "CITATION.cff"
    if not path.is_file():
        pytest.skip("not a source checkout")
    cff = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["version"] == skbcnn.__version__
    assert {"message", "title", "authors"} <= set(cff) and cff["license"] == "BSD-3-Clause"
    dois = [ref["doi"] for ref in cff["references"]]
    # the pattern of the CFF 1.2.0 schema's "doi"
    assert all(re.fullmatch(r"10\.\d{4,9}(\.\d+)?/[A-Za-z0-9:/_;\-.()\[\]\\]+", d) for d in dois)
    cited = {d for texts in CITATIONS.values() for text in texts for d in re.findall(r"doi:(\S+)", text)}
    assert cited == set(dois)
