"""Mistakes in notebook 01_gaussian_mse."""
from .. import Mistake
from . import ASSIGNMENT

NB = "01_gaussian_mse"
MSE_CELLS = frozenset({"mse_seed_value", "mse_matches_torch", "mse_accepts_lists_and_float32"})
GAUSS_VALUE_CELLS = frozenset({"gaussian_nll_value", "gaussian_nll_per_example_variance",
                               "gaussian_nll_large_residuals"})


def _gaussian(body):
    return ("def gaussian_nll(y_pred, y, sigma2=1.0):\n"
            "    y_pred, y = np.asarray(y_pred, float), np.asarray(y, float)\n"
            "    sigma2 = np.asarray(sigma2, float)\n"
            "    if np.any(sigma2 <= 0):\n"
            "        raise ValueError('sigma2 must be positive')\n"
            f"    return np.mean({body})\n")


MISTAKES = [
    Mistake("mse-sum-not-mean", ASSIGNMENT, NB, "mse_answer",
            "def mse(y_pred, y):\n    return np.sum((np.asarray(y_pred) - np.asarray(y)) ** 2)\n",
            MSE_CELLS, "sums the squared residuals instead of averaging them"),
    Mistake("gauss-constant-dropped", ASSIGNMENT, NB, "gaussian_nll_answer",
            _gaussian("(y - y_pred) ** 2 / (2 * sigma2)"), GAUSS_VALUE_CELLS,
            "drops the normalising constant 0.5*log(2*pi*sigma2)"),
    Mistake("gauss-sigma-for-sigma2", ASSIGNMENT, NB, "gaussian_nll_answer",
            _gaussian("0.5 * np.log(2 * np.pi * sigma2 ** 2) + (y - y_pred) ** 2 / (2 * sigma2 ** 2)"),
            GAUSS_VALUE_CELLS, "treats the variance argument as a standard deviation"),
    Mistake("gauss-missing-half", ASSIGNMENT, NB, "gaussian_nll_answer",
            _gaussian("0.5 * np.log(2 * np.pi * sigma2) + (y - y_pred) ** 2 / sigma2"),
            GAUSS_VALUE_CELLS, "forgets the 1/2 of the quadratic term"),
    Mistake("sigma2-unbiased", ASSIGNMENT, NB, "sigma2_mle_answer",
            "def sigma2_mle(y_pred, y):\n    r = np.asarray(y, float) - np.asarray(y_pred, float)\n"
            "    return np.sum(r ** 2) / (r.size - 1)\n",
            frozenset({"sigma2_mle_value"}), "divides by N-1: the unbiased estimate, not the MLE"),
    Mistake("gauss-expr-sign-flipped", ASSIGNMENT, NB, "gaussian_nll_expr_answer",
            "gaussian_nll_expr = -(sp.log(2 * sp.pi * sigma2) / 2 + (y - y_hat) ** 2 / (2 * sigma2))\n",
            frozenset({"gaussian_nll_expr_equivalent"}), "derives log N instead of -log N"),
    Mistake("laplace-no-validation", ASSIGNMENT, NB, "laplace_nll_answer",
            "def laplace_nll(y_pred, y, b=1.0):\n"
            "    return np.mean(np.log(2 * b) + np.abs(np.asarray(y, float) - np.asarray(y_pred, float)) / b)\n",
            frozenset({"laplace_nll_rejects_nonpositive_scale"}), "never raises ValueError for b <= 0"),
    Mistake("sigma2-expr-standard-deviation", ASSIGNMENT, NB, "sigma2_mle_expr_answer",
            "sigma2_mle_expr = sp.Abs(y - y_hat)\n",
            frozenset({"sigma2_mle_expr_equivalent"}), "gives the best sigma instead of the best variance"),
    Mistake("sigma2-expr-wrong-symbol", ASSIGNMENT, NB, "sigma2_mle_expr_answer",
            "sigma2_mle_expr = (y - sigma2) ** 2\n",
            frozenset({"sigma2_mle_expr_equivalent"}), "solves for the wrong symbol"),
    Mistake("nll-slope-one-over-sigma2", ASSIGNMENT, NB, "nll_per_unit_mse_answer",
            "sigma2_for_prediction = 0.4\nnll_per_unit_mse = 1 / 0.4\n",
            frozenset({"nll_per_unit_mse_prediction"}), "forgets the 2 of 2 sigma2"),
    Mistake("perfect-nll-zero", ASSIGNMENT, NB, "perfect_prediction_nll_answer",
            "sigma2_perfect = 0.02\nperfect_prediction_nll = 0.0\n",
            frozenset({"perfect_prediction_nll_prediction"}), "forgets the normalising constant, which is negative here"),
    # Real code's kinds (issue 30): a library's floor, a reduction over one axis, a sum over the rows.
    Mistake("gauss-variance-floored", ASSIGNMENT, NB, "gaussian_nll_answer",
            _gaussian("0.5 * np.log(2 * np.pi * np.maximum(sigma2, 1e-6)) "
                      "+ (y - y_pred) ** 2 / (2 * np.maximum(sigma2, 1e-6))"),
            frozenset({"gaussian_nll_value"}), "floors the variance at 1e-6, as torch's gaussian_nll_loss does"),
    Mistake("mse-mean-over-axis-zero", ASSIGNMENT, NB, "mse_answer",
            "def mse(y_pred, y):\n    d = np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)\n"
            "    return np.mean(d ** 2, axis=0)\n",
            MSE_CELLS, "averages over the first axis only: an array for 2-D input, an error for a number"),
    Mistake("mse-divides-by-rows", ASSIGNMENT, NB, "mse_answer",
            "def mse(y_pred, y):\n    d = np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)\n"
            "    return np.sum(d ** 2) / len(d)\n",
            MSE_CELLS, "divides the sum by the number of rows, not of elements"),
]
