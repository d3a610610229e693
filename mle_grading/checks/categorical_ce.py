"""Checks of notebook 03_categorical_ce: categorical likelihood -> softmax cross-entropy.

Every input is compared in float64 with the naive reference (`mle_grading.reference`)
after the reference itself has been compared with torch. Inputs with extreme logits
come in a deliberate order: first one that only the missing max shift breaks, then
one that only `log(softmax(z))` breaks, so that the first failure names its cause.
"""
import math

import numpy as np

from .. import reference as ref
from .. import torch_reference as tref
from . import check, CheckFailed
from .expect import ATOL, RTOL, close, describe_failure, expect_prediction, rng_for

NB = "03_categorical_ce"
F32 = {"rtol": 1e-5, "atol": 1e-6}   # float32 logits: compared with the exact answer for those values

SEED_Z = np.array([[0.1, 0.2, 0.7], [0.1, 0.7, 0.2], [0.7, 0.1, 0.2]])
SEED_Y = np.array([2, 1, 0], dtype=np.int64)

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


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _result(student, function, *args, what, hint=""):
    """Call a student function; return its result as an array, or fail with a message.

    `hint` is added when the function raised: a string, or a function of the
    exception's type name that returns one.
    """
    outcome = student.call(function, *args)
    if outcome.kind != "returned":
        message = describe_failure(function, outcome)
        if outcome.kind == "raised" and callable(hint):
            hint = hint(outcome.error_type)
        if outcome.kind == "raised" and hint:
            message = f"{message.rstrip('. ')}. {hint}"
        raise CheckFailed(f"{what}: {message}")
    if outcome.value is None:
        raise CheckFailed(f"{what}: `{function}` returned None: did you forget `return`?")
    if not isinstance(outcome.value, np.ndarray):
        raise CheckFailed(f"{what}: `{function}` should return a number or an array, not an expression.")
    return outcome.value


def _scalar(student, function, *args, what, hint=""):
    value = _result(student, function, *args, what=what, hint=hint)
    if value.size != 1:
        raise CheckFailed(f"{what}: `{function}` returned an array of shape {value.shape}; the loss is "
                          "one number, the mean over the examples.")
    return float(value.reshape(()))


def _judge(got, want, what, mistakes=(), nonfinite="", fallback=None, shape_hint="", explain=None,
           rtol=RTOL, atol=ATOL):
    """Fail unless `got` matches `want`; name the first known mistake that `got` matches.

    `explain(got)` may return a message for a finite wrong value that no listed
    mistake matches; `fallback` (a string, or a function of `got`) is the last word.
    """
    got, want = _f64(got), _f64(want)
    if got.shape != want.shape:
        raise CheckFailed(f"{what}: the result has shape {got.shape}, expected {want.shape}."
                          + (f" {shape_hint}" if shape_hint else ""))
    if close(got, want, rtol, atol):
        return
    for value, message in mistakes:
        if _same(got, _f64(value), rtol, atol):
            raise CheckFailed(f"{what}: {message}")
    if not np.all(np.isfinite(got)):
        raise CheckFailed(f"{what}: the result contains NaN or inf where the true value is finite."
                          + (f" Likely cause: {nonfinite}" if nonfinite else ""))
    message = explain(got) if explain else None
    if message:
        raise CheckFailed(f"{what}: {message}")
    if callable(fallback):
        fallback = fallback(got)
    raise CheckFailed(f"{what}: {fallback or 'the value is wrong.'}")


def _same(got, value, rtol, atol):
    """Equal shapes, NaN and inf in the same places, and close elsewhere."""
    if got.shape != value.shape:
        return False
    if not (np.array_equal(np.isnan(got), np.isnan(value)) and np.array_equal(np.isposinf(got), np.isposinf(value))
            and np.array_equal(np.isneginf(got), np.isneginf(value))):
        return False
    finite = np.isfinite(got)
    if not finite.any():   # nothing left to compare: no evidence for this mistake over any other
        return False
    return bool(np.allclose(got[finite], value[finite], rtol=rtol, atol=atol))


