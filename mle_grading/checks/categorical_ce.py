"""Checks of notebook 03_categorical_ce: categorical likelihood -> softmax cross-entropy.

Every input is compared in float64 with the naive reference (`mle_grading.checks.reference`)
after the reference itself has been compared with torch. Inputs with extreme logits
come in a deliberate order: first one that only the missing max shift breaks, then
one that only `log(softmax(z))` breaks, so that the first failure names its cause.
"""
import math

import numpy as np

from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref
from mle_grading.checks import check
from mle_grading.checks.api import F32, call, chosen_number, close, expect_prediction, f64 as _f64, judge, trusted
from mle_grading.checks.families import Case, Graded, drawn, given, register, values

NB = "03_categorical_ce"

SEED_Z = np.array([[0.1, 0.2, 0.7], [0.1, 0.7, 0.2], [0.7, 0.1, 0.2]])
SEED_Y = np.array([2, 1, 0], dtype=np.int64)
# Fixed inputs beside the drawn ones, so that a wrong function fails the same cells whatever the
# draw: true classes of probability about 1e-4 to 1e-2 (a constant inside the log shows there).
UNLIKELY_Z = np.array([[6.0, 0.0, -3.0], [0.5, 4.0, -2.0], [-1.0, 2.0, 7.5]])
UNLIKELY_Y = np.array([2, 0, 1], dtype=np.int64)
UNLIKELY_ONE = (np.array([5.0, -4.0, 1.0, 0.5]), 1)

# -- what a check says ---------------------------------------------------------

NO_SHIFT = ("exp(z) overflows to inf above about 709 (and every exp(z) of a row rounds to 0 below "
            "about -745), and inf/inf or 0/0 is NaN: subtract each example's own maximum (along the "
            "last axis, not the maximum of the whole array) before exponentiating; "
            "softmax(z) = softmax(z - max(z)) exactly.")
LSE_NO_SHIFT = ("log(sum(exp(z))) overflows to inf for large logits, or is log(0) = -inf when every "
                "exp(z) of a row rounds to 0: use the log-sum-exp trick, log(sum(exp(z))) = "
                "m + log(sum(exp(z - m))) with m each example's own maximum along the last axis.")
LOG_UNDERFLOW = ("a probability this small rounds to 0 in float64 and log(0) = -inf: do not take "
                 "log(softmax(z)); compute log-probabilities directly, z - m - log(sum(exp(z - m))) "
                 "with m each example's maximum (the log-sum-exp trick).")
LAST_AXIS = ("Reduce along the last axis with axis=-1 and keepdims=True: then one example of shape "
             "(C,) and inputs with more dimensions, such as (batch, time, C), work too.")
KEEPDIMS = ("The row sums were taken without keepdims=True, so broadcasting divides column j by the "
            "sum of row j: keep the summed axis (keepdims=True).")
LABEL_INDEX = "Class indices run from 0 to C-1 and index the last axis of z directly."
SINGLE = ("One example of shape (C,) with an integer label is a batch of one: for instance reshape "
          "z to (1, C) and y to (1,) and reuse the batch code.")
SHORT_AXIS = "Reduce along the last axis with axis=-1 and keepdims=True."
LABEL_TYPES = ("Labels may come as a Python list or as an integer array of any integer dtype: "
               "convert them with np.asarray(y) before indexing.")


# -- recognising the cause of NaN and inf ---------------------------------------

def _exp_breaks(z):
    """Would exp(z) without the max shift overflow, or round to 0 in a whole row?"""
    with np.errstate(all="ignore"):
        sums = np.sum(np.exp(_f64(z)), axis=-1)
    return bool(np.any(~np.isfinite(sums) | (sums == 0)))


def _probabilities_underflow(log_probs):
    """Would any of these probabilities round to 0 if formed before taking the log?"""
    with np.errstate(all="ignore"):
        return bool(np.any(np.exp(_f64(log_probs)) == 0))


def _log_hint(z, relevant_log_probs):
    no_shift, underflow = _exp_breaks(z), _probabilities_underflow(relevant_log_probs)
    if no_shift and underflow:
        return f"either {LSE_NO_SHIFT} Or {LOG_UNDERFLOW}"
    if no_shift:
        return LSE_NO_SHIFT
    if underflow:
        return LOG_UNDERFLOW
    return ""


