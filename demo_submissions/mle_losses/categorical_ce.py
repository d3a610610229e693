"""Mistakes in notebook 03_categorical_ce.

The reference solution's `categorical_nll` calls `log_softmax`; its checks run it
with a trusted `log_softmax` bound in its place, so a mistake in `log_softmax`
costs only the `log_softmax` cells (one mistake costs once).
"""
from .. import Mistake
from . import ASSIGNMENT

NB = "03_categorical_ce"
SOFTMAX_CELLS = frozenset({"softmax_matches_torch", "softmax_large_logits", "softmax_last_axis_any_shape",
                           "softmax_accepts_lists_and_float32"})
NLL_CELLS = frozenset({"categorical_nll_seed_value", "categorical_nll_matches_torch",
                       "categorical_nll_large_logits", "categorical_nll_uniform_logits_give_log_c",
                       "categorical_nll_single_example", "categorical_nll_label_types"})
LOG_SOFTMAX_CELLS = frozenset({"log_softmax_matches_torch", "log_softmax_large_logits",
                               "log_softmax_last_axis_any_shape", "log_softmax_shift_invariant"})
NO_SHIFT_CELLS = frozenset({"log_softmax_large_logits", "log_softmax_shift_invariant"})


def _nll(picked_line, batch_handling=True):
    """A categorical_nll whose last line is `picked_line`, with or without the (C,) case."""
    head = "def categorical_nll(z, y):\n    logp = log_softmax(z)\n    y = np.asarray(y)\n"
    if batch_handling:
        head += "    if logp.ndim == 1:\n        logp, y = logp[None, :], y.reshape(1)\n"
    return head + picked_line


MISTAKES = [
    Mistake("softmax-no-max-shift", ASSIGNMENT, NB, "softmax_answer",
            "def softmax(z):\n    e = np.exp(np.asarray(z, dtype=float))\n"
            "    return e / np.sum(e, axis=-1, keepdims=True)\n",
            frozenset({"softmax_large_logits"}), "exponentiates without subtracting the row maximum"),
    Mistake("softmax-axis-one", ASSIGNMENT, NB, "softmax_answer",
            "def softmax(z):\n    z = np.asarray(z, dtype=float)\n"
            "    e = np.exp(z - np.max(z, axis=1, keepdims=True))\n"
            "    return e / np.sum(e, axis=1, keepdims=True)\n",
            frozenset({"softmax_last_axis_any_shape"}), "hard-codes axis=1, which only works for (N, C)"),
    Mistake("softmax-sums-columns", ASSIGNMENT, NB, "softmax_answer",
            "def softmax(z):\n    z = np.asarray(z, dtype=float)\n"
            "    e = np.exp(z - np.max(z, axis=-1, keepdims=True))\n"
            "    return e / np.sum(e, axis=0)\n",
            SOFTMAX_CELLS, "normalises along the first axis: the columns sum to 1, not the rows"),
    Mistake("log-of-softmax", ASSIGNMENT, NB, "log_softmax_answer",
            "def log_softmax(z):\n    return np.log(softmax(z))\n",
            frozenset({"log_softmax_large_logits"}),
            "takes the log of softmax, which underflows to -inf for very unlikely classes"),
    Mistake("log-softmax-no-max-shift", ASSIGNMENT, NB, "log_softmax_answer",
            "def log_softmax(z):\n    z = np.asarray(z, dtype=float)\n"
            "    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))\n",
            NO_SHIFT_CELLS, "log-sum-exp without the max shift: overflows for large logits"),
    Mistake("log-softmax-max-not-added-back", ASSIGNMENT, NB, "log_softmax_answer",
            "def log_softmax(z):\n    z = np.asarray(z, dtype=float)\n"
            "    m = np.max(z, axis=-1, keepdims=True)\n"
            "    return z - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))\n",
            LOG_SOFTMAX_CELLS,
            "shifts by the maximum inside the exponent and forgets to add it back"),
    Mistake("nll-labels-as-columns", ASSIGNMENT, NB, "categorical_nll_answer",
            _nll("    return -np.mean(logp[:, y])\n"),
            frozenset({"categorical_nll_seed_value", "categorical_nll_matches_torch",
                       "categorical_nll_large_logits", "categorical_nll_label_types"}),
            "indexes z[:, y], an N x N block, instead of one entry per row"),
    Mistake("nll-labels-off-by-one", ASSIGNMENT, NB, "categorical_nll_answer",
            _nll("    return -np.mean(logp[np.arange(len(y)), y - 1])\n"),
            NLL_CELLS - {"categorical_nll_uniform_logits_give_log_c"},
            "treats the labels as numbered from 1"),
    Mistake("nll-logsumexp-left-out", ASSIGNMENT, NB, "categorical_nll_answer",
            "def categorical_nll(z, y):\n    z = np.atleast_2d(np.asarray(z, dtype=float))\n"
            "    y = np.atleast_1d(np.asarray(y))\n"
            "    return -np.mean(z[np.arange(len(y)), y])\n",
            NLL_CELLS, "uses -z[y] as the loss and leaves out the log-sum-exp term"),
    Mistake("nll-sum-not-mean", ASSIGNMENT, NB, "categorical_nll_answer",
            _nll("    return -np.sum(logp[np.arange(len(y)), y])\n"),
            NLL_CELLS - {"categorical_nll_single_example"}, "sums the per-example losses instead of averaging"),
    Mistake("nll-no-single-example", ASSIGNMENT, NB, "categorical_nll_answer",
            _nll("    return -np.mean(logp[np.arange(len(y)), y])\n", batch_handling=False),
            frozenset({"categorical_nll_single_example"}), "only handles a batch (N, C) with labels (N,)"),
    Mistake("untrained-loss-one-over-c", ASSIGNMENT, NB, "untrained_loss_answer",
            "classes_for_prediction = 10\nuntrained_loss = 1 / 10\n",
            frozenset({"untrained_loss_prediction"}), "gives the probability of each class instead of its -log"),
    Mistake("nll-log-p-plus-eps", ASSIGNMENT, NB, "categorical_nll_answer",
            "def categorical_nll(z, y):\n    p = softmax(np.atleast_2d(np.asarray(z, dtype=float)))\n"
            "    y = np.atleast_1d(np.asarray(y))\n"
            "    return -np.mean(np.log(p[np.arange(len(y)), y] + 1e-7))\n",
            NLL_CELLS, "adds 1e-7 inside the log, which is wrong wherever the true class is unlikely"),
]
