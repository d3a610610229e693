"""Checks of notebook 04_gradients: analytic gradients, the gradient check, the vanishing gradient.

Analytic gradients are compared with `mle_grading.checks.reference` and with torch
autograd of the summed losses (per-example gradients). `numerical_grad` is run by
the submission on the fixed scalar functions of `protocol.CALLABLES`; their true
gradients come from torch autograd of the same functions, written here again in
torch. The training experiment's trusted run is torch's own (autograd and SGD on
the mean loss, `torch_reference.logistic_regression_run`), computed once.
"""
import functools
import math

import numpy as np
import sympy
import torch
import torch.nn.functional as F

from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref
from mle_grading.inside_sandbox import wire
from mle_grading.boundary.protocol import CALLABLES
from mle_grading.checks import CheckFailed, check, naming_the_mistake
from mle_grading.checks.api import F32, agree, call, chosen_number, close, describe_failure, expect_prediction, f64, judge, recognised, value_of, whole_number
from mle_grading.checks.families import Case, Graded, drawn, given, lists_scalars_float32, register, values
from mle_grading.checks.symbolic import expect_equivalent, expect_form, sym

NB = "04_gradients"

GOOD = 1e-7   # CS231n: a relative error below this is a right gradient of a smooth function
ROUGHLY = 1e-4  # a gradient for checks about shape and side effects: any honest difference quotient


# -- torch versions of the sandbox's scalar functions ---------------------------

def _torch_weighted_cubic(x):
    w = torch.arange(1, x.numel() + 1, dtype=x.dtype).reshape(x.shape)
    return torch.sum(w * x ** 3) + torch.prod(torch.cos(x))


def _torch_bce_alternating(x):
    z = x.reshape(-1)
    y = (torch.arange(z.numel()) % 2 == 0).to(z.dtype)
    return F.binary_cross_entropy_with_logits(z, y, reduction="sum")


TORCH_CALLABLES = {
    "sum_of_squares": lambda x: torch.sum(x ** 2),
    "weighted_cubic": _torch_weighted_cubic,
    "log_sum_exp": lambda x: torch.logsumexp(x.reshape(-1), dim=0),
    "bce_sum_alternating_labels": _torch_bce_alternating,
    "row_log_sum_exp": lambda x: torch.logsumexp(torch.atleast_1d(x), dim=-1).sum(),
}


def true_gradient(name, x):
    """Torch autograd of the named scalar function at x, float64."""
    return tref.grad_of_scalar_function(TORCH_CALLABLES[name], x)


def one_sided(f, x, eps, forward=True):
    x = np.array(x, dtype=np.float64)
    base = f(x)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + (eps if forward else -eps)
        grad[i] = (f(x) - base) / eps if forward else (base - f(x)) / eps
        x[i] = old
    return grad


def numgrad_mistakes(name, x, eps):
    """Values the usual mistakes of numerical_grad would return, computed here."""
    f = CALLABLES[name]
    central = ref.numerical_grad(f, x, eps)
    return [
        (2 * central, "this is twice the central difference: divide f(x + eps) - f(x - eps) by 2*eps, not by eps."),
        (central / 2, "this is half the central difference: divide by 2*eps, not by 4*eps or twice over."),
        (one_sided(f, x, eps, True), "this is the one-sided difference (f(x + eps) - f(x)) / eps, whose error is "
                                     "proportional to eps; use the central difference "
                                     "(f(x + eps) - f(x - eps)) / (2*eps), whose error is proportional to eps**2."),
        (one_sided(f, x, eps, False), "this is the one-sided difference (f(x) - f(x - eps)) / eps; use the central "
                                      "difference (f(x + eps) - f(x - eps)) / (2*eps)."),
        (-central, "the sign is flipped: compute f(x + eps) - f(x - eps), not the other way round."),
    ]


def _student_numgrad(student, name, x, what, **kwargs):
    got = call(student, "numerical_grad", wire.Callable(name), x, what=what, **kwargs)
    x = np.asarray(x)
    if got.shape != x.shape:
        if got.size == x.size:
            raise CheckFailed(f"{what}: the result has as many entries as x but not the shape {x.shape} of x; "
                              "the gradient has one entry per element of x, in x's shape.")
        raise CheckFailed(f"{what}: the result does not have the shape {x.shape} of x "
                          "(one partial derivative per element).")
    if not np.all(np.isfinite(got)):
        raise CheckFailed(f"{what}: the result contains NaN or inf.")
    return got.astype(np.float64)


def _mistake_named(got, mistakes, tol=1e-8):
    for value, message in mistakes:
        if got.shape == np.shape(value) and np.max(ref.relative_error(got, value)) < tol:
            return message
    return None


def _diagnose(got, mistakes, what, fallback, tol=1e-8):
    named = _mistake_named(got, mistakes, tol)
    if named:
        raise CheckFailed(f"{what}: {named}", hint=f"{what}: {naming_the_mistake(named)}")
    raise CheckFailed(f"{what}: {fallback}")


def _is_a_gradient(got, name, x):
    """Roughly the true gradient at x, or a recognised mistake (charged by the value checks)."""
    x = f64(x)
    if np.max(ref.relative_error(got, true_gradient(name, x))) < ROUGHLY:
        return True
    return _mistake_named(got, numgrad_mistakes(name, x, 1e-6)) is not None