def _trusted(reference, torch_version, *args):
    """The naive reference, after checking that torch agrees with it on this input."""
    want = _f64(reference(*args))
    if not np.allclose(want, _f64(torch_version(*args)), rtol=1e-10, atol=1e-10):
        raise RuntimeError("reference and torch disagree")  # a bug of ours, never the student's
    return want


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
    ]


# -- softmax ---------------------------------------------------------------------

def _rows_hint(got):
    if got.ndim and not np.allclose(np.sum(got, axis=-1), 1.0, rtol=1e-6, atol=1e-8):
        return "the probabilities of an example (along the last axis) do not sum to 1."
    return "the value is wrong."


def _softmax_case(student, z, what, hint=LAST_AXIS, **tol):
    want = _trusted(ref.softmax, tref.softmax, z)
    got = _result(student, "softmax", z, what=what, hint=hint)
    _judge(got, want, what, softmax_mistakes(z), nonfinite=NO_SHIFT if _exp_breaks(z) else "",
           fallback=_rows_hint,
           shape_hint="softmax returns one probability per logit: the shape of its input.", **tol)


@check(NB, "softmax_matches_torch", "softmax agrees with F.softmax(z, dim=-1): each row is a probability "
                                    "vector summing to 1")
def softmax_matches_torch(student):
    rng = rng_for("softmax_matches_torch")
    for shape in [(4, 3), (5, 5), (1, 6), (7, 10), (3, 2)]:
        z = rng.normal(scale=3.0, size=shape)
        _softmax_case(student, z, f"`softmax` on logits of shape {shape}",
                      hint=SHORT_AXIS)


@check(NB, "softmax_large_logits", "softmax is finite and correct for logits up to +-1e4")
def softmax_large_logits(student):
    rng = rng_for("softmax_large_logits")
    cases = [
        ("logits [1000, 0, -1000]", np.array([[1000.0, 0.0, -1000.0]])),
        ("logits of several hundred", np.array([[800.0, 799.0, 798.0], [710.0, -5.0, 700.0]])),
        ("very negative logits", np.array([[-1e4, -1e4 + 1.0, -1e4 + 3.0], [-800.0, -800.0, -790.0]])),
        ("tied logits of +-1e4", np.array([[1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]])),
        ("random logits between -1e4 and 1e4", rng.uniform(-1e4, 1e4, size=(6, 5))),
        ("close logits near 5000", 5000.0 + rng.normal(size=(3, 4))),
    ]
    for name, z in cases:
        _softmax_case(student, z, f"`softmax` on {name}")


@check(NB, "softmax_last_axis_any_shape", "softmax acts along the last axis: shape (C,) and inputs "
                                          "with more dimensions")
def softmax_last_axis_any_shape(student):
    rng = rng_for("softmax_last_axis_any_shape")
    for shape in [(5,), (2,), (2, 3, 4), (2, 1, 3, 5), (3, 4, 4)]:
        z = rng.normal(scale=2.0, size=shape)
        _softmax_case(student, z, f"`softmax` on logits of shape {shape}")


@check(NB, "softmax_accepts_lists_and_float32", "softmax accepts Python lists and float32 arrays")
def softmax_accepts_lists_and_float32(student):
    rng = rng_for("softmax_accepts_lists_and_float32")
    z = rng.normal(scale=2.0, size=(3, 4))
    _softmax_case(student, z.tolist(), "`softmax` on a list of lists of floats", hint=SHORT_AXIS)
    _softmax_case(student, [[1, 2, 3], [0, 0, 5]], "`softmax` on a list of lists of ints", hint=SHORT_AXIS)
    z32 = rng.normal(scale=2.0, size=(4, 5)).astype(np.float32)
    _softmax_case(student, z32, "`softmax` on a float32 array", hint=SHORT_AXIS, **F32)


