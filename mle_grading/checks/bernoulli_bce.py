"""Checks of notebook 02_bernoulli_bce: Bernoulli likelihood -> binary cross-entropy.

Every value is compared with the naive float64 reference (`mle_grading.checks.reference`)
after the reference itself has been compared with torch (`F.binary_cross_entropy`,
`F.binary_cross_entropy_with_logits`, `torch.sigmoid`).
"""
import math

import numpy as np
import sympy

from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref
from mle_grading.checks import CheckFailed, check
from mle_grading.checks.api import divided_by_rows, f64
from mle_grading.checks.families import Graded, drawn, given, lists_scalars_float32, one_entry_out_of_range, register, rejects, values
from mle_grading.checks.symbolic import expect_equivalent, sym

NB = "02_bernoulli_bce"

SEED_Z = np.array([-0.5, -0.8, 0.0, 0.8, 0.5])
SEED_Y = np.array([0, 0, 1, 1, 1])

CLIP_EPSILONS = (1e-7, 1e-8, 1e-10, 1e-12, 1e-15)


def _xlogy(a, b):
    """a * log(b), with 0 * log(0) = 0."""
    a, b = np.broadcast_arrays(f64(a), f64(b))
    with np.errstate(all="ignore"):
        return np.where(a == 0, 0.0, a * np.log(np.where(a == 0, 1.0, b)))


# -- sigmoid ---------------------------------------------------------------------------

def sigmoid_mistakes(z):
    z = f64(z)
    with np.errstate(all="ignore"):
        return [
            (ref.sigmoid(-z), "this is sigmoid(-z) = 1 - sigmoid(z): the exponent is exp(-z), so that a large "
                              "positive z gives a value near 1."),
            (ref.sigmoid(2 * z), "this is sigmoid(2z): the tanh form is 0.5 * (1 + tanh(z / 2)), note the z / 2."),
            (np.tanh(z), "this is tanh(z); the logistic sigmoid is 1 / (1 + exp(-z))."),
            (np.exp(-z) / (1 + np.exp(-z)), "this is exp(-z) / (1 + exp(-z)) = 1 - sigmoid(z); the sigmoid is "
                                            "1 / (1 + exp(-z))."),
        ]


SIGMOID_OVERFLOW = ("exp of more than about 709 is inf in float64, and exp(z) / (1 + exp(z)) then becomes "
                    "inf / inf = NaN. Compute from e = exp(-|z|), which never overflows: 1 / (1 + e) for z >= 0 "
                    "and e / (1 + e) for z < 0.")


def _sigmoid_advice(args, want):
    large = np.max(np.abs(f64(args[0]))) > 700
    return {"shape_hint": "sigmoid works elementwise and returns an array of its input's shape.",
            "nonfinite": SIGMOID_OVERFLOW if large else ""}


SIGMOID = Graded("sigmoid", ref.sigmoid, tref.sigmoid, sigmoid_mistakes, advice=_sigmoid_advice)


def logits(rng, shape, scale=4.0):
    return (rng.normal(size=shape) * scale,)


def large_logits(rng, shape):
    return (rng.choice([-1.0, 1.0], size=shape) * rng.uniform(30, 1e4, size=shape),)


# -- bernoulli_nll ----------------------------------------------------------------------

def bernoulli_mistakes(p, y):
    p, y = np.broadcast_arrays(f64(p), f64(y))
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
    ] + divided_by_rows(per)
    for eps in CLIP_EPSILONS:
        pc = np.clip(p, eps, 1 - eps)
        found.append((np.mean(-_xlogy(y, pc) - _xlogy(1 - y, 1 - pc)),
                      f"this clips p to [{eps:g}, 1 - {eps:g}]: a prediction p == y then costs about {eps:g} "
                      f"instead of 0, and a confident mistake costs at most -log({eps:g}). Do not clip: treat "
                      "0 * log(0) as 0 instead."))
    with np.errstate(all="ignore"):
        capped = -(np.where(y == 0, 0.0, y * np.maximum(np.log(p), -100.0))
                   + np.where(y == 1, 0.0, (1 - y) * np.maximum(np.log1p(-p), -100.0)))
    found.append((np.mean(capped), LOG_CAPPED))
    return found


# torch's F.binary_cross_entropy (BCELoss) clamps each log at -100; the contract's loss has no cap.
LOG_CAPPED = ("this caps each log at -100, as torch's F.binary_cross_entropy does: for p below exp(-100) the "
              "contract's loss -log(p) is larger than 100, and it has no cap. Do not clamp the logs (or p): "
              "treat 0 * log(0) as 0 instead.")
BCE_LOG_FLOOR = -100.0


def _torch_defines_bce(p, y):
    """F.binary_cross_entropy is the contract's loss wherever no log it takes with a nonzero factor is below -100."""
    p, y = np.broadcast_arrays(f64(p), f64(y))
    with np.errstate(all="ignore"):
        below = ((y != 0) & (np.log(p) < BCE_LOG_FLOOR)) | ((y != 1) & (np.log1p(-p) < BCE_LOG_FLOOR))
    return not bool(np.any(below))


