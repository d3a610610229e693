"""Mistakes in notebook 02_bernoulli_bce."""
from .. import Mistake
from . import ASSIGNMENT

NB = "02_bernoulli_bce"
BERNOULLI_VALUE_CELLS = frozenset({"bernoulli_nll_seed_value", "bernoulli_nll_shapes_and_dtypes",
                                   "bernoulli_nll_confident_predictions"})
LOGITS_CELLS = frozenset({"bce_with_logits_value", "bce_with_logits_shapes_and_dtypes",
                          "bce_with_logits_extreme_logits"})


ASARRAY = "    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)\n"


def _bernoulli(body, convert=ASARRAY, validate=True):
    lines = ["def bernoulli_nll(p, y):\n", convert]
    if validate:
        lines.append("    if np.any(p < 0) or np.any(p > 1):\n"
                     "        raise ValueError('p must be a probability')\n")
    lines.append(body)
    return "".join(lines)


# 0 * log(0) handled the way a careful student does it.
SAFE_TERMS = ("    with np.errstate(divide='ignore'):\n"
              "        pos = np.where(y == 1, np.log(np.where(y == 1, p, 1.0)), 0.0)\n"
              "        neg = np.where(y == 0, np.log(np.where(y == 0, 1 - p, 1.0)), 0.0)\n")


def _logits(body):
    return ("def bce_with_logits(z, y):\n"
            "    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)\n"
            f"{body}")


