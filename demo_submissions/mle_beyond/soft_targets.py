"""Mistakes in mle_beyond's notebook 02_soft_targets."""
from .. import Mistake
from . import ASSIGNMENT

NB = "02_soft_targets"

VALIDATE = ("    if np.any(q < 0):\n"
            "        raise ValueError('q must not have negative entries')\n"
            "    if np.any(np.abs(q.sum(axis=-1) - 1.0) > 1e-6):\n"
            "        raise ValueError('every row of q must sum to 1')\n")
LOG_SOFTMAX = ("    shifted = z - np.max(z, axis=-1, keepdims=True)\n"
               "    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))\n")


def _soft_ce(body, log_p=LOG_SOFTMAX, validate=VALIDATE, rows=True):
    convert = ("    z = np.atleast_2d(np.asarray(z, dtype=float))\n    q = np.atleast_2d(np.asarray(q, dtype=float))\n"
               if rows else "    z = np.asarray(z, dtype=float)\n    q = np.asarray(q, dtype=float)\n")
    return f"def soft_cross_entropy(z, q):\n{convert}{validate}{log_p}    return {body}\n"


ENTROPY_OK = ("def entropy(q):\n"
              "    q = np.atleast_2d(np.asarray(q, dtype=float))\n"
              "    return float(np.mean(-np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0), axis=-1)))\n")
KL_OK = ("def kl_divergence(q, p):\n"
         "    q, p = np.atleast_2d(np.asarray(q, dtype=float)), np.atleast_2d(np.asarray(p, dtype=float))\n"
         "    with np.errstate(divide='ignore', invalid='ignore'):\n"
         "        t = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1.0)) - np.log(p)), 0.0)\n"
         "    return float(np.mean(np.sum(t, axis=-1)))\n")


def _kl(line, convert=True):
    head = ("    q, p = np.atleast_2d(np.asarray(q, dtype=float)), np.atleast_2d(np.asarray(p, dtype=float))\n"
            if convert else "    q, p = np.asarray(q, dtype=float), np.asarray(p, dtype=float)\n")
    return ENTROPY_OK + "\n\ndef kl_divergence(q, p):\n" + head + line


def _smooth(body, validate=True):
    check = ("    if not 0 <= epsilon <= 1:\n        raise ValueError('epsilon must lie in [0, 1]')\n" if validate else "")
    return ("def smooth_labels(y, num_classes, epsilon):\n" + check +
            "    onehot = np.eye(num_classes)[np.asarray(y).astype(int)]\n"
            f"    return {body}\n")


MEAN_CE = "float(np.mean(-np.sum(q * log_p, axis=-1)))"