def _points(rng, shape, low=0.3, high=1.4):
    """Inputs whose gradients are not close to zero, so relative errors are meaningful."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# -- numerical_grad ------------------------------------------------------------

@check(NB, "numerical_grad_accuracy", "numerical_grad agrees with autograd to a relative error below 1e-7")
def numerical_grad_accuracy(student, rng):
    for name in ("sum_of_squares", "weighted_cubic", "log_sum_exp", "bce_sum_alternating_labels",
                 "row_log_sum_exp"):
        x = _points(rng, (6,))
        what = "`numerical_grad` with the default eps on one of the test functions"
        got = _student_numgrad(student, name, x, what)
        err = float(np.max(ref.relative_error(got, true_gradient(name, x))))
        if err < GOOD:
            continue
        _diagnose(got, numgrad_mistakes(name, x, 1e-6), what,
                  f"the largest relative error to the true gradient is {err:.0e}, above 1e-7. Use the central "
                  "difference in float64, perturb one element at a time, and evaluate both f(x + eps) and "
                  "f(x - eps) at x itself (restore each element before moving on to the next).")


@check(NB, "numerical_grad_central_differences",
       "numerical_grad computes (f(x+eps) - f(x-eps)) / (2 eps) with the given eps")
def numerical_grad_central_differences(student, rng):
    for name in ("weighted_cubic", "row_log_sum_exp", "sum_of_squares"):
        eps = float(rng.uniform(0.05, 0.2))  # large enough that the formula's own truncation error shows
        x = _points(rng, (5,))
        what = "`numerical_grad` with a large eps"
        got = _student_numgrad(student, name, x, what, eps=eps)
        want = ref.numerical_grad(CALLABLES[name], x, eps)
        if np.max(ref.relative_error(got, want)) < 1e-9:
            continue
        ignores_eps = "the result does not depend on eps: use the eps argument as the step, not a fixed number."
        mistakes = [(true_gradient(name, x), ignores_eps), (ref.numerical_grad(CALLABLES[name], x, 1e-6), ignores_eps)]
        _diagnose(got, numgrad_mistakes(name, x, eps) + mistakes, what,
                  "the value is not the central difference (f(x + eps) - f(x - eps)) / (2*eps) with the "
                  "given eps.", tol=1e-7)


@check(NB, "numerical_grad_any_shape", "numerical_grad works on x of any shape and on lists")
def numerical_grad_any_shape(student, rng):
    cases = [("weighted_cubic", (3, 4)), ("log_sum_exp", (2, 2, 3)), ("sum_of_squares", (1,)),
             ("weighted_cubic", (4, 1)), ("row_log_sum_exp", (3, 2))]
    for name, shape in cases:
        x = _points(rng, shape)
        what = f"`numerical_grad` on x of shape {shape}"
        got = _student_numgrad(student, name, x, what)
        if not _is_a_gradient(got, name, x):
            raise CheckFailed(f"{what}: the result is not the gradient at this x. Perturb one element at a "
                              "time: for a 2-D x, x[i] with one integer i is a whole row; walk over "
                              "np.ndindex(x.shape) (or x.flat) instead.")
    x = _points(rng, (2, 3))
    what = "`numerical_grad` on x given as a nested list"
    got = _student_numgrad(student, "weighted_cubic", x.tolist(), what)
    if not _is_a_gradient(got, "weighted_cubic", x):
        raise CheckFailed(f"{what}: the result is not the gradient at this x; convert x with "
                          "np.array(x, dtype=np.float64).")


@check(NB, "numerical_grad_leaves_x_unchanged", "numerical_grad leaves the caller's x unchanged")
def numerical_grad_leaves_x_unchanged(student, rng):
    for name, shape in (("weighted_cubic", (5,)), ("log_sum_exp", (2, 3))):
        x = _points(rng, shape)
        what = f"`numerical_grad` on a float64 x of shape {shape}"
        outcome = student.call("numerical_grad", wire.Callable(name), x, return_args=True)
        got = value_of(outcome, "numerical_grad", what)
        # The value is demanded where x is 1-D only: walking a 2-D x is the any-shape check's.
        if got.shape != x.shape or (x.ndim == 1 and not _is_a_gradient(got, name, x)):
            raise CheckFailed(f"{what}: return the gradient, an array of x's shape; this is not the gradient.")
        after = outcome.args_after[1] if len(outcome.args_after) > 1 else None
        if not isinstance(after, np.ndarray) or after.shape != x.shape:
            raise CheckFailed(f"{what}: x was replaced or reshaped by the call.")
        if np.allclose(after, x, rtol=1e-12, atol=1e-15):
            continue
        shift = after - x
        if np.allclose(np.abs(shift[shift != 0]), 1e-6, rtol=1e-3):
            raise CheckFailed(f"{what}: x is left shifted by eps after the call. Put each element back to "
                              "its saved value after evaluating f(x + eps) and f(x - eps), or work on a copy.")
        raise CheckFailed(f"{what}: x was changed by the call. Work on a copy (np.array(x, dtype=np.float64) "
                          "copies), or restore each element after perturbing it.")


# -- relative_error ----------------------------------------------------------

@check(NB, "relative_error_value", "relative_error is |a - n| / max(1e-8, |a| + |n|) elementwise")
def relative_error_value(student, rng):
    a = rng.normal(size=(3, 4))
    n = a * (1 + rng.normal(0, 1e-3, size=a.shape))
    n[0, :2] = -a[0, :2]          # opposite signs
    a[1, 0] = n[1, 0] = 0.0       # both exactly zero
    a[2, 1], n[2, 1] = 1e-12, 0.0  # below the floor
    cases = [(a, n, "arrays of shape (3, 4)"), ([1.0, 0.0, -2.0], [1.5, 0.0, 2.0], "Python lists"),
             (0.0, 0.0, "two zeros")]
    for a_, n_, how in cases:
        what = f"`relative_error` on {how}"
        got = call(student, "relative_error", a_, n_, what=what)
        want = ref.relative_error(a_, n_)
        fa, fn = np.asarray(a_, float), np.asarray(n_, float)
        if got.size == 1 and want.size == 1:
            got = got.reshape(want.shape)
        if got.size == 1 and want.size > 1 and math.isclose(float(got.reshape(())), float(np.max(want)), rel_tol=1e-9):
            raise CheckFailed(f"{what}: this is the largest relative error; return the elementwise array "
                              "(the caller takes .max()).")
        if np.any(np.isnan(got)) and not np.any(np.isnan(want)):
            raise CheckFailed(f"{what}: the result has NaN where both gradients are zero: divide by "
                              "max(1e-8, |a| + |n|), the floor keeps 0/0 away.")
        with np.errstate(all="ignore"):
            mistakes = [
                (np.abs(fa - fn) / np.maximum(1e-8, np.abs(fa + fn)),
                 "the denominator is |a + n|; it must be |a| + |n| (with opposite signs a + n can be 0)."),
                (np.abs(fa - fn) / np.maximum(1e-8, np.maximum(np.abs(fa), np.abs(fn))),
                 "the denominator is max(|a|, |n|); CS231n's is |a| + |n|, floored at 1e-8."),
                ((fa - fn) / np.maximum(1e-8, np.abs(fa) + np.abs(fn)),
                 "the numerator must be the absolute difference |a - n|."),
                (np.abs(fa - fn) / np.maximum(1e-8, np.abs(fa)),
                 "the denominator is |a| only; use |a| + |n|, floored at 1e-8."),
                (np.abs(fa - fn) / (np.abs(fa) + np.abs(fn) + 1e-8),
                 "the floor is max(1e-8, |a| + |n|), not |a| + |n| + 1e-8."),
            ]
        judge(got, want, what, mistakes, rtol=1e-6, atol=1e-12)

# -- the symbolic derivations ----------------------------------------------------

def _sig(t):
    return 1 / (1 + sympy.exp(-t))


BINARY_DOMAIN = {"z": (-6.0, 6.0), "y": [0, 1]}
# The forms the notebook asks for, in its words, and their size limits: twice the size of the
# expected expression or more, so that every honest simplified form fits and an unsimplified
# sp.diff does not.
BCE_FORM = ("simplified, in sp_sigmoid(z) and y", 24)
MSE_FORM = ("in sp_sigmoid(z) and y, with sigma'(z) written as sigma(z)(1 - sigma(z))", 70)
SOFTMAX_FORM = ("each entry simplified, in exponentials of the logits", 28)


@check(NB, "bce_grad_expr_equivalent", "the derived d/dz of the Bernoulli NLL is correct")
def bce_grad_expr_equivalent(student, rng):
    want, mistakes = _bce_grad_expr()
    expect_equivalent(student, "bce_grad_expr", want, BINARY_DOMAIN, mistakes=mistakes, rng=rng)


@check(NB, "bce_grad_expr_simplified", "the derived d/dz of the Bernoulli NLL is simplified, in sigma(z)")
def bce_grad_expr_simplified(student, rng):
    want, mistakes = _bce_grad_expr()
    expect_form(student, "bce_grad_expr", want, BINARY_DOMAIN, *BCE_FORM, mistakes=mistakes, sigmoid_of="z",
                rng=rng)


def _bce_grad_expr():
    z, y = sym("z"), sym("y")
    s = _sig(z)
    want = s - y
    return want, [
            (y - s, "the sign is flipped: this is the derivative of the log-likelihood, not of its negative."),
            ((s - y) * s * (1 - s), "there is an extra factor sigma(z)(1 - sigma(z)): the sigma' of the chain "
                                    "rule cancels against the 1/sigma and 1/(1 - sigma) of the logarithms."),
            (2 * (s - y), "there is an extra factor 2."),
            (-y / s + (1 - y) / (1 - s), "this is the derivative with respect to p = sigma(z); multiply by "
                                         "dp/dz = sigma(z)(1 - sigma(z)) and simplify."),
            (z - y, "sigma(z) is missing: the prediction is the probability sigma(z), not the logit z."),
        ]


@check(NB, "mse_sigmoid_grad_expr_equivalent", "the derived d/dz of (sigmoid(z) - y)^2 is correct")
def mse_sigmoid_grad_expr_equivalent(student, rng):
    want, mistakes = _mse_sigmoid_grad_expr()
    expect_equivalent(student, "mse_sigmoid_grad_expr", want, BINARY_DOMAIN, mistakes=mistakes, rng=rng)


@check(NB, "mse_sigmoid_grad_expr_simplified", "the derived d/dz of (sigmoid(z) - y)^2 is written in sigma(z)")
def mse_sigmoid_grad_expr_simplified(student, rng):
    want, mistakes = _mse_sigmoid_grad_expr()
    expect_form(student, "mse_sigmoid_grad_expr", want, BINARY_DOMAIN, *MSE_FORM, mistakes=mistakes,
                sigmoid_of="z", rng=rng)


def _mse_sigmoid_grad_expr():
    z, y = sym("z"), sym("y")
    s = _sig(z)
    want = 2 * (s - y) * s * (1 - s)
    return want, [
            ((s - y) * s * (1 - s), "the factor 2 from differentiating the square is missing."),
            (2 * (s - y), "the chain rule's factor sigma'(z) = sigma(z)(1 - sigma(z)) is missing."),
            (2 * (s - y) * (s * (1 - s)) ** 2, "the factor sigma'(z) appears twice; it belongs there once."),
            (-want, "the sign is flipped: differentiate (sigma(z) - y)^2, whose derivative has the sign of "
                    "sigma(z) - y."),
            (2 * (s - y) * s, "sigma'(z) is sigma(z)(1 - sigma(z)); the factor (1 - sigma(z)) is missing."),
            (2 * (s - y) * s * (1 - z), "sigma'(z) is sigma(z)(1 - sigma(z)), not sigma(z)(1 - z)."),
        ]


# -- elementwise binary gradients --------------------------------------------------

def bce_mistakes(z, y):
    s, y = ref.sigmoid(z), np.asarray(y, dtype=np.float64)
    n = max(np.size(z), 1)
    return [
        (y - s, "the sign is flipped: the gradient of the loss is sigmoid(z) - y."),
        ((s - y) / n, "this is divided by the number of examples: return the per-example gradients, "
                      "not the gradient of the mean (the training loop divides by N once)."),
        ((s - y) * s * (1 - s), "there is an extra factor sigmoid'(z): for BCE it cancels."),
        (np.asarray(z, float) - y, "sigmoid is missing: the gradient is sigmoid(z) - y, not z - y."),
        (s - 1 + y, "the label is flipped: the gradient is sigmoid(z) - y."),
        (2 * (s - y), "there is an extra factor 2."),
    ]


def mse_sigmoid_mistakes(z, y):
    s, y = ref.sigmoid(z), np.asarray(y, dtype=np.float64)
    d = s * (1 - s)
    n = max(np.size(z), 1)
    return [
        ((s - y) * d, "the factor 2 from differentiating the square is missing."),
        (2 * (s - y), "the chain rule's factor sigmoid'(z) = sigmoid(z)(1 - sigmoid(z)) is missing."),
        (2 * (s - y) * d ** 2, "the factor sigmoid'(z) appears twice; it belongs there once."),
        (-2 * (s - y) * d, "the sign is flipped."),
        (2 * (s - y) * d / n, "this is divided by the number of examples: return the per-example gradients, "
                              "not the gradient of the mean."),
        (2 * (s - y) * s, "the factor (1 - sigmoid(z)) of sigmoid'(z) is missing."),
        (s - y, "this is the BCE gradient; the squared error adds the factor 2 sigmoid'(z)."),
    ]


SATURATION_HINT = ("beyond |z| of about 37, sigmoid(z) rounds to exactly 0 or 1 in float64, so dividing by p or "
                   "1 - p, or exp(-z) overflowing to inf, turns into 0/0 or inf/inf there. Simplify the formula "
                   "(no division by sigmoid(z) or 1 - sigmoid(z)) and build it from the stable sigmoid.")


def _saturation_advice(args, want):
    return {"nonfinite": SATURATION_HINT}


BCE_GRAD = Graded("bce_grad", ref.bce_grad, tref.bce_grad, bce_mistakes, advice=_saturation_advice)
MSE_GRAD = Graded("mse_sigmoid_grad", ref.mse_sigmoid_grad, tref.mse_sigmoid_grad, mse_sigmoid_mistakes,
                  advice=_saturation_advice)


def binary_inputs(rng, shape, labels=np.float64):
    return rng.normal(0, 3.0, size=shape), rng.integers(0, 2, size=shape).astype(labels)


def integer_label_inputs(rng, shape):
    return binary_inputs(rng, shape, labels=np.int64)


def large_binary_inputs(rng, shape):
    z = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(40, 1e4, size=shape)
    return z, rng.integers(0, 2, size=shape).astype(np.float64)


EXTREME_Z = np.array([120.0, -120.0, 120.0, -120.0, 1e4, -1e4, 1e4, -1e4, 40.0, -40.0, 0.0, 745.0])
EXTREME_Y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0])


def _binary_table(spec, matches_torch):
    """The three checks of an elementwise gradient of a binary loss."""
    name = spec.function
    return [
        (f"{name}_matches_torch", matches_torch,
         values(spec, given((np.array([-10.0]), np.array([1.0])), "at z = -10, y = 1"),
                drawn(binary_inputs, [(9,), (3, 4), (2, 3, 2)]),
                drawn(integer_label_inputs, [(6,)], "with integer labels"))),
        (f"{name}_extreme_logits", f"{name} is finite and correct for logits of +-120 and +-1e4",
         values(spec, given((EXTREME_Z, EXTREME_Y), "for logits of size 40 to 1e4 (probabilities rounding to 0 or 1)"),
                drawn(large_binary_inputs, [(10,)], "for logits of size 40 to 1e4"),
                witness=drawn(binary_inputs, [(8,)], "on ordinary logits"))),
        (f"{name}_lists_and_float32", f"{name} accepts Python lists, floats and float32 arrays",
         values(spec, given(([0.5, -2.0, 3.0], [1, 0, 1]), "on Python lists"),
                lists_scalars_float32(binary_inputs, (2, 2), scalars=[(1.5, 0.0)], float32_shape=(4, 3)))),
    ]


register(NB, _binary_table(BCE_GRAD, "bce_grad agrees with autograd of "
                                     "F.binary_cross_entropy_with_logits(reduction='sum')")
         + _binary_table(MSE_GRAD, "mse_sigmoid_grad agrees with autograd of ((sigmoid(z) - y)**2).sum()"))


# -- softmax cross-entropy ------------------------------------------------------------

def softmax_ce_mistakes(z, y):
    z = np.asarray(z, dtype=np.float64)
    labels = np.asarray(y).astype(np.int64)
    p = ref.softmax(z)
    g = ref.softmax_ce_grad(z, labels)
    onehot = p - g
    found = [
        (g / (z.shape[0] if z.ndim > 1 else 1), "this is divided by the number of examples N: return the "
                                                "per-example gradients (reduction='sum'), not their mean."),
        (-g, "the sign is flipped: the gradient is softmax(z) - onehot(y)."),
        (p, "the one-hot target is missing: the gradient is softmax(z) - onehot(y)."),
        (-onehot, "the softmax term is missing: the gradient is softmax(z) - onehot(y)."),
        (g / z.shape[-1], "this is divided by the number of classes C; nothing is averaged."),
    ]
    if z.ndim == 2:
        cols = p.copy()
        cols[:, labels] -= 1.0
        found.append((cols, "the labels pick whole columns: p[:, y] selects column y[i] in every row; pair the "
                            "row numbers with the labels, p[np.arange(N), y]."))
        e = np.exp(z - z.max())
        axis0 = e / e.sum(axis=0, keepdims=True)
        axis0 = axis0 - onehot
        found.append((axis0, "the softmax is taken along axis 0 (over examples); take it along the last axis "
                             "(over classes)."))
    return found


def _softmax_overflow(got, want, case):
    if got.shape == want.shape and not np.all(np.isfinite(got)):
        raise CheckFailed(f"{case.what}: the result contains NaN or inf where the true value is finite: exp of a "
                          "logit of 1000 overflows. Subtract each row's maximum before exp (the softmax of "
                          "section 4.0 does), which changes nothing mathematically.")


SOFTMAX_GRAD = Graded("softmax_ce_grad", ref.softmax_ce_grad, tref.softmax_ce_grad, softmax_ce_mistakes,
                      torch_applies=lambda z, y: np.ndim(z) == 2, inspect=_softmax_overflow)


def logits_and_labels(rng, shape):
    n, c = shape
    return rng.normal(0, 2, size=shape), rng.integers(0, c, size=n)


def near_800(rng, shape):
    return rng.normal(size=shape) + 800.0, rng.integers(0, shape[1], size=shape[0])


def single_example(rng, shape):
    return rng.normal(size=shape), int(rng.integers(0, shape[0]))


def float32_logits(rng, shape):
    z, y = logits_and_labels(rng, shape)
    return z.astype(np.float32), y.astype(np.int32)


register(NB, [
    ("softmax_ce_grad_matches_torch", "softmax_ce_grad agrees with autograd of F.cross_entropy(reduction='sum')",
     values(SOFTMAX_GRAD, drawn(logits_and_labels, [(5, 3), (4, 6), (1, 4), (8, 2)], "on logits of shape {shape}"))),
    ("softmax_ce_grad_extreme_logits", "softmax_ce_grad is finite and correct for logits up to +-1e4",
     values(SOFTMAX_GRAD, given((np.array([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0], [1e4, -1e4, 0.0],
                                           [-1e4, -1e4, -1e4]]), np.array([2, 0, 1, 1])),
                                "on logits like [1000, 0, -1000] and +-1e4"),
            drawn(near_800, [(3, 4)], "on logits all near 800 (adding a constant to all logits changes nothing)"),
            witness=drawn(logits_and_labels, [(4, 3)], "on ordinary logits"))),
    ("softmax_ce_grad_lists_and_single_example", "softmax_ce_grad accepts lists, float32 and one example of shape (C,)",
     values(SOFTMAX_GRAD, given(([[0.5, -1.0, 2.0], [0.0, 0.0, 3.0]], [2, 0]), "on nested Python lists"),
            drawn(float32_logits, [(3, 5)], "on float32 logits", **F32),
            drawn(single_example, [(4,)], "on one example of shape (C,) with a scalar label"),
            lambda rng: [Case((rng.normal(size=(1, 4)), np.array([int(rng.integers(0, 4))])),
                              "on a batch of one example")])),
])


# -- predictions ----------------------------------------------------------------------

@check(NB, "gradient_ratio_prediction", "the predicted ratio of the BCE and squared-error gradients at your own logit, y = 1")
def gradient_ratio_prediction(student, rng):
    # The logit is the student's own choice, so no number of the release answers it.
    z = chosen_number(student, "z_for_ratio", "a logit from -8 to -2", -8.0, -2.0)
    sp_z = float(ref.sigmoid(z) * (1 - ref.sigmoid(z)))     # sigma'(z)
    want = 1 / (2 * sp_z)
    expect_prediction(student, "gradient_ratio", want,
                      "the ratio |bce gradient| / |squared-error gradient| at your z_for_ratio, y = 1", [
                          (1 / want, "that is the ratio the other way round: the squared-error gradient over "
                                     "the BCE gradient; the BCE one is the larger."),
                          (1 / sp_z, "that is 1/sigma'(z); the squared error's derivative also has a factor 2."),
                          (1 / (4 * sp_z), "the squared error's derivative has a factor 2, which makes the ratio "
                                           "smaller, not larger."),
                          (-want, "the question asks for the ratio of the magnitudes, a positive number."),
                      ])


@check(NB, "relative_error_signatures_prediction", "the predicted relative error of a gradient off by your own factor")
def relative_error_signatures_prediction(student, rng):
    c = chosen_number(student, "wrong_factor", "a positive factor other than 1", 1e-3, 1e3)
    if abs(c - 1) < 1e-6:
        raise CheckFailed("`wrong_factor` should be a positive factor other than 1: a factor of 1 is no mistake.")
    expect_prediction(student, "rel_error_wrong_factor", abs(c - 1) / (c + 1),
                      "the relative error between c n and n for your factor c", [
                          (abs(c - 1) / max(c, 1), "that is |a - n| / max(|a|, |n|); this notebook divides by "
                                                   "|a| + |n|."),
                          (abs(c - 1), "that is the absolute error relative to |n|; this notebook divides by "
                                       "|a| + |n|."),
                      ], rtol=1e-6)


# -- softmax cross-entropy, derived ------------------------------------------------------

def _three_class_symbols():
    return [sympy.Symbol(f"z{k}", real=True) for k in range(3)]


THREE_CLASS_DOMAIN = {"z0": (-4.0, 4.0), "z1": (-4.0, 4.0), "z2": (-4.0, 4.0)}


@check(NB, "softmax_ce_grad_expr_equivalent", "the derived gradient of -log softmax(z)[0] for three classes is correct")
def softmax_ce_grad_expr_equivalent(student, rng):
    want, mistakes = _softmax_ce_grad_expr()
    expect_equivalent(student, "softmax_ce_grad_expr", want, THREE_CLASS_DOMAIN, mistakes=mistakes, rng=rng)


@check(NB, "softmax_ce_grad_expr_simplified", "the derived gradient of -log softmax(z)[0] is simplified")
def softmax_ce_grad_expr_simplified(student, rng):
    want, mistakes = _softmax_ce_grad_expr()
    expect_form(student, "softmax_ce_grad_expr", want, THREE_CLASS_DOMAIN, *SOFTMAX_FORM, mistakes=mistakes,
                rng=rng)


def _softmax_ce_grad_expr():
    zs = _three_class_symbols()
    total = sum(sympy.exp(v) for v in zs)
    p = [sympy.exp(v) / total for v in zs]
    want = [p[0] - 1, p[1], p[2]]
    return want, [
            ([1 - p[0], -p[1], -p[2]], "the signs are flipped: differentiate -log softmax(z)[0], the negative "
                                       "log-likelihood."),
            (p, "the -1 of the true class is missing: -log softmax(z)[0] = -z0 + log(sum exp), and -z0 "
                "contributes -1 to the derivative by z0."),
            ([-1, 0, 0], "only the -z0 term is differentiated; the log-sum-exp term adds softmax(z) to every entry."),
            ([p[0] - 1, p[1] - 1, p[2] - 1], "1 is subtracted from every entry; only the true class (0) has it."),
        ]


# -- the gradient with respect to the weights ----------------------------------------------

def _logreg_inputs(rng, n, d, scale=1.0):
    X = rng.normal(size=(n, d))
    y = rng.integers(0, 2, size=n).astype(np.float64)
    w = rng.normal(0, scale, size=d)
    b = float(rng.normal())
    return X, y, w, b


def _logreg_result(student, args, what):
    outcome = student.call("logistic_regression_grad", *args)
    if outcome.kind != "returned":
        raise CheckFailed(f"{what}: {describe_failure('logistic_regression_grad', outcome)}")
    value = outcome.value
    if not isinstance(value, tuple) or len(value) != 2:
        raise CheckFailed(f"{what}: return a tuple (grad_w, grad_b) of two items, the gradient with respect to "
                          "w and the derivative with respect to b.")
    grad_w, grad_b = value
    if not isinstance(grad_w, np.ndarray) or not isinstance(grad_b, np.ndarray):
        raise CheckFailed(f"{what}: grad_w and grad_b should be an array and a number.")
    if grad_b.size != 1:
        raise CheckFailed(f"{what}: grad_b is not one number; the derivative with respect to the one "
                          "bias b is one number (the mean over the examples).")
    return grad_w.astype(np.float64), float(grad_b.reshape(()))


def logreg_mistakes(X, y, w, b):
    X = np.asarray(X, dtype=np.float64)
    z = X @ np.asarray(w, dtype=np.float64) + float(b)
    g = ref.bce_grad(z, y)
    n = X.shape[0]
    return [
        ((X.T @ g, float(np.sum(g))), "this is the gradient of the summed loss; the loss is the mean over "
                                      "the N examples, so divide by N."),
        ((-(X.T @ g) / n, -float(np.mean(g))), "the sign is flipped: the gradient of the loss, not of the "
                                               "log-likelihood."),
        ((X.T @ g / n, float(np.sum(g))), "grad_b is summed over the examples; like grad_w it is the mean."),
        ((X.T @ g / n ** 2, float(np.mean(g)) / n), "this is divided by N twice."),
        ((X.T @ (g * ref.sigmoid(z) * (1 - ref.sigmoid(z))) / n,
          float(np.mean(g * ref.sigmoid(z) * (1 - ref.sigmoid(z))))),
         "there is an extra factor sigmoid'(z): for BCE it cancels, as in bce_grad."),
    ]


def _check_logreg(student, X, y, w, b, what, tol=None):
    grad_w, grad_b = _logreg_result(student, (X, y, w, b), what)
    want_w, want_b = ref.logistic_regression_grad(X, y, w, b)
    tw, tb = tref.logistic_regression_grad(np.asarray(X, float), np.asarray(y, float), np.asarray(w, float), b)
    agree(want_w, tw, "the weights' gradient", rtol=1e-10, atol=1e-14)
    agree(want_b, tb, "the bias' gradient", rtol=1e-10, atol=1e-14)
    d = np.shape(want_w)[0]
    if grad_w.shape != want_w.shape:
        if grad_w.shape == (np.shape(X)[0],):
            raise CheckFailed(f"{what}: grad_w has one entry per example; it needs one per "
                              f"weight, shape ({d},): combine the per-example logit gradients with X.T @ ...")
        raise CheckFailed(f"{what}: grad_w does not have the shape ({d},) of the weights.")
    if not (np.all(np.isfinite(grad_w)) and np.isfinite(grad_b)):
        raise CheckFailed(f"{what}: the result contains NaN or inf where the true gradient is finite: "
                          "build it from a per-logit gradient that stays finite when sigmoid(z) rounds to 0 or 1 "
                          "(the stable sigmoid, as in bce_grad).")
    tol = tol or {}
    if close(grad_w, want_w, **tol) and close(grad_b, want_b, **tol):
        return
    for (mw, mb), message in logreg_mistakes(X, y, w, b):
        if close(grad_w, mw, **tol) and close(grad_b, mb, **tol):
            raise CheckFailed(f"{what}: {message}", hint=f"{what}: {naming_the_mistake(message)}")
    if close(grad_w, want_w, **tol):
        raise CheckFailed(f"{what}: grad_w is right, grad_b is wrong: the logit z_i = w.x_i + b changes by 1 "
                          "per unit of b.")
    if close(grad_b, want_b, **tol):
        raise CheckFailed(f"{what}: grad_b is right, grad_w is wrong: by the chain rule each example's logit "
                          "gradient is multiplied by its features x_i.")
    raise CheckFailed(f"{what}: the value is wrong.")


@check(NB, "logistic_regression_grad_matches_torch", "logistic_regression_grad agrees with autograd of F.binary_cross_entropy_with_logits")
def logistic_regression_grad_matches_torch(student, rng):
    for n, d in [(7, 3), (20, 2), (1, 4), (5, 1)]:
        X, y, w, b = _logreg_inputs(rng, n, d)
        _check_logreg(student, X, y, w, b, f"`logistic_regression_grad` with X of shape {(n, d)}")


@check(NB, "logistic_regression_grad_extreme_logits", "logistic_regression_grad is finite and correct for logits up to +-1e4")
def logistic_regression_grad_extreme_logits(student, rng):
    X = np.array([[1.0, 0.0], [-1.0, 0.5], [0.5, -1.0], [0.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    _check_logreg(student, X, y, np.array([1e4, -1e4]), 0.0,
                  "`logistic_regression_grad` with logits of size up to 1e4")
    _check_logreg(student, X, y, np.array([120.0, 40.0]), -745.0,
                  "`logistic_regression_grad` with logits beyond -745")


@check(NB, "logistic_regression_grad_lists_and_shapes", "logistic_regression_grad accepts lists, integer labels and one example")
def logistic_regression_grad_lists_and_shapes(student, rng):
    _check_logreg(student, [[0.5, 1.0, -1.0], [2.0, 0.0, 1.0]], [1, 0], [0.1, -0.2, 0.3], 0,
                  "`logistic_regression_grad` on Python lists with integer labels")
    X, y, w, b = _logreg_inputs(rng, 1, 3)
    _check_logreg(student, X, y, w, b, "`logistic_regression_grad` on a single example, X of shape (1, 3)")
    X, y, w, b = _logreg_inputs(rng, 6, 2)
    _check_logreg(student, X.astype(np.float32), y.astype(np.int64), w.astype(np.float32), b,
                  "`logistic_regression_grad` on float32 arrays", tol={"rtol": 1e-5, "atol": 1e-6})


# -- the training experiment --------------------------------------------------------------

N_TRAIN, STEPS, LEARNING_RATE, TARGET_ACCURACY = 200, 300, 1.0, 0.85


def training_data():
    """The notebook's data and starting point (its contract, not its loop)."""
    data_rng = np.random.default_rng(0)
    labels = (data_rng.random(N_TRAIN) < 0.5).astype(np.float64)
    features = data_rng.normal(size=(N_TRAIN, 2)) + np.where(labels[:, None] == 1, 1.0, -1.0)
    return features, labels, np.array([-4.0, -4.0]), 0.0


