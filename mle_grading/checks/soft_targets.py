"""Checks of mle_beyond's 02_soft_targets: cross-entropy with target distributions, entropy,
KL divergence, label smoothing, and the logit gap label smoothing settles at.

A 1-D input of shape (C,) is one row (the contract); torch's versions are called
on the same row (tests/test_reference_mle_beyond.py checks that they agree).
"""
import math

import numpy as np

from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref
from mle_grading.checks import CheckFailed, check
from mle_grading.checks.api import chosen_number, expect_prediction
from mle_grading.checks.families import Graded, drawn, given, register, rejects, values
from mle_grading.checks.properties import as_lists, combined, properties

NB = "02_soft_targets"
LOG2 = math.log(2)


def _rows(a):
    a = np.asarray(a, dtype=np.float64)
    return a[None, :] if a.ndim == 1 else a


def _one_row(a):
    return np.ndim(a) == 1


# -- what the recognised mistakes give ------------------------------------------------

def soft_ce_mistakes(z, q):
    z2, q2 = _rows(z), _rows(q)
    logp = ref.log_softmax(z2)
    per_row = -np.sum(q2 * logp, axis=1)
    found = [
        (np.sum(per_row), "this is a sum over examples; the loss is the mean over examples (rows)."),
        (np.mean(-q2 * logp), "this is the mean over every entry, which divides by C as well; sum over the "
                              "classes, then take the mean over the examples."),
        (-np.mean(per_row), "the sign is flipped: the loss is -sum q log p."),
        (ref.categorical_nll(z2, np.argmax(q2, axis=1)),
         "this is the cross-entropy of each row's most probable class only; weight every class's "
         "log-probability by its target probability q."),
        (np.mean(-np.sum(q2 * (z2 - np.log(np.sum(np.exp(z2), axis=1, keepdims=True))), axis=1)),
         "exp of a large logit overflows: subtract each row's maximum before exp (log-sum-exp)."),
    ]
    if z2.shape[0] > 1:
        m = np.max(z2, axis=0, keepdims=True)
        logp0 = z2 - m - np.log(np.sum(np.exp(z2 - m), axis=0, keepdims=True))
        found.append((np.mean(-np.sum(q2 * logp0, axis=1)), "the softmax is taken along axis 0 (over the "
                                                              "examples); take it along the last axis (the classes)."))
    return found


def soft_ce_advice(args, want):
    return {"nonfinite": "the logarithm of a softmax probability that underflowed to 0. Compute "
                         "log softmax(z) = z - max(z) - log(sum(exp(z - max(z)))) directly, never log(softmax(z))."}


def entropy_mistakes(q):
    q2 = _rows(q)
    with np.errstate(all="ignore"):
        per_row = -np.sum(np.where(q2 > 0, q2 * np.log(np.where(q2 > 0, q2, 1.0)), 0.0), axis=1)
    return [
        (np.sum(per_row), "this is a sum over rows; the entropy of a batch is the mean over rows."),
        (-np.mean(per_row), "the sign is flipped: the entropy is -sum q log q, never negative."),
        (np.mean(per_row) / LOG2, "this is in bits (log base 2); use the natural logarithm."),
        (np.mean(per_row) / q2.shape[1], "this is the mean over every entry, which divides by C; sum over "
                                         "the classes of each row."),
    ]


def zero_log_zero_advice(args, want):
    return {"nonfinite": "0 * log(0) is NaN in NumPy: a term with q = 0 is 0 (the limit of t log t), so leave "
                         "those terms out (np.where, or a mask)."}


def kl_mistakes(q, p):
    q2, p2 = _rows(q), _rows(p)
    with np.errstate(all="ignore"):
        right = np.sum(np.where(q2 > 0, q2 * (np.log(np.where(q2 > 0, q2, 1.0)) - np.log(p2)), 0.0), axis=1)
        swapped = np.sum(np.where(p2 > 0, p2 * (np.log(np.where(p2 > 0, p2, 1.0)) - np.log(q2)), 0.0), axis=1)
        unweighted = np.sum(np.where(q2 > 0, np.log(np.where(q2 > 0, q2, 1.0)) - np.log(p2), 0.0), axis=1)
    return [
        (np.mean(swapped), "this is KL(p || q): the arguments are the other way round. kl_divergence(q, p) is "
                           "sum q (log q - log p), weighted by the first argument q."),
        (-np.mean(right), "the sign is flipped: KL(q || p) = sum q (log q - log p), never negative."),
        (np.sum(right), "this is a sum over rows; take the mean over rows."),
        (np.mean(right) / q2.shape[1], "this is divided by C as well; sum over the classes of each row, then "
                                       "take the mean over the rows (torch's batchmean divides by the rows)."),
        (np.mean(unweighted), "each log-ratio must be weighted by q: sum q (log q - log p)."),
        (np.mean(right) / LOG2, "this is in bits (log base 2); use the natural logarithm."),
    ]


