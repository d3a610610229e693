"""Checks of mle_beyond's 01_learned_variance: Gaussian NLL with a learned log-variance, its
gradient, and the Laplace scale's maximum-likelihood estimate.

Torch clamps the variance at 1e-6, so it is the reference only for log-variances
above log(1e-6); below that the naive reference (tested against the contract's
formula in tests/test_reference_mle_beyond.py) is the yardstick.
"""
import math

import numpy as np

from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref
from mle_grading.checks.families import Graded, drawn, given, lists_scalars_float32, register, values
from mle_grading.checks.parts import Parts, parts_values
from mle_grading.checks.properties import properties

NB = "01_learned_variance"
TORCH_LOG_VAR_FLOOR = math.log(1e-6)
LOG_2PI = math.log(2 * math.pi)


def _torch_defines(y_pred, y, log_var):
    return bool(np.all(np.asarray(log_var, dtype=np.float64) > TORCH_LOG_VAR_FLOOR + 1e-9))


def _parts(y_pred, y, log_var):
    y_pred, y, s = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (y_pred, y, log_var)))
    return y_pred - y, s


# -- what the recognised mistakes give ------------------------------------------------

def nll_mistakes(y_pred, y, log_var):
    r, s = _parts(y_pred, y, log_var)
    with np.errstate(all="ignore"):
        as_variance = 0.5 * (LOG_2PI + np.log(s) + r ** 2 / s)
        return [
            (np.mean(0.5 * (s + r ** 2 * np.exp(-s))), "the constant term 0.5*log(2*pi) is missing."),
            (np.sum(0.5 * (LOG_2PI + s + r ** 2 * np.exp(-s))), "this is a sum over elements; the loss is the mean."),
            (np.mean(0.5 * (LOG_2PI + s + r ** 2 * np.exp(s))),
             "the squared error is multiplied by the variance exp(log_var); it is divided by it "
             "(multiplied by exp(-log_var))."),
            (np.mean(0.5 * LOG_2PI + s + 0.5 * r ** 2 * np.exp(-2 * s)),
             "log_var is treated as the log of the standard deviation; it is the log of the variance sigma^2."),
            (np.mean(0.5 * LOG_2PI + s + 0.5 * r ** 2 * np.exp(-s)),
             "the log-variance penalty is missing its factor 1/2: log sqrt(2*pi*sigma^2) = (log(2*pi) + log_var)/2."),
            (np.mean(0.5 * (LOG_2PI + s) + r ** 2 * np.exp(-s)),
             "the squared error is missing its factor 1/2."),
            (np.mean(as_variance), "log_var is used as if it were the variance itself; the variance is "
                                   "exp(log_var)."),
            (-np.mean(0.5 * (LOG_2PI + s + r ** 2 * np.exp(-s))), "the sign is flipped: this is the "
                                                                  "log-likelihood, not its negative."),
        ]


def floored(y_pred, y, log_var, floor):
    r, s = _parts(y_pred, y, log_var)
    return np.mean(0.5 * (LOG_2PI + np.log(floor(np.exp(s))) + r ** 2 / floor(np.exp(s))))


CLAMPED = ("the variance is clamped at 1e-6 (as torch's eps does): the contract's function has no floor, it is "
           "exact for every log_var in [-50, 50]; write it in log_var directly.")
EPS_ADDED = ("a small constant is added to the variance, which changes the value for log-variances below about "
             "-14; write the loss in log_var directly: it needs no protection.")


def extreme_nll_diagnoses(y_pred, y, log_var):
    return [(CLAMPED, floored(y_pred, y, log_var, lambda v: np.maximum(v, 1e-6)))] + [
        (EPS_ADDED, floored(y_pred, y, log_var, lambda v, e=eps: v + e)) for eps in (1e-6, 1e-7, 1e-8, 1e-10, 1e-12)]


def divided_by_rows(y_pred, y, log_var):
    r, s = _parts(y_pred, y, log_var)
    return [("this divides the sum by len(y), the number of rows; the loss is the mean over every element of "
             "the broadcast shape (np.mean).", np.sum(0.5 * (LOG_2PI + s + r ** 2 * np.exp(-s))) / r.shape[0])]


def extreme_grad_diagnoses(y_pred, y, log_var):
    r, s = _parts(y_pred, y, log_var)
    found = []
    for floor, message in ((lambda v: np.maximum(v, 1e-6), CLAMPED), (lambda v: v + 1e-6, EPS_ADDED),
                           (lambda v: v + 1e-8, EPS_ADDED)):
        v = floor(np.exp(s))
        found.append((message.replace("the loss", "the derivatives"), r / v, 0.5 * (1 - r ** 2 / v)))
    return found


