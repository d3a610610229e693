"""Checks of notebook 02_bernoulli_bce: Bernoulli likelihood -> binary cross-entropy.

Every value is compared with the naive float64 reference (`mle_grading.reference`)
after the reference itself has been compared with torch (`F.binary_cross_entropy`,
`F.binary_cross_entropy_with_logits`, `torch.sigmoid`): a disagreement between
those two is a bug of ours and raises RuntimeError, never CheckFailed.
"""
import math

import numpy as np
import sympy

from .. import reference as ref
from .. import torch_reference as tref
from . import check, CheckFailed
from .expect import describe_failure, expect_close, expect_raises, rng_for, value_of
from .symbolic import expect_equivalent, sym

NB = "02_bernoulli_bce"

SEED_Z = np.array([-0.5, -0.8, 0.0, 0.8, 0.5])
SEED_Y = np.array([0, 0, 1, 1, 1])

CLIP_EPSILONS = (1e-7, 1e-8, 1e-10, 1e-12, 1e-15)


def _f(x):
    return np.asarray(x, dtype=np.float64)


def _xlogy(a, b):
    """a * log(b), with 0 * log(0) = 0."""
    a, b = np.broadcast_arrays(_f(a), _f(b))
    with np.errstate(all="ignore"):
        return np.where(a == 0, 0.0, a * np.log(np.where(a == 0, 1.0, b)))


def _has_python_container(args):
    return any(isinstance(a, (list, tuple, float, int)) for a in args)


_returned_value = value_of


def _scalar(student, function, what, *args, hint_on_raise=""):
    """Call a loss and return its value as a float, or fail with a message naming `what`."""
    outcome = student.call(function, *args)
    if outcome.kind == "raised" and _has_python_container(args):
        raise CheckFailed(f"{what}: {describe_failure(function, outcome)}. Python lists and floats are valid "
                          "inputs: convert them with np.asarray(..., dtype=float) before computing.")
    if outcome.kind == "raised" and hint_on_raise:
        raise CheckFailed(f"{what}: {describe_failure(function, outcome)}. {hint_on_raise}")
    if outcome.kind != "returned":
        raise CheckFailed(f"{what}: {describe_failure(function, outcome)}")
    value = outcome.value
    if value is None:
        raise CheckFailed(f"{what}: `{function}` returned None: did you forget `return`?")
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{what}: `{function}` should return a number, not an expression.")
    if value.size != 1:
        raise CheckFailed(f"{what}: `{function}` returned an array of shape {value.shape}; a loss is one "
                          "number, the mean over all elements.")
    return float(value.reshape(()))


def _same(a, b, rtol=1e-10, atol=1e-12):
    return bool(np.allclose(_f(a), _f(b), rtol=rtol, atol=atol))


def _reference_agrees(ours, theirs, what):
    if not _same(ours, theirs):
        raise RuntimeError(f"reference and torch disagree on {what}")  # a bug of ours, never the student's


# -- sigmoid --------------------------------------------------------------------

def sigmoid_mistakes(z):
    z = _f(z)
    with np.errstate(all="ignore"):
        return [
            (ref.sigmoid(-z), "this is sigmoid(-z) = 1 - sigmoid(z): the exponent is exp(-z), so that a large "
                              "positive z gives a value near 1."),
            (ref.sigmoid(2 * z), "this is sigmoid(2z): the tanh form is 0.5 * (1 + tanh(z / 2)), note the z / 2."),
            (np.tanh(z), "this is tanh(z); the logistic sigmoid is 1 / (1 + exp(-z))."),
            (np.exp(-z) / (1 + np.exp(-z)), "this is exp(-z) / (1 + exp(-z)) = 1 - sigmoid(z); the sigmoid is "
                                            "1 / (1 + exp(-z))."),
        ]


def _sigmoid_value(student, z, what):
    outcome = student.call("sigmoid", z)
    if outcome.kind == "raised" and _has_python_container([z]):
        raise CheckFailed(f"{what}: {describe_failure('sigmoid', outcome)}. Python floats and lists are valid "
                          "inputs: convert them with np.asarray(..., dtype=float) first.")
    got = _returned_value("sigmoid", outcome)
    want = ref.sigmoid(z)
    _reference_agrees(want, tref.sigmoid(z), "sigmoid")
    if got.shape != want.shape:
        raise CheckFailed(f"{what}: the result has shape {got.shape}, expected {want.shape}: sigmoid works "
                          "elementwise and returns an array of its input's shape.")
    return got, want


