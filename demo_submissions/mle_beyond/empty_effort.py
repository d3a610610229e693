"""Submissions of mle_beyond with no real implementation that a careless check would pass.

Each is built from what the release shows (the visible tests' numbers, the
contract's error names, the trivial answer of an easy input) and names the test
cells it must not pass. Graded by the tests only, never part of the demo class.
"""
import math

from .. import EmptyEffort
from . import ASSIGNMENT


def _always_raises(signature, error="ValueError"):
    return f"def {signature}:\n    raise {error}('invalid input')\n"


def _constant(signature, value):
    return f"def {signature}:\n    return {value}\n"


NLL_CELLS = frozenset({"gaussian_nll_logvar_value", "gaussian_nll_logvar_broadcasts",
                       "gaussian_nll_logvar_extreme_log_var", "gaussian_nll_logvar_lists_and_float32"})
GRAD_CELLS = frozenset({"gaussian_nll_logvar_grad_matches_torch", "gaussian_nll_logvar_grad_scalar_log_var",
                        "gaussian_nll_logvar_grad_extreme_log_var"})
SOFT_CE_CELLS = frozenset({"soft_cross_entropy_matches_torch", "soft_cross_entropy_extreme_logits",
                           "soft_cross_entropy_single_row_and_lists", "soft_cross_entropy_rejects_invalid_targets"})
TEMPERATURE_CELLS = frozenset({"fit_temperature_value", "fit_temperature_scales_with_the_logits",
                               "fit_temperature_accepts_lists"})
SR_GRAD_CELLS = frozenset({"softmax_regression_grad_matches_torch", "softmax_regression_grad_extreme_logits",
                           "softmax_regression_grad_lists_and_float32"})
KL_ONLY = ("def entropy(q):\n    q = np.atleast_2d(np.asarray(q, dtype=float))\n"
           "    return float(np.mean(-np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0), axis=-1)))\n\n\n")

EMPTY_EFFORTS = [
    EmptyEffort("logvar-nll-visible-number", ASSIGNMENT, "01_learned_variance",
                {"gaussian_nll_logvar_answer": _constant("gaussian_nll_logvar(y_pred, y, log_var)",
                                                         repr(0.5 * math.log(2 * math.pi) + 0.25))},
                NLL_CELLS, "returns the visible test's number for every input"),
    EmptyEffort("logvar-grad-constant-parts", ASSIGNMENT, "01_learned_variance",
                {"gaussian_nll_logvar_grad_answer": _constant(
                    "gaussian_nll_logvar_grad(y_pred, y, log_var)",
                    "np.zeros(np.shape(y)), 0.5 * np.ones(np.shape(y))")},
                GRAD_CELLS, "returns the derivatives at a perfect fit with variance 1, always"),
    EmptyEffort("laplace-b-visible-number", ASSIGNMENT, "01_learned_variance",
                {"laplace_b_mle_answer": _constant("laplace_b_mle(y_pred, y)", "2.0")},
                frozenset({"laplace_b_mle_value", "laplace_b_mle_lists_and_shapes"}), "returns 2.0"),
    EmptyEffort("soft-ce-always-raises", ASSIGNMENT, "02_soft_targets",
                {"soft_cross_entropy_answer": _always_raises("soft_cross_entropy(z, q)")},
                SOFT_CE_CELLS, "raises ValueError for every input"),
    EmptyEffort("soft-ce-log-c", ASSIGNMENT, "02_soft_targets",
                {"soft_cross_entropy_answer": _constant("soft_cross_entropy(z, q)", "math.log(np.shape(z)[-1])")},
                SOFT_CE_CELLS, "returns log C, the loss of equal logits"),
    EmptyEffort("entropy-log-c", ASSIGNMENT, "02_soft_targets",
                {"entropy_kl_answer": _constant("entropy(q)", "math.log(np.shape(q)[-1])") + "\n\n"
                 + _constant("kl_divergence(q, p)", "0.0")},
                frozenset({"entropy_value", "kl_divergence_value", "kl_divergence_zeros_and_infinity"}),
                "the entropy of the uniform distribution and a KL of 0, always"),
    EmptyEffort("kl-always-inf", ASSIGNMENT, "02_soft_targets",
                {"entropy_kl_answer": KL_ONLY + _constant("kl_divergence(q, p)", "math.inf")},
                frozenset({"kl_divergence_value", "kl_divergence_zeros_and_infinity"}), "returns inf"),
    EmptyEffort("smooth-labels-always-raises", ASSIGNMENT, "02_soft_targets",
                {"smooth_labels_answer": _always_raises("smooth_labels(y, num_classes, epsilon)")},
                frozenset({"smooth_labels_value", "smooth_labels_rejects_bad_epsilon"}), "raises for every input"),
    EmptyEffort("smooth-labels-one-hot", ASSIGNMENT, "02_soft_targets",
                {"smooth_labels_answer": _constant("smooth_labels(y, num_classes, epsilon)",
                                                   "np.eye(num_classes)[np.asarray(y).astype(int)]")},
                frozenset({"smooth_labels_value", "smooth_labels_rejects_bad_epsilon"}), "ignores epsilon"),
    EmptyEffort("softmax-regression-grad-zeros", ASSIGNMENT, "03_softmax_regression",
                {"softmax_regression_grad_answer": _constant("softmax_regression_grad(X, y, W, b)",
                                                             "np.zeros(np.shape(W)), np.zeros(np.shape(b))")},
                SR_GRAD_CELLS, "returns zero gradients"),
    EmptyEffort("temperature-printed-number", ASSIGNMENT, "03_softmax_regression",
                {"fit_temperature_answer": _constant("fit_temperature(z, y)", "5.9678")},
                TEMPERATURE_CELLS, "returns the temperature the notebook prints"),
    EmptyEffort("temperature-one", ASSIGNMENT, "03_softmax_regression",
                {"fit_temperature_answer": _constant("fit_temperature(z, y)", "1.0")},
                TEMPERATURE_CELLS, "returns T = 1, the logits unchanged"),
]