def smooth_mistakes(y, num_classes, epsilon):
    onehot = np.eye(int(num_classes))[np.asarray(y).astype(int).ravel()]
    c = int(num_classes)
    return [
        ((1 - epsilon) * onehot + epsilon / max(c - 1, 1) * (1 - onehot),
         "this spreads epsilon over the C - 1 other classes; the contract's (and torch's) smoothing mixes with "
         "the uniform distribution over all C classes: (1 - epsilon) * onehot + epsilon / C."),
        ((1 - epsilon) * onehot + epsilon / c * (1 - onehot),
         "the true class is missing its share epsilon / C of the uniform part: every entry gets epsilon / C, "
         "the true class 1 - epsilon on top."),
        ((1 - epsilon) * onehot + epsilon, "epsilon must be divided by the number of classes: "
                                           "(1 - epsilon) * onehot + epsilon / C."),
        ((1 - epsilon) * onehot, "the uniform part epsilon / C is missing: each row must sum to 1."),
        (epsilon * onehot + (1 - epsilon) / c, "epsilon and 1 - epsilon are swapped."),
    ]


def _torch_on_positive_p(q, p):
    return bool(np.all(np.asarray(p, dtype=np.float64) > 0))


SOFT_CE = Graded("soft_cross_entropy", ref.soft_cross_entropy, tref.soft_cross_entropy, soft_ce_mistakes,
                 scalar=True, advice=soft_ce_advice)
# Logits of size 1e4: the reference (Hypothesis-tested against torch there) without torch's
# guard, whose float64 rounding at that size is of the order of the guard's tolerance.
SOFT_CE_EXTREME = Graded("soft_cross_entropy", ref.soft_cross_entropy, None, soft_ce_mistakes,
                         scalar=True, advice=soft_ce_advice)
ENTROPY = Graded("entropy", ref.entropy, tref.entropy, entropy_mistakes, scalar=True, advice=zero_log_zero_advice)
KL = Graded("kl_divergence", ref.kl_divergence, tref.kl_divergence, kl_mistakes, scalar=True,
            torch_applies=_torch_on_positive_p, advice=zero_log_zero_advice)
SMOOTH = Graded("smooth_labels", ref.smooth_labels, tref.smoothed_targets, smooth_mistakes)


# -- inputs ----------------------------------------------------------------------------

def distributions(rng, shape, zeros=True):
    """Random distributions along the last axis; with `zeros`, some entries exactly 0 (never a row's largest)."""
    q = rng.dirichlet(np.ones(shape[-1]), size=tuple(shape[:-1]))
    if zeros and shape[-1] > 2:
        largest = q == q.max(axis=-1, keepdims=True)
        q = np.where((rng.random(shape) < 0.3) & ~largest, 0.0, q)
        q = q / q.sum(axis=-1, keepdims=True)
    return q


def logits_and_targets(scale=3.0):
    def draw(rng, shape):
        return rng.normal(size=shape) * scale, distributions(rng, shape)
    return draw


def extreme_logits_and_targets(rng, shape):
    z = rng.choice([-1e4, 0.0, 1e4], size=shape) + rng.normal(size=shape) * 50
    z.flat[0] = 1e4
    return z, distributions(rng, shape)


def shifted_logits(rng, shape):
    return rng.normal(size=shape) + float(rng.uniform(700.0, 900.0)), distributions(rng, shape)


def nearly_normalised(rng, shape):
    """Rows that sum to 1 within 2e-7: valid targets by the contract's absolute 1e-6."""
    z, q = rng.normal(size=shape), distributions(rng, shape, zeros=False)
    q = q * (1 + rng.uniform(-2e-7, 2e-7, size=shape[:-1] + (1,)))
    return z, q


def positive_pairs(rng, shape):
    return distributions(rng, shape, zeros=False), distributions(rng, shape, zeros=False)


def shared_zeros(rng, shape):
    """q with zeros, p zero exactly where q is (and positive elsewhere): a finite KL."""
    q = distributions(rng, shape)
    p = np.where(q > 0, distributions(rng, shape, zeros=False), 0.0)
    return q, p / p.sum(axis=-1, keepdims=True)


def zero_where_q_is_not(rng, shape):
    """p = 0 on a class that q gives probability: KL(q || p) is +inf."""
    q = distributions(rng, shape, zeros=False)
    p = distributions(rng, shape, zeros=False)
    p[..., 0] = 0.0
    return q, p / p.sum(axis=-1, keepdims=True)