@check(NB, "sigmoid_values", "sigmoid agrees with torch.sigmoid elementwise, for any shape, lists and float32")
def sigmoid_values(student):
    rng = rng_for("sigmoid_values")
    for shape in [(7,), (3, 4), (2, 3, 2), (1,)]:
        z = rng.normal(size=shape) * 4
        got, want = _sigmoid_value(student, z, f"`sigmoid` on an array of shape {shape}")
        expect_close(got, want, f"`sigmoid` on an array of shape {shape}", sigmoid_mistakes(z))
    for z, what in [(0.7, "`sigmoid` of a Python float"), ([-2, 0, 3], "`sigmoid` of a Python list of ints")]:
        got, want = _sigmoid_value(student, z, what)
        expect_close(got, want, what, sigmoid_mistakes(z))
    z32 = (rng.normal(size=(5, 2)) * 3).astype(np.float32)
    got, want = _sigmoid_value(student, z32, "`sigmoid` of a float32 array")
    expect_close(got, want, "`sigmoid` of a float32 array", sigmoid_mistakes(z32), rtol=1e-5, atol=1e-7)


@check(NB, "sigmoid_extreme_logits", "sigmoid is correct and finite for logits of large magnitude (up to ±1e4)")
def sigmoid_extreme_logits(student):
    z = np.array([[-1e4, -1000.0, -745.0, -710.0],
                  [-120.0, -40.0, 40.0, 120.0],
                  [709.0, 710.0, 1000.0, 1e4]])
    what = "`sigmoid` at logits of large magnitude"
    got, want = _sigmoid_value(student, z, what)
    if not np.all(np.isfinite(got)):
        raise CheckFailed(
            f"{what}: the result contains NaN or inf. exp of more than about 709 is inf in float64, and "
            "exp(z) / (1 + exp(z)) then becomes inf / inf = NaN. Compute from e = exp(-|z|), which never "
            "overflows: 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0.")
    expect_close(got, want, what, sigmoid_mistakes(z))
    for sign in (1.0, -1.0):  # one element alone, in case errors only show in a batch or only alone
        single = np.array([sign * 1e4])
        got, want = _sigmoid_value(student, single, what)
        if not np.all(np.isfinite(got)):
            kind = "positive" if sign > 0 else "negative"
            raise CheckFailed(f"{what}: the result is NaN or inf for a single large {kind} logit: compute from "
                              "exp(-|z|), which never overflows.")
        expect_close(got, want, what, sigmoid_mistakes(single))


# -- bernoulli_nll ----------------------------------------------------------------

def bernoulli_mistakes(p, y):
    p, y = np.broadcast_arrays(_f(p), _f(y))
    per = -_xlogy(y, p) - _xlogy(1 - y, 1 - p)
    found = [
        (-np.mean(per), "the sign is flipped: this is the mean log-likelihood; the loss is its negative."),
        (np.sum(per), "this is a sum over all elements; the loss is their mean."),
        (np.mean(-_xlogy(y, p)), "the (1 - y) * log(1 - p) term is missing: an example with label 0 costs "
                                 "-log(1 - p)."),
        (np.mean(-_xlogy(1 - y, 1 - p)), "the y * log(p) term is missing: an example with label 1 costs -log(p)."),
        (np.mean(-_xlogy(y, 1 - p) - _xlogy(1 - y, p)),
         "p is the probability of label 1: log(p) goes with y and log(1 - p) with 1 - y."),
        (np.mean(per) / math.log(10), "this uses log10; the likelihood uses the natural logarithm np.log."),
        (np.mean(per) / math.log(2), "this uses log2; the likelihood uses the natural logarithm np.log."),
    ]
    for eps in CLIP_EPSILONS:
        pc = np.clip(p, eps, 1 - eps)
        found.append((np.mean(-_xlogy(y, pc) - _xlogy(1 - y, 1 - pc)),
                      f"this clips p to [{eps:g}, 1 - {eps:g}]: a prediction p == y then costs about {eps:g} "
                      f"instead of 0, and a confident mistake costs at most -log({eps:g}). Do not clip: treat "
                      "0 * log(0) as 0 instead."))
    return found


