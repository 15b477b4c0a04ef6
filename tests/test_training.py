"""The split between the estimator (skbcnn.classifier) and the training
engine (skbcnn._training): process state, builder arguments, parameters."""

import inspect
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")

from skbcnn.classifier import CNNClassifier  # noqa: E402
from skbcnn.models import build_cnn  # noqa: E402


def _run(code, **env):
    """Run ``code`` in a fresh interpreter; return what it printed as JSON."""
    environment = {k: v for k, v in os.environ.items() if k not in ("SKBCNN_NUM_THREADS", "OMP_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**environment, **env}, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


_STATE = """
import json, logging, os

def state():
    filters = {name: [getattr(f, "__name__", type(f).__name__) for f in logger.filters]
               for name, logger in logging.root.manager.loggerDict.items()
               if isinstance(logger, logging.Logger) and logger.filters}
    import tensorflow as tf
    threads = (tf.config.threading.get_intra_op_parallelism_threads(),
               tf.config.threading.get_inter_op_parallelism_threads())
    return dict(os.environ), filters, threads
"""


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_importing_the_classifier_changes_no_process_state():
    # TensorFlow sets environment variables of its own when imported: import
    # the dependencies first, then compare what importing skbcnn adds.
    code = _STATE + """
import keras, scikeras.wrappers, sklearn.model_selection, scipy.ndimage, skimage.transform
before = state()
import skbcnn, skbcnn.classifier, skbcnn.pipeline
after = state()
print(json.dumps([before, after]))
"""
    before, after = _run(code, OMP_NUM_THREADS="1")
    assert after[0] == before[0]  # os.environ
    assert after[1] == before[1]  # logging filters
    assert after[2] == before[2] == [0, 0]  # TensorFlow's thread counts


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_tensorflow_is_configured_once():
    code = _STATE + """
from skbcnn._training import configure_tensorflow
configure_tensorflow()
configure_tensorflow()
print(json.dumps(state()))
"""
    _, filters, threads = _run(code, SKBCNN_NUM_THREADS="3")
    assert filters == {"tensorflow": ["_no_retracing_warning"]}
    assert threads == [3, 2]


@pytest.mark.parametrize("how", ["joblib", "skbcnn"])
@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_a_loaded_classifier_gets_the_thread_limit_before_its_network(fitted_pipeline, tmp_path, how):
    # A joblib worker or a script that only loads and predicts never fits:
    # the limit must be in place before the loaded network touches TensorFlow.
    import joblib

    import skbcnn

    path = str(tmp_path / "model")
    (joblib.dump if how == "joblib" else skbcnn.save)(fitted_pipeline[0], path)
    code = _STATE + f"""
import {how}
{how}.load({path!r})
print(json.dumps(state()))
"""
    _, filters, threads = _run(code, OMP_NUM_THREADS="1")
    assert threads == [1, 1]
    assert filters == {"tensorflow": ["_no_retracing_warning"]}


@pytest.mark.slow  # trains or starts TensorFlow in a subprocess: over 10 s on 2 cores
def test_tensorflow_threads_the_user_chose_are_kept():
    code = _STATE + """
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(5)
from skbcnn._training import configure_tensorflow
configure_tensorflow()
print(json.dumps(state()))
"""
    _, _, threads = _run(code, SKBCNN_NUM_THREADS="3")
    assert threads == [5, 0]


def test_every_builder_argument_is_a_classifier_parameter_with_its_default():
    classifier = inspect.signature(CNNClassifier).parameters
    set_by_the_classifier = {"input_shape", "n_classes", "sigmoid_output", "seed"}
    for name, argument in inspect.signature(build_cnn).parameters.items():
        if name in set_by_the_classifier:
            continue
        assert name in classifier, f"build_cnn's {name!r} is not a CNNClassifier parameter"
        assert classifier[name].default == argument.default, name


def test_every_parameter_has_a_constraint():
    parameters = set(inspect.signature(CNNClassifier).parameters) - {"kwargs"}
    assert set(CNNClassifier._parameter_constraints) == parameters


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(conv_filters=()), "conv_filters must name at least one convolution block."),
        (dict(conv_filters=2.5), "conv_filters must be a sequence of positive integers; got 2.5."),
        (dict(optimizer="adamm"), "or a Keras optimizer; got 'adamm'."),
        (dict(backbone_weights=3), "backbone_weights must be 'imagenet', None or the path of a weights file"),
        (dict(class_weight="equal"), "class_weight must be None, 'balanced' or a dict; got 'equal'."),
        (dict(learning_rate=True), "learning_rate must be a positive number; got True."),
    ],
)
def test_parameter_messages(params, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        CNNClassifier(**params)._validate_params()


@pytest.mark.parametrize(
    "params",
    [dict(optimizer="Adam"), dict(conv_filters=8, dense_units=()), dict(activation=lambda x: x),
     dict(backbone="efficientnet_lite0", backbone_weights=None), dict(class_weight={0: 1, 1: 2.5})],
)
def test_valid_parameters_pass(params):
    CNNClassifier(**params)._validate_params()