def steps_to_reach(accuracy, target=TARGET_ACCURACY, steps=STEPS):
    reached = np.flatnonzero(np.asarray(accuracy) >= target)
    return int(reached[0]) if reached.size else steps


@functools.lru_cache(maxsize=None)
def trusted_run(loss):
    """Torch's run of the notebook's experiment with `loss`: (accuracy history, logits history)."""
    features, labels, w, b = training_data()
    return tref.logistic_regression_run(loss, features, labels, w, b, STEPS, LEARNING_RATE)


def trusted_steps():
    return steps_to_reach(trusted_run("bce")[0]), steps_to_reach(trusted_run("mse")[0])


def steps_tolerance(want):
    return max(2, 0.05 * want)


def training_accuracy(weights_grad, steps=STEPS, lr=LEARNING_RATE, stop_at=None):
    """Training accuracy after 0..steps steps of the notebook's own loop (`train_logistic`).

    `weights_grad(X, y, w, b)` returns (grad_w, grad_b), or None when it cannot be computed.
    With `stop_at`, the run ends at the first entry with at least that accuracy: the steps
    to reach it are known then, and each further step would be one more call into a sandbox.
    """
    features, labels, w, b = training_data()
    accuracy = []
    for step in range(steps + 1):
        logits = features @ w + b
        accuracy.append(np.mean((logits > 0) == (labels == 1)))
        if step == steps or (stop_at is not None and accuracy[-1] >= stop_at):
            break
        grads = weights_grad(features, labels, w, b)
        if grads is None:
            return None
        w = w - lr * np.asarray(grads[0], dtype=np.float64)
        b = b - lr * float(grads[1])
    return np.array(accuracy)


