"""The augmentation hand-off (skbcnn._handoff): ImageAugmenter.fit_transform
passes the original images and itself to the CNN classifier right after it."""

import numpy as np
import pytest

from skbcnn._handoff import unwrap
from skbcnn.augmentation import ImageAugmenter
from skbcnn.enhancement import ContrastEnhancer, IntensityNormalizer, Resizer

NOT_RIGHT_BEFORE = "the augmenter must be the step right before the CNN classifier"


def images(n=6, size=12, seed=0):
    return np.random.default_rng(seed).random((n, size, size), dtype=np.float32)


def test_unwrap_returns_the_source_and_the_augmenter():
    X = images()
    augmenter = ImageAugmenter(random_state=0)
    drawn = augmenter.fit_transform(X)
    source, handed = unwrap(drawn)
    assert handed is augmenter and source is drawn.source
    np.testing.assert_array_equal(source, X)


@pytest.mark.parametrize(
    "X", [images(), images().tolist(), ImageAugmenter(random_state=0).fit_transform(images())[:3]],
    ids=["ndarray", "list", "derived"],
)
def test_unwrap_passes_anything_else_through(X):
    images_, augmenter = unwrap(X)
    assert images_ is X and augmenter is None


@pytest.mark.parametrize("step", [IntensityNormalizer(), ContrastEnhancer("stretch"), Resizer(8), ImageAugmenter()],
                         ids=lambda step: type(step).__name__)
def test_skbcnn_steps_refuse_to_sit_between_augmenter_and_classifier(step):
    drawn = ImageAugmenter(random_state=0).fit_transform(images())
    with pytest.raises(ValueError, match=NOT_RIGHT_BEFORE):
        step.fit(drawn)
    with pytest.raises(ValueError, match=f"{type(step).__name__} was fit on the output of"):
        step.fit_transform(drawn)


def test_steps_accept_arrays_that_no_longer_carry_the_handoff():
    drawn = ImageAugmenter(random_state=0).fit_transform(images())
    # a derived array or a plain copy is one fixed draw: nothing to drop
    IntensityNormalizer().fit(drawn[:4])
    IntensityNormalizer().fit(np.asarray(drawn))
    # transforming (prediction time) is never refused
    fitted = IntensityNormalizer().fit(images())
    assert fitted.transform(drawn).shape == drawn.shape


def test_pipeline_with_a_step_in_between_fails_loudly():
    from sklearn.pipeline import Pipeline

    pipe = Pipeline([("augment", ImageAugmenter(random_state=0)), ("normalize", IntensityNormalizer())])
    with pytest.raises(ValueError, match=NOT_RIGHT_BEFORE):
        pipe.fit_transform(images())
    # the documented order works
    Pipeline([("normalize", IntensityNormalizer()), ("augment", ImageAugmenter())]).fit_transform(images())
