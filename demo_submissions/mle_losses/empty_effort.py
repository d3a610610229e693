"""Submissions with no real implementation that a careless check would pass.

Each is built from what the release shows (its printed numbers, the contract's
error names) and names the test cells it must not pass. They are graded by the
tests only, never part of the demo class.
"""
from mle_grading.checks import reference as ref

from .. import EmptyEffort
from . import ASSIGNMENT

SEED_Z = [-0.5, -0.8, 0.0, 0.8, 0.5]
SEED_Y = [0, 0, 1, 1, 1]


def _printed(value):
    """A number as the notebook prints it (six decimals)."""
    return f"{value:.6f}"


def _seed_mse():
    import numpy as np
    rng = np.random.RandomState(0)
    x = np.linspace(-1, 1, 20)
    return ref.mse(x, 2 * x + 1 + rng.normal(0, 0.1, size=x.shape))


def _always_raises(signature, error="ValueError"):
    return f"def {signature}:\n    raise {error}('invalid input')\n"


def _constant(signature, value):
    return f"def {signature}:\n    return {value}\n"


def _steps():
    from mle_grading.checks.gradients import trusted_steps
    return trusted_steps()


EMPTY_EFFORTS = [
    EmptyEffort("gaussian-nll-always-raises", ASSIGNMENT, "01_gaussian_mse",
                {"gaussian_nll_answer": _always_raises("gaussian_nll(y_pred, y, sigma2=1.0)")},
                frozenset({"gaussian_nll_rejects_nonpositive_variance"}), "raises for every input"),
    EmptyEffort("laplace-nll-always-raises", ASSIGNMENT, "01_gaussian_mse",
                {"laplace_nll_answer": _always_raises("laplace_nll(y_pred, y, b=1.0)")},
                frozenset({"laplace_nll_rejects_nonpositive_scale"}), "raises for every input"),
    EmptyEffort("bernoulli-nll-always-raises", ASSIGNMENT, "02_bernoulli_bce",
                {"bernoulli_nll_answer": _always_raises("bernoulli_nll(p, y)")},
                frozenset({"bernoulli_nll_rejects_invalid_probabilities"}), "raises for every input"),
    EmptyEffort("mse-printed-number", ASSIGNMENT, "01_gaussian_mse",
                {"mse_answer": _constant("mse(y_pred, y)", _printed(_seed_mse()))},
                frozenset({"mse_seed_value"}), "returns the number the worked example prints"),
    EmptyEffort("bernoulli-nll-printed-number", ASSIGNMENT, "02_bernoulli_bce",
                {"bernoulli_nll_answer": _constant("bernoulli_nll(p, y)", "0.476700")},
                frozenset({"bernoulli_nll_seed_value"}), "returns the number the test cell shows"),
    EmptyEffort("bce-with-logits-printed-number", ASSIGNMENT, "02_bernoulli_bce",
                {"bce_with_logits_answer": _constant("bce_with_logits(z, y)", "0.476700")},
                frozenset({"bce_with_logits_value"}), "returns the seed's loss for every input"),
    EmptyEffort("categorical-nll-printed-number", ASSIGNMENT, "03_categorical_ce",
                {"categorical_nll_answer": _constant("categorical_nll(z, y)", "0.767950")},
                frozenset({"categorical_nll_seed_value"}), "returns the worked example's printed loss"),
    EmptyEffort("categorical-nll-log-c-alone", ASSIGNMENT, "03_categorical_ce",
                {"categorical_nll_answer": _constant("categorical_nll(z, y)", "np.log(np.shape(z)[-1])")},
                frozenset({"categorical_nll_uniform_logits_give_log_c"}), "log C whatever the logits"),
    EmptyEffort("sigmoid-step-function", ASSIGNMENT, "02_bernoulli_bce",
                {"sigmoid_answer": _constant("sigmoid(z)", "(np.asarray(z, dtype=float) > 0).astype(float)")},
                frozenset({"sigmoid_extreme_logits", "sigmoid_values"}), "0 or 1, right only where |z| is large"),
    EmptyEffort("bernoulli-nll-zero", ASSIGNMENT, "02_bernoulli_bce",
                {"bernoulli_nll_answer": _constant("bernoulli_nll(p, y)", "0.0")},
                frozenset({"bernoulli_nll_confident_predictions"}), "0, the loss of a perfect prediction"),
    EmptyEffort("numerical-grad-of-ones", ASSIGNMENT, "04_gradients",
                {"numerical_grad_answer": _constant("numerical_grad(f, x, eps=1e-6)",
                                                    "np.ones_like(np.asarray(x, dtype=float))")},
                frozenset({"numerical_grad_any_shape", "numerical_grad_leaves_x_unchanged",
                           "numerical_grad_accuracy"}), "a gradient of ones, of the right shape"),
    EmptyEffort("steps-typed-in-without-gradients", ASSIGNMENT, "04_gradients",
                {"bce_grad_answer": _constant("bce_grad(z, y)", "np.zeros_like(np.asarray(z, dtype=float))"),
                 "mse_sigmoid_grad_answer": _constant("mse_sigmoid_grad(z, y)",
                                                      "np.zeros_like(np.asarray(z, dtype=float))"),
                 "steps_to_accuracy_answer": "steps_bce, steps_mse = {}, {}\n".format(*_steps())},
                frozenset({"gradient_descent_steps_to_accuracy"}), "the two step counts typed in, no gradients"),
    EmptyEffort("steps-of-runs-that-never-move", ASSIGNMENT, "04_gradients",
                {"logistic_regression_grad_answer": "def logistic_regression_grad(X, y, w, b):\n"
                                                    "    return np.zeros(np.shape(w)), 0.0\n",
                 "mse_sigmoid_grad_answer": _constant("mse_sigmoid_grad(z, y)",
                                                      "np.zeros_like(np.asarray(z, dtype=float))"),
                 "steps_to_accuracy_answer": "steps_bce, steps_mse = STEPS, STEPS\n"},
                frozenset({"gradient_descent_steps_to_accuracy"}),
                "zero gradients: neither run moves, and STEPS is typed in for both"),
    EmptyEffort("relative-error-zeros", ASSIGNMENT, "04_gradients",
                {"relative_error_answer": _constant("relative_error(a, n)",
                                                    "np.zeros(np.broadcast(np.asarray(a), np.asarray(n)).shape)")},
                frozenset({"relative_error_value"}), "0 everywhere"),
]