def through_lowered_labels(weights_grad, logit_grad):
    """The notebook's mse_sigmoid_weights_grad: the parameter gradient of `logit_grad`'s per-logit
    gradients g, as the difference of the BCE parameter gradient `weights_grad` at the labels
    lowered by g and at the labels (the BCE logit gradient is linear in the label). The same
    operations in the same order as the notebook's, so that a run here is the notebook's run."""
    def weights_grad_of_logit_grad(X, y, w, b):
        g = logit_grad(X @ w + b, y)
        if g is None:
            return None
        g = np.asarray(g, dtype=np.float64)
        at_labels, lowered = weights_grad(X, y, w, b), weights_grad(X, y - g, w, b)
        if at_labels is None or lowered is None:
            return None
        return (np.asarray(lowered[0], dtype=np.float64) - np.asarray(at_labels[0], dtype=np.float64),
                float(lowered[1]) - float(at_labels[1]))
    return weights_grad_of_logit_grad


def _usable(value, shape):
    return isinstance(value, np.ndarray) and value.shape == shape and bool(np.all(np.isfinite(value)))


def own_run_steps(student):
    """The steps the student's own runs need, recomputed here from their own gradient functions.

    Each run is repeated exactly as the notebook's `train_logistic` does it, calling
    the submission's `logistic_regression_grad` (BCE) and `mse_sigmoid_grad` (through
    its `logistic_regression_grad`, as the notebook's locked `mse_sigmoid_weights_grad`
    does), with the student's own inner functions: it is
    their run. A number typed in without a working gradient therefore matches no run.
    Each run ends where it first reaches the target. Returns {"bce": steps or None,
    "mse": steps or None}; None where the run could not be computed up to there (the
    function failed, or returned no usable numbers).
    """
    def student_weights_grad(X, y, w, b):
        outcome = student.call("logistic_regression_grad", X, y, w, b, trusted_inner=())
        value = outcome.value if outcome.kind == "returned" else None
        if not (isinstance(value, tuple) and len(value) == 2 and _usable(value[0], w.shape)
                and isinstance(value[1], np.ndarray) and value[1].size == 1 and np.all(np.isfinite(value[1]))):
            return None
        return value[0], float(value[1].reshape(()))

    def student_logit_grad(z, y):
        outcome = student.call("mse_sigmoid_grad", z, y, trusted_inner=())
        value = outcome.value if outcome.kind == "returned" else None
        return value if _usable(value, z.shape) else None

    found = {}
    runs = (("bce", student_weights_grad), ("mse", through_lowered_labels(student_weights_grad, student_logit_grad)))
    for key, weights_grad in runs:
        accuracy = training_accuracy(weights_grad, stop_at=TARGET_ACCURACY)
        found[key] = None if accuracy is None else steps_to_reach(accuracy)
    return found