# -- values that recognised mistakes produce -----------------------------------

def _softmax_along(z, axis, shift_axis=None):
    shift_axis = axis if shift_axis is None else shift_axis
    e = np.exp(z - np.max(z, axis=shift_axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_mistakes(z):
    z = _f64(z)
    found = []
    for axis in range(z.ndim - 1):
        why = (f"this normalises along axis {axis}; softmax normalises along the last axis (axis=-1), "
               "so that the C probabilities of each example sum to 1.")
        found += [(_softmax_along(z, axis), why), (_softmax_along(z, axis, shift_axis=-1), why)]
    if z.ndim > 1:
        found.append((_softmax_along(z, None), "this normalises over all elements at once; each example "
                      "(each slice along the last axis) must sum to 1 on its own: sum with axis=-1, "
                      "keepdims=True."))
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    found.append((e, "the exponentials are not normalised: divide them by their sum along the last axis."))
    if z.ndim == 2 and z.shape[0] == z.shape[1]:
        found.append((e / np.sum(e, axis=-1), KEEPDIMS))
        e2 = np.exp(z - np.max(z, axis=-1))
        found.append((e2 / np.sum(e2, axis=-1), KEEPDIMS))
    found.append((ref.log_softmax(z),
                  "this is log_softmax(z); softmax returns the probabilities themselves."))
    return found


def _log_softmax_along(z, axis):
    m = np.max(z, axis=axis, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))


def log_softmax_mistakes(z):
    z = _f64(z)
    found = []
    for axis in range(z.ndim - 1):
        found.append((_log_softmax_along(z, axis),
                      f"this normalises along axis {axis}; log_softmax normalises along the last axis "
                      "(axis=-1), one example at a time."))
    if z.ndim > 1:
        found.append((_log_softmax_along(z, None), "this normalises over all elements at once; take the "
                      "log-sum-exp of each example separately (axis=-1, keepdims=True)."))
    m = np.max(z, axis=-1, keepdims=True)
    sum_shifted = np.sum(np.exp(z - m), axis=-1, keepdims=True)
    found += [
        (z - np.log(sum_shifted), "the maximum m was subtracted inside the exponent but not outside: "
                                  "log(sum(exp(z))) = m + log(sum(exp(z - m))), so log_softmax(z) = "
                                  "z - m - log(sum(exp(z - m)))."),
        (z - m, "the log-sum-exp term is missing: log_softmax(z) = z - m - log(sum(exp(z - m))), "
                "not just z - m."),
        (z - m - sum_shifted, "the log around the sum is missing: subtract log(sum(exp(z - m)))."),
        (ref.softmax(z), "this is softmax(z); log_softmax returns its logarithm."),
        (-ref.log_softmax(z), "the sign is flipped: log-probabilities are never positive."),
    ]
    return found


def nll_mistakes(z, y):
    """Values of recognised mistakes for logits z of shape (N, C) and labels y of shape (N,)."""
    z, y = _f64(z), np.asarray(y, dtype=np.int64)
    n, c = z.shape
    rows = np.arange(n)
    logp = ref.log_softmax(z)
    picked = logp[rows, y]
    m = np.max(z, axis=-1)
    log_sum_shifted = np.log(np.sum(np.exp(z - m[:, None]), axis=-1))
    return [
        (-np.mean(logp[:, y]), "labels indexed as z[:, y] select whole columns, an N x N block, not one "
                               "entry per example: use z[np.arange(N), y], row i and column y[i]."),
        (-np.mean(logp[rows, y - 1]), "the class indices are shifted by one (y - 1). " + LABEL_INDEX),
        (-np.mean(logp[rows, (y + 1) % c]), "the class indices are shifted by one (y + 1). " + LABEL_INDEX),
        (-np.mean(z[rows, y]), "the log-sum-exp term is missing: -log softmax(z)[y] = "
                               "-z[y] + log(sum(exp(z)))."),
        (np.mean(-z[rows, y] + log_sum_shifted),
         "the row maximum m was subtracted inside the exponent but not added back: "
         "log(sum(exp(z))) = m + log(sum(exp(z - m)))."),
        (np.mean(m + log_sum_shifted), "the -z[y] term is missing: the loss of example i is "
                                       "-z[i, y[i]] + log(sum(exp(z[i])))."),
        (-np.sum(picked), "this is the sum over the examples; the loss is their mean."),
        (-np.sum(picked) / (n * c), "this divides by N*C, the number of logits; the loss is the mean "
                                    "over the N examples."),
        (np.mean(picked), "the sign is flipped: this is the mean log-likelihood, not its negative."),
        (-np.mean(np.exp(picked)), "this averages probabilities; the loss averages -log of them."),
    ] + padded_log(picked)


LOG_EPSILONS = (1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 1e-15)
PADDED_LOG = ("this adds {eps:g} inside the log (log(p + {eps:g})): every loss is then off by about {eps:g} / p, "
              "and an unlikely true class costs at most -log({eps:g}). No constant is needed: compute "
              "-log softmax(z)[y] from the logits with log_softmax (the log-sum-exp trick), exact for every logit.")
CLIPPED_LOG = ("this clips the probabilities at {eps:g} before the log: an unlikely true class then costs at most "
               "-log({eps:g}). Do not clip: compute -log softmax(z)[y] from the logits with log_softmax (the "
               "log-sum-exp trick), exact for every logit.")


def padded_log(picked):
    """What -log(p + eps) and -log(clip(p, eps, 1 - eps)) give, p the true class's probability."""
    p = np.exp(picked)
    found = []
    for eps in LOG_EPSILONS:
        found.append((-np.mean(np.log(p + eps)), PADDED_LOG.format(eps=eps)))
        found.append((-np.mean(np.log(np.clip(p, eps, 1 - eps))), CLIPPED_LOG.format(eps=eps)))
    return found


# -- the graded functions ----------------------------------------------------------

def _rows_hint(got):
    if got.ndim and not np.allclose(np.sum(got, axis=-1), 1.0, rtol=1e-6, atol=1e-8):
        return "the probabilities of an example (along the last axis) do not sum to 1."
    return "the value is wrong."


def _softmax_advice(args, want):
    return {"nonfinite": NO_SHIFT if _exp_breaks(args[0]) else "", "fallback": _rows_hint,
            "shape_hint": "softmax returns one probability per logit: the shape of its input."}


def _log_softmax_advice(args, want):
    return {"nonfinite": _log_hint(args[0], want),
            "shape_hint": "log_softmax returns one log-probability per logit: the shape of its input."}


SOFTMAX = Graded("softmax", ref.softmax, tref.softmax, softmax_mistakes, hint=LAST_AXIS, advice=_softmax_advice)
LOG_SOFTMAX = Graded("log_softmax", ref.log_softmax, tref.log_softmax, log_softmax_mistakes, hint=LAST_AXIS,
                     advice=_log_softmax_advice)


def _as_batch(z, y):
    z, y = _f64(z), np.asarray(y, dtype=np.int64)
    return (z[None, :], y.reshape(1)) if z.ndim == 1 else (z, y)


def _nll_mistakes(z, y):
    return nll_mistakes(*_as_batch(z, y))


def _nll_advice(args, want):
    z2, y2 = _as_batch(*args)
    picked = ref.log_softmax(z2)[np.arange(len(y2)), y2]
    return {"nonfinite": _log_hint(z2, picked)}


def _follows_own_log_softmax(student, args, got):
    """A message if the wrong loss is exactly what the student's own wrong log_softmax implies."""
    z = args[0]
    _, y2 = _as_batch(*args)
    outcome = student.call("log_softmax", z)
    if outcome.kind != "returned" or not isinstance(outcome.value, np.ndarray):
        return None
    own = _f64(outcome.value)
    own = own[None, :] if own.ndim == 1 else own
    if own.ndim != 2 or own.shape[0] != len(y2) or np.any(y2 >= own.shape[1]) or np.any(y2 < 0):
        return None
    implied = -np.mean(own[np.arange(len(y2)), y2])
    if np.isfinite(implied) and close(got, implied):
        return ("this is the loss your `log_softmax` implies, and `log_softmax` is wrong on these logits: "
                "fix `log_softmax` first (its own test cells say how).")
    return None


def _nll_hint(otherwise=""):
    """What to add when categorical_nll raised: an IndexError is about the labels."""
    def hint(error_type):
        if error_type == "IndexError":
            return LABEL_INDEX + (f" {otherwise}" if otherwise else "")
        return otherwise
    return hint


NLL = Graded("categorical_nll", ref.categorical_nll, tref.categorical_nll, _nll_mistakes, scalar=True,
             hint=_nll_hint(), advice=_nll_advice, explain=_follows_own_log_softmax)


# -- inputs -------------------------------------------------------------------------------

def normal_logits(scale):
    return lambda rng, shape: (rng.normal(scale=scale, size=shape),)


def uniform_logits(rng, shape):
    return (rng.uniform(-1e4, 1e4, size=shape),)


def near(value):
    return lambda rng, shape: (value + rng.normal(size=shape),)


def batch(rng, shape, scale=3.0):
    """Logits (N, C) and labels in which the first and the last class occur."""
    n, c = shape
    z = rng.normal(scale=scale, size=shape)
    y = rng.integers(0, c, size=n)
    y[: min(n, c)] = rng.permutation(c)[: min(n, c)]
    return z, y


def large_batch(rng, shape):
    return rng.uniform(-1e4, 1e4, size=shape), rng.integers(0, shape[1], size=shape[0])


def equal_logits(rng, shape):
    """Every logit of a row equal, at a size drawn per row; any labels."""
    n, c = shape
    return np.repeat(rng.uniform(-1e4, 1e4, size=(n, 1)), c, axis=1), rng.integers(0, c, size=n)


def single(rng, shape):
    return rng.normal(scale=3.0, size=shape), int(rng.integers(0, shape[0]))


def _label_types(rng):
    z, y = batch(rng, (6, 4), scale=2.0)
    what, hint = "`categorical_nll` with {}", _nll_hint(LABEL_TYPES)
    return [Case((UNLIKELY_Z.tolist(), UNLIKELY_Y.tolist()), what.format("fixed logits and labels as Python lists"),
                 {}, hint),
            Case((z, y.tolist()), what.format("labels as a Python list"), {}, hint),
            Case((z, y.astype(np.int64)), what.format("labels as an int64 array"), {}, hint),
            Case((z, y.astype(np.int32)), what.format("labels as an int32 array"), {}, hint),
            Case((z.tolist(), y.tolist()), what.format("logits and labels as Python lists"), {}, hint),
            Case((z.astype(np.float32), y), what.format("float32 logits"), dict(F32), hint)]


def _lists_and_float32(rng):
    z = rng.normal(scale=2.0, size=(3, 4))
    return [Case((z.tolist(),), "`softmax` on a list of lists of floats", {}, SHORT_AXIS),
            Case(([[1, 2, 3], [0, 0, 5]],), "`softmax` on a list of lists of ints", {}, SHORT_AXIS),
            Case((rng.normal(scale=2.0, size=(4, 5)).astype(np.float32),), "`softmax` on a float32 array",
                 dict(F32), SHORT_AXIS)]


def unnamed(source):
    """Cases that already name the function (`values` names it again)."""
    return lambda rng: [Case(c.args, c.what.split(" ", 1)[1], c.tol, c.hint) for c in source(rng)]


register(NB, [
    ("softmax_matches_torch", "softmax agrees with F.softmax(z, dim=-1): each row is a probability vector summing to 1",
     values(SOFTMAX, drawn(normal_logits(3.0), [(4, 3), (5, 5), (1, 6), (7, 10), (3, 2)], "on logits of shape {shape}",
                           hint=SHORT_AXIS))),
    ("softmax_large_logits", "softmax is finite and correct for logits up to +-1e4",
     values(SOFTMAX, given((np.array([[1000.0, 0.0, -1000.0]]),), "on logits [1000, 0, -1000]"),
            given((np.array([[800.0, 799.0, 798.0], [710.0, -5.0, 700.0]]),), "on logits of several hundred"),
            given((np.array([[-1e4, -1e4 + 1.0, -1e4 + 3.0], [-800.0, -800.0, -790.0]]),), "on very negative logits"),
            given((np.array([[1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]]),), "on tied logits of +-1e4"),
            drawn(uniform_logits, [(6, 5)], "on random logits between -1e4 and 1e4"),
            drawn(near(5000.0), [(3, 4)], "on close logits near 5000"),
            witness=drawn(normal_logits(2.0), [(4, 3)], "on ordinary logits"))),
    ("softmax_last_axis_any_shape", "softmax acts along the last axis: shape (C,) and inputs with more dimensions",
     values(SOFTMAX, drawn(normal_logits(2.0), [(5,), (2,), (2, 3, 4), (2, 1, 3, 5), (3, 4, 4)],
                           "on logits of shape {shape}"))),
    ("softmax_accepts_lists_and_float32", "softmax accepts Python lists and float32 arrays",
     values(SOFTMAX, unnamed(_lists_and_float32))),
    ("log_softmax_matches_torch", "log_softmax agrees with F.log_softmax(z, dim=-1)",
     values(LOG_SOFTMAX, drawn(normal_logits(3.0), [(4, 3), (1, 6), (3, 2)], "on logits of shape {shape}",
                               hint=SHORT_AXIS),
            drawn(normal_logits(1.0), [(5, 5)], "on logits of shape {shape}", hint=SHORT_AXIS),
            drawn(normal_logits(20.0), [(7, 10)], "on logits of shape {shape}", hint=SHORT_AXIS),
            lambda rng: [Case((rng.normal(scale=2.0, size=(4, 3)).astype(np.float32),), "on a float32 array",
                              dict(F32))])),
    ("log_softmax_large_logits", "log_softmax is finite and exact for logits up to +-1e4 "
                                 "([1000, 0, -1000] gives [0, -1000, -2000])",
     values(LOG_SOFTMAX, given((np.array([[800.0, 799.0, 798.0], [710.0, 705.0, 700.0]]),), "on logits of several hundred"),
            given((np.array([[-1e4, -1e4 + 1.0, -1e4 + 3.0]]),), "on very negative logits"),
            given((np.array([[10.0, 0.0, -800.0]]),), "on logits far apart"),
            given((np.array([[1000.0, 0.0, -1000.0]]),), "on logits [1000, 0, -1000]"),
            drawn(uniform_logits, [(6, 5)], "on random logits between -1e4 and 1e4"),
            given((np.array([[1e4, 1e4 - 1.0, 1e4 - 2.0], [-1e4, -1e4 + 2.0, -1e4 + 1.0]]),),
                  "on rows of very different size"),
            witness=drawn(normal_logits(2.0), [(4, 3)], "on ordinary logits"))),
    ("log_softmax_last_axis_any_shape", "log_softmax acts along the last axis: shape (C,) and inputs with more "
                                        "dimensions",
     values(LOG_SOFTMAX, drawn(normal_logits(2.0), [(5,), (2,), (2, 3, 4), (3, 1, 2, 4), (3, 4, 4)],
                               "on logits of shape {shape}"),
            given(([0.5, -1.0, 2.0],), "on a flat Python list"))),
    ("categorical_nll_seed_value", "categorical_nll on the notebook's worked example",
     values(NLL, given((SEED_Z, SEED_Y), "on the worked example"),
            given((UNLIKELY_Z, UNLIKELY_Y), "on a fixed batch whose true classes are unlikely"),
            drawn(batch, [(3, 3), (5, 4)], "on {shape[0]} examples of {shape[1]} classes"))),
    ("categorical_nll_matches_torch", "categorical_nll agrees with F.cross_entropy on batches of any size",
     values(NLL, given((UNLIKELY_Z, UNLIKELY_Y), "on a fixed batch whose true classes are unlikely"),
            drawn(batch, [(5, 3), (8, 10), (1, 4), (20, 2), (6, 6)], "on {shape[0]} examples of {shape[1]} classes"))),
    ("categorical_nll_large_logits", "categorical_nll is finite and exact for logits up to +-1e4 "
                                     "([1000, 0, -1000] with class 2 gives 2000)",
     values(NLL, given((np.array([[800.0, 799.0, 798.0], [0.0, 1.0, 2.0]]), np.array([0, 2])), "on logits of several hundred"),
            given((np.array([[10.0, 0.0, -800.0]]), np.array([2])), "on logits far apart"),
            given((np.array([[1000.0, 0.0, -1000.0]]), np.array([2])), "on logits [1000, 0, -1000] and class 2"),
            drawn(large_batch, [(8, 5)], "on random logits between -1e4 and 1e4"),
            given((np.array([[1e4, 1e4 - 1.0, 1e4 - 2.0], [-1e4, -1e4 + 2.0, -1e4 + 1.0]]), np.array([2, 0])),
                  "on rows of very different size"),
            witness=drawn(batch, [(6, 4)], "on ordinary logits"))),
    ("categorical_nll_uniform_logits_give_log_c", "categorical_nll is log C when all C logits are equal, whatever "
                                                  "their value",
     values(NLL, given((np.zeros((4, 2)), np.array([0, 1, 1, 0])), "on equal logits of 2 classes"),
            given((np.full((4, 3), 7.5), np.array([2, 0, 1, 1])), "on equal logits of 3 classes"),
            given((np.full((4, 10), -300.0), np.array([9, 0, 3, 3])), "on equal logits of 10 classes"),
            given((np.full((4, 1000), 1e4), np.array([999, 0, 500, 7])), "on equal logits of 1000 classes"),
            given((np.array([[0.0, 0.0, 0.0], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]]), np.array([0, 1, 2])),
                  "on rows of equal logits of very different size"),
            drawn(equal_logits, [(5, 7)], "on rows of equal logits"),
            # log C alone is no loss: the same function must compute the loss of unequal logits.
            witness=drawn(batch, [(6, 4)], "on logits that are not all equal"))),
    ("categorical_nll_single_example", "categorical_nll of one example of shape (C,) with an integer label equals "
                                       "the batch of one",
     values(NLL, drawn(single, [(6,), (3,), (5,)], "on one example of {shape[0]} classes with a Python int label",
                       hint=_nll_hint(SINGLE)),
            lambda rng: [Case((rng.normal(scale=3.0, size=4), np.array(1)),
                              "on one example with a 0-d integer array as label", {}, _nll_hint(SINGLE))],
            given(([0.5, -1.0, 2.0], 1), "on one example given as a flat list", hint=_nll_hint(SINGLE)),
            given(UNLIKELY_ONE, "on one fixed example whose true class is unlikely", hint=_nll_hint(SINGLE)))),
    ("categorical_nll_label_types", "categorical_nll accepts labels as Python lists or integer arrays, and lists "
                                    "or float32 arrays of logits",
     values(NLL, unnamed(_label_types))),
])


