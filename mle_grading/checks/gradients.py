"""Checks of notebook 04_gradients: analytic gradients, the gradient check, the vanishing gradient.

Analytic gradients are compared with `mle_grading.reference` and with torch
autograd of the summed losses (per-example gradients). `numerical_grad` is run by
the submission on the fixed scalar functions of the sandbox worker's `CALLABLES`
table; its true gradients come from torch autograd of the same functions, written
here again in torch.
"""
import math

import numpy as np
import sympy
import torch
import torch.nn.functional as F

from .. import reference as ref
from .. import torch_reference as tref
from .. import wire
from ..sandbox.worker import CALLABLES
from . import check, CheckFailed
from .expect import close, describe_failure, expect_close, expect_prediction, numeric_answer, returned, rng_for
from .symbolic import expect_equivalent, sym

NB = "04_gradients"

GOOD = 1e-7   # CS231n: a relative error below this is a right gradient of a smooth function
FLOAT32_TOL = {"rtol": 1e-5, "atol": 1e-6}


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
    got = returned(student, "numerical_grad", wire.Callable(name), x, **kwargs)
    x = np.asarray(x)
    if got.shape != x.shape:
        if got.size == x.size:
            raise CheckFailed(f"{what}: the result has shape {got.shape}, not the shape {x.shape} of x; "
                              "the gradient has one entry per element of x, in x's shape.")
        raise CheckFailed(f"{what}: the result has shape {got.shape}; it must have the shape {x.shape} of x "
                          "(one partial derivative per element).")
    if not np.all(np.isfinite(got)):
        raise CheckFailed(f"{what}: the result contains NaN or inf.")
    return got.astype(np.float64)


def _diagnose(got, mistakes, what, fallback, tol=1e-8):
    for value, message in mistakes:
        if got.shape == np.shape(value) and np.max(ref.relative_error(got, value)) < tol:
            raise CheckFailed(f"{what}: {message}")
    raise CheckFailed(f"{what}: {fallback}")


def _points(name, shape, seed_name, low=0.3, high=1.4):
    """Inputs whose gradients are not close to zero, so relative errors are meaningful."""
    rng = rng_for(seed_name + name + str(shape))
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# -- numerical_grad ------------------------------------------------------------

@check(NB, "numerical_grad_accuracy", "numerical_grad agrees with autograd to a relative error below 1e-7")
def numerical_grad_accuracy(student):
    for name in ("sum_of_squares", "weighted_cubic", "log_sum_exp", "bce_sum_alternating_labels",
                 "row_log_sum_exp"):
        x = _points(name, (6,), "numerical_grad_accuracy")
        what = "`numerical_grad` with the default eps on one of the test functions"
        got = _student_numgrad(student, name, x, what)
        err = float(np.max(ref.relative_error(got, true_gradient(name, x))))
        if err < GOOD:
            continue
        _diagnose(got, numgrad_mistakes(name, x, 1e-6), what,
                  f"the largest relative error to the true gradient is {err:.0e}, above 1e-7. Use the central "
                  "difference in float64, perturb one element at a time, and evaluate both f(x + eps) and "
                  "f(x - eps) at x itself (restore each element before moving on to the next).")


@check(NB, "numerical_grad_central_differences", "numerical_grad computes (f(x+eps) - f(x-eps)) / (2 eps) with the given eps")
def numerical_grad_central_differences(student):
    eps = 0.1  # large enough that the formula's own truncation error shows
    for name in ("weighted_cubic", "row_log_sum_exp", "sum_of_squares"):
        x = _points(name, (5,), "numerical_grad_central_differences")
        what = "`numerical_grad` with eps=0.1"
        got = _student_numgrad(student, name, x, what, eps=eps)
        want = ref.numerical_grad(CALLABLES[name], x, eps)
        if np.max(ref.relative_error(got, want)) < 1e-9:
            continue
        exact = true_gradient(name, x)
        default_eps = ref.numerical_grad(CALLABLES[name], x, 1e-6)
        mistakes = [(exact, "the result does not depend on eps: use the eps argument as the step, "
                            "not a fixed number."),
                    (default_eps, "the result does not depend on eps: use the eps argument as the step, "
                                  "not a fixed number.")]
        _diagnose(got, numgrad_mistakes(name, x, eps) + mistakes, what,
                  "the value is not the central difference (f(x + eps) - f(x - eps)) / (2*eps) with the "
                  "given eps.", tol=1e-7)


