"""Answers written in styles other than the course's own: loops, the math module, np.mean or
sum/len, torch-style epsilons, list comprehensions. Each `Variant` replaces answer cells of the
reference solution; `fails` names the test cells it must lose (empty for an honest one) and
`cause` a phrase every failing cell's message must hold (the cause, named).
"""
from dataclasses import dataclass, field

NB1, NB2, NB3, NB4 = "01_gaussian_mse", "02_bernoulli_bce", "03_categorical_ce", "04_gradients"


@dataclass(frozen=True)
class Variant:
    name: str
    notebook: str
    answers: dict
    fails: frozenset = frozenset()
    cause: str = ""
    not_said: tuple = ()            # phrases no message may hold (a wrong cause)
    kind: str = ""                  # floor | cause | honest


def _v(name, notebook, cell, source, fails=(), cause="", not_said=(), kind=""):
    return Variant(name, notebook, {cell: source}, frozenset(fails), cause, tuple(not_said), kind)


# -- library floors, clamps and epsilons (the contract's formula has none) --------------

FLOORS = [
    _v("gauss-torch-style-variance-floor", NB1, "gaussian_nll_answer",
       "import math\n"
       "def gaussian_nll(y_pred, y, sigma2=1.0):\n"
       "    # as torch.nn.functional.gaussian_nll_loss: raise for a non-positive variance, clamp at eps\n"
       "    mu, t, var = np.broadcast_arrays(np.asarray(y_pred, float), np.asarray(y, float),\n"
       "                                     np.asarray(sigma2, float))\n"
       "    if np.any(var <= 0):\n"
       "        raise ValueError('var has negative entry/entries')\n"
       "    var = np.clip(var, 1e-6, None)\n"
       "    loss = 0.5 * (np.log(var) + (mu - t) ** 2 / var) + 0.5 * math.log(2 * math.pi)\n"
       "    return loss.mean()\n",
       fails={"gaussian_nll_value"}, cause="floored at 1e-06", kind="floor"),
    _v("gauss-loop-variance-plus-eps", NB1, "gaussian_nll_answer",
       "import math\n"
       "def gaussian_nll(y_pred, y, sigma2=1.0):\n"
       "    mu, t, var = np.broadcast_arrays(np.asarray(y_pred, float), np.asarray(y, float),\n"
       "                                     np.asarray(sigma2, float))\n"
       "    if (var <= 0).any():\n"
       "        raise ValueError('sigma2 must be positive')\n"
       "    total = 0.0\n"
       "    for m, v, s in zip(mu.ravel(), t.ravel(), var.ravel()):\n"
       "        s = s + 1e-8   # keeps the log finite\n"
       "        total += 0.5 * math.log(2 * math.pi * s) + (v - m) ** 2 / (2 * s)\n"
       "    return total / mu.size\n",
       fails={"gaussian_nll_value", "gaussian_nll_large_residuals"}, cause="small constant (1e-08) is added to the variance", kind="floor"),
    _v("bce-torch-style-log-clamp", NB2, "bernoulli_nll_answer",
       "def bernoulli_nll(p, y):\n"
       "    # as torch's BCELoss: each log is clamped at -100\n"
       "    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)\n"
       "    if np.any((p < 0) | (p > 1)):\n"
       "        raise ValueError('all elements of input should be between 0 and 1')\n"
       "    with np.errstate(divide='ignore'):\n"
       "        log_p, log_1mp = np.maximum(np.log(p), -100.0), np.maximum(np.log1p(-p), -100.0)\n"
       "    return float(np.mean(-(y * log_p + (1 - y) * log_1mp)))\n",
       fails={"bernoulli_nll_confident_predictions"}, cause="caps each log at -100", kind="floor"),
    _v("laplace-scale-floor", NB1, "laplace_nll_answer",
       "def laplace_nll(y_pred, y, b=1.0):\n"
       "    b = np.asarray(b, dtype=float)\n"
       "    if np.any(b <= 0):\n"
       "        raise ValueError('b must be positive')\n"
       "    b = np.maximum(b, 1e-6)\n"
       "    r = [abs(u - v) for u, v in zip(np.ravel(np.broadcast_to(y, np.broadcast(y, y_pred).shape)),\n"
       "                                    np.ravel(np.broadcast_to(y_pred, np.broadcast(y, y_pred).shape)))]\n"
       "    return float(np.mean(np.log(2 * b) + np.reshape(r, np.broadcast(y, y_pred).shape) / b))\n",
       fails={"laplace_nll_value"}, cause="floored at 1e-06", kind="floor"),
]

# -- honest answers in other styles: every point ------------------------------------------