MISTAKES = [
    Mistake("bce-sign-flipped", ASSIGNMENT, NB, "bernoulli_nll_answer",
            _bernoulli(SAFE_TERMS + "    return float(np.mean(pos + neg))\n"),
            BERNOULLI_VALUE_CELLS, "returns the mean log-likelihood: the minus sign is missing"),
    Mistake("bce-sum-not-mean", ASSIGNMENT, NB, "bernoulli_nll_answer",
            _bernoulli(SAFE_TERMS + "    return float(-np.sum(pos + neg))\n"),
            frozenset({"bernoulli_nll_seed_value", "bernoulli_nll_shapes_and_dtypes"}),
            "sums the per-example losses instead of averaging them"),
    Mistake("bce-forgot-negative-class", ASSIGNMENT, NB, "bernoulli_nll_answer",
            _bernoulli(SAFE_TERMS + "    return float(-np.mean(pos))\n"),
            BERNOULLI_VALUE_CELLS, "drops the (1 - y) * log(1 - p) term: label-0 examples cost nothing"),
    Mistake("bce-nan-at-certainty", ASSIGNMENT, NB, "bernoulli_nll_answer",
            _bernoulli("    return float(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)))\n"),
            frozenset({"bernoulli_nll_confident_predictions"}),
            "the textbook formula as written: 0 * log(0) gives NaN when p == y at 0 or 1"),
    Mistake("bce-clipped-probabilities", ASSIGNMENT, NB, "bernoulli_nll_answer",
            _bernoulli("    p = np.clip(p, 1e-7, 1 - 1e-7)\n"
                       "    return float(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)))\n"),
            frozenset({"bernoulli_nll_confident_predictions"}),
            "clips p to [1e-7, 1 - 1e-7] to dodge log(0), which changes confident predictions' loss"),
    Mistake("bce-no-validation", ASSIGNMENT, NB, "bernoulli_nll_answer",
            _bernoulli(SAFE_TERMS + "    return float(-np.mean(pos + neg))\n", validate=False),
            frozenset({"bernoulli_nll_rejects_invalid_probabilities"}),
            "never raises ValueError for probabilities outside [0, 1]"),
    Mistake("bce-lists-rejected", ASSIGNMENT, NB, "bernoulli_nll_answer",
            _bernoulli(SAFE_TERMS + "    return float(-np.mean(pos + neg))\n",
                       convert="    p, y = p.astype(float), y.astype(float)\n"),
            frozenset({"bernoulli_nll_shapes_and_dtypes"}),
            "works on NumPy arrays only: Python lists and floats are never converted"),
    Mistake("logits-naive-sigmoid", ASSIGNMENT, NB, "bce_with_logits_answer",
            "def bce_with_logits(z, y):\n    return bernoulli_nll(sigmoid(z), y)\n",
            frozenset({"bce_with_logits_extreme_logits"}),
            "goes through the probabilities: log(sigmoid(z)) gives inf for large |z|"),
    Mistake("logits-naive-softplus", ASSIGNMENT, NB, "bce_with_logits_answer",
            _logits("    return float(np.mean(y * np.log(1 + np.exp(-z)) + (1 - y) * np.log(1 + np.exp(z))))\n"),
            frozenset({"bce_with_logits_extreme_logits"}),
            "the softplus form without the max shift: exp overflows for large |z|"),
    Mistake("logits-clipped", ASSIGNMENT, NB, "bce_with_logits_answer",
            _logits("    p = np.clip(1 / (1 + np.exp(-z)), 1e-7, 1 - 1e-7)\n"
                    "    return float(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)))\n"),
            frozenset({"bce_with_logits_extreme_logits"}),
            "clips sigmoid(z), capping the loss of a confidently wrong logit at -log(1e-7)"),
    Mistake("logits-args-swapped", ASSIGNMENT, NB, "bce_with_logits_answer",
            "def bce_with_logits(y, z):\n"
            "    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)\n"
            "    sp = lambda t: np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))\n"
            "    return float(np.mean(y * sp(-z) + (1 - y) * sp(z)))\n",
            LOGITS_CELLS, "takes the labels first and the logits second"),
    Mistake("logits-sign-of-yz", ASSIGNMENT, NB, "bce_with_logits_answer",
            _logits("    return float(np.mean(np.maximum(z, 0) + y * z + np.log1p(np.exp(-np.abs(z)))))\n"),
            LOGITS_CELLS, "softplus(z) + y*z instead of softplus(z) - y*z"),
    Mistake("sigmoid-exp-ratio", ASSIGNMENT, NB, "sigmoid_answer",
            "def sigmoid(z):\n    e = np.exp(np.asarray(z, dtype=float))\n    return e / (1 + e)\n",
            frozenset({"sigmoid_extreme_logits"}), "exp(z) / (1 + exp(z)) is inf / inf = NaN for large z"),
    Mistake("sigmoid-sign-flipped", ASSIGNMENT, NB, "sigmoid_answer",
            "def sigmoid(z):\n    return 1 / (1 + np.exp(np.asarray(z, dtype=float)))\n",
            frozenset({"sigmoid_values", "sigmoid_extreme_logits"}), "computes sigmoid(-z) = 1 - sigmoid(z)"),
    Mistake("bernoulli-expr-forgot-negative-class", ASSIGNMENT, NB, "bernoulli_nll_expr_answer",
            "bernoulli_nll_expr = -y * sp.log(sp_sigmoid(z))\n",
            frozenset({"bernoulli_nll_expr_equivalent"}), "derives only the y = 1 term of the log-likelihood"),
    Mistake("bernoulli-expr-likelihood-not-log", ASSIGNMENT, NB, "bernoulli_nll_expr_answer",
            "bernoulli_nll_expr = -(sp_sigmoid(z) ** y * (1 - sp_sigmoid(z)) ** (1 - y))\n",
            frozenset({"bernoulli_nll_expr_equivalent"}), "negates the likelihood but never takes its log"),
    # Real code's kinds (issue 30): torch's log clamp, an object array, an integer dtype kept.
    Mistake("bce-log-capped-at-100", ASSIGNMENT, NB, "bernoulli_nll_answer",
            _bernoulli("    with np.errstate(divide='ignore'):\n"
                       "        log_p, log_q = np.maximum(np.log(p), -100.0), np.maximum(np.log(1 - p), -100.0)\n"
                       "    return np.mean(-(y * log_p + (1 - y) * log_q))\n"),
            frozenset({"bernoulli_nll_confident_predictions"}), "caps each log at -100, as torch's BCELoss does"),
    Mistake("sigmoid-object-array", ASSIGNMENT, NB, "sigmoid_answer",
            "import math\n\ndef sigmoid(z):\n"
            "    one = lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))\n"
            "    return np.frompyfunc(one, 1, 1)(np.asarray(z, dtype=float))\n",
            frozenset({"sigmoid_values", "sigmoid_extreme_logits"}),
            "returns an array of Python objects (np.frompyfunc), not of floats"),
    Mistake("sigmoid-keeps-int-dtype", ASSIGNMENT, NB, "sigmoid_answer",
            "def sigmoid(z):\n    z = np.asarray(z)\n    out = np.empty_like(z)\n    pos = z >= 0\n"
            "    out[pos] = 1 / (1 + np.exp(-z[pos]))\n    e = np.exp(z[~pos])\n    out[~pos] = e / (1 + e)\n"
            "    return out\n",
            frozenset({"sigmoid_values"}), "np.empty_like keeps an integer input's dtype and truncates"),
]