def grad_mistakes(y_pred, y, log_var):
    """(message, d_y_pred the mistake gives or None, d_log_var it gives or None): None is 'right'."""
    r, s = _parts(y_pred, y, log_var)
    w = np.exp(-s)
    n = max(r.size, 1)
    right_mu, right_s = r * w, 0.5 * (1 - r ** 2 * w)
    return [
        ("d_y_pred has the wrong sign: the loss grows as y_pred moves away from y, so its derivative has "
         "the sign of y_pred - y.", -right_mu, None),
        ("d_y_pred is missing the precision exp(-log_var): the squared error is weighted by it.", r, None),
        ("d_y_pred is multiplied by the variance; it is divided by it (multiplied by exp(-log_var)).",
         r * np.exp(s), None),
        ("d_y_pred has an extra factor 2: the 1/2 of the squared error cancels the 2 of the square.",
         2 * right_mu, None),
        ("d_log_var is missing its factor 1/2.", None, 1 - r ** 2 * w),
        ("d_log_var has the wrong sign.", None, -right_s),
        ("d_log_var is the derivative with respect to the variance sigma^2; multiply by "
         "d sigma^2 / d log_var = exp(log_var) (the chain rule).", None, 0.5 * w - 0.5 * r ** 2 * w ** 2),
        ("d_log_var is missing the penalty's derivative 1/2.", None, -0.5 * r ** 2 * w),
        ("both derivatives are divided by the number of elements: return the per-element derivatives of "
         "each example's loss, not of the mean.", right_mu / n, right_s / n),
        ("the two derivatives are swapped: return (d_y_pred, d_log_var) in that order.", right_s, right_mu),
    ]


def laplace_b_mistakes(y_pred, y):
    r = (np.asarray(y, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)).ravel()
    return [
        (np.median(np.abs(r)), "this is the median absolute residual; setting the derivative of the mean NLL in "
                               "b to zero gives the mean absolute residual."),
        (np.sqrt(np.mean(r ** 2)), "this is the root mean squared residual (the Gaussian's sigma); the Laplace "
                                   "scale is the mean absolute residual."),
        (np.mean(r ** 2), "this is the mean squared residual; the Laplace scale is the mean absolute residual."),
        (np.sum(np.abs(r)), "this is the sum of the absolute residuals; divide by N."),
        (np.sum(np.abs(r)) / max(r.size - 1, 1), "this divides by N-1; the maximum-likelihood estimate divides by N."),
        (np.abs(np.mean(r)), "this is the absolute value of the mean residual; take the mean of the absolute "
                             "residuals."),
        (np.mean(r), "the residuals need their absolute value: the Laplace density uses |y - y_pred|."),
        (np.mean(np.abs(r)) / 2, "there is an extra factor 1/2."),
    ]


GAUSSIAN_NLL = Graded("gaussian_nll_logvar", ref.gaussian_nll_logvar, tref.gaussian_nll_logvar, nll_mistakes,
                      scalar=True, torch_applies=_torch_defines)
GAUSSIAN_GRAD = Parts("gaussian_nll_logvar_grad", ("d_y_pred", "d_log_var"), ref.gaussian_nll_logvar_grad,
                      tref.gaussian_nll_logvar_grad, grad_mistakes, torch_applies=_torch_defines)
LAPLACE_B = Graded("laplace_b_mle", ref.laplace_b_mle, None, laplace_b_mistakes, scalar=True)


# -- inputs ----------------------------------------------------------------------------

def per_element(low=-3.0, high=3.0, scale=2.0):
    def draw(rng, shape):
        return rng.normal(size=shape) * scale, rng.normal(size=shape) * scale, rng.uniform(low, high, size=shape)
    return draw


def scalar_log_var(rng, shape):
    return rng.normal(size=shape) * 2, rng.normal(size=shape) * 2, float(rng.uniform(-2.0, 2.0))


def row_log_var(rng, shape):
    return rng.normal(size=shape), rng.normal(size=shape), rng.uniform(-2.0, 2.0, size=(shape[0], 1))


def column_log_var(rng, shape):
    return rng.normal(size=shape), rng.normal(size=shape), rng.uniform(-2.0, 2.0, size=shape[-1:])


def extreme_log_var(rng, shape):
    """Log-variances spread over [-50, 50], the tiny ones where torch's clamp would show."""
    s = rng.uniform(-50.0, 50.0, size=shape)
    s.flat[0], s.flat[-1] = -50.0, float(rng.uniform(-49.0, -20.0))
    return rng.normal(size=shape), rng.normal(size=shape), s


def tiny_variance_exact_fit(rng, shape):
    y = rng.normal(size=shape)
    y_pred = y + rng.normal(size=shape) * 1e-9
    return y_pred, y, rng.uniform(-50.0, -40.0, size=shape)


def huge_variance(rng, shape):
    return rng.normal(size=shape) * 1e3, rng.normal(size=shape) * 1e3, rng.uniform(30.0, 50.0, size=shape)