# -- log_softmax -----------------------------------------------------------------

def _log_softmax_case(student, z, what, hint=LAST_AXIS, **tol):
    want = _trusted(ref.log_softmax, tref.log_softmax, z)
    got = _result(student, "log_softmax", z, what=what, hint=hint)
    _judge(got, want, what, log_softmax_mistakes(z), nonfinite=_log_hint(z, want),
           shape_hint="log_softmax returns one log-probability per logit: the shape of its input.", **tol)


@check(NB, "log_softmax_matches_torch", "log_softmax agrees with F.log_softmax(z, dim=-1)")
def log_softmax_matches_torch(student):
    rng = rng_for("log_softmax_matches_torch")
    for shape, scale in [((4, 3), 3.0), ((5, 5), 1.0), ((1, 6), 3.0), ((7, 10), 20.0), ((3, 2), 3.0)]:
        z = rng.normal(scale=scale, size=shape)
        _log_softmax_case(student, z, f"`log_softmax` on logits of shape {shape}",
                          hint=SHORT_AXIS)
    z32 = rng.normal(scale=2.0, size=(4, 3)).astype(np.float32)
    _log_softmax_case(student, z32, "`log_softmax` on a float32 array", **F32)


@check(NB, "log_softmax_large_logits", "log_softmax is finite and exact for logits up to +-1e4 "
                                       "([1000, 0, -1000] gives [0, -1000, -2000])")
def log_softmax_large_logits(student):
    rng = rng_for("log_softmax_large_logits")
    cases = [
        ("logits of several hundred", np.array([[800.0, 799.0, 798.0], [710.0, 705.0, 700.0]])),
        ("very negative logits", np.array([[-1e4, -1e4 + 1.0, -1e4 + 3.0]])),
        ("logits far apart", np.array([[10.0, 0.0, -800.0]])),
        ("logits [1000, 0, -1000]", np.array([[1000.0, 0.0, -1000.0]])),
        ("random logits between -1e4 and 1e4", rng.uniform(-1e4, 1e4, size=(6, 5))),
        ("rows of very different size", np.array([[1e4, 1e4 - 1.0, 1e4 - 2.0], [-1e4, -1e4 + 2.0, -1e4 + 1.0]])),
    ]
    for name, z in cases:
        _log_softmax_case(student, z, f"`log_softmax` on {name}")


@check(NB, "log_softmax_last_axis_any_shape", "log_softmax acts along the last axis: shape (C,) and "
                                              "inputs with more dimensions")
def log_softmax_last_axis_any_shape(student):
    rng = rng_for("log_softmax_last_axis_any_shape")
    for shape in [(5,), (2,), (2, 3, 4), (3, 1, 2, 4), (3, 4, 4)]:
        z = rng.normal(scale=2.0, size=shape)
        _log_softmax_case(student, z, f"`log_softmax` on logits of shape {shape}")
    _log_softmax_case(student, [0.5, -1.0, 2.0], "`log_softmax` on a flat Python list")


@check(NB, "log_softmax_shift_invariant", "log_softmax is unchanged when a constant is added to all the "
                                          "logits of an example")
def log_softmax_shift_invariant(student):
    rng = rng_for("log_softmax_shift_invariant")
    z = rng.normal(scale=2.0, size=(4, 5))
    want = _trusted(ref.log_softmax, tref.log_softmax, z)
    shifts = [("the same constant added to every logit", 37.5),
              ("a large constant added to every logit", -750.0),
              ("a different large constant added to each example", np.array([[-900.0], [0.0], [900.0], [300.0]]))]
    for name, c in shifts:
        what = f"`log_softmax` with {name}"
        got = _result(student, "log_softmax", z + c, what=what, hint=LAST_AXIS)
        _judge(got, want, what, log_softmax_mistakes(z + c), nonfinite=_log_hint(z + c, want),
               fallback="adding a constant to all the logits of an example must not change its "
                        "log-probabilities, and here it does.")