def invalid_targets(rng):
    """Fresh invalid targets: one negative entry (rows renormalised to 1), a row off by 1e-4 or more."""
    c = int(rng.integers(3, 7))
    q = distributions(rng, (4, c), zeros=False)
    row, col = int(rng.integers(4)), int(rng.integers(c))
    negative = q.copy()
    negative[row, col] = -float(rng.uniform(0.01, 0.5))
    negative[row] /= negative[row].sum()
    off = q.copy()
    off[row] *= 1 + float(rng.choice([-1.0, 1.0]) * rng.uniform(1e-4, 0.2))
    return [((rng.normal(size=(4, c)), negative), "for targets with one negative entry in a row that sums to 1"),
            ((rng.normal(size=(4, c)), off), "for targets with one row that does not sum to 1")]


def invalid_epsilons(rng):
    c = int(rng.integers(2, 8))
    y = rng.integers(0, c, size=5)
    return [((y, c, float(rng.uniform(1.0001, 3.0))), "for an epsilon above 1"),
            ((y, c, -float(rng.uniform(1e-4, 1.0))), "for a negative epsilon")]


def labels(epsilon=None):
    def draw(rng, shape):
        n, c = shape
        eps = float(rng.uniform(0.05, 0.5)) if epsilon is None else epsilon
        return rng.integers(0, c, size=n), c, eps
    return draw


def labels_as_lists(rng, shape):
    y, c, eps = labels()(rng, shape)
    return y.tolist(), c, eps


def one_row_divided_by_c(z, q):
    if not _one_row(z):
        return []
    logp = ref.log_softmax(np.asarray(z, dtype=np.float64))
    return [("for one example of shape (C,) this is divided by C: the mean is over examples (rows), and one "
             "row is one example; sum over its classes.", np.mean(-np.asarray(q, dtype=np.float64) * logp))]


STABLE_HINT = ("log(softmax(z)) where a probability underflowed to 0, or exp of a large logit overflowing. "
               "Compute log softmax(z) = z - max(z) - log(sum(exp(z - max(z)))) directly.")

register(NB, [
    ("soft_cross_entropy_matches_torch", "soft_cross_entropy agrees with F.cross_entropy with probability targets",
     values(SOFT_CE, drawn(logits_and_targets(), [(6, 4), (3, 7), (1, 3), (10, 2)], "on logits of shape {shape}"))),
    ("soft_cross_entropy_extreme_logits", "soft_cross_entropy is finite and exact for logits up to +-1e4",
     properties(SOFT_CE_EXTREME, drawn(extreme_logits_and_targets, [(5, 3), (4, 6)], "with logits of size up to 1e4"),
                drawn(shifted_logits, [(3, 4)], "with every logit near 800 (a constant added to a row changes "
                                                "nothing)"),
                given((np.array([[800.0, 0.0, -800.0]]), np.array([[0.6, 0.4, 0.0]])), "with logits [800, 0, -800]"),
                nonfinite=STABLE_HINT,
                fallback="for large logits the value is wrong: compute log softmax by log-sum-exp, subtracting "
                         "each row's maximum.")),
    ("soft_cross_entropy_single_row_and_lists", "soft_cross_entropy takes one row of shape (C,) and Python lists",
     properties(SOFT_CE, drawn(logits_and_targets(), [(5,), (2,)], "on one example of shape {shape}"),
                as_lists(drawn(logits_and_targets(), [(3, 4)], "on nested Python lists")),
                diagnoses=one_row_divided_by_c,
                fallback="on one example of shape (C,) the value is wrong: treat it as a batch of one row.")),
    ("soft_cross_entropy_rejects_invalid_targets",
     "soft_cross_entropy raises ValueError for a negative target entry or a row that does not sum to 1",
     rejects(SOFT_CE, [
         ((np.zeros(3), np.array([0.5, 0.7, -0.2])), "for a target with a negative entry"),
         ((np.zeros((2, 3)), np.array([[0.2, 0.3, 0.5], [0.5, 0.4, 0.0]])), "when one row sums to 0.9"),
         ((np.zeros(2), np.array([0.5, 0.5001])), "for a row that sums to 1.0001"),
         ((np.zeros(2), np.array([1.5, -0.5])), "for a row with a negative entry that sums to 1"),
     ], valid=combined(drawn(nearly_normalised, [(4, 3), (2, 6)], "with rows that sum to 1 within 2e-7"),
                       drawn(logits_and_targets(), [(3, 5)], "with valid targets holding zeros")),
             drawn_invalid=invalid_targets)),
    ("entropy_value", "entropy is the mean over rows of -sum q log q, with 0 log 0 = 0",
     values(ENTROPY, drawn(lambda rng, shape: (distributions(rng, shape),), [(5, 4), (3, 6), (6,)],
                           "of distributions of shape {shape} with some zero entries"),
            given((np.array([1.0, 0.0, 0.0]),), "of a one-hot row"))),
    ("kl_divergence_value", "kl_divergence agrees with F.kl_div(log p, q, reduction='batchmean') per row",
     values(KL, drawn(positive_pairs, [(5, 4), (2, 7), (6,)], "of distributions of shape {shape}"))),
    ("kl_divergence_zeros_and_infinity", "kl_divergence counts q = 0 terms as 0 and is inf where p = 0 < q",
     properties(KL, drawn(shared_zeros, [(4, 5), (6,)], "where p and q are 0 on the same classes"),
                drawn(zero_where_q_is_not, [(3, 4)], "where p is 0 on a class q gives probability"),
                nonfinite="a term with q = 0 is 0 whatever p is, p = 0 included: leave those terms out "
                          "(0 * log 0 is NaN in NumPy).",
                fallback="where p = 0 on a class that q gives probability, KL(q || p) is +inf: do not clip p "
                         "or add a small constant to it.")),
    ("smooth_labels_value", "smooth_labels gives the targets of F.cross_entropy(..., label_smoothing=epsilon)",
     values(SMOOTH, drawn(labels(), [(6, 4), (3, 10), (1, 2)], "for labels of {shape[0]} examples and "
                                                                "{shape[1]} classes"),
            drawn(labels(0.0), [(4, 3)], "with epsilon = 0"), drawn(labels(1.0), [(3, 5)], "with epsilon = 1"),
            drawn(labels_as_lists, [(5, 3)], "for labels given as a Python list"))),
    ("smooth_labels_rejects_bad_epsilon", "smooth_labels raises ValueError unless 0 <= epsilon <= 1",
     rejects(SMOOTH, [((np.array([0, 1]), 3, 1.5), "for epsilon = 1.5"),
                      ((np.array([2, 0]), 3, -0.1), "for epsilon = -0.1")],
             valid=combined(drawn(labels(0.0), [(3, 4)], "with epsilon = 0"),
                            drawn(labels(1.0), [(2, 3)], "with epsilon = 1"),
                            drawn(labels(), [(4, 5)], "with epsilon inside (0, 1)")),
             drawn_invalid=invalid_epsilons)),
])


