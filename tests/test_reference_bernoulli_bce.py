"""The naive references of notebook 02 agree with PyTorch on many generated inputs.

The trusted checks compare students with `mle_grading.checks.reference`; these tests make
sure that reference is itself right: against `torch.sigmoid`,
`F.binary_cross_entropy` and `F.binary_cross_entropy_with_logits` in float64, with
logits up to ±1e4, certain predictions and every shape the checks use. The
notebook's own solution is held to the same standard.
"""
import functools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref

RTOL, ATOL = 1e-6, 1e-8  # the contract's float64 tolerance

SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)
MODERATE = st.floats(-10, 10, allow_nan=False)  # where the naive route is still accurate
ANY_FINITE_LOGIT = st.one_of(
    st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
    st.sampled_from([-1e4, -1000.0, -745.0, -710.0, -709.0, -120.0, -37.0, -36.7, -17.0,
                     0.0, 17.0, 36.7, 37.0, 120.0, 709.0, 710.0, 745.0, 1000.0, 1e4]),
)
OPEN_PROBABILITY = st.floats(1e-12, 1 - 1e-12, allow_nan=False)


def logits_and_labels(elements):
    return SHAPES.flatmap(lambda shape: st.tuples(
        hnp.arrays(np.float64, shape, elements=elements),
        hnp.arrays(np.int64, shape, elements=st.integers(0, 1)),
    ))


def probabilities_and_labels(elements=OPEN_PROBABILITY):
    return SHAPES.flatmap(lambda shape: st.tuples(
        hnp.arrays(np.float64, shape, elements=elements),
        hnp.arrays(np.int64, shape, elements=st.integers(0, 1)),
    ))


@given(hnp.arrays(np.float64, SHAPES, elements=ANY_FINITE_LOGIT))
@settings(max_examples=120, deadline=None)
def test_sigmoid_agrees_with_torch_sigmoid_for_every_finite_logit(z):
    got = ref.sigmoid(z)
    assert got.shape == z.shape
    assert np.all(np.isfinite(got)) and np.all((got >= 0) & (got <= 1))
    np.testing.assert_allclose(got, tref.sigmoid(z), rtol=RTOL, atol=ATOL)


@given(hnp.arrays(np.float64, SHAPES, elements=st.floats(-700, 700)))
@settings(max_examples=100, deadline=None)
def test_sigmoid_of_minus_z_is_one_minus_sigmoid_of_z(z):
    np.testing.assert_allclose(ref.sigmoid(-z), 1 - ref.sigmoid(z), rtol=0, atol=1e-15)


@given(probabilities_and_labels())
@settings(max_examples=120, deadline=None)
def test_bernoulli_nll_agrees_with_binary_cross_entropy_for_probabilities_inside_the_unit_interval(pair):
    p, y = pair
    assert math.isclose(ref.bernoulli_nll(p, y), tref.bernoulli_nll(p, y), rel_tol=RTOL, abs_tol=ATOL)


@given(probabilities_and_labels(st.sampled_from([0.0, 1.0])))
@settings(max_examples=100, deadline=None)
def test_bernoulli_nll_gives_zero_when_every_prediction_equals_its_label_at_zero_or_one(pair):
    _, y = pair
    p = y.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning either: 0*log(0) is never formed
        assert ref.bernoulli_nll(p, y) == 0.0
    assert tref.bernoulli_nll(p, y) == 0.0


@given(probabilities_and_labels(st.one_of(OPEN_PROBABILITY, st.sampled_from([0.0, 1.0]))))
@settings(max_examples=120, deadline=None)
def test_bernoulli_nll_agrees_with_torch_when_some_predictions_are_certain_and_right(pair):
    p, y = pair
    p = np.where(np.isin(p, (0.0, 1.0)), y, p)  # a certain prediction is a correct one here
    got = ref.bernoulli_nll(p, y)
    assert math.isfinite(got)
    assert math.isclose(got, tref.bernoulli_nll(p, y), rel_tol=RTOL, abs_tol=ATOL)