# -- categorical_nll ---------------------------------------------------------------

def _nll_hint(otherwise=""):
    """What to add when categorical_nll raised: an IndexError is about the labels."""
    def hint(error_type):
        if error_type == "IndexError":
            return LABEL_INDEX + (f" {otherwise}" if otherwise else "")
        return otherwise
    return hint


def _follows_own_log_softmax(student, z, y2, got, rtol, atol):
    """A message if the wrong loss is exactly what the student's own wrong log_softmax implies."""
    outcome = student.call("log_softmax", z)
    if outcome.kind != "returned" or not isinstance(outcome.value, np.ndarray):
        return None
    own = _f64(outcome.value)
    own = own[None, :] if own.ndim == 1 else own
    if own.ndim != 2 or own.shape[0] != len(y2) or np.any(y2 >= own.shape[1]):
        return None
    implied = -np.mean(own[np.arange(len(y2)), y2])
    if np.isfinite(implied) and close(got, implied, rtol, atol):
        return ("this is the loss your `log_softmax` implies, and `log_softmax` is wrong on these logits: "
                "fix `log_softmax` first (its own test cells say how).")
    return None


def _nll_case(student, z, y, what, hint=None, **tol):
    z_arr = _f64(z)
    y_arr = np.asarray(y, dtype=np.int64)
    want = _trusted(ref.categorical_nll, tref.categorical_nll, z_arr, y_arr)
    got = _scalar(student, "categorical_nll", z, y, what=what, hint=hint or _nll_hint())
    z2, y2 = (z_arr[None, :], y_arr.reshape(1)) if z_arr.ndim == 1 else (z_arr, y_arr)
    picked = ref.log_softmax(z2)[np.arange(len(y2)), y2]
    rtol, atol = tol.get("rtol", RTOL), tol.get("atol", ATOL)
    _judge(got, want, what, nll_mistakes(z2, y2), nonfinite=_log_hint(z2, picked),
           explain=lambda g: _follows_own_log_softmax(student, z, y2, g, rtol, atol), **tol)


@check(NB, "categorical_nll_seed_value", "categorical_nll on the notebook's worked example")
def categorical_nll_seed_value(student):
    _nll_case(student, SEED_Z, SEED_Y, "`categorical_nll` on the worked example")


@check(NB, "categorical_nll_matches_torch", "categorical_nll agrees with F.cross_entropy on batches of "
                                            "any size")
def categorical_nll_matches_torch(student):
    rng = rng_for("categorical_nll_matches_torch")
    for n, c in [(5, 3), (8, 10), (1, 4), (20, 2), (6, 6)]:
        z = rng.normal(scale=3.0, size=(n, c))
        y = rng.integers(0, c, size=n)
        y[: min(n, c)] = rng.permutation(c)[: min(n, c)]  # the first and the last class occur
        _nll_case(student, z, y, f"`categorical_nll` on {n} examples of {c} classes")


@check(NB, "categorical_nll_large_logits", "categorical_nll is finite and exact for logits up to +-1e4 "
                                           "([1000, 0, -1000] with class 2 gives 2000)")
def categorical_nll_large_logits(student):
    rng = rng_for("categorical_nll_large_logits")
    z_random = rng.uniform(-1e4, 1e4, size=(8, 5))
    cases = [
        ("logits of several hundred", np.array([[800.0, 799.0, 798.0], [0.0, 1.0, 2.0]]), np.array([0, 2])),
        ("logits far apart", np.array([[10.0, 0.0, -800.0]]), np.array([2])),
        ("logits [1000, 0, -1000] and class 2", np.array([[1000.0, 0.0, -1000.0]]), np.array([2])),
        ("random logits between -1e4 and 1e4", z_random, rng.integers(0, 5, size=8)),
        ("rows of very different size", np.array([[1e4, 1e4 - 1.0, 1e4 - 2.0], [-1e4, -1e4 + 2.0, -1e4 + 1.0]]),
         np.array([2, 0])),
    ]
    for name, z, y in cases:
        _nll_case(student, z, y, f"`categorical_nll` on {name}")