@check(NB, "numerical_grad_any_shape", "numerical_grad works on x of any shape and on lists")
def numerical_grad_any_shape(student):
    # These functions only see x's elements in order, so the gradient at a 2-D x must be
    # the reshaped gradient at the flattened x: the student's own 1-D result is the yardstick.
    for name, shape in (("weighted_cubic", (3, 4)), ("log_sum_exp", (2, 2, 3)), ("sum_of_squares", (1,)),
                        ("weighted_cubic", (4, 1))):
        x = _points(name, shape, "numerical_grad_any_shape")
        what = f"`numerical_grad` on x of shape {shape}"
        got = _student_numgrad(student, name, x, what)
        flat = _student_numgrad(student, name, x.ravel(), "`numerical_grad` on a 1-D x")
        if not np.any(got):
            raise CheckFailed(f"{what}: the result is all zeros.")
        if not np.allclose(got, flat.reshape(shape), rtol=1e-6, atol=1e-7):
            raise CheckFailed(f"{what}: the result differs from the same gradient computed on the flattened x. "
                              "Perturb one element at a time: for a 2-D x, x[i] with one integer i is a whole "
                              "row; walk over np.ndindex(x.shape) (or x.flat) instead.")
    x = _points("weighted_cubic", (2, 3), "numerical_grad_any_shape_list")
    got = _student_numgrad(student, "weighted_cubic", x.tolist(), "`numerical_grad` on x given as a nested list")
    arr = _student_numgrad(student, "weighted_cubic", x, "`numerical_grad` on x of shape (2, 3)")
    if not np.allclose(got, arr, rtol=1e-6, atol=1e-7):
        raise CheckFailed("`numerical_grad` on x given as a nested list: the result differs from the result for "
                          "the same x as a float64 array; convert x with np.array(x, dtype=np.float64).")


@check(NB, "numerical_grad_leaves_x_unchanged", "numerical_grad leaves the caller's x unchanged")
def numerical_grad_leaves_x_unchanged(student):
    for name, shape in (("weighted_cubic", (5,)), ("log_sum_exp", (2, 3))):
        x = _points(name, shape, "numerical_grad_leaves_x_unchanged")
        what = f"`numerical_grad` on a float64 x of shape {shape}"
        outcome = student.call("numerical_grad", wire.Callable(name), x, return_args=True)
        if outcome.kind != "returned":
            raise CheckFailed(describe_failure("numerical_grad", outcome))
        if not isinstance(outcome.value, np.ndarray) or outcome.value.shape != x.shape:
            raise CheckFailed(f"{what}: return the gradient, an array of x's shape.")
        if not np.any(outcome.value):
            raise CheckFailed(f"{what}: the result is all zeros; return the gradient.")
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
def relative_error_value(student):
    rng = rng_for("relative_error_value")
    a = rng.normal(size=(3, 4))
    n = a * (1 + rng.normal(0, 1e-3, size=a.shape))
    n[0, :2] = -a[0, :2]          # opposite signs
    a[1, 0] = n[1, 0] = 0.0       # both exactly zero
    a[2, 1], n[2, 1] = 1e-12, 0.0  # below the floor
    cases = [(a, n, "arrays of shape (3, 4)"), ([1.0, 0.0, -2.0], [1.5, 0.0, 2.0], "Python lists"),
             (0.0, 0.0, "two zeros")]
    for a_, n_, how in cases:
        what = f"`relative_error` on {how}"
        got = returned(student, "relative_error", a_, n_)
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
                 "the denominator is max(|a|, |n|), the lecture notes' form; this notebook's (CS231n's "
                 "gradient-check code) is |a| + |n|, floored at 1e-8."),
                ((fa - fn) / np.maximum(1e-8, np.abs(fa) + np.abs(fn)),
                 "the numerator must be the absolute difference |a - n|."),
                (np.abs(fa - fn) / np.maximum(1e-8, np.abs(fa)),
                 "the denominator is |a| only; use |a| + |n|, floored at 1e-8."),
                (np.abs(fa - fn) / (np.abs(fa) + np.abs(fn) + 1e-8),
                 "the floor is max(1e-8, |a| + |n|), not |a| + |n| + 1e-8."),
            ]
        expect_close(got, want, what, mistakes, rtol=1e-6, atol=1e-12)


