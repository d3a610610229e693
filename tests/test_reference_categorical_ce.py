"""The naive references of notebook 03 agree with torch, on generated inputs.

The trusted checks of `03_categorical_ce` compare students with
`mle_grading.checks.reference`; these tests are why that reference can be trusted:
softmax, log_softmax and cross-entropy against `F.softmax`, `F.log_softmax` and
`F.cross_entropy`, on logits of every size up to +-1e4 and shapes of up to four axes.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from mle_grading.checks import reference as ref

from mle_grading.checks import torch_reference  # an error, never a skip, if torch is broken

SETTINGS = settings(max_examples=100, deadline=None)
RTOL, ATOL = 1e-10, 1e-9

logit = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False, allow_subnormal=False)
small_logit = st.floats(min_value=-30.0, max_value=30.0, allow_nan=False, allow_subnormal=False)
logits_any_shape = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6),
                              elements=logit)


@st.composite
def batches_with_labels(draw, elements=logit):
    n = draw(st.integers(1, 12))
    c = draw(st.integers(1, 8))
    z = draw(hnp.arrays(np.float64, (n, c), elements=elements))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return z, y


@SETTINGS
@given(logits_any_shape)
def test_softmax_matches_torch_softmax_along_the_last_axis_for_logits_up_to_1e4(z):
    np.testing.assert_allclose(ref.softmax(z), torch_reference.softmax(z), rtol=RTOL, atol=1e-12)


@SETTINGS
@given(logits_any_shape)
def test_log_softmax_matches_torch_log_softmax_along_the_last_axis_for_logits_up_to_1e4(z):
    np.testing.assert_allclose(ref.log_softmax(z), torch_reference.log_softmax(z), rtol=RTOL, atol=ATOL)


@SETTINGS
@given(logits_any_shape)
def test_softmax_is_finite_and_every_slice_along_the_last_axis_sums_to_one(z):
    p = ref.softmax(z)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    np.testing.assert_allclose(np.sum(p, axis=-1), 1.0, rtol=1e-12)


@SETTINGS
@given(logits_any_shape)
def test_log_softmax_is_finite_and_never_positive(z):
    logp = ref.log_softmax(z)
    assert np.all(np.isfinite(logp)) and np.all(logp <= 1e-12)


@SETTINGS
@given(batches_with_labels())
def test_categorical_nll_matches_torch_cross_entropy_for_logits_up_to_1e4(batch):
    z, y = batch
    assert math.isclose(ref.categorical_nll(z, y), torch_reference.categorical_nll(z, y), rel_tol=RTOL,
                        abs_tol=ATOL)


@SETTINGS
@given(batches_with_labels())
def test_categorical_nll_accepts_labels_as_lists_and_int32_arrays(batch):
    z, y = batch
    want = ref.categorical_nll(z, y)
    assert ref.categorical_nll(z.tolist(), y.tolist()) == want
    assert ref.categorical_nll(z, y.astype(np.int32)) == want


@SETTINGS
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), elements=small_logit),
       st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_subnormal=False))
def test_adding_a_constant_to_every_logit_changes_neither_softmax_nor_log_softmax(z, c):
    np.testing.assert_allclose(ref.softmax(z + c), ref.softmax(z), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(ref.log_softmax(z + c), ref.log_softmax(z), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(torch_reference.log_softmax(z + c), ref.log_softmax(z), rtol=1e-9, atol=1e-9)


@SETTINGS
@given(batches_with_labels(elements=small_logit),
       hnp.arrays(np.float64, st.just(1), elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)))
def test_adding_a_constant_to_each_example_changes_no_cross_entropy(batch, c):
    z, y = batch
    shifts = np.linspace(-1.0, 1.0, z.shape[0])[:, None] * c   # a different constant for each example
    assert math.isclose(ref.categorical_nll(z + shifts, y), ref.categorical_nll(z, y), rel_tol=1e-9, abs_tol=1e-9)


@SETTINGS
@given(st.integers(1, 2000), logit, st.integers(1, 5), st.data())
def test_categorical_nll_is_log_c_when_all_c_logits_are_equal(c, value, n, data):
    z = np.full((n, c), value)
    y = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    assert math.isclose(ref.categorical_nll(z, y), math.log(c), rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(torch_reference.categorical_nll(z, y), math.log(c), rel_tol=1e-12, abs_tol=1e-15)


@SETTINGS
@given(hnp.arrays(np.float64, st.integers(1, 8).map(lambda c: (c,)), elements=logit), st.data())
def test_one_example_of_shape_c_with_an_integer_label_equals_the_batch_of_one(z, data):
    label = data.draw(st.integers(0, z.shape[0] - 1))
    batch_of_one = ref.categorical_nll(z[None, :], np.array([label]))
    assert ref.categorical_nll(z, label) == batch_of_one
    assert ref.categorical_nll(z, np.array(label)) == batch_of_one
    assert math.isclose(torch_reference.categorical_nll(z, label), batch_of_one, rel_tol=RTOL, abs_tol=ATOL)


@SETTINGS
@given(hnp.arrays(np.float64, st.integers(1, 10).map(lambda n: (n,)), elements=logit), st.data())
def test_cross_entropy_with_logits_0_and_z_is_binary_cross_entropy_with_logit_z(z, data):
    y = data.draw(hnp.arrays(np.int64, z.shape, elements=st.integers(0, 1)))
    two_class = np.stack([np.zeros_like(z), z], axis=1)
    assert math.isclose(ref.categorical_nll(two_class, y), ref.bce_with_logits(z, y), rel_tol=1e-9, abs_tol=1e-12)
    np.testing.assert_allclose(ref.softmax(two_class)[:, 1], ref.sigmoid(z), rtol=1e-9, atol=1e-300)


@SETTINGS
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
                  elements=st.floats(-1e4, 1e4, width=32, allow_nan=False, allow_subnormal=False)))
def test_float32_logits_give_the_exact_answer_for_those_values(z):
    np.testing.assert_allclose(ref.log_softmax(z), torch_reference.log_softmax(z.astype(np.float64)),
                               rtol=RTOL, atol=ATOL)


def test_reference_reproduces_the_contract_numbers():
    z = [[0.1, 0.2, 0.7], [0.1, 0.7, 0.2], [0.7, 0.1, 0.2]]
    assert round(ref.categorical_nll(z, [2, 1, 0]), 6) == 0.767950
    assert ref.categorical_nll([1000.0, 0.0, -1000.0], 2) == 2000.0
    np.testing.assert_array_equal(ref.log_softmax([1000.0, 0.0, -1000.0]), [0.0, -1000.0, -2000.0])
    assert round(ref.categorical_nll([[0.0, 0.0], [0.0, -120.0]], [0, 1]), 6) == 60.346574