def _bernoulli_value(student, p, y, what, rtol=1e-6, atol=1e-8, got=None):
    if got is None:
        got = _scalar(student, "bernoulli_nll", what, p, y)
    want = ref.bernoulli_nll(p, y)
    _reference_agrees(want, tref.bernoulli_nll(p, y), "bernoulli_nll")
    if not math.isfinite(got) and math.isfinite(want):
        pf = _f(p)
        if math.isinf(got) and np.all((pf > 0) & (pf < 1)):
            raise CheckFailed(
                f"{what}: the result is infinite although every probability lies strictly between 0 and 1, so "
                "log(0) was taken of something else. Are the arguments swapped? The probabilities p come first "
                "and the labels y second, as in F.binary_cross_entropy(input, target).")
        raise CheckFailed(f"{what}: the result is NaN or inf where the true value is finite.")
    expect_close(got, want, what, bernoulli_mistakes(p, y), rtol=rtol, atol=atol)


@check(NB, "bernoulli_nll_seed_value", "bernoulli_nll agrees with F.binary_cross_entropy for probabilities in (0, 1)")
def bernoulli_nll_seed_value(student):
    _bernoulli_value(student, ref.sigmoid(SEED_Z), SEED_Y.copy(),
                     "`bernoulli_nll(sigmoid(z), y)` on the notebook's demonstration data")
    rng = rng_for("bernoulli_nll_seed_value")
    for n in (10, 31):
        p = ref.sigmoid(rng.normal(size=n) * 2)
        y = rng.integers(0, 2, size=n).astype(np.float64)
        _bernoulli_value(student, p, y, f"`bernoulli_nll` on {n} examples")


@check(NB, "bernoulli_nll_shapes_and_dtypes", "bernoulli_nll accepts shape (N, k), Python lists and scalars, float32")
def bernoulli_nll_shapes_and_dtypes(student):
    rng = rng_for("bernoulli_nll_shapes_and_dtypes")
    p = ref.sigmoid(rng.normal(size=(6, 3)) * 2)
    y = rng.integers(0, 2, size=(6, 3))
    _bernoulli_value(student, p, y, "`bernoulli_nll` on arrays of shape (6, 3) with integer labels")
    p_list = [[round(float(v), 3) for v in row] for row in ref.sigmoid(rng.normal(size=(3, 2)))]
    y_list = [[int(v) for v in row] for row in rng.integers(0, 2, size=(3, 2))]
    _bernoulli_value(student, p_list, y_list, "`bernoulli_nll` on nested Python lists")
    _bernoulli_value(student, 0.8, 1, "`bernoulli_nll` on a Python float and an int")
    p32 = ref.sigmoid(rng.normal(size=8)).astype(np.float32)
    y32 = rng.integers(0, 2, size=8).astype(np.float32)
    _bernoulli_value(student, p32, y32, "`bernoulli_nll` on float32 arrays", rtol=1e-5, atol=1e-7)


@check(NB, "bernoulli_nll_confident_predictions",
       "bernoulli_nll at the ends of [0, 1]: p == y gives 0, never NaN; confident predictions are not clipped")
def bernoulli_nll_confident_predictions(student):
    cases = [
        (np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0, 1.0]),
         "`bernoulli_nll` for predictions equal to their labels"),
        (np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0, 1], [1, 0]]),
         "`bernoulli_nll` for predictions of shape (2, 2) equal to their integer labels"),
    ]
    for p, y, what in cases:
        got = _scalar(student, "bernoulli_nll", what, p, y,
                      hint_on_raise="0 and 1 are valid probabilities: raise ValueError only for p outside [0, 1], "
                                    "and treat 0 * log(0) as 0.")
        if math.isnan(got):
            raise CheckFailed(
                f"{what}: the result is NaN. Where p == y at 0 or 1, one term is 0 * log(0), which NumPy "
                "evaluates as 0 * (-inf) = NaN; the loss counts it as 0 (the limit of p * log(p)). Compute "
                "each term only where its factor is nonzero, for example with np.where.")
        _bernoulli_value(student, p, y, what, got=got)
    for p, y in [([1e-12], [1]), ([1 - 1e-12], [0]), ([1e-12], [0])]:
        _bernoulli_value(student, np.array(p), np.array(y, dtype=np.float64),
                         "`bernoulli_nll` for a single very confident prediction")


@check(NB, "bernoulli_nll_rejects_invalid_probabilities", "bernoulli_nll raises ValueError for p outside [0, 1]")
def bernoulli_nll_rejects_invalid_probabilities(student):
    expect_raises(student, "bernoulli_nll", "ValueError", "for a probability above 1",
                  np.array([0.2, 1.5]), np.array([0, 1]))
    expect_raises(student, "bernoulli_nll", "ValueError", "for a negative probability",
                  np.array([-0.1, 0.5]), np.array([0, 1]))
    expect_raises(student, "bernoulli_nll", "ValueError", "when one of many probabilities is just above 1",
                  np.array([[0.5, 0.25], [1.0 + 1e-9, 0.75]]), np.array([[1, 0], [1, 1]]))


