"""The naive references of `mle_beyond` agree with torch, on generated inputs.

The trusted checks of the second assignment compare students with
`mle_grading.checks.reference`; these tests are why that reference can be trusted: the
learned-variance Gaussian NLL and its gradients against `F.gaussian_nll_loss(full=True)`
and autograd (log-variances in [-50, 50]; torch clamps the variance at 1e-6, so
below that the contract's formula is the yardstick), soft-target cross-entropy,
label smoothing, entropy and KL against `F.cross_entropy`, `Categorical.entropy`
and `F.kl_div` (logits up to +-1e4), the identity H(q, p) = H(q) + KL(q || p),
softmax regression's gradient against autograd, and the fitted temperature
against torch's derivative of the NLL in T.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from mle_grading.checks import reference as ref

from mle_grading.checks import torch_reference  # an error, never a skip, if torch is broken

SETTINGS = settings(max_examples=80, deadline=None)
TORCH_LOG_VAR_FLOOR = math.log(1e-6)

value = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
logit = st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False)
log_var_any = st.floats(-50.0, 50.0, allow_nan=False, allow_subnormal=False)
log_var_torch = st.floats(TORCH_LOG_VAR_FLOOR + 1e-9, 50.0, allow_nan=False, allow_subnormal=False)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


@st.composite
def regression_batch(draw, log_vars=log_var_torch, scalar_log_var=None):
    shape = draw(shapes)
    y_pred = draw(hnp.arrays(np.float64, shape, elements=value))
    y = draw(hnp.arrays(np.float64, shape, elements=value))
    if scalar_log_var is None:
        scalar_log_var = draw(st.booleans())
    if scalar_log_var:
        log_var = np.array(draw(log_vars))
    else:   # one log-variance per element, or per leading row (broadcast along the rest)
        lv_shape = shape if draw(st.booleans()) else shape[:1] + (1,) * (len(shape) - 1)
        log_var = draw(hnp.arrays(np.float64, lv_shape, elements=log_vars))
    return y_pred, y, log_var


def contract_formula(y_pred, y, log_var):
    """The contract's expression, element by element in Python floats."""
    y_pred, y, log_var = np.broadcast_arrays(y_pred, y, log_var)
    terms = [0.5 * (math.log(2 * math.pi) + lv + (t - p) ** 2 * math.exp(-lv))
             for p, t, lv in zip(y_pred.ravel().tolist(), y.ravel().tolist(), log_var.ravel().tolist())]
    return math.fsum(terms) / len(terms)


# -- 01_learned_variance ------------------------------------------------------------

@SETTINGS
@given(regression_batch())
def test_gaussian_nll_logvar_matches_torch_gaussian_nll_loss_full_wherever_torch_does_not_clamp(batch):
    got = ref.gaussian_nll_logvar(*batch)
    assert math.isclose(got, torch_reference.gaussian_nll_logvar(*batch), rel_tol=1e-9, abs_tol=1e-9)


@SETTINGS
@given(regression_batch(log_vars=log_var_any))
def test_gaussian_nll_logvar_is_finite_and_equals_the_contract_formula_for_log_variances_in_minus_50_to_50(batch):
    got = ref.gaussian_nll_logvar(*batch)
    assert math.isfinite(got)
    assert math.isclose(got, contract_formula(*batch), rel_tol=1e-9, abs_tol=1e-9)


