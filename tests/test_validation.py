"""The parameter checks of skbcnn._validation that every estimator shares."""

from numbers import Integral, Real

import numpy as np
import pytest
from sklearn.utils._param_validation import Hidden, InvalidParameterError

from skbcnn._validation import (
    BOOLEAN,
    POSITIVE_INT,
    INT,
    InstanceOf,
    OneOf,
    Pair,
    Range,
    check_param,
    validate_params,
)
from skbcnn.enhancement import ContrastEnhancer


@pytest.mark.parametrize("flag", [True, False, np.True_])
def test_range_refuses_booleans(flag):
    assert not Range(Integral, 0, None, closed="left").is_satisfied_by(flag)
    with pytest.raises(InvalidParameterError, match=f"n must be a positive integer; got {flag!r}"):
        check_param("n", flag, [POSITIVE_INT])


@pytest.mark.parametrize(
    "value, message",
    [
        (0, r"x must be in \(0, 1\]; got 0\."),
        (1.5, r"x must be in \(0, 1\]; got 1\.5\."),
        (float("nan"), r"x must be in \(0, 1\]; got nan\."),
        ("0.5", r"x must be a number; got '0\.5'\."),
        (True, r"x must be a number; got True\."),
    ],
)
def test_range_words_the_type_or_the_interval(value, message):
    with pytest.raises(InvalidParameterError, match=message):
        check_param("x", value, [Range(Real, 0, 1, closed="right")])


def test_range_unbounded_sides_and_integers():
    with pytest.raises(ValueError, match=r"k must be in \[-inf, -1\]; got 0\."):
        check_param("k", 0, [Range(Integral, None, -1, closed="right")])
    with pytest.raises(ValueError, match=r"k must be an integer; got 2\.0\."):
        check_param("k", 2.0, [Range(Integral, 1, None, closed="left")])
    assert check_param("k", np.int64(3), [POSITIVE_INT]) == 3


def test_casefold_one_of():
    optimizers = OneOf({"adam", "sgd"}, casefold=True)
    assert check_param("optimizer", "Adam", [optimizers]) == "Adam"
    assert not OneOf({"adam", "sgd"}).is_satisfied_by("Adam")
    with pytest.raises(ValueError, match=r"optimizer must be one of \['adam', 'sgd'\]; got 'adamm'\."):
        check_param("optimizer", "adamm", [optimizers])
    with pytest.raises(ValueError, match=r"got 1\."):
        check_param("optimizer", 1, [optimizers])  # not a string: refused, not lowered


def test_booleans_and_instances():
    assert check_param("flag", np.False_, [BOOLEAN]) is np.False_
    with pytest.raises(ValueError, match=r"flag must be True or False; got 1\."):
        check_param("flag", 1, [BOOLEAN])
    assert INT.is_satisfied_by(np.int64(3)) and not INT.is_satisfied_by(np.True_)
    not_a_string = InstanceOf(object, exclude=str, words="an object")
    assert not not_a_string.is_satisfied_by("text") and not_a_string.is_satisfied_by(3)


def test_message_lists_every_shown_constraint():
    constraints = [None, OneOf({"balanced"}, words="'balanced'"), Hidden(int), InstanceOf(dict, words="a dict")]
    with pytest.raises(ValueError, match=r"^w must be None, 'balanced' or a dict; got 'equal'\.$"):
        check_param("w", "equal", constraints)
    assert check_param("w", 3, constraints) == 3  # hidden, yet valid


def test_pair():
    constraints = [Pair(Range(Real, 0, 100, closed="both"), words="a pair (low, high)")]
    assert check_param("p", [1, 2], constraints) == [1, 2]
    assert check_param("p", np.array([1.0, 2.5]), constraints) is not None
    for value in ([1, 2, 3], (1, 101), (True, 2), "12", np.array(5), np.zeros((2, 2)), [1, [2, 3]]):
        with pytest.raises(ValueError, match=r"p must be a pair \(low, high\); got "):
            check_param("p", value, constraints)


def test_validate_params_checks_every_declared_parameter():
    validate_params(ContrastEnhancer())
    with pytest.raises(ValueError, match=r"gamma must be in \(0, inf\]; got -1\."):
        validate_params(ContrastEnhancer(gamma=-1))
    with pytest.raises(ValueError, match=r"n_jobs must be None or a non-zero integer; got 0\."):
        validate_params(ContrastEnhancer(n_jobs=0))
    validate_params(ContrastEnhancer(n_jobs=2))  # hidden, yet valid


def test_every_transformer_parameter_has_a_real_constraint():
    from skbcnn.augmentation import ImageAugmenter
    from skbcnn.enhancement import ColorConverter, Denoiser, IntensityNormalizer, Resizer

    for cls in (ContrastEnhancer, Denoiser, IntensityNormalizer, Resizer, ColorConverter, ImageAugmenter):
        constraints = cls._parameter_constraints
        assert set(constraints) == set(cls().get_params(deep=False)), cls.__name__
        assert "no_validation" not in constraints.values(), cls.__name__