RUN_OF = {"bce": ("BCE", "logistic_regression_grad"), "mse": ("squared-error", "mse_sigmoid_grad")}
# The functions each run calls: the squared-error run also calls logistic_regression_grad, at
# labels lowered by the squared-error gradients (not 0 or 1), so a function that treats the labels
# as class names (y == 1) passes its own cells and still breaks that run.
CALLED_BY_RUN = {"bce": "`logistic_regression_grad`",
                 "mse": "`mse_sigmoid_grad`, or `logistic_regression_grad` (with the `bce_grad` it uses) at the "
                        "labels lowered by it (labels that are not 0 or 1: use y as a number, not a class name),"}


def computes_a_gradient(student, key, rng):
    """Is the gradient behind run `key` right, or a recognised mistake, on fresh inputs?

    A run that never reaches the target gives the answer STEPS whatever its gradient
    returns (zeros, noise): that answer is only credited to a real attempt at one.
    """
    for _ in range(2):
        if key == "bce":
            X, y, w, b = _logreg_inputs(rng, 6, 3)
            outcome = student.call("logistic_regression_grad", X, y, w, b, trusted_inner=())
            value = outcome.value if outcome.kind == "returned" else None
            if not (isinstance(value, tuple) and len(value) == 2):
                return False
            want = ref.logistic_regression_grad(X, y, w, b)
            flat = lambda pair: np.concatenate([np.ravel(np.asarray(pair[0], float)),  # noqa: E731
                                                np.ravel(np.asarray(pair[1], float))])
            try:
                got = flat(value)
            except (TypeError, ValueError):
                return False
            mistakes = [(flat(v), m) for v, m in logreg_mistakes(X, y, w, b)]
            if not recognised(got, flat(want), mistakes):
                return False
        else:
            z, y = rng.normal(0, 3, size=7), rng.integers(0, 2, size=7).astype(np.float64)
            outcome = student.call("mse_sigmoid_grad", z, y, trusted_inner=())
            if outcome.kind != "returned" or not isinstance(outcome.value, np.ndarray):
                return False
            if not recognised(outcome.value, ref.mse_sigmoid_grad(z, y), mse_sigmoid_mistakes(z, y)):
                return False
    return True


