"""The reference gradients of notebook 04 agree with torch autograd, and numerical_grad with both.

Property-based: Hypothesis generates the logits, labels and points. Also pins the
notebook's own facts (the contract numbers, the training experiment, its points).
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from mle_grading import checks
from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref
from mle_grading.checks import gradients as checks04
from mle_grading.boundary.protocol import CALLABLES, InProcessStudent

from notebook_namespace import run_notebook_code, source_notebook

SETTINGS = settings(max_examples=60, deadline=None)


def logits(low=-60.0, high=60.0, max_dims=2):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=max_dims, max_side=6),
                      elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


@st.composite
def logits_and_labels(draw, low=-60.0, high=60.0):
    z = draw(logits(low, high))
    y = draw(hnp.arrays(np.float64, z.shape, elements=st.sampled_from([0.0, 1.0])))
    return z, y


@st.composite
def class_logits_and_labels(draw, low=-50.0, high=50.0):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(2, 6))
    z = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(low, high, allow_nan=False)))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return z, y


def assert_close(got, want, rtol=1e-10, atol=1e-15):
    assert got.shape == want.shape
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


# -- the analytic gradients against torch autograd ----------------------------------

@SETTINGS
@given(logits_and_labels())
def test_bce_grad_gives_the_same_result_as_autograd_of_summed_bce_with_logits(case):
    z, y = case
    assert_close(ref.bce_grad(z, y), tref.bce_grad(z, y))


@SETTINGS
@given(logits_and_labels(-1e4, 1e4))
def test_bce_grad_is_finite_and_exact_for_logits_up_to_1e4(case):
    z, y = case
    got = ref.bce_grad(z, y)
    assert_close(got, tref.bce_grad(z, y))
    assert np.all(np.abs(got) <= 1)


@SETTINGS
@given(logits_and_labels())
def test_mse_sigmoid_grad_gives_the_same_result_as_autograd_of_summed_squared_error_of_sigmoid(case):
    z, y = case
    assert_close(ref.mse_sigmoid_grad(z, y), tref.mse_sigmoid_grad(z, y))


@SETTINGS
@given(logits_and_labels(-1e4, 1e4))
def test_mse_sigmoid_grad_is_finite_and_exact_for_logits_up_to_1e4(case):
    z, y = case
    assert_close(ref.mse_sigmoid_grad(z, y), tref.mse_sigmoid_grad(z, y))


@SETTINGS
@given(logits_and_labels(-30.0, 30.0))
def test_mse_sigmoid_grad_is_the_bce_grad_times_twice_sigmoid_prime(case):
    z, y = case
    s = ref.sigmoid(z)
    assert_close(ref.mse_sigmoid_grad(z, y), 2 * ref.bce_grad(z, y) * s * (1 - s))


@SETTINGS
@given(class_logits_and_labels())
def test_softmax_ce_grad_gives_the_same_result_as_autograd_of_summed_cross_entropy(case):
    z, y = case
    assert_close(ref.softmax_ce_grad(z, y), tref.softmax_ce_grad(z, y))


@SETTINGS
@given(class_logits_and_labels(-1e4, 1e4))
def test_softmax_ce_grad_is_finite_and_exact_for_logits_up_to_1e4(case):
    z, y = case
    assert_close(ref.softmax_ce_grad(z, y), tref.softmax_ce_grad(z, y))


@SETTINGS
@given(class_logits_and_labels())
def test_softmax_ce_grad_rows_sum_to_zero(case):
    z, y = case
    np.testing.assert_allclose(ref.softmax_ce_grad(z, y).sum(axis=1), 0.0, atol=1e-12)


@SETTINGS
@given(class_logits_and_labels(-20.0, 20.0), st.floats(-500.0, 500.0))
def test_softmax_ce_grad_is_unchanged_by_adding_a_constant_to_every_logit(case, shift):
    z, y = case
    np.testing.assert_allclose(ref.softmax_ce_grad(z + shift, y), ref.softmax_ce_grad(z, y), atol=1e-10)


@SETTINGS
@given(class_logits_and_labels())
def test_softmax_ce_grad_of_one_example_equals_the_batch_of_one(case):
    z, y = case
    assert_close(ref.softmax_ce_grad(z[0], int(y[0])), ref.softmax_ce_grad(z[:1], y[:1])[0])


@SETTINGS
@given(logits_and_labels(-40.0, 40.0))
def test_bce_grad_is_the_softmax_ce_grad_of_two_classes_with_logits_zero_and_z(case):
    z, y = case
    two_class = np.stack([np.zeros(z.size), z.ravel()], axis=1)
    grad = ref.softmax_ce_grad(two_class, y.ravel().astype(int))
    assert_close(grad[:, 1], ref.bce_grad(z, y).ravel(), atol=1e-12)


def test_the_contract_numbers_at_z_minus_ten():
    assert ref.bce_grad(-10.0, 1.0) == pytest.approx(-0.9999546, rel=1e-6)
    assert ref.mse_sigmoid_grad(-10.0, 1.0) == pytest.approx(-9.0787e-05, rel=1e-4)
    assert tref.bce_grad([-10.0], [1.0])[0] == pytest.approx(-0.9999546, rel=1e-6)
    assert tref.mse_sigmoid_grad([-10.0], [1.0])[0] == pytest.approx(-9.0787e-05, rel=1e-4)


# -- numerical_grad ----------------------------------------------------------------------

def points(max_dims=2):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=max_dims, max_side=5),
                      elements=st.floats(-2.0, 2.0, allow_nan=False))


def agree(a, n, rtol=1e-6, atol=1e-7):
    """Relative error small where the gradient is not tiny, absolute error small where it is."""
    return np.all(np.abs(a - n) <= rtol * (np.abs(a) + np.abs(n)) + atol)


@SETTINGS
@given(points(), st.sampled_from(sorted(CALLABLES)))
def test_numerical_grad_agrees_with_autograd_for_every_sandbox_function(x, name):
    assert agree(ref.numerical_grad(CALLABLES[name], x), checks04.true_gradient(name, x))


@SETTINGS
@given(points(), st.sampled_from(sorted(CALLABLES)))
def test_torch_versions_of_the_sandbox_functions_give_the_same_values(x, name):
    want = CALLABLES[name](x)
    got = float(checks04.TORCH_CALLABLES[name](torch.as_tensor(x)))
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


@SETTINGS
@given(logits_and_labels(-8.0, 8.0))
def test_numerical_grad_agrees_with_the_analytic_bce_and_mse_gradients(case):
    z, y = case
    bce_sum = lambda v: float(np.sum(y * ref.softplus(-v) + (1 - y) * ref.softplus(v)))
    mse_sum = lambda v: float(np.sum((ref.sigmoid(v) - y) ** 2))
    assert agree(ref.bce_grad(z, y), ref.numerical_grad(bce_sum, z))
    assert agree(ref.mse_sigmoid_grad(z, y), ref.numerical_grad(mse_sum, z))


@SETTINGS
@given(class_logits_and_labels(-8.0, 8.0))
def test_numerical_grad_agrees_with_the_analytic_softmax_ce_gradient(case):
    z, y = case
    ce_sum = lambda v: float(-np.sum(ref.log_softmax(v)[np.arange(len(y)), y]))
    assert agree(ref.softmax_ce_grad(z, y), ref.numerical_grad(ce_sum, z))


@SETTINGS
@given(points(max_dims=3), st.sampled_from(sorted(CALLABLES)))
def test_numerical_grad_leaves_x_unchanged_and_keeps_its_shape(x, name):
    before = x.copy()
    grad = ref.numerical_grad(CALLABLES[name], x)
    assert grad.shape == x.shape
    assert np.array_equal(x, before)


@SETTINGS
@given(points(max_dims=1).filter(lambda x: np.all(np.abs(x) > 0.3)))
def test_a_one_sided_difference_fails_the_relative_error_threshold_the_check_uses(x):
    f = CALLABLES["sum_of_squares"]
    forward = checks04.one_sided(f, x, 1e-6)
    assert np.max(ref.relative_error(forward, 2 * x)) > checks04.GOOD
    assert np.max(ref.relative_error(ref.numerical_grad(f, x), 2 * x)) < checks04.GOOD / 10


@pytest.mark.parametrize("seed", range(20))
def test_every_numerical_grad_check_input_leaves_a_margin_of_ten_below_the_threshold(seed):
    rng = np.random.default_rng(seed)
    for name in sorted(CALLABLES):
        x = checks04._points(rng, (6,))
        err = np.max(ref.relative_error(ref.numerical_grad(CALLABLES[name], x), checks04.true_gradient(name, x)))
        assert err < checks04.GOOD / 10, name


@pytest.mark.parametrize("name", sorted(CALLABLES))
@pytest.mark.parametrize("eps", [1e-6, 1e-3, 0.1])
def test_numerical_grad_gives_exactly_what_the_notebooks_in_place_loop_gives(notebook, name, eps):
    """The reference perturbs fresh copies; the notebook's solution perturbs x in place and restores it."""
    x = np.random.default_rng(7).normal(size=(3, 2))
    np.testing.assert_array_equal(ref.numerical_grad(CALLABLES[name], x, eps),
                                  notebook["numerical_grad"](CALLABLES[name], x.copy(), eps))