# -- bce_with_logits ----------------------------------------------------------------

def logits_mistakes(z, y):
    z, y = np.broadcast_arrays(_f(z), _f(y))
    sp_pos, sp_neg = ref.softplus(z), ref.softplus(-z)  # -log(1 - sigmoid(z)), -log sigmoid(z)
    per = y * sp_neg + (1 - y) * sp_pos
    found = [
        (-np.mean(per), "the sign is flipped: this is the mean log-likelihood; the loss is its negative."),
        (np.sum(per), "this is a sum over all elements; the loss is their mean."),
        (np.mean(y * sp_neg), "the (1 - y) term is missing: an example with label 0 costs -log(1 - sigmoid(z))."),
        (np.mean((1 - y) * sp_pos), "the y term is missing: an example with label 1 costs -log(sigmoid(z))."),
        (np.mean(sp_pos + y * z), "the y * z term has the wrong sign: the loss is softplus(z) - y * z."),
        (np.mean(y * sp_pos + (1 - y) * sp_neg),
         "sigmoid(z) is the probability of label 1, but this treats it as the probability of label 0."),
        (np.mean(z * ref.softplus(-y) + (1 - z) * ref.softplus(y)),
         "the arguments are swapped: the logits z come first and the labels y second, as in "
         "F.binary_cross_entropy_with_logits(input, target)."),
        (np.mean(per) / math.log(10), "this uses log10; the likelihood uses the natural logarithm."),
        (np.mean(np.minimum(y * sp_neg, 100) + np.minimum((1 - y) * sp_pos, 100)),
         "this caps each log at -100, as F.binary_cross_entropy does for probabilities; from logits the "
         "loss needs no cap: -log(sigmoid(z)) = softplus(-z) is exact for every z."),
    ]
    with np.errstate(all="ignore"):
        for eps in CLIP_EPSILONS:
            pc = np.clip(ref.sigmoid(z), eps, 1 - eps)
            found.append((np.mean(-_xlogy(y, pc) - _xlogy(1 - y, 1 - pc)),
                          f"this clips sigmoid(z) to [{eps:g}, 1 - {eps:g}], which caps the loss of a confidently "
                          f"wrong logit at -log({eps:g}). Compute from the logits instead: -log(sigmoid(z)) = "
                          "softplus(-z) and -log(1 - sigmoid(z)) = softplus(z)."))
    return found


NAIVE_LOGITS_MESSAGE = (
    "the result contains NaN or inf for logits of large magnitude, where the true loss is finite. Either exp "
    "overflowed (exp of more than about 709 is inf in float64), or sigmoid(z) rounded to exactly 0 or 1 and the "
    "log then gave -inf: the naive route log(sigmoid(z)) breaks for large |z|. Use -log(sigmoid(z)) = "
    "softplus(-z) and -log(1 - sigmoid(z)) = softplus(z), with softplus(t) = max(t, 0) + log1p(exp(-|t|)).")


def _logits_value(student, z, y, what, rtol=1e-6, atol=1e-8):
    large = np.max(np.abs(_f(z))) > 30
    got = _scalar(student, "bce_with_logits", what, z, y,
                  hint_on_raise=("If it goes through sigmoid(z) and a loss of probabilities, that route breaks for "
                                 "large |z|: compute from the logits with softplus instead." if large else ""))
    want = ref.bce_with_logits(z, y)
    _reference_agrees(want, tref.bce_with_logits(z, y), "bce_with_logits")
    if not math.isfinite(got):
        if large:
            raise CheckFailed(f"{what}: {NAIVE_LOGITS_MESSAGE}")
        raise CheckFailed(f"{what}: the result is NaN or inf where the true value is finite.")
    expect_close(got, want, what, logits_mistakes(z, y), rtol=rtol, atol=atol)