MISTAKES = [
    Mistake("softce-log-of-softmax", ASSIGNMENT, NB, "soft_cross_entropy_answer",
            _soft_ce(MEAN_CE, log_p="    e = np.exp(z - np.max(z, axis=-1, keepdims=True))\n"
                                    "    log_p = np.log(e / e.sum(axis=-1, keepdims=True))\n"),
            frozenset({"soft_cross_entropy_extreme_logits"}), "takes the log of the softmax"),
    Mistake("softce-no-max-shift", ASSIGNMENT, NB, "soft_cross_entropy_answer",
            _soft_ce(MEAN_CE, log_p="    log_p = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))\n"),
            frozenset({"soft_cross_entropy_extreme_logits"}), "forgets to subtract the maximum logit"),
    Mistake("softce-sum-not-mean", ASSIGNMENT, NB, "soft_cross_entropy_answer",
            _soft_ce("float(np.sum(-np.sum(q * log_p, axis=-1)))"),
            frozenset({"soft_cross_entropy_matches_torch"}), "sums over the examples"),
    Mistake("softce-mean-over-entries", ASSIGNMENT, NB, "soft_cross_entropy_answer",
            _soft_ce("float(np.mean(-q * log_p))"),
            frozenset({"soft_cross_entropy_matches_torch", "soft_cross_entropy_single_row_and_lists"}),
            "averages over classes too (for one row: divides by C)"),
    Mistake("softce-hard-label", ASSIGNMENT, NB, "soft_cross_entropy_answer",
            _soft_ce("float(-np.mean(log_p[np.arange(len(q)), np.argmax(q, axis=-1)]))"),
            frozenset({"soft_cross_entropy_matches_torch"}), "keeps only the most probable class of q"),
    Mistake("softce-one-row-divided-by-c", ASSIGNMENT, NB, "soft_cross_entropy_answer",
            _soft_ce("float(-np.sum(q * log_p) / z.shape[0])", rows=False),
            frozenset({"soft_cross_entropy_single_row_and_lists"}), "divides by z.shape[0], which is C for one row"),
    Mistake("softce-no-validation", ASSIGNMENT, NB, "soft_cross_entropy_answer", _soft_ce(MEAN_CE, validate=""),
            frozenset({"soft_cross_entropy_rejects_invalid_targets"}), "never raises ValueError"),
    Mistake("entropy-nan-at-zero", ASSIGNMENT, NB, "entropy_kl_answer",
            "def entropy(q):\n    q = np.atleast_2d(np.asarray(q, dtype=float))\n"
            "    return float(np.mean(-np.sum(q * np.log(q), axis=-1)))\n\n\n" + KL_OK,
            frozenset({"entropy_value"}), "computes 0 * log 0 as NaN"),
    Mistake("entropy-in-bits", ASSIGNMENT, NB, "entropy_kl_answer",
            "def entropy(q):\n    q = np.atleast_2d(np.asarray(q, dtype=float))\n"
            "    return float(np.mean(-np.sum(np.where(q > 0, q * np.log2(np.where(q > 0, q, 1.0)), 0.0), axis=-1)))"
            "\n\n\n" + KL_OK,
            frozenset({"entropy_value"}), "uses log base 2"),
    Mistake("kl-arguments-swapped", ASSIGNMENT, NB, "entropy_kl_answer",
            _kl("    with np.errstate(divide='ignore', invalid='ignore'):\n"
                "        t = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)\n"
                "    return float(np.mean(np.sum(t, axis=-1)))\n"),
            frozenset({"kl_divergence_value"}), "computes KL(p || q)"),
    Mistake("kl-nan-at-zero", ASSIGNMENT, NB, "entropy_kl_answer",
            _kl("    with np.errstate(divide='ignore', invalid='ignore'):\n"
                "        return float(np.mean(np.sum(q * (np.log(q) - np.log(p)), axis=-1)))\n"),
            frozenset({"kl_divergence_zeros_and_infinity"}), "computes 0 * log(0/0) as NaN"),
    Mistake("kl-clipped-p", ASSIGNMENT, NB, "entropy_kl_answer",
            _kl("    p = np.clip(p, 1e-12, 1.0)\n"
                "    t = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1.0)) - np.log(p)), 0.0)\n"
                "    return float(np.mean(np.sum(t, axis=-1)))\n"),
            frozenset({"kl_divergence_zeros_and_infinity"}), "clips p away from 0, so KL is never inf"),
    Mistake("kl-divides-by-len", ASSIGNMENT, NB, "entropy_kl_answer",
            _kl("    with np.errstate(divide='ignore', invalid='ignore'):\n"
                "        t = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1.0)) - np.log(p)), 0.0)\n"
                "    return float(np.sum(t) / len(q))\n", convert=False),
            frozenset({"kl_divergence_value"}), "divides by len(q), which is C for one row"),
    Mistake("smooth-over-other-classes", ASSIGNMENT, NB, "smooth_labels_answer",
            _smooth("(1 - epsilon) * onehot + epsilon / (num_classes - 1) * (1 - onehot)"),
            frozenset({"smooth_labels_value"}), "spreads epsilon over the C - 1 other classes"),
    Mistake("smooth-epsilon-swapped", ASSIGNMENT, NB, "smooth_labels_answer",
            _smooth("epsilon * onehot + (1 - epsilon) / num_classes"),
            frozenset({"smooth_labels_value"}), "swaps epsilon and 1 - epsilon"),
    Mistake("smooth-no-validation", ASSIGNMENT, NB, "smooth_labels_answer",
            _smooth("(1 - epsilon) * onehot + epsilon / num_classes", validate=False),
            frozenset({"smooth_labels_rejects_bad_epsilon"}), "never raises ValueError"),
    Mistake("gap-true-share-forgotten", ASSIGNMENT, NB, "optimal_logit_gap_answer",
            "epsilon_for_gap = 0.2\noptimal_logit_gap = math.log(0.8 / 0.02)\n",
            frozenset({"optimal_logit_gap_value"}), "uses 1 - epsilon for the true class's target"),
    Mistake("gap-log10", ASSIGNMENT, NB, "optimal_logit_gap_answer",
            "epsilon_for_gap = 0.2\noptimal_logit_gap = math.log10(0.82 / 0.02)\n",
            frozenset({"optimal_logit_gap_value"}), "takes log base 10"),
]