# -- relative_error ---------------------------------------------------------------------------

@SETTINGS
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2), elements=st.floats(-1e3, 1e3)))
def test_relative_error_is_zero_for_equal_gradients_and_one_for_opposite_ones(a):
    assert np.all(ref.relative_error(a, a) == 0)
    opposite = ref.relative_error(a, -a)
    assert np.all(np.isfinite(opposite))
    assert np.allclose(opposite[np.abs(a) > 1e-8], 1.0)


# -- the training experiment ------------------------------------------------------------------

@pytest.fixture(scope="module")
def notebook():
    return run_notebook_code("04_gradients")


def _logit_runs(bce_logit_grad, mse_logit_grad):
    """Both runs of the experiment, from per-logit gradients: the BCE run's parameter gradient by
    the chain rule, the squared-error run's through it, as the notebook's mse_sigmoid_weights_grad."""
    def bce_weights_grad(X, y, w, b):
        g = np.asarray(bce_logit_grad(X @ w + b, y), dtype=np.float64)
        return X.T @ g / X.shape[0], float(np.mean(g))
    return (checks04.training_accuracy(bce_weights_grad),
            checks04.training_accuracy(checks04.through_lowered_labels(bce_weights_grad, mse_logit_grad)))


def test_the_trusted_training_experiment_reproduces_the_notebooks_run(notebook):
    """Torch's autograd-and-SGD run and the notebook's hand-written loop are the same experiment."""
    for key in ("bce", "mse"):
        accuracy, _ = checks04.trusted_run(key)
        np.testing.assert_array_equal(accuracy, notebook[f"history_{key}"]["accuracy"])
    np.testing.assert_array_equal(checks04.training_accuracy(ref.logistic_regression_grad),
                                  notebook["history_bce"]["accuracy"])
    np.testing.assert_array_equal(checks04.training_accuracy(checks04.through_lowered_labels(ref.logistic_regression_grad, ref.mse_sigmoid_grad)),
                                  notebook["history_mse"]["accuracy"])
    assert (notebook["steps_bce"], notebook["steps_mse"]) == checks04.trusted_steps()
    for name in ("N_TRAIN", "STEPS", "LEARNING_RATE", "TARGET_ACCURACY"):
        assert notebook[name] == getattr(checks04, name)
    np.testing.assert_array_equal(notebook["features"], checks04.training_data()[0])