@check(NB, "log_softmax_shift_invariant", "log_softmax is unchanged when a constant is added to all the "
                                          "logits of an example")
def log_softmax_shift_invariant(student, rng):
    z = rng.normal(scale=2.0, size=(4, 5))
    want = trusted(ref.log_softmax, tref.log_softmax, z)
    # Sizes chosen so that every draw breaks exp(z) without the max shift: one whole
    # row far below -745 (every exp rounds to 0), and one row beyond +709 (exp overflows).
    per_row = rng.permutation([rng.uniform(720, 900), rng.uniform(-900, -770), rng.uniform(-50, 50),
                               rng.uniform(100, 600)]).reshape(4, 1)
    shifts = [("the same constant added to every logit", float(rng.uniform(10, 50))),
              ("a large constant added to every logit", float(rng.uniform(-820, -770))),
              ("a different large constant added to each example", per_row)]
    for name, c in shifts:
        what = f"`log_softmax` with {name}"
        got = call(student, "log_softmax", z + c, what=what, hint=LAST_AXIS)
        judge(got, want, what, log_softmax_mistakes(z + c), nonfinite=_log_hint(z + c, want),
              fallback="adding a constant to all the logits of an example must not change its "
                       "log-probabilities, and here it does.")


@check(NB, "untrained_loss_prediction", "the predicted cross-entropy of an untrained model with your number of classes")
def untrained_loss_prediction(student, rng):
    # The number of classes is the student's own choice, so no number of the release answers it.
    c = int(round(chosen_number(student, "classes_for_prediction", "a whole number of classes", 3, 1000)))
    expect_prediction(student, "untrained_loss", math.log(c),
                      "the mean cross-entropy of a model whose logits are all equal, for your number of classes", [
                          (1 / c, "that is the probability 1/C the model gives every class; the loss is its "
                                  "negative logarithm."),
                          (math.log2(c), "that is the logarithm to base 2; cross-entropy uses the natural log."),
                          (math.log10(c), "that is the logarithm to base 10; cross-entropy uses the natural log."),
                          (-math.log(c), "the sign is flipped: a cross-entropy is never negative."),
                          (0.0, "equal logits do not give a loss of 0: every class, the true one included, has "
                                "probability 1/C."),
                      ])