# -- the symbolic derivations ----------------------------------------------------

def _sig(t):
    return 1 / (1 + sympy.exp(-t))


@check(NB, "bce_grad_expr_equivalent", "the derived d/dz of the Bernoulli NLL is correct")
def bce_grad_expr_equivalent(student):
    z, y = sym("z"), sym("y")
    s = _sig(z)
    want = s - y
    expect_equivalent(
        student, "bce_grad_expr", want, {"z": (-6.0, 6.0), "y": [0, 1]},
        mistakes=[
            (y - s, "the sign is flipped: this is the derivative of the log-likelihood, not of its negative."),
            ((s - y) * s * (1 - s), "there is an extra factor sigma(z)(1 - sigma(z)): the sigma' of the chain "
                                    "rule cancels against the 1/sigma and 1/(1 - sigma) of the logarithms."),
            (2 * (s - y), "there is an extra factor 2."),
            (-y / s + (1 - y) / (1 - s), "this is the derivative with respect to p = sigma(z); multiply by "
                                         "dp/dz = sigma(z)(1 - sigma(z)) and simplify."),
            (z - y, "sigma(z) is missing: the prediction is the probability sigma(z), not the logit z."),
        ])


@check(NB, "mse_sigmoid_grad_expr_equivalent", "the derived d/dz of (sigmoid(z) - y)^2 is correct")
def mse_sigmoid_grad_expr_equivalent(student):
    z, y = sym("z"), sym("y")
    s = _sig(z)
    want = 2 * (s - y) * s * (1 - s)
    expect_equivalent(
        student, "mse_sigmoid_grad_expr", want, {"z": (-6.0, 6.0), "y": [0, 1]},
        mistakes=[
            ((s - y) * s * (1 - s), "the factor 2 from differentiating the square is missing."),
            (2 * (s - y), "the chain rule's factor sigma'(z) = sigma(z)(1 - sigma(z)) is missing."),
            (2 * (s - y) * (s * (1 - s)) ** 2, "the factor sigma'(z) appears twice; it belongs there once."),
            (-want, "the sign is flipped: differentiate (sigma(z) - y)^2, whose derivative has the sign of "
                    "sigma(z) - y."),
            (2 * (s - y) * s, "sigma'(z) is sigma(z)(1 - sigma(z)); the factor (1 - sigma(z)) is missing."),
            (2 * (s - y) * s * (1 - z), "sigma'(z) is sigma(z)(1 - sigma(z)), not sigma(z)(1 - z)."),
        ])


# -- elementwise binary gradients --------------------------------------------------

def _binary_inputs(rng, shape, scale=3.0):
    return rng.normal(0, scale, size=shape), rng.integers(0, 2, size=shape).astype(np.float64)


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