@check(NB, "gradient_descent_steps_to_accuracy",
       "steps_bce and steps_mse count the steps each of your own runs needs to 85% accuracy")
def gradient_descent_steps_to_accuracy(student, rng):
    """Judged against the student's own runs, as the notebook asks ("from your own run").

    A gradient mistake changes the run, and the answer read from that run is still
    right: the mistake costs the gradient's own cells, once.
    """
    got = {key: whole_number(student, f"steps_{key}", "steps") for key in ("bce", "mse")}
    want = own_run_steps(student)
    for key, (label, _) in RUN_OF.items():
        if want[key] is None:
            raise CheckFailed(f"`steps_{key}` cannot be judged: your own {label} run could not be repeated, "
                              f"because {CALLED_BY_RUN[key]} did not return finite gradients of the right shape "
                              "along it. "
                              "Fix it first (its own test cells say how), then read the steps from your run.")
    for key, (label, function) in RUN_OF.items():
        if want[key] >= STEPS and not computes_a_gradient(student, key, rng):
            raise CheckFailed(f"`steps_{key}` cannot be credited: your own {label} run never reaches the target, "
                              f"and `{function}` does not compute its gradient (its own test cells say how).")
    hint = ("Count from entry 0 of your run's history (the start, before any step) to the first entry with "
            "accuracy at least TARGET_ACCURACY.")
    ok = {key: abs(got[key] - want[key]) <= steps_tolerance(want[key]) for key in want}
    if all(ok.values()):
        return
    if (abs(got["bce"] - want["mse"]) <= steps_tolerance(want["mse"])
            and abs(got["mse"] - want["bce"]) <= steps_tolerance(want["bce"])):
        raise CheckFailed("`steps_bce` and `steps_mse` look swapped: which run reaches the target first?")
    for key, (label, _) in RUN_OF.items():
        if ok[key]:
            continue
        name = f"steps_{key}"
        if got[key] == 0 and want[key] > 0:
            raise CheckFailed(f"`{name}` is 0, but the model starts far below the target accuracy. "
                              "np.argmax of a condition that is never true returns 0: if the target is never "
                              f"reached within STEPS steps, report STEPS. {hint}")
        if got[key] < 0 or got[key] > STEPS:
            raise CheckFailed(f"`{name}` should lie between 0 and STEPS.")
        raise CheckFailed(f"`{name}` is not the number of steps your own {label} run needs to first reach "
                          f"{TARGET_ACCURACY:.0%} training accuracy. {hint}")