@check(NB, "bce_with_logits_value", "bce_with_logits agrees with F.binary_cross_entropy_with_logits")
def bce_with_logits_value(student):
    _reference_agrees(ref.bce_with_logits(SEED_Z, SEED_Y), ref.bernoulli_nll(ref.sigmoid(SEED_Z), SEED_Y),
                      "the seed")
    _logits_value(student, SEED_Z.copy(), SEED_Y.copy(), "`bce_with_logits` on the notebook's demonstration data")
    rng = rng_for("bce_with_logits_value")
    for n in (12, 40):
        z = rng.normal(size=n) * 3
        y = rng.integers(0, 2, size=n).astype(np.float64)
        _reference_agrees(ref.bce_with_logits(z, y), ref.bernoulli_nll(ref.sigmoid(z), y), "sigmoid then BCE")
        _logits_value(student, z, y, f"`bce_with_logits` on {n} examples")


@check(NB, "bce_with_logits_shapes_and_dtypes",
       "bce_with_logits accepts shape (N, k), Python lists and scalars, float32")
def bce_with_logits_shapes_and_dtypes(student):
    rng = rng_for("bce_with_logits_shapes_and_dtypes")
    z = rng.normal(size=(5, 4)) * 3
    y = rng.integers(0, 2, size=(5, 4))
    _logits_value(student, z, y, "`bce_with_logits` on arrays of shape (5, 4) with integer labels")
    z_list = [[round(float(v), 3) for v in row] for row in rng.normal(size=(2, 3)) * 2]
    y_list = [[int(v) for v in row] for row in rng.integers(0, 2, size=(2, 3))]
    _logits_value(student, z_list, y_list, "`bce_with_logits` on nested Python lists")
    _logits_value(student, -1.5, 1, "`bce_with_logits` on a Python float and an int")
    z32 = (rng.normal(size=9) * 3).astype(np.float32)
    y32 = rng.integers(0, 2, size=9).astype(np.float32)
    _logits_value(student, z32, y32, "`bce_with_logits` on float32 arrays", rtol=1e-5, atol=1e-6)


@check(NB, "bce_with_logits_extreme_logits",
       "bce_with_logits is finite and accurate for logits of large magnitude (±120, ±1e4)")
def bce_with_logits_extreme_logits(student):
    _logits_value(student, np.array([0.0, -120.0]), np.array([0.0, 1.0]),
                  "`bce_with_logits` for a confidently wrong logit")
    both = np.array([-120.0, 120.0, -120.0, 120.0])
    _logits_value(student, both, np.array([0.0, 0.0, 1.0, 1.0]),
                  "`bce_with_logits` for logits of magnitude 120 with both labels")
    huge = np.array([[-1e4, 1e4], [-1e4, 1e4]])
    _logits_value(student, huge, np.array([[0.0, 0.0], [1.0, 1.0]]),
                  "`bce_with_logits` for logits of magnitude 1e4 with both labels")
    rng = rng_for("bce_with_logits_extreme_logits")
    z = rng.choice([-1.0, 1.0], size=(6, 3)) * rng.uniform(30, 800, size=(6, 3))
    y = rng.integers(0, 2, size=(6, 3))
    _logits_value(student, z, y, "`bce_with_logits` on a batch of large logits")


# -- the derivation ------------------------------------------------------------------

@check(NB, "bernoulli_nll_expr_equivalent", "the derived -log p(y | z) with p = sigmoid(z) is correct")
def bernoulli_nll_expr_equivalent(student):
    y, z = sym("y"), sym("z")
    p = 1 / (1 + sympy.exp(-z))
    want = -(y * sympy.log(p) + (1 - y) * sympy.log(1 - p))
    likelihood = p ** y * (1 - p) ** (1 - y)
    expect_equivalent(
        student, "bernoulli_nll_expr", want, {"y": [0, 1], "z": (-8.0, 8.0)},
        mistakes=[
            (-want, "the sign is flipped: this is log p(y | z), not -log p(y | z)."),
            (-y * sympy.log(p), "the (1 - y) * log(1 - p) term is missing: for y = 0 the likelihood is 1 - p."),
            (-(1 - y) * sympy.log(1 - p), "the y * log(p) term is missing: for y = 1 the likelihood is p."),
            (-(y * sympy.log(1 - p) + (1 - y) * sympy.log(p)),
             "p = sigmoid(z) is the probability of y = 1: log(p) goes with y and log(1 - p) with 1 - y."),
            (likelihood, "this is the likelihood p(y | z) itself; the answer is its negative logarithm."),
            (-likelihood, "this is minus the likelihood; take the logarithm: -log(p**y * (1 - p)**(1 - y))."),
            (-(y * sympy.log(z) + (1 - y) * sympy.log(1 - z)),
             "this uses the logit z as the probability; the probability is p = sigmoid(z) = sp_sigmoid(z)."),
        ])
