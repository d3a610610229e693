"""Mistakes in mle_beyond's notebook 03_softmax_regression."""
from .. import Mistake
from . import ASSIGNMENT

NB = "03_softmax_regression"


def _grad(delta, result, convert=True, shift="z - np.max(z, axis=1, keepdims=True)"):
    head = ("    X, W, b = (np.asarray(a, dtype=np.float64) for a in (X, W, b))\n"
            "    y = np.asarray(y).astype(np.int64)\n" if convert else "")
    return ("def softmax_regression_grad(X, y, W, b):\n" + head +
            "    n = len(X)\n"
            "    z = X @ W + b\n"
            f"    e = np.exp({shift})\n"
            "    p = e / e.sum(axis=1, keepdims=True)\n"
            f"    delta = p.copy()\n    {delta}\n"
            f"    return {result}\n")


RIGHT_DELTA = "delta[np.arange(n), y] -= 1.0"
MEAN = "X.T @ delta / n, delta.mean(axis=0)"


def _temperature(body):
    return ("def fit_temperature(z, y):\n"
            "    z = np.asarray(z, dtype=np.float64)\n"
            "    y = np.asarray(y).astype(np.int64)\n"
            "    true_logit = z[np.arange(len(y)), y]\n"
            + body)


BISECT = ("    def slope(beta):\n"
          "        p = np.exp(log_softmax(beta * z))\n"
          "        return float(np.mean(np.sum(p * z, axis=1) - true_logit))\n"
          "    low, high = {low}, {high}\n"
          "    for _ in range(200):\n"
          "        mid = math.sqrt(low * high)\n"
          "        if slope(mid) > 0:\n"
          "            high = mid\n"
          "        else:\n"
          "            low = mid\n"
          "    return {result}\n")

MISTAKES = [
    Mistake("srgrad-not-averaged", ASSIGNMENT, NB, "softmax_regression_grad_answer", _grad(RIGHT_DELTA, "X.T @ delta, delta.sum(axis=0)"),
            frozenset({"softmax_regression_grad_matches_torch"}), "forgets to divide by N"),
    Mistake("srgrad-label-columns", ASSIGNMENT, NB, "softmax_regression_grad_answer", _grad("delta[:, y] -= 1.0", MEAN),
            frozenset({"softmax_regression_grad_matches_torch"}), "subtracts whole label columns"),
    Mistake("srgrad-db-summed", ASSIGNMENT, NB, "softmax_regression_grad_answer", _grad(RIGHT_DELTA, "X.T @ delta / n, delta.sum(axis=0)"),
            frozenset({"softmax_regression_grad_matches_torch"}), "sums db over the examples"),
    Mistake("srgrad-no-max-shift", ASSIGNMENT, NB, "softmax_regression_grad_answer", _grad(RIGHT_DELTA, MEAN, shift="z"),
            frozenset({"softmax_regression_grad_extreme_logits"}), "exponentiates the raw logits"),
    Mistake("srgrad-lists-rejected", ASSIGNMENT, NB, "softmax_regression_grad_answer", _grad(RIGHT_DELTA, MEAN, convert=False),
            frozenset({"softmax_regression_grad_lists_and_float32"}), "never converts lists to arrays"),
    Mistake("initial-loss-in-bits", ASSIGNMENT, NB, "predicted_initial_loss_answer",
            "f = np.bincount(y_train, minlength=NUM_CLASSES) / len(y_train)\n"
            "predicted_initial_loss = float(-np.sum(f * np.log2(f)))\n",
            frozenset({"predicted_initial_loss_value"}), "predicts the entropy of the class frequencies in bits"),
    Mistake("initial-loss-is-probability", ASSIGNMENT, NB, "predicted_initial_loss_answer",
            "predicted_initial_loss = math.log(NUM_CLASSES)\n",
            frozenset({"predicted_initial_loss_value"}), "predicts the loss at b = 0, log C"),
    Mistake("temperature-returns-beta", ASSIGNMENT, NB, "fit_temperature_answer",
            _temperature(BISECT.format(low="1e-2", high="1e2", result="math.sqrt(low * high)")),
            frozenset({"fit_temperature_value"}), "returns 1/T"),
    Mistake("temperature-narrow-search", ASSIGNMENT, NB, "fit_temperature_answer",
            _temperature(BISECT.format(low="0.1", high="10.0", result="1.0 / math.sqrt(low * high)")),
            frozenset({"fit_temperature_scales_with_the_logits"}), "searches T only in [0.1, 10]"),
]