def test_the_experiment_is_judged_against_the_students_own_run(notebook):
    """A student whose gradient is wrong reports their own run's steps and keeps the points."""
    namespace = dict(notebook)
    namespace["mse_sigmoid_grad"] = lambda z, y: ref.mse_sigmoid_grad(z, y) / 2      # a wrong gradient
    own = checks04.steps_to_reach(checks04.training_accuracy(checks04.through_lowered_labels(ref.logistic_regression_grad, namespace["mse_sigmoid_grad"])))
    assert own != checks04.trusted_steps()[1]
    student = checks.InProcessStudent(namespace)
    namespace["steps_mse"] = own
    chk = checks.find("04_gradients", "gradient_descent_steps_to_accuracy")
    assert checks.run_check(chk, student) is None
    namespace["steps_mse"] = checks04.trusted_steps()[1]                          # the trusted run's answer
    assert "your own squared-error run" in checks.run_check(chk, student)


def _labels_as_class_names(refuse_other_labels):
    """A logistic_regression_grad right for labels in {0, 1} (the contract) that reads them as class names."""
    def logistic_regression_grad(X, y, w, b):
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if refuse_other_labels and not np.all((y == 0) | (y == 1)):
            raise ValueError("labels must be 0 or 1")
        s = ref.sigmoid(X @ np.asarray(w, dtype=np.float64) + float(b))
        g = np.where(y == 1, s - 1, s)
        return X.T @ g / len(y), float(np.mean(g))
    return logistic_regression_grad


def test_a_logistic_regression_grad_reading_labels_as_class_names_keeps_every_point_of_04(notebook):
    """Right on labels in {0, 1}, as the contract asks: its own cells pass, and the experiment is
    judged against its own (odd) squared-error run."""
    namespace = dict(notebook)
    namespace["logistic_regression_grad"] = _labels_as_class_names(refuse_other_labels=False)
    student = checks.InProcessStudent(namespace)
    own = checks04.own_run_steps(student)
    assert own["mse"] != checks04.trusted_steps()[1]
    namespace["steps_bce"], namespace["steps_mse"] = own["bce"], own["mse"]
    for grade_id in ("logistic_regression_grad_matches_torch", "logistic_regression_grad_extreme_logits",
                     "logistic_regression_grad_lists_and_shapes", "gradient_descent_steps_to_accuracy"):
        assert checks.run_check(checks.find("04_gradients", grade_id), student) is None, grade_id