HONEST = [
    _v("gauss-math-loop", NB1, "gaussian_nll_answer",
       "import math\n"
       "def gaussian_nll(y_pred, y, sigma2=1.0):\n"
       "    mu, t, var = np.broadcast_arrays(np.asarray(y_pred, float), np.asarray(y, float),\n"
       "                                     np.asarray(sigma2, float))\n"
       "    if (var <= 0).any():\n"
       "        raise ValueError('sigma2 must be positive')\n"
       "    terms = [0.5 * math.log(2 * math.pi * s) + (v - m) ** 2 / (2 * s)\n"
       "             for m, v, s in zip(mu.ravel(), t.ravel(), var.ravel())]\n"
       "    return sum(terms) / len(terms)\n", kind="honest"),
    _v("bce-where-and-sum-over-size", NB2, "bernoulli_nll_answer",
       "def bernoulli_nll(p, y):\n"
       "    p, y = np.broadcast_arrays(np.asarray(p, float), np.asarray(y, float))\n"
       "    if np.any(p < 0) or np.any(p > 1):\n"
       "        raise ValueError('p must lie in [0, 1]')\n"
       "    with np.errstate(divide='ignore', invalid='ignore'):\n"
       "        pos = np.where(y > 0, y * np.log(np.where(y > 0, p, 1.0)), 0.0)\n"
       "        neg = np.where(y < 1, (1 - y) * np.log1p(-np.where(y < 1, p, 0.0)), 0.0)\n"
       "    return -(pos + neg).sum() / p.size\n", kind="honest"),
    _v("laplace-math-comprehension", NB1, "laplace_nll_answer",
       "import math\n"
       "def laplace_nll(y_pred, y, b=1.0):\n"
       "    mu, t, s = np.broadcast_arrays(np.asarray(y_pred, float), np.asarray(y, float), np.asarray(b, float))\n"
       "    if (s <= 0).any():\n"
       "        raise ValueError('b must be positive')\n"
       "    terms = [math.log(2 * c) + abs(v - m) / c for m, v, c in zip(mu.flat, t.flat, s.flat)]\n"
       "    return sum(terms) / len(terms)\n", kind="honest"),
]

# -- mistakes whose message must name their cause (`fails`: cells that must fail at least) --

CAUSES = [
    _v("nll-log-p-plus-eps", NB3, "categorical_nll_answer",
       "import math\n"
       "def categorical_nll(z, y):\n"
       "    probs = softmax(np.atleast_2d(np.asarray(z, dtype=float)))\n"
       "    labels = np.atleast_1d(np.asarray(y)).astype(int)\n"
       "    return -sum(math.log(probs[i, k] + 1e-7) for i, k in enumerate(labels)) / len(labels)\n",
       fails={"categorical_nll_large_logits", "categorical_nll_uniform_logits_give_log_c"},
       cause="adds 1e-07 inside the log", not_said=("the value is wrong",), kind="cause"),
    _v("mse-mean-over-axis-zero", NB1, "mse_answer",
       "def mse(y_pred, y):\n"
       "    y_pred = np.asarray(y_pred, dtype=float)\n"
       "    y = np.asarray(y, dtype=float)\n"
       "    return np.mean((y_pred - y) ** 2, axis=0)\n",
       fails={"mse_matches_torch", "mse_accepts_lists_and_float32"}, cause="axis=0",
       not_said=("np.asarray(..., dtype=float) before", "the value is wrong"), kind="cause"),
    _v("sigmoid-frompyfunc-object-array", NB2, "sigmoid_answer",
       "import math\n"
       "def _logistic(v):\n"
       "    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))\n"
       "def sigmoid(z):\n"
       "    return np.frompyfunc(_logistic, 1, 1)(np.asarray(z, dtype=float))\n",
       fails={"sigmoid_values", "sigmoid_extreme_logits"}, cause="dtype object",
       not_said=("not a number, an array or a SymPy expression",), kind="cause"),
    _v("mse-sum-over-len", NB1, "mse_answer",
       "def mse(y_pred, y):\n"
       "    d = np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)\n"
       "    return np.sum(d * d) / len(d)\n",
       fails={"mse_matches_torch", "mse_seed_value", "mse_accepts_lists_and_float32"}, cause="len",
       not_said=("the value is wrong", "np.asarray(..., dtype=float) before"), kind="cause"),
    _v("bce-sum-over-shape-zero", NB2, "bernoulli_nll_answer",
       "def bernoulli_nll(p, y):\n"
       "    p, y = np.asarray(p, float), np.asarray(y, float)\n"
       "    if ((p < 0) | (p > 1)).any():\n"
       "        raise ValueError('p outside [0, 1]')\n"
       "    with np.errstate(divide='ignore', invalid='ignore'):\n"
       "        t = np.where(y == 1, -np.log(np.where(y == 1, p, 1.0)), 0.0) \\\n"
       "            + np.where(y == 0, -np.log1p(-np.where(y == 0, p, 0.0)), 0.0)\n"
       "    return t.sum() / p.shape[0]\n",
       fails={"bernoulli_nll_shapes_and_dtypes"}, cause=".shape[0]",
       not_said=("the value is wrong",), kind="cause"),
    _v("sigmoid-empty-like-keeps-int", NB2, "sigmoid_answer",
       "def sigmoid(z):\n"
       "    z = np.asarray(z)\n"
       "    out = np.empty_like(z)\n"
       "    pos = z >= 0\n"
       "    out[pos] = 1 / (1 + np.exp(-z[pos]))\n"
       "    e = np.exp(z[~pos])\n"
       "    out[~pos] = e / (1 + e)\n"
       "    return out\n",
       fails={"sigmoid_values"}, cause="integer dtype", not_said=("the value is wrong",), kind="cause"),
]

ALL = FLOORS + HONEST + CAUSES