@SETTINGS
@given(regression_batch())
def test_gaussian_nll_logvar_grad_matches_autograd_of_the_summed_torch_loss(batch):
    d_pred, d_lv = ref.gaussian_nll_logvar_grad(*batch)
    t_pred, t_lv = torch_reference.gaussian_nll_logvar_grad(*batch)
    shape = np.broadcast_shapes(*(np.shape(a) for a in batch))
    assert d_pred.shape == d_lv.shape == t_pred.shape == shape
    np.testing.assert_allclose(d_pred, t_pred, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(d_lv, t_lv, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(regression_batch(log_vars=st.floats(-50.0, 50.0), scalar_log_var=True))
def test_gaussian_nll_logvar_grad_gives_one_derivative_per_element_even_for_a_scalar_log_variance(batch):
    y_pred, y, log_var = batch
    d_pred, d_lv = ref.gaussian_nll_logvar_grad(y_pred, y, log_var)
    assert d_pred.shape == d_lv.shape == y.shape
    w = math.exp(-float(log_var))
    np.testing.assert_allclose(d_pred, (y_pred - y) * w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d_lv, 0.5 - 0.5 * (y - y_pred) ** 2 * w, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-4, 4))
def test_gaussian_nll_logvar_grad_is_the_central_difference_of_the_reference_loss(p, t, lv):
    d_pred, d_lv = ref.gaussian_nll_logvar_grad([p], [t], [lv])
    h = 1e-6
    num_pred = (ref.gaussian_nll_logvar([p + h], [t], [lv]) - ref.gaussian_nll_logvar([p - h], [t], [lv])) / (2 * h)
    num_lv = (ref.gaussian_nll_logvar([p], [t], [lv + h]) - ref.gaussian_nll_logvar([p], [t], [lv - h])) / (2 * h)
    assert math.isclose(d_pred[0], num_pred, rel_tol=1e-5, abs_tol=1e-5)
    assert math.isclose(d_lv[0], num_lv, rel_tol=1e-5, abs_tol=1e-5)


@st.composite
def paired_arrays(draw):
    shape = draw(shapes)
    return draw(hnp.arrays(np.float64, shape, elements=value)), draw(hnp.arrays(np.float64, shape, elements=value))


@SETTINGS
@given(paired_arrays())
def test_laplace_b_mle_minimises_the_laplace_nll_of_the_residuals(pair):
    y_pred, y = pair
    assume(np.mean(np.abs(y - y_pred)) > 1e-6)
    b = ref.laplace_b_mle(y_pred, y)
    best = ref.laplace_nll(y_pred, y, b)
    for factor in (0.5, 0.99, 1.01, 2.0):
        assert best <= ref.laplace_nll(y_pred, y, b * factor) + 1e-12


# -- 02_soft_targets ------------------------------------------------------------------

@st.composite
def logits_and_targets(draw, elements=logit, one_row=None):
    n = draw(st.integers(1, 8))
    c = draw(st.integers(1, 6))
    z = draw(hnp.arrays(np.float64, (n, c), elements=elements))
    weights = draw(hnp.arrays(np.float64, (n, c), elements=st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0, 3.0]) |
                              st.floats(0, 10, allow_subnormal=False)))
    weights[np.arange(n), draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))] += 1.0
    q = weights / weights.sum(axis=1, keepdims=True)
    if one_row if one_row is not None else draw(st.booleans()):
        return z[0], q[0]
    return z, q


@SETTINGS
@given(logits_and_targets(one_row=False))
def test_soft_cross_entropy_matches_torch_cross_entropy_with_probability_targets_for_logits_up_to_1e4(batch):
    z, q = batch
    assert math.isclose(ref.soft_cross_entropy(z, q), torch_reference.soft_cross_entropy(z, q),
                        rel_tol=1e-9, abs_tol=1e-9)


@SETTINGS
@given(logits_and_targets(one_row=True))
def test_soft_cross_entropy_of_one_row_of_shape_c_is_that_rows_value(row):
    z, q = row
    assert ref.soft_cross_entropy(z, q) == ref.soft_cross_entropy(z[None, :], q[None, :])
    assert math.isclose(ref.soft_cross_entropy(z, q), torch_reference.soft_cross_entropy(z, q),
                        rel_tol=1e-9, abs_tol=1e-9)


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 6), st.data())
def test_soft_cross_entropy_of_one_hot_targets_is_the_categorical_nll(n, c, data):
    z = data.draw(hnp.arrays(np.float64, (n, c), elements=logit))
    y = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    assert math.isclose(ref.soft_cross_entropy(z, np.eye(c)[y]), ref.categorical_nll(z, y),
                        rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("q", [[0.5, 0.6, -0.1], [0.5, 0.4], [0.3, 0.3, 0.3], [[1.0, 0.0], [0.7, 0.2]],
                               [float("nan"), 1.0]])
def test_soft_cross_entropy_rejects_negative_entries_and_rows_that_do_not_sum_to_one(q):
    with pytest.raises(ValueError):
        ref.soft_cross_entropy(np.zeros(np.shape(q)), q)


def test_soft_cross_entropy_accepts_rows_that_sum_to_one_within_1e_minus_6():
    assert math.isfinite(ref.soft_cross_entropy([0.0, 1.0], [0.5 + 9e-7, 0.5]))


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 6), st.floats(0.0, 1.0), st.data())
def test_cross_entropy_against_smoothed_labels_equals_torch_cross_entropy_with_label_smoothing(n, c, eps, data):
    z = data.draw(hnp.arrays(np.float64, (n, c), elements=logit))
    y = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    q = ref.smooth_labels(y, c, eps)
    assert q.shape == (n, c)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-12)
    assert math.isclose(ref.soft_cross_entropy(z, q), torch_reference.smoothed_cross_entropy(z, y, eps),
                        rel_tol=1e-9, abs_tol=1e-9)


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 6), st.floats(0.0, 1.0), st.data())
def test_smooth_labels_are_the_targets_torch_label_smoothing_uses(n, c, eps, data):
    y = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    np.testing.assert_allclose(ref.smooth_labels(y, c, eps), torch_reference.smoothed_targets(y, c, eps),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("eps", [-0.01, 1.01, 2.0])
def test_smooth_labels_rejects_epsilon_outside_0_to_1(eps):
    with pytest.raises(ValueError):
        ref.smooth_labels([0, 1], 3, eps)


@SETTINGS
@given(logits_and_targets(one_row=False))
def test_entropy_matches_torch_categorical_entropy_with_zero_log_zero_as_zero(batch):
    _, q = batch
    assert math.isclose(ref.entropy(q), torch_reference.entropy(q), rel_tol=1e-9, abs_tol=1e-12)


@SETTINGS
@given(logits_and_targets(elements=st.floats(-30, 30)))
def test_kl_divergence_matches_torch_kl_div_batchmean_per_row(batch):
    z, q = batch
    p = ref.softmax(z)
    assert math.isclose(ref.kl_divergence(q, p), torch_reference.kl_divergence(q, p), rel_tol=1e-9, abs_tol=1e-9)


@SETTINGS
@given(logits_and_targets())
def test_cross_entropy_is_entropy_plus_kl_divergence_for_logits_up_to_1e4(batch):
    z, q = batch
    p = ref.softmax(z)
    # Where softmax underflows (to 0, or to a subnormal with few digits left), log p is inf or
    # inexact although the cross-entropy is exact: keep q on the classes where p is a normal float.
    q = np.where(p > 1e-300, q, 0.0)
    top = np.argmax(z, axis=-1)
    if q.ndim == 1:
        q[top] += 1.0 - q.sum()
    else:
        q[np.arange(len(q)), top] += 1.0 - q.sum(axis=1)
    h, kl, ce = ref.entropy(q), ref.kl_divergence(q, p), ref.soft_cross_entropy(z, q)
    assert kl >= -1e-12
    assert math.isclose(ce, h + kl, rel_tol=1e-9, abs_tol=1e-8)


def test_kl_divergence_counts_zero_targets_as_zero_and_is_infinite_where_p_is_zero_and_q_is_not():
    assert ref.kl_divergence([0.0, 1.0], [0.0, 1.0]) == 0.0
    assert ref.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert math.isclose(ref.kl_divergence([[0.5, 0.5], [1.0, 0.0]], [[0.25, 0.75], [0.5, 0.5]]),
                        (0.5 * math.log(2) + 0.5 * math.log(2 / 3) + math.log(2)) / 2)


# -- 03_softmax_regression -------------------------------------------------------------

@st.composite
def regression_problem(draw, weight=st.floats(-3, 3)):
    n, d, c = draw(st.integers(1, 10)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    X = draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-3, 3)))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    W = draw(hnp.arrays(np.float64, (d, c), elements=weight))
    b = draw(hnp.arrays(np.float64, (c,), elements=weight))
    return X, y, W, b


