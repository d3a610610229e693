"""Mistakes in notebook 04_gradients.

The training experiment (`gradient_descent_steps_to_accuracy`) runs on the
student's own `logistic_regression_grad` and `mse_sigmoid_grad`, and its answers are
judged against that same run, recomputed from the student's functions: a gradient
mistake costs the gradient's cells, not the experiment's as well. The checks of
`logistic_regression_grad` bind a trusted `bce_grad`, so a `bce_grad` mistake does not
cost them either.
"""
from .. import Mistake
from . import ASSIGNMENT

NB = "04_gradients"
EXPERIMENT = "gradient_descent_steps_to_accuracy"
BCE_CELLS = frozenset({"bce_grad_matches_torch", "bce_grad_extreme_logits", "bce_grad_lists_and_float32"})
MSE_CELLS = frozenset({"mse_sigmoid_grad_matches_torch", "mse_sigmoid_grad_extreme_logits",
                       "mse_sigmoid_grad_lists_and_float32"})
SOFTMAX_CELLS = frozenset({"softmax_ce_grad_matches_torch", "softmax_ce_grad_extreme_logits",
                           "softmax_ce_grad_lists_and_single_example"})
LOGREG_CELLS = frozenset({"logistic_regression_grad_matches_torch", "logistic_regression_grad_extreme_logits",
                          "logistic_regression_grad_lists_and_shapes"})
NUMGRAD_VALUE_CELLS = frozenset({"numerical_grad_accuracy", "numerical_grad_central_differences"})


def _numgrad(loop):
    return ("def numerical_grad(f, x, eps=1e-6):\n"
            "    x = np.array(x, dtype=np.float64)\n"
            "    grad = np.zeros_like(x)\n"
            f"{loop}"
            "    return grad\n")


def _softmax_grad(body):
    return ("def softmax_ce_grad(z, y):\n"
            "    z = np.asarray(z, dtype=np.float64)\n"
            "    y = np.asarray(y).astype(int)\n"
            f"{body}")


ONEHOT = ("    onehot = np.zeros_like(p)\n"
          "    np.put_along_axis(onehot, y[..., None], 1.0, axis=-1)\n")