def offset_residuals(rng, shape):
    y_pred = rng.normal(size=shape)
    return y_pred, y_pred + rng.laplace(float(rng.uniform(0.2, 0.6)), float(rng.uniform(0.3, 1.5)), size=shape)


register(NB, [
    ("gaussian_nll_logvar_value", "gaussian_nll_logvar agrees with F.gaussian_nll_loss(full=True)",
     values(GAUSSIAN_NLL, given((np.array([0.0, 1.0]), np.array([1.0, 1.0]), 0.0), "with log_var = 0"),
            drawn(per_element(), [(9,), (4,)], "with one log-variance per element, shape {shape}"),
            drawn(scalar_log_var, [(7,)], "with one scalar log-variance for all"))),
    ("gaussian_nll_logvar_broadcasts", "gaussian_nll_logvar broadcasts log_var against y",
     properties(GAUSSIAN_NLL, drawn(row_log_var, [(4, 3)], "with log_var of shape (4, 1) against y of shape {shape}"),
                drawn(column_log_var, [(5, 2)], "with log_var of shape (2,) against y of shape {shape}"),
                drawn(per_element(), [(3, 4)], "with one log-variance per element, shape {shape}"),
                diagnoses=divided_by_rows,
                fallback="with log_var broadcast against y the value is wrong: broadcast the three arguments "
                         "(NumPy does it in arithmetic) and take the mean over every element.")),
    ("gaussian_nll_logvar_extreme_log_var", "gaussian_nll_logvar is exact for every log_var in [-50, 50]",
     properties(GAUSSIAN_NLL, drawn(extreme_log_var, [(8,)], "with log-variances across [-50, 50]"),
                drawn(tiny_variance_exact_fit, [(4,)], "with log-variances near -50 and residuals near 0"),
                drawn(huge_variance, [(5,)], "with log-variances near 50 and residuals of order 1e3"),
                diagnoses=extreme_nll_diagnoses,
                nonfinite="the variance exp(log_var) was formed and then divided by or taken the log of; "
                          "write the loss with log_var and exp(-log_var) directly.",
                fallback="for log-variances far from 0 the value is wrong: write the loss with log_var and "
                         "exp(-log_var) directly, with no floor and no added constant.")),
    ("gaussian_nll_logvar_lists_and_float32", "gaussian_nll_logvar accepts Python lists, floats and float32",
     properties(GAUSSIAN_NLL, lists_scalars_float32(per_element(), (5,), scalars=[(0.5, 1.5, 0.0)],
                                                    float32_shape=(4,)))),
    ("gaussian_nll_logvar_grad_matches_torch",
     "gaussian_nll_logvar_grad agrees with autograd of the summed torch loss",
     parts_values(GAUSSIAN_GRAD, drawn(per_element(), [(6,), (2, 3)], "with one log-variance per element, "
                                                                     "shape {shape}"),
                  drawn(row_log_var, [(3, 2)], "with log_var of shape (3, 1) against y of shape {shape}"))),
    ("gaussian_nll_logvar_grad_scalar_log_var",
     "gaussian_nll_logvar_grad gives one derivative per element for a scalar log_var",
     properties(GAUSSIAN_GRAD, drawn(scalar_log_var, [(5,), (2, 3)], "with a scalar log_var, y of shape {shape}"),
                shape_hint="with a scalar log_var there is still one derivative per element (each example's "
                           "own output), not their sum: broadcast the three arguments first.")),
    ("gaussian_nll_logvar_grad_extreme_log_var",
     "gaussian_nll_logvar_grad is finite and exact for every log_var in [-50, 50]",
     properties(GAUSSIAN_GRAD, drawn(extreme_log_var, [(8,)], "with log-variances across [-50, 50]"),
                drawn(huge_variance, [(4,)], "with log-variances near 50 and residuals of order 1e3"),
                diagnoses=extreme_grad_diagnoses,
                nonfinite="the variance exp(log_var) was formed and divided by, or squared; write both "
                          "derivatives with exp(-log_var) directly.",
                fallback="for log-variances far from 0 the derivatives are wrong: write them with exp(-log_var) "
                         "directly, with no floor and no added constant.")),
    ("laplace_b_mle_value", "laplace_b_mle is the mean absolute residual",
     values(LAPLACE_B, drawn(offset_residuals, [(15,), (8,)]))),
    ("laplace_b_mle_lists_and_shapes", "laplace_b_mle accepts Python lists, float32 and arrays of any shape",
     properties(LAPLACE_B, lists_scalars_float32(offset_residuals, (3, 4), float32_shape=(2, 3, 2)),
                drawn(offset_residuals, [(2, 2, 3), (1,)]),
                fallback="on arrays of several axes the value is wrong: take the mean over every element.")),
])