def _check_binary(student, function, mistakes_fn, z, y, what, tol=None, torch_fn=None, nan_hint=""):
    got = returned(student, function, z, y)
    want = getattr(ref, function)(z, y)
    if torch_fn is not None and not np.allclose(want, torch_fn(z, y), rtol=1e-10, atol=1e-15):
        raise RuntimeError("reference and torch disagree")  # a bug of ours, never the student's
    if got.size == 1 and want.size == 1:
        got = got.reshape(want.shape)
    if nan_hint and got.shape == want.shape and not np.all(np.isfinite(got)):
        raise CheckFailed(f"{what}: the result contains NaN or inf where the true value is finite: {nan_hint}")
    expect_close(got, want, what, mistakes_fn(z, y), **(tol or {}))


def _matches_torch(student, function, mistakes_fn, torch_fn, name):
    _check_binary(student, function, mistakes_fn, np.array([-10.0]), np.array([1.0]),
                  f"`{function}` at z = -10, y = 1", torch_fn=torch_fn)
    rng = rng_for(name)
    for shape in [(9,), (3, 4), (2, 3, 2)]:
        z, y = _binary_inputs(rng, shape)
        _check_binary(student, function, mistakes_fn, z, y, f"`{function}` on inputs of shape {shape}",
                      torch_fn=torch_fn)
    z, y = _binary_inputs(rng, (6,))
    _check_binary(student, function, mistakes_fn, z, y.astype(np.int64),
                  f"`{function}` with integer labels", torch_fn=torch_fn)