# -- the logit gap label smoothing settles at ----------------------------------------------

GAP_CLASSES, GAP_EPSILON = 10, 0.1   # the notebook's question, and the smoothing its figure shows


def _gap_mistakes(e):
    c = GAP_CLASSES
    return [
        (math.log((1 - e) / (e / c)), "the true class also gets its share epsilon / C of the uniform part: its "
                                      "target is 1 - epsilon + epsilon / C."),
        (math.log((1 - e) * (c - 1) / e), "this spreads epsilon over the C - 1 other classes; the smoothed target "
                                          "gives every class epsilon / C and the true class 1 - epsilon on top."),
        (math.log((1 - e + e / c) / (e - e / c)), "this compares the true class with all nine others together; "
                                                   "the gap is to each other class's logit."),
        (math.log10((1 - e + e / c) / (e / c)), "use the natural logarithm, not log base 10."),
        (-math.log((1 - e + e / c) / (e / c)), "the sign is flipped: the true class's logit is the larger."),
        ((1 - e + e / c) / (e / c), "this is exp of the gap, the ratio of the two probabilities; take its "
                                    "logarithm."),
        (math.log((1 - e) / e), "this is log((1 - epsilon) / epsilon); each other class's target is epsilon / C, "
                                "and the true class's 1 - epsilon + epsilon / C."),
    ]


@check(NB, "optimal_logit_gap_value", "optimal_logit_gap is the logit gap that minimises the smoothed loss")
def optimal_logit_gap_value(student, rng):
    # The smoothing is the student's own choice (not the figure's), so no number of the release answers it.
    c = GAP_CLASSES
    e = chosen_number(student, "epsilon_for_gap", "a smoothing epsilon", 0.01, 0.5)
    if abs(e - GAP_EPSILON) < 1e-9:
        raise CheckFailed("`epsilon_for_gap` should be a smoothing other than the figure's 0.1.")
    # The minimiser, found here by search on the reference loss rather than by the formula.
    gaps = np.linspace(0.0, 10.0, 2001)
    target = ref.smooth_labels([0], c, e)
    losses = [ref.soft_cross_entropy(np.array([[g] + [0.0] * (c - 1)]), target) for g in gaps]
    want = math.log((1 - e + e / c) / (e / c))
    if abs(gaps[int(np.argmin(losses))] - want) > 0.01:
        raise RuntimeError("the searched minimiser and the formula disagree")  # our bug
    expect_prediction(student, "optimal_logit_gap", want, "", _gap_mistakes(e), rtol=1e-6,
                      fallback="is not the gap that minimises the cross-entropy against the smoothed target: set softmax of "
                      "the logits equal to the smoothed target and solve for the gap.")