MISTAKES = [
    Mistake("bce-grad-expr-sign-flipped", ASSIGNMENT, NB, "bce_grad_expr_answer",
            "bce_grad_expr = y - sp_sigmoid(z)\n",
            frozenset({"bce_grad_expr_equivalent"}), "differentiates the log-likelihood instead of its negative"),
    Mistake("mse-grad-expr-no-sigmoid-prime", ASSIGNMENT, NB, "mse_sigmoid_grad_expr_answer",
            "mse_sigmoid_grad_expr = 2 * (sp_sigmoid(z) - y)\n",
            frozenset({"mse_sigmoid_grad_expr_equivalent"}), "forgets the chain rule's factor sigma'(z)"),
    Mistake("numgrad-one-sided", ASSIGNMENT, NB, "numerical_grad_answer",
            _numgrad("    fx = f(x)\n"
                     "    for i in np.ndindex(x.shape):\n"
                     "        old = x[i]\n"
                     "        x[i] = old + eps\n"
                     "        grad[i] = (f(x) - fx) / eps\n"
                     "        x[i] = old\n"),
            NUMGRAD_VALUE_CELLS, "a forward (one-sided) difference: error of order eps instead of eps**2"),
    Mistake("numgrad-divides-by-eps", ASSIGNMENT, NB, "numerical_grad_answer",
            _numgrad("    for i in np.ndindex(x.shape):\n"
                     "        old = x[i]\n"
                     "        x[i] = old + eps\n"
                     "        f_plus = f(x)\n"
                     "        x[i] = old - eps\n"
                     "        f_minus = f(x)\n"
                     "        x[i] = old\n"
                     "        grad[i] = (f_plus - f_minus) / eps\n"),
            NUMGRAD_VALUE_CELLS, "divides the central difference by eps instead of 2*eps"),
    Mistake("numgrad-ignores-eps", ASSIGNMENT, NB, "numerical_grad_answer",
            _numgrad("    h = 1e-6\n"
                     "    for i in np.ndindex(x.shape):\n"
                     "        old = x[i]\n"
                     "        x[i] = old + h\n"
                     "        f_plus = f(x)\n"
                     "        x[i] = old - h\n"
                     "        f_minus = f(x)\n"
                     "        x[i] = old\n"
                     "        grad[i] = (f_plus - f_minus) / (2 * h)\n"),
            frozenset({"numerical_grad_central_differences"}), "hard-codes the step instead of using eps"),
    Mistake("numgrad-leaves-x-shifted", ASSIGNMENT, NB, "numerical_grad_answer",
            "def numerical_grad(f, x, eps=1e-6):\n"
            "    x = np.asarray(x, dtype=np.float64)  # no copy for a float64 array\n"
            "    grad = np.zeros_like(x)\n"
            "    for i in np.ndindex(x.shape):\n"
            "        old = x[i]\n"
            "        x[i] = old + eps\n"
            "        f_plus = f(x)\n"
            "        x[i] = old - eps\n"
            "        f_minus = f(x)\n"
            "        grad[i] = (f_plus - f_minus) / (2 * eps)\n"
            "    return grad\n",
            frozenset({"numerical_grad_leaves_x_unchanged", "numerical_grad_accuracy",
                       "numerical_grad_central_differences"}),
            "perturbs the caller's x in place and never puts the elements back"),
    Mistake("numgrad-first-axis-only", ASSIGNMENT, NB, "numerical_grad_answer",
            _numgrad("    for i in range(len(x)):\n"
                     "        old = x[i].copy()\n"
                     "        x[i] = old + eps\n"
                     "        f_plus = f(x)\n"
                     "        x[i] = old - eps\n"
                     "        f_minus = f(x)\n"
                     "        x[i] = old\n"
                     "        grad[i] = (f_plus - f_minus) / (2 * eps)\n"),
            frozenset({"numerical_grad_any_shape"}), "perturbs whole rows of a 2-D x at once"),
    Mistake("relative-error-no-floor", ASSIGNMENT, NB, "relative_error_answer",
            "def relative_error(a, n):\n"
            "    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)\n"
            "    return np.abs(a - n) / (np.abs(a) + np.abs(n))\n",
            frozenset({"relative_error_value"}), "no 1e-8 floor: 0/0 gives NaN where both gradients are zero"),
    Mistake("bce-grad-sign-flipped", ASSIGNMENT, NB, "bce_grad_answer",
            "def bce_grad(z, y):\n    return np.asarray(y, dtype=float) - sigmoid(z)\n",
            BCE_CELLS, "returns y - sigmoid(z): gradient ascent on the loss"),
    Mistake("bce-grad-averaged", ASSIGNMENT, NB, "bce_grad_answer",
            "def bce_grad(z, y):\n    return (sigmoid(z) - np.asarray(y, dtype=float)) / np.size(z)\n",
            BCE_CELLS, "the gradient of the mean loss instead of the per-example gradients"),
    Mistake("bce-grad-chain-rule-unsimplified", ASSIGNMENT, NB, "bce_grad_answer",
            "def bce_grad(z, y):\n"
            "    p = sigmoid(z)\n"
            "    y = np.asarray(y, dtype=float)\n"
            "    dloss_dp = -y / p + (1 - y) / (1 - p)\n"
            "    return dloss_dp * p * (1 - p)\n",
            frozenset({"bce_grad_extreme_logits"}), "dL/dp * dp/dz without cancelling: 0 * inf = NaN once p rounds to 1"),
    Mistake("mse-grad-no-sigmoid-prime", ASSIGNMENT, NB, "mse_sigmoid_grad_answer",
            "def mse_sigmoid_grad(z, y):\n    return 2 * (sigmoid(z) - np.asarray(y, dtype=float))\n",
            MSE_CELLS, "forgets the chain rule's factor sigmoid'(z)"),
    Mistake("mse-grad-missing-two", ASSIGNMENT, NB, "mse_sigmoid_grad_answer",
            "def mse_sigmoid_grad(z, y):\n"
            "    s = sigmoid(z)\n"
            "    return (s - np.asarray(y, dtype=float)) * s * (1 - s)\n",
            MSE_CELLS, "drops the factor 2 of the square's derivative"),
    Mistake("mse-grad-sigmoid-prime-overflows", ASSIGNMENT, NB, "mse_sigmoid_grad_answer",
            "def mse_sigmoid_grad(z, y):\n"
            "    z = np.asarray(z, dtype=float)\n"
            "    dsig = np.exp(-z) / (1 + np.exp(-z)) ** 2\n"
            "    return 2 * (sigmoid(z) - np.asarray(y, dtype=float)) * dsig\n",
            frozenset({"mse_sigmoid_grad_extreme_logits"}), "sigmoid'(z) as exp(-z)/(1+exp(-z))**2: inf/inf at z = -1e4"),
    Mistake("softmax-grad-averaged", ASSIGNMENT, NB, "softmax_ce_grad_answer",
            _softmax_grad("    p = softmax(z)\n" + ONEHOT + "    return (p - onehot) / len(z)\n"),
            SOFTMAX_CELLS, "divides by the number of examples (reduction='mean')"),
    Mistake("softmax-grad-no-max-shift", ASSIGNMENT, NB, "softmax_ce_grad_answer",
            _softmax_grad("    e = np.exp(z)\n"
                          "    p = e / np.sum(e, axis=-1, keepdims=True)\n" + ONEHOT + "    return p - onehot\n"),
            frozenset({"softmax_ce_grad_extreme_logits"}), "its own softmax, without subtracting the row maximum"),
    Mistake("softmax-grad-label-columns", ASSIGNMENT, NB, "softmax_ce_grad_answer",
            _softmax_grad("    p = softmax(z)\n    p[:, y] -= 1.0\n    return p\n"),
            SOFTMAX_CELLS, "indexes the labels as columns, p[:, y]"),
    Mistake("steps-argmax-of-accuracy", ASSIGNMENT, NB, "steps_to_accuracy_answer",
            "steps_bce = int(np.argmax(history_bce['accuracy']))\n"
            "steps_mse = int(np.argmax(history_mse['accuracy']))\n",
            frozenset({EXPERIMENT}), "reports the step of the best accuracy, not the first step reaching the target"),
    Mistake("gradient-ratio-inverted", ASSIGNMENT, NB, "gradient_ratio_answer",
            "z_for_ratio = -5.0\ns = 1 / (1 + math.exp(5))\ngradient_ratio = 2 * s * (1 - s)\n",
            frozenset({"gradient_ratio_prediction"}), "the squared-error gradient over the BCE one"),
    Mistake("rel-error-signatures-max-denominator", ASSIGNMENT, NB, "relative_error_signatures_answer",
            "wrong_factor = 0.5\nrel_error_wrong_factor = 0.5\n",
            frozenset({"relative_error_signatures_prediction"}), "divides by max(|a|, |n|) instead of |a| + |n|"),
    Mistake("softmax-grad-expr-no-onehot", ASSIGNMENT, NB, "softmax_ce_grad_expr_answer",
            "total = sp.exp(z0) + sp.exp(z1) + sp.exp(z2)\n"
            "softmax_ce_grad_expr = [sp.exp(z0) / total, sp.exp(z1) / total, sp.exp(z2) / total]\n",
            frozenset({"softmax_ce_grad_expr_equivalent"}), "differentiates only the log-sum-exp term"),
    Mistake("softmax-grad-expr-sign-flipped", ASSIGNMENT, NB, "softmax_ce_grad_expr_answer",
            "ce = sp.log(sp.exp(z0) / (sp.exp(z0) + sp.exp(z1) + sp.exp(z2)))\n"
            "softmax_ce_grad_expr = sp.Matrix([[sp.simplify(sp.diff(ce, v)) for v in (z0, z1, z2)]])\n",
            frozenset({"softmax_ce_grad_expr_equivalent"}), "differentiates the log-likelihood, as a 1x3 Matrix"),
    Mistake("logreg-grad-sum-not-mean", ASSIGNMENT, NB, "logistic_regression_grad_answer",
            "def logistic_regression_grad(X, y, w, b):\n"
            "    X = np.asarray(X, dtype=float)\n"
            "    g = bce_grad(X @ np.asarray(w, dtype=float) + b, y)\n"
            "    return X.T @ g, float(np.sum(g))\n",
            LOGREG_CELLS, "the gradient of the summed loss: forgets the 1/N of the mean"),
    Mistake("logreg-grad-bias-summed", ASSIGNMENT, NB, "logistic_regression_grad_answer",
            "def logistic_regression_grad(X, y, w, b):\n"
            "    X = np.asarray(X, dtype=float)\n"
            "    g = bce_grad(X @ np.asarray(w, dtype=float) + b, y)\n"
            "    return X.T @ g / len(g), float(np.sum(g))\n",
            LOGREG_CELLS,
            "averages grad_w but sums grad_b"),
    Mistake("logreg-grad-naive-sigmoid", ASSIGNMENT, NB, "logistic_regression_grad_answer",
            "def logistic_regression_grad(X, y, w, b):\n"
            "    X = np.asarray(X, dtype=float)\n"
            "    z = X @ np.asarray(w, dtype=float) + b\n"
            "    p = np.exp(z) / (1 + np.exp(z))\n"
            "    g = p - np.asarray(y, dtype=float)\n"
            "    return X.T @ g / len(g), float(np.mean(g))\n",
            frozenset({"logistic_regression_grad_extreme_logits"}), "its own sigmoid exp(z)/(1+exp(z)): inf/inf for large z"),
]