def test_a_squared_error_run_that_cannot_be_repeated_names_both_functions_it_calls(notebook):
    namespace = dict(notebook)
    namespace["logistic_regression_grad"] = _labels_as_class_names(refuse_other_labels=True)
    message = checks.run_check(checks.find("04_gradients", "gradient_descent_steps_to_accuracy"),
                               checks.InProcessStudent(namespace))
    assert "`steps_mse` cannot be judged" in message
    assert "`mse_sigmoid_grad`" in message and "`logistic_regression_grad`" in message and "`bce_grad`" in message
    assert "not 0 or 1" in message


def test_the_squared_error_run_needs_many_more_steps_than_the_bce_run():
    steps_bce, steps_mse = checks04.trusted_steps()
    assert 0 < steps_bce < 20
    assert 10 * steps_bce < steps_mse < checks04.STEPS


@pytest.mark.parametrize("scale", [1 + 1e-12, 1 - 1e-12])
def test_the_step_counts_do_not_move_when_the_gradients_change_by_rounding(scale):
    runs = _logit_runs(lambda z, y: ref.bce_grad(z, y) * scale, lambda z, y: ref.mse_sigmoid_grad(z, y) * scale)
    assert tuple(checks04.steps_to_reach(run) for run in runs) == checks04.trusted_steps()


def test_the_notebooks_test_cells_are_worth_33_points():
    points = [c.metadata["nbgrader"]["points"] for c in source_notebook("04_gradients").cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    assert sum(points) == 33


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.05, -1.0])
def test_a_run_stopped_at_the_target_counts_the_same_steps_as_the_whole_run(scale):
    """The check stops each run at the target; a run too slow to get there still counts STEPS."""
    calls = []

    def logit_grad(z, y):
        calls.append(1)
        return ref.mse_sigmoid_grad(z, y) * scale

    whole = checks04.steps_to_reach(checks04.training_accuracy(checks04.through_lowered_labels(ref.logistic_regression_grad, logit_grad)))
    calls.clear()
    stopped = checks04.training_accuracy(checks04.through_lowered_labels(ref.logistic_regression_grad, logit_grad), stop_at=checks04.TARGET_ACCURACY)
    assert checks04.steps_to_reach(stopped) == whole
    assert len(calls) == whole
    assert (whole < checks04.STEPS) == (scale == 1.0)    # only the right gradient gets there in time


def test_a_gradient_that_breaks_after_the_target_is_reached_still_has_its_steps_counted():
    steps_bce = checks04.trusted_steps()[0]
    calls = []

    def weights_grad(X, y, w, b):
        calls.append(1)
        return None if len(calls) > steps_bce else ref.logistic_regression_grad(X, y, w, b)

    assert checks04.training_accuracy(weights_grad) is None
    calls.clear()
    assert checks04.steps_to_reach(checks04.training_accuracy(weights_grad, stop_at=checks04.TARGET_ACCURACY)) \
        == steps_bce


def test_the_experiment_check_calls_the_students_gradients_only_until_each_run_reaches_the_target(notebook):
    calls = {}

    class CountingStudent(checks.InProcessStudent):
        def call(self, function, *args, **kwargs):
            calls[function] = calls.get(function, 0) + 1
            return super().call(function, *args, **kwargs)

    chk = checks.find("04_gradients", "gradient_descent_steps_to_accuracy")
    assert checks.run_check(chk, CountingStudent(dict(notebook))) is None
    steps_bce, steps_mse = checks04.trusted_steps()
    # the squared-error run's gradient calls logistic_regression_grad twice a step, as the notebook's does
    assert calls == {"logistic_regression_grad": steps_bce + 2 * steps_mse, "mse_sigmoid_grad": steps_mse}


def test_the_locked_squared_error_gradient_copied_as_logistic_regression_grad_earns_none_of_its_points(notebook):
    """The training cell's mse_sigmoid_weights_grad, renamed and with bce_grad for mse_sigmoid_grad (the
    edit a reader would make), is not a logistic_regression_grad: it is built from the student's own."""
    import ast
    released = [c.source for c in source_notebook("04_gradients").cells
                if "def mse_sigmoid_weights_grad" in c.source]
    assert len(released) == 1
    tree = ast.parse(released[0])
    locked = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
                  and node.name == "mse_sigmoid_weights_grad")
    copied = ast.unparse(locked).replace("mse_sigmoid_weights_grad", "logistic_regression_grad") \
                                .replace("mse_sigmoid_grad", "bce_grad")
    namespace = dict(notebook)
    exec(compile(copied, "<copied locked cell>", "exec"), namespace)
    student = InProcessStudent(namespace)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in source_notebook("04_gradients").cells
           if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("logistic_regression_grad_")
           and c.metadata["nbgrader"].get("grade")]
    assert len(ids) == 3
    for grade_id in ids:
        assert checks.run_check(checks.find("04_gradients", grade_id), student) is not None, grade_id