def _bernoulli_causes(got, want, case):
    """NaN from 0 * log(0), and inf from swapped arguments, have causes worth naming."""
    p = f64(case.args[0])
    if math.isnan(got) and np.any((p == 0) | (p == 1)):
        raise CheckFailed(
            f"{case.what}: the result is NaN. Where p == y at 0 or 1, one term is 0 * log(0), which NumPy "
            "evaluates as 0 * (-inf) = NaN; the loss counts it as 0 (the limit of p * log(p)). Compute "
            "each term only where its factor is nonzero, for example with np.where.")
    if math.isinf(got) and math.isfinite(float(want)) and np.all((p > 0) & (p < 1)):
        raise CheckFailed(
            f"{case.what}: the result is infinite although every probability lies strictly between 0 and 1, so "
            "log(0) was taken of something else. Are the arguments swapped? The probabilities p come first "
            "and the labels y second, as in F.binary_cross_entropy(input, target).")


BERNOULLI = Graded("bernoulli_nll", ref.bernoulli_nll, tref.bernoulli_nll, bernoulli_mistakes, scalar=True,
                   inspect=_bernoulli_causes, torch_applies=_torch_defines_bce)


def probabilities(rng, shape, labels=np.float64):
    return ref.sigmoid(rng.normal(size=shape) * 2), rng.integers(0, 2, size=shape).astype(labels)


def integer_labels(rng, shape):
    return probabilities(rng, shape, labels=np.int64)


def confident(rng, shape):
    """Probabilities within 1e-12 of 0 or 1, with either label."""
    near = rng.integers(0, 2, size=shape).astype(np.float64)
    return np.abs(near - rng.uniform(1e-13, 1e-11, size=shape)), rng.integers(0, 2, size=shape).astype(np.float64)


def below_torch_floor(rng, shape):
    """Label 1 with p far below exp(-100), where torch's BCELoss caps -log(p) at 100."""
    return 10.0 ** -rng.uniform(50.0, 300.0, size=shape), np.ones(shape)


def _inside(rng, shape):
    return rng.uniform(0.01, 0.99, size=shape)


def outside_unit_interval(rng):
    """One probability above 1 or below 0, at a drawn place among valid ones."""
    shape = (int(rng.integers(2, 6)), 2)
    labels = rng.integers(0, 2, size=shape)
    return [((one_entry_out_of_range(rng, shape, 1.0 + 1e-9, 3.0, _inside), labels), "for a probability above 1"),
            ((one_entry_out_of_range(rng, shape, -3.0, -1e-9, _inside), labels), "for a negative probability")]


ENDS_VALID = ("0 and 1 are valid probabilities: raise ValueError only for p outside [0, 1], and treat "
              "0 * log(0) as 0.")


# -- bce_with_logits ---------------------------------------------------------------------

def logits_mistakes(z, y):
    z, y = np.broadcast_arrays(f64(z), f64(y))
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
        *divided_by_rows(per),
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


NAIVE_LOGITS = (
    "for logits of large magnitude either exp overflowed (exp of more than about 709 is inf in float64), or "
    "sigmoid(z) rounded to exactly 0 or 1 and the log then gave -inf: the naive route log(sigmoid(z)) breaks "
    "for large |z|. Use -log(sigmoid(z)) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z), with "
    "softplus(t) = max(t, 0) + log1p(exp(-|t|)).")
LARGE_RAISED = ("If it goes through sigmoid(z) and a loss of probabilities, that route breaks for large |z|: "
                "compute from the logits with softplus instead.")


def _logits_advice(args, want):
    return {"nonfinite": NAIVE_LOGITS if np.max(np.abs(f64(args[0]))) > 30 else ""}


LOGITS = Graded("bce_with_logits", ref.bce_with_logits, tref.bce_with_logits, logits_mistakes, scalar=True,
                advice=_logits_advice)


def logits_labels(rng, shape, labels=np.float64):
    return rng.normal(size=shape) * 3, rng.integers(0, 2, size=shape).astype(labels)


def logits_integer_labels(rng, shape):
    return logits_labels(rng, shape, labels=np.int64)


def large_logits_labels(rng, shape):
    return large_logits(rng, shape)[0], rng.integers(0, 2, size=shape)