@SETTINGS
@given(regression_problem())
def test_softmax_regression_grad_matches_autograd_of_torch_cross_entropy(problem):
    d_w, d_b = ref.softmax_regression_grad(*problem)
    t_w, t_b = torch_reference.softmax_regression_grad(*problem)
    np.testing.assert_allclose(d_w, t_w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d_b, t_b, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(regression_problem(weight=st.floats(-3e3, 3e3)))
def test_softmax_regression_grad_is_finite_and_matches_autograd_for_logits_up_to_1e4(problem):
    d_w, d_b = ref.softmax_regression_grad(*problem)
    t_w, t_b = torch_reference.softmax_regression_grad(*problem)
    assert np.all(np.isfinite(d_w)) and np.all(np.isfinite(d_b))
    np.testing.assert_allclose(d_w, t_w, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(d_b, t_b, rtol=1e-9, atol=1e-9)


@st.composite
def calibration_set(draw):
    n, c = draw(st.integers(20, 60)), draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2 ** 31))
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, c)) * draw(st.floats(0.5, 20.0))
    true_temperature = draw(st.floats(0.3, 10.0))
    p = ref.softmax(z / true_temperature)
    y = np.array([rng.choice(c, p=row) for row in p])
    return z, y


@SETTINGS
@given(calibration_set())
def test_fit_temperature_is_where_torchs_derivative_of_the_nll_in_t_vanishes(data):
    z, y = data
    lo, hi = torch_reference.temperature_nll_slope(z, y, 0.01), torch_reference.temperature_nll_slope(z, y, 100.0)
    assume(lo < 0 < hi)      # the best temperature lies inside [0.01, 100], as the contract promises
    t = ref.fit_temperature(z, y)
    assert 0.01 < t < 100
    # At the minimum the slope is 0; a relative error of 1e-6 in T moves the slope by about T * curvature * 1e-6.
    scale = abs(torch_reference.temperature_nll_slope(z, y, t * 1.001) - torch_reference.temperature_nll_slope(z, y, t))
    assert abs(torch_reference.temperature_nll_slope(z, y, t)) <= scale * 1e-2 + 1e-12
    best = ref.categorical_nll(z / t, y)
    for factor in (0.999, 1.001):
        assert best <= ref.categorical_nll(z / (t * factor), y) + 1e-15