@check(NB, "categorical_nll_uniform_logits_give_log_c", "categorical_nll is log C when all C logits are "
                                                        "equal, whatever their value")
def categorical_nll_uniform_logits_give_log_c(student):
    rng = rng_for("categorical_nll_uniform_logits_give_log_c")
    for c, value in [(2, 0.0), (3, 7.5), (10, -300.0), (1000, 1e4)]:
        n = 4
        z = np.full((n, c), value)
        y = rng.integers(0, c, size=n)
        what = f"`categorical_nll` on equal logits of {c} classes"
        if not math.isclose(ref.categorical_nll(z, y), math.log(c), rel_tol=1e-12):
            raise RuntimeError("reference is not log C")
        _nll_case(student, z, y, what)
    z = np.array([[0.0, 0.0, 0.0], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]])
    _nll_case(student, z, np.array([0, 1, 2]), "`categorical_nll` on rows of equal logits of very different size")


@check(NB, "categorical_nll_single_example", "categorical_nll of one example of shape (C,) with an "
                                             "integer label equals the batch of one")
def categorical_nll_single_example(student):
    rng = rng_for("categorical_nll_single_example")
    for c, label in [(6, 4), (3, 0), (5, 4)]:
        z = rng.normal(scale=3.0, size=c)
        _nll_case(student, z, label, f"`categorical_nll` on one example of {c} classes with a Python int label",
                  hint=SINGLE)
    z = rng.normal(scale=3.0, size=4)
    _nll_case(student, z, np.array(1), "`categorical_nll` on one example with a 0-d integer array as label",
              hint=SINGLE)
    _nll_case(student, [0.5, -1.0, 2.0], 1, "`categorical_nll` on one example given as a flat list", hint=SINGLE)


@check(NB, "categorical_nll_label_types", "categorical_nll accepts labels as Python lists or integer arrays, "
                                          "and lists or float32 arrays of logits")
def categorical_nll_label_types(student):
    rng = rng_for("categorical_nll_label_types")
    z = rng.normal(scale=2.0, size=(6, 4))
    y = rng.integers(0, 4, size=6)
    y[:2] = [0, 3]
    _nll_case(student, z, y.tolist(), "`categorical_nll` with labels as a Python list", hint=_nll_hint(LABEL_TYPES))
    _nll_case(student, z, y.astype(np.int64), "`categorical_nll` with labels as an int64 array", hint=_nll_hint(LABEL_TYPES))
    _nll_case(student, z, y.astype(np.int32), "`categorical_nll` with labels as an int32 array", hint=_nll_hint(LABEL_TYPES))
    _nll_case(student, z.tolist(), y.tolist(), "`categorical_nll` with logits and labels as Python lists",
              hint=_nll_hint(LABEL_TYPES))
    z32 = z.astype(np.float32)
    _nll_case(student, z32, y.astype(np.int64), "`categorical_nll` on float32 logits", hint=_nll_hint(LABEL_TYPES), **F32)


@check(NB, "untrained_loss_prediction", "the predicted cross-entropy of an untrained 10-class model")
def untrained_loss_prediction(student):
    c = 10
    expect_prediction(student, "untrained_loss_10_classes", math.log(c),
                      "the mean cross-entropy of a model whose ten logits are all equal", [
                          (1 / c, "that is the probability 1/C the model gives every class; the loss is its "
                                  "negative logarithm."),
                          (math.log2(c), "that is the logarithm to base 2; cross-entropy uses the natural log."),
                          (math.log10(c), "that is the logarithm to base 10; cross-entropy uses the natural log."),
                          (-math.log(c), "the sign is flipped: a cross-entropy is never negative."),
                          (0.0, "equal logits do not give a loss of 0: every class, the true one included, has "
                                "probability 1/C."),
                      ])