register(NB, [
    ("sigmoid_values", "sigmoid agrees with torch.sigmoid elementwise, for any shape, lists and float32",
     values(SIGMOID, drawn(logits, [(7,), (3, 4), (2, 3, 2), (1,)], "on an array of shape {shape}"),
            given((0.7,), "of a Python float"), given(([-2, 0, 3],), "of a Python list of ints"),
            lists_scalars_float32(logits, (2, 3), float32_shape=(5, 2), float32_tol={"rtol": 1e-5, "atol": 1e-7}))),
    ("sigmoid_extreme_logits", "sigmoid is correct and finite for logits of large magnitude (up to ±1e4)",
     values(SIGMOID, given((np.array([[-1e4, -1000.0, -745.0, -710.0], [-120.0, -40.0, 40.0, 120.0],
                                      [709.0, 710.0, 1000.0, 1e4]]),), "at logits of large magnitude"),
            given((np.array([1e4]),), "at one large positive logit alone"),
            given((np.array([-1e4]),), "at one large negative logit alone"),
            drawn(large_logits, [(3, 4)], "at logits of large magnitude"),
            witness=drawn(logits, [(6,)], "at ordinary logits"))),
    ("bernoulli_nll_seed_value", "bernoulli_nll agrees with F.binary_cross_entropy for probabilities in (0, 1)",
     values(BERNOULLI, given((ref.sigmoid(SEED_Z), SEED_Y), "of sigmoid(z) and y on the notebook's demonstration data"),
            drawn(probabilities, [(10,), (31,)], "on {shape} examples"))),
    ("bernoulli_nll_shapes_and_dtypes", "bernoulli_nll accepts shape (N, k), Python lists and scalars, float32",
     values(BERNOULLI, drawn(integer_labels, [(6, 3)], "on arrays of shape {shape} with integer labels"),
            lists_scalars_float32(integer_labels, (3, 2), scalars=[(0.8, 1)], float32_shape=(8,),
                                  float32_tol={"rtol": 1e-5, "atol": 1e-7}))),
    ("bernoulli_nll_confident_predictions",
     "bernoulli_nll at the ends of [0, 1]: p == y gives 0, never NaN; confident predictions are not clipped",
     values(BERNOULLI, given((np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0, 1.0])),
                             "for predictions equal to their labels", hint=ENDS_VALID),
            given((np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0, 1], [1, 0]])),
                  "for predictions of shape (2, 2) equal to their integer labels", hint=ENDS_VALID),
            given((np.array([1e-12]), np.array([1.0])), "for a single very confident prediction"),
            given((np.array([1 - 1e-12]), np.array([0.0])), "for a single very confident prediction"),
            given((np.array([1e-12]), np.array([0.0])), "for a single very confident prediction"),
            # One at a time, as above: a sum and a mean agree there, and the sum is charged elsewhere.
            drawn(confident, [(1,), (1,), (1,)], "for a single very confident prediction"),
            # The contract's loss where torch's BCELoss caps each log at -100 (p < exp(-100)).
            given((np.array([1e-60]), np.array([1.0])), "for a single prediction p = 1e-60 of label 1"),
            drawn(below_torch_floor, [(1,)], "for a single prediction far below exp(-100) of label 1"),
            witness=drawn(probabilities, [(9,)], "on ordinary probabilities"))),
    ("bernoulli_nll_rejects_invalid_probabilities", "bernoulli_nll raises ValueError for p outside [0, 1]",
     rejects(BERNOULLI, [((np.array([0.2, 1.5]), np.array([0, 1])), "for a probability above 1"),
                         ((np.array([-0.1, 0.5]), np.array([0, 1])), "for a negative probability"),
                         ((np.array([[0.5, 0.25], [1.0 + 1e-9, 0.75]]), np.array([[1, 0], [1, 1]])),
                          "when one of many probabilities is just above 1")],
             valid=drawn(probabilities, [(7,)], "on probabilities in (0, 1)"), drawn_invalid=outside_unit_interval)),
    ("bce_with_logits_value", "bce_with_logits agrees with F.binary_cross_entropy_with_logits",
     values(LOGITS, given((SEED_Z, SEED_Y), "on the notebook's demonstration data"),
            drawn(logits_labels, [(12,), (40,)], "on {shape} examples"))),
    ("bce_with_logits_shapes_and_dtypes", "bce_with_logits accepts shape (N, k), Python lists and scalars, float32",
     values(LOGITS, drawn(logits_integer_labels, [(5, 4)], "on arrays of shape {shape} with integer labels"),
            lists_scalars_float32(logits_integer_labels, (2, 3), scalars=[(-1.5, 1)], float32_shape=(9,)))),
    ("bce_with_logits_extreme_logits", "bce_with_logits is finite and accurate for logits of large magnitude "
                                       "(±120, ±1e4)",
     values(LOGITS, given((np.array([0.0, -120.0]), np.array([0.0, 1.0])), "for a confidently wrong logit",
                          hint=LARGE_RAISED),
            given((np.array([-120.0, 120.0, -120.0, 120.0]), np.array([0.0, 0.0, 1.0, 1.0])),
                  "for logits of magnitude 120 with both labels", hint=LARGE_RAISED),
            given((np.array([[-1e4, 1e4], [-1e4, 1e4]]), np.array([[0.0, 0.0], [1.0, 1.0]])),
                  "for logits of magnitude 1e4 with both labels", hint=LARGE_RAISED),
            drawn(large_logits_labels, [(6, 3)], "on a batch of large logits", hint=LARGE_RAISED),
            witness=drawn(logits_labels, [(8,)], "on ordinary logits"))),
])


# -- the derivation ------------------------------------------------------------------

@check(NB, "bernoulli_nll_expr_equivalent", "the derived -log p(y | z) with p = sigmoid(z) is correct")
def bernoulli_nll_expr_equivalent(student, rng):
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
        ], rng=rng)