@given(probabilities_and_labels(), st.sampled_from([-1e-9, -0.5, 1 + 1e-9, 1.5, float("nan")]))
@settings(max_examples=100, deadline=None)
def test_bernoulli_nll_rejects_any_probability_outside_the_unit_interval(pair, bad):
    p, y = pair
    p = p.copy()
    p.flat[0] = bad
    with pytest.raises(ValueError):
        ref.bernoulli_nll(p, y)


@given(logits_and_labels(ANY_FINITE_LOGIT))
@settings(max_examples=150, deadline=None)
def test_bce_with_logits_agrees_with_binary_cross_entropy_with_logits_for_every_finite_logit(pair):
    z, y = pair
    got = ref.bce_with_logits(z, y)
    assert math.isfinite(got)
    assert math.isclose(got, tref.bce_with_logits(z, y), rel_tol=RTOL, abs_tol=ATOL)


@given(logits_and_labels(MODERATE))
@settings(max_examples=120, deadline=None)
def test_bce_with_logits_gives_same_result_as_sigmoid_and_bce_loss_for_moderate_logits(pair):
    z, y = pair
    assert math.isclose(ref.bce_with_logits(z, y), ref.bernoulli_nll(ref.sigmoid(z), y), rel_tol=1e-9, abs_tol=1e-12)


@given(logits_and_labels(ANY_FINITE_LOGIT))
@settings(max_examples=100, deadline=None)
def test_bce_with_logits_accepts_float32_and_python_lists_like_float64_arrays(pair):
    z, y = pair
    z32 = z.astype(np.float32)
    want = tref.bce_with_logits(z32.astype(np.float64), y)
    assert math.isclose(ref.bce_with_logits(z32, y.astype(np.float32)), want, rel_tol=1e-6, abs_tol=1e-8)
    assert ref.bce_with_logits(z.tolist(), y.tolist()) == ref.bce_with_logits(z, y)


def test_contract_examples_give_the_published_numbers():
    z, y = [-0.5, -0.8, 0.0, 0.8, 0.5], [0, 0, 1, 1, 1]
    assert round(ref.bernoulli_nll(ref.sigmoid(z), y), 6) == 0.476700
    assert round(tref.bernoulli_nll(tref.sigmoid(z), y), 6) == 0.476700
    assert round(ref.bce_with_logits([0, -120], [0, 1]), 6) == 60.346574
    assert round(tref.bce_with_logits([0, -120], [0, 1]), 6) == 60.346574


# -- the notebook's solution, held to the same standard --------------------------------

@functools.lru_cache(maxsize=1)
def solution():
    from notebook_namespace import run_notebook_code
    return run_notebook_code("02_bernoulli_bce")


@given(logits_and_labels(ANY_FINITE_LOGIT))
@settings(max_examples=150, deadline=None)
def test_notebook_solution_agrees_with_torch_for_every_finite_logit(pair):
    z, y = pair
    ns = solution()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the solution emits no warnings: stderr would zero a test cell
        got_sigmoid = ns["sigmoid"](z)
        got_bce = ns["bce_with_logits"](z, y)
    np.testing.assert_allclose(got_sigmoid, tref.sigmoid(z), rtol=RTOL, atol=ATOL)
    assert math.isclose(got_bce, tref.bce_with_logits(z, y), rel_tol=RTOL, abs_tol=ATOL)


@given(probabilities_and_labels(st.one_of(OPEN_PROBABILITY, st.sampled_from([0.0, 1.0]))))
@settings(max_examples=150, deadline=None)
def test_notebook_solution_of_bernoulli_nll_agrees_with_torch_and_never_warns(pair):
    p, y = pair
    p = np.where(np.isin(p, (0.0, 1.0)), y, p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = solution()["bernoulli_nll"](p, y)
    assert math.isclose(got, tref.bernoulli_nll(p, y), rel_tol=RTOL, abs_tol=ATOL)