def _extreme(student, function, mistakes_fn, torch_fn):
    z = np.array([120.0, -120.0, 120.0, -120.0, 1e4, -1e4, 1e4, -1e4, 40.0, -40.0, 0.0, 745.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    _check_binary(student, function, mistakes_fn, z, y,
                  f"`{function}` for logits of size 40 to 1e4 (probabilities rounding to 0 or 1)",
                  torch_fn=torch_fn, nan_hint=SATURATION_HINT)


def _lists_and_float32(student, function, mistakes_fn):
    _check_binary(student, function, mistakes_fn, [0.5, -2.0, 3.0], [1, 0, 1], f"`{function}` on Python lists")
    _check_binary(student, function, mistakes_fn, 1.5, 0.0, f"`{function}` on two Python floats")
    rng = rng_for(function + "_float32")
    z, y = _binary_inputs(rng, (4, 3))
    z32, y32 = z.astype(np.float32), y.astype(np.float32)
    _check_binary(student, function, mistakes_fn, z32, y32, f"`{function}` on float32 arrays", tol=FLOAT32_TOL)


@check(NB, "bce_grad_matches_torch", "bce_grad agrees with autograd of F.binary_cross_entropy_with_logits(reduction='sum')")
def bce_grad_matches_torch(student):
    _matches_torch(student, "bce_grad", bce_mistakes, tref.bce_grad, "bce_grad_matches_torch")


@check(NB, "bce_grad_extreme_logits", "bce_grad is finite and correct for logits of +-120 and +-1e4")
def bce_grad_extreme_logits(student):
    _extreme(student, "bce_grad", bce_mistakes, tref.bce_grad)


@check(NB, "bce_grad_lists_and_float32", "bce_grad accepts Python lists, floats and float32 arrays")
def bce_grad_lists_and_float32(student):
    _lists_and_float32(student, "bce_grad", bce_mistakes)


@check(NB, "mse_sigmoid_grad_matches_torch", "mse_sigmoid_grad agrees with autograd of ((sigmoid(z) - y)**2).sum()")
def mse_sigmoid_grad_matches_torch(student):
    _matches_torch(student, "mse_sigmoid_grad", mse_sigmoid_mistakes, tref.mse_sigmoid_grad,
                   "mse_sigmoid_grad_matches_torch")


@check(NB, "mse_sigmoid_grad_extreme_logits", "mse_sigmoid_grad is finite and correct for logits of +-120 and +-1e4")
def mse_sigmoid_grad_extreme_logits(student):
    _extreme(student, "mse_sigmoid_grad", mse_sigmoid_mistakes, tref.mse_sigmoid_grad)


@check(NB, "mse_sigmoid_grad_lists_and_float32", "mse_sigmoid_grad accepts Python lists, floats and float32 arrays")
def mse_sigmoid_grad_lists_and_float32(student):
    _lists_and_float32(student, "mse_sigmoid_grad", mse_sigmoid_mistakes)


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


def _check_softmax(student, z, y, what, tol=None):
    got = returned(student, "softmax_ce_grad", z, y)
    want = ref.softmax_ce_grad(z, y)
    if got.shape == want.shape and not np.all(np.isfinite(got)):
        raise CheckFailed(f"{what}: the result contains NaN or inf where the true value is finite: exp of a "
                          "logit of 1000 overflows. Subtract each row's maximum before exp (the softmax of "
                          "section 4.0 does), which changes nothing mathematically.")
    zt = np.asarray(z, dtype=np.float64)
    if zt.ndim == 2 and not np.allclose(want, tref.softmax_ce_grad(zt, np.asarray(y).astype(np.int64)),
                                        rtol=1e-12, atol=1e-15):
        raise RuntimeError("reference and torch disagree")
    expect_close(got, want, what, softmax_ce_mistakes(z, y), **(tol or {}))


@check(NB, "softmax_ce_grad_matches_torch", "softmax_ce_grad agrees with autograd of F.cross_entropy(reduction='sum')")
def softmax_ce_grad_matches_torch(student):
    rng = rng_for("softmax_ce_grad_matches_torch")
    for n, c in [(5, 3), (4, 6), (1, 4), (8, 2)]:
        z = rng.normal(0, 2, size=(n, c))
        y = rng.integers(0, c, size=n)
        _check_softmax(student, z, y, f"`softmax_ce_grad` on logits of shape {(n, c)}")


@check(NB, "softmax_ce_grad_extreme_logits", "softmax_ce_grad is finite and correct for logits up to +-1e4")
def softmax_ce_grad_extreme_logits(student):
    z = np.array([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0], [1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    y = np.array([2, 0, 1, 1])
    _check_softmax(student, z, y, "`softmax_ce_grad` on logits like [1000, 0, -1000] and +-1e4")
    rng = rng_for("softmax_ce_grad_shift")
    z = rng.normal(size=(3, 4)) + 800.0
    _check_softmax(student, z, np.array([0, 3, 1]), "`softmax_ce_grad` on logits all near 800 "
                                                    "(adding a constant to all logits changes nothing)")


@check(NB, "softmax_ce_grad_lists_and_single_example", "softmax_ce_grad accepts lists, float32 and one example of shape (C,)")
def softmax_ce_grad_lists_and_single_example(student):
    _check_softmax(student, [[0.5, -1.0, 2.0], [0.0, 0.0, 3.0]], [2, 0], "`softmax_ce_grad` on nested Python lists")
    rng = rng_for("softmax_ce_grad_lists")
    z = rng.normal(size=(3, 5))
    y = rng.integers(0, 5, size=3)
    _check_softmax(student, z.astype(np.float32), y.astype(np.int32), "`softmax_ce_grad` on float32 logits",
                   tol=FLOAT32_TOL)
    single = rng.normal(size=4)
    _check_softmax(student, single, 2, "`softmax_ce_grad` on one example of shape (C,) with a scalar label")
    batch_of_one = returned(student, "softmax_ce_grad", single[None, :], np.array([2]))
    expect_close(batch_of_one, ref.softmax_ce_grad(single[None, :], np.array([2])),
                 "`softmax_ce_grad` on a batch of one example")


# -- predictions ----------------------------------------------------------------------

@check(NB, "gradient_ratio_prediction", "the predicted ratio of the BCE and squared-error gradients at z = -4, y = 1")
def gradient_ratio_prediction(student):
    sp4 = float(ref.sigmoid(-4.0) * (1 - ref.sigmoid(-4.0)))     # sigma'(-4)
    want = 1 / (2 * sp4)
    expect_prediction(student, "gradient_ratio_at_minus_4", want,
                      "the ratio |bce gradient| / |squared-error gradient| at z = -4, y = 1", [
                          (1 / want, "that is the ratio the other way round: the squared-error gradient over "
                                     "the BCE gradient; the BCE one is the larger."),
                          (1 / sp4, "that is 1/sigma'(z); the squared error's derivative also has a factor 2."),
                          (1 / (4 * sp4), "the squared error's derivative has a factor 2, which makes the ratio "
                                          "smaller, not larger."),
                          (-want, "the question asks for the ratio of the magnitudes, a positive number."),
                      ])


@check(NB, "relative_error_signatures_prediction", "the predicted relative errors of a flipped sign and a missing factor 2")
def relative_error_signatures_prediction(student):
    expect_prediction(student, "rel_error_sign_flipped", 1.0, "the relative error between -n and n", [
        (2.0, "that is |a - n| / max(|a|, |n|); this notebook divides by |a| + |n|."),
        (0.0, "a = -n is as far from n as it can be; the relative error is not 0."),
    ], rtol=1e-6)
    expect_prediction(student, "rel_error_missing_factor_2", 1 / 3, "the relative error between n/2 and n", [
        (0.5, "that is |a - n| / max(|a|, |n|); this notebook divides by |a| + |n| = 1.5 |n|."),
        (2 / 3, "the numerator is |n/2 - n| = |n|/2 and the denominator |n|/2 + |n|."),
    ], rtol=1e-6)


# -- softmax cross-entropy, derived ------------------------------------------------------

def _three_class_symbols():
    return [sympy.Symbol(f"z{k}", real=True) for k in range(3)]


@check(NB, "softmax_ce_grad_expr_equivalent", "the derived gradient of -log softmax(z)[0] for three classes is correct")
def softmax_ce_grad_expr_equivalent(student):
    zs = _three_class_symbols()
    total = sum(sympy.exp(v) for v in zs)
    p = [sympy.exp(v) / total for v in zs]
    want = [p[0] - 1, p[1], p[2]]
    expect_equivalent(
        student, "softmax_ce_grad_expr", want, {"z0": (-4.0, 4.0), "z1": (-4.0, 4.0), "z2": (-4.0, 4.0)},
        mistakes=[
            ([1 - p[0], -p[1], -p[2]], "the signs are flipped: differentiate -log softmax(z)[0], the negative "
                                       "log-likelihood."),
            (p, "the -1 of the true class is missing: -log softmax(z)[0] = -z0 + log(sum exp), and -z0 "
                "contributes -1 to the derivative by z0."),
            ([-1, 0, 0], "only the -z0 term is differentiated; the log-sum-exp term adds softmax(z) to every entry."),
            ([p[0] - 1, p[1] - 1, p[2] - 1], "1 is subtracted from every entry; only the true class (0) has it."),
        ])


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
        raise CheckFailed(f"{what}: grad_b has shape {grad_b.shape}; the derivative with respect to the one "
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
    if not (np.allclose(want_w, tw, rtol=1e-10, atol=1e-14) and math.isclose(want_b, tb, rel_tol=1e-10, abs_tol=1e-14)):
        raise RuntimeError("reference and torch disagree")  # a bug of ours, never the student's
    d = np.shape(want_w)[0]
    if grad_w.shape != want_w.shape:
        if grad_w.shape == (np.shape(X)[0],):
            raise CheckFailed(f"{what}: grad_w has one entry per example (shape {grad_w.shape}); it needs one per "
                              f"weight, shape ({d},): combine the per-example logit gradients with X.T @ ...")
        raise CheckFailed(f"{what}: grad_w has shape {grad_w.shape}; the weights have shape ({d},).")
    if not (np.all(np.isfinite(grad_w)) and np.isfinite(grad_b)):
        raise CheckFailed(f"{what}: the result contains NaN or inf where the true gradient is finite: "
                          "build it from a per-logit gradient that stays finite when sigmoid(z) rounds to 0 or 1 "
                          "(the stable sigmoid, as in bce_grad).")
    tol = tol or {}
    if close(grad_w, want_w, **tol) and close(grad_b, want_b, **tol):
        return
    for (mw, mb), message in logreg_mistakes(X, y, w, b):
        if close(grad_w, mw, **tol) and close(grad_b, mb, **tol):
            raise CheckFailed(f"{what}: {message}")
    if close(grad_w, want_w, **tol):
        raise CheckFailed(f"{what}: grad_w is right, grad_b is wrong: the logit z_i = w.x_i + b changes by 1 "
                          "per unit of b.")
    if close(grad_b, want_b, **tol):
        raise CheckFailed(f"{what}: grad_b is right, grad_w is wrong: by the chain rule each example's logit "
                          "gradient is multiplied by its features x_i.")
    raise CheckFailed(f"{what}: the value is wrong.")


@check(NB, "logistic_regression_grad_matches_torch", "logistic_regression_grad agrees with autograd of F.binary_cross_entropy_with_logits")
def logistic_regression_grad_matches_torch(student):
    rng = rng_for("logistic_regression_grad_matches_torch")
    for n, d in [(7, 3), (20, 2), (1, 4), (5, 1)]:
        X, y, w, b = _logreg_inputs(rng, n, d)
        _check_logreg(student, X, y, w, b, f"`logistic_regression_grad` with X of shape {(n, d)}")


@check(NB, "logistic_regression_grad_extreme_logits", "logistic_regression_grad is finite and correct for logits up to +-1e4")
def logistic_regression_grad_extreme_logits(student):
    X = np.array([[1.0, 0.0], [-1.0, 0.5], [0.5, -1.0], [0.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    _check_logreg(student, X, y, np.array([1e4, -1e4]), 0.0,
                  "`logistic_regression_grad` with logits of size up to 1e4")
    _check_logreg(student, X, y, np.array([120.0, 40.0]), -745.0,
                  "`logistic_regression_grad` with logits beyond -745")


@check(NB, "logistic_regression_grad_lists_and_shapes", "logistic_regression_grad accepts lists, integer labels and one example")
def logistic_regression_grad_lists_and_shapes(student):
    _check_logreg(student, [[0.5, 1.0, -1.0], [2.0, 0.0, 1.0]], [1, 0], [0.1, -0.2, 0.3], 0,
                  "`logistic_regression_grad` on Python lists with integer labels")
    rng = rng_for("logistic_regression_grad_lists")
    X, y, w, b = _logreg_inputs(rng, 1, 3)
    _check_logreg(student, X, y, w, b, "`logistic_regression_grad` on a single example, X of shape (1, 3)")
    X, y, w, b = _logreg_inputs(rng, 6, 2)
    _check_logreg(student, X.astype(np.float32), y.astype(np.int64), w.astype(np.float32), b,
                  "`logistic_regression_grad` on float32 arrays", tol={"rtol": 1e-5, "atol": 1e-6})


# -- the training experiment --------------------------------------------------------------

N_TRAIN, STEPS, LEARNING_RATE, TARGET_ACCURACY = 200, 300, 1.0, 0.85


def training_data():
    """The notebook's data and starting point, generated the same way."""
    data_rng = np.random.default_rng(0)
    labels = (data_rng.random(N_TRAIN) < 0.5).astype(np.float64)
    features = data_rng.normal(size=(N_TRAIN, 2)) + np.where(labels[:, None] == 1, 1.0, -1.0)
    return features, labels, np.array([-4.0, -4.0]), 0.0


def training_accuracy(weights_grad, steps=STEPS, lr=LEARNING_RATE):
    """Training accuracy after 0..steps steps of the notebook's gradient descent.

    `weights_grad(X, y, w, b)` returns (grad_w, grad_b), or None when it cannot be computed.
    """
    features, labels, w, b = training_data()
    accuracy = []
    for step in range(steps + 1):
        logits = features @ w + b
        accuracy.append(np.mean((logits > 0) == (labels == 1)))
        if step == steps:
            break
        grads = weights_grad(features, labels, w, b)
        if grads is None:
            return None
        w = w - lr * np.asarray(grads[0], dtype=np.float64)
        b = b - lr * float(grads[1])
    return np.array(accuracy)


def _chain_rule(logit_grad):
    """The notebook's mse_sigmoid_weights_grad around a per-logit gradient."""
    def weights_grad(X, y, w, b):
        g = logit_grad(X @ w + b, y)
        if g is None:
            return None
        g = np.asarray(g, dtype=np.float64)
        return X.T @ g / X.shape[0], float(np.mean(g))
    return weights_grad


def steps_to_reach(accuracy, target=TARGET_ACCURACY, steps=STEPS):
    reached = np.flatnonzero(accuracy >= target)
    return int(reached[0]) if reached.size else steps


_TRUSTED_STEPS = {}


def trusted_steps():
    if not _TRUSTED_STEPS:
        _TRUSTED_STEPS["bce"] = steps_to_reach(training_accuracy(ref.logistic_regression_grad))
        _TRUSTED_STEPS["mse"] = steps_to_reach(training_accuracy(_chain_rule(ref.mse_sigmoid_grad)))
    return _TRUSTED_STEPS["bce"], _TRUSTED_STEPS["mse"]


def _usable(value, shape):
    return isinstance(value, np.ndarray) and value.shape == shape and np.all(np.isfinite(value))


def own_run_steps(student):
    """The steps the student's own run needs, recomputed here from their own gradient functions.

    The run is repeated exactly as the notebook does it, calling the submission's
    `logistic_regression_grad` and `mse_sigmoid_grad` (with their own inner functions:
    it is their run). A run whose gradient does not return usable numbers is judged
    against the trusted run instead: the student could not have read it either.
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

    trusted = dict(zip(("bce", "mse"), trusted_steps()))
    found = {}
    for key, weights_grad in (("bce", student_weights_grad), ("mse", _chain_rule(student_logit_grad))):
        accuracy = training_accuracy(weights_grad)
        found[key] = trusted[key] if accuracy is None else steps_to_reach(accuracy)
    return found


def steps_tolerance(want):
    return max(2, 0.05 * want)


def _whole_number(student, name):
    outcome = student.variable(name)
    if outcome.kind == "missing":
        raise CheckFailed(f"`{name}` is not defined: assign the number of steps to it.")
    if outcome.kind != "returned":
        raise CheckFailed(f"`{name}`: {outcome.message or outcome.kind}")
    value = outcome.value
    if not isinstance(value, np.ndarray) or value.size != 1 or value.dtype.kind not in "iuf":
        raise CheckFailed(f"`{name}` should be one whole number of steps.")
    number = float(value.reshape(()))
    if not math.isfinite(number) or number != round(number):
        raise CheckFailed(f"`{name}` should be a whole number of steps.")
    return int(round(number))


@check(NB, "gradient_descent_steps_to_accuracy", "steps_bce and steps_mse count the steps each loss needs to 85% accuracy")
def gradient_descent_steps_to_accuracy(student):
    got = {key: _whole_number(student, f"steps_{key}") for key in ("bce", "mse")}
    want = own_run_steps(student)
    hint = ("Count from entry 0 of your run's history (the start, before any step) to the first entry with "
            "accuracy at least TARGET_ACCURACY.")
    ok = {key: abs(got[key] - want[key]) <= steps_tolerance(want[key]) for key in want}
    if all(ok.values()):
        return
    if (abs(got["bce"] - want["mse"]) <= steps_tolerance(want["mse"])
            and abs(got["mse"] - want["bce"]) <= steps_tolerance(want["bce"])):
        raise CheckFailed("`steps_bce` and `steps_mse` look swapped: which run reaches the target first?")
    for key, label in (("bce", "BCE"), ("mse", "squared-error")):
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
