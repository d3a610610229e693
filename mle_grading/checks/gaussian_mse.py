"""Checks of notebook 01_gaussian_mse: Gaussian likelihood -> mean squared error."""
import math

import numpy as np
import sympy

from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref
from mle_grading.checks import check
from mle_grading.checks import CheckFailed
from mle_grading.checks.api import chosen_number, divided_by_rows, expect_prediction
from mle_grading.checks.families import Graded, drawn, given, lists_scalars_float32, one_entry_out_of_range, register, rejects, values
from mle_grading.checks.symbolic import expect_equivalent, sym

NB = "01_gaussian_mse"


def seed_data():
    """The contract's demonstration data."""
    rng = np.random.RandomState(0)
    x = np.linspace(-1, 1, 20)
    y = 2 * x + 1 + rng.normal(0, 0.1, size=x.shape)
    return 1.0 * x + 0.0, y


def _residuals(y_pred, y):
    return np.asarray(y, float) - np.asarray(y_pred, float)


# -- what the recognised mistakes give ---------------------------------------------

def mse_mistakes(y_pred, y):
    r = _residuals(y_pred, y)
    return [
        (np.sum(r ** 2), "this is the sum of squared residuals; the loss is their mean."),
        (np.sqrt(np.mean(r ** 2)), "this is the root of the mean squared error (RMSE); do not take the square root."),
        (np.mean(np.abs(r)), "this is the mean absolute error: square the residuals."),
        (np.mean(r) ** 2, "this squares the mean residual; take the mean of the squared residuals."),
        (0.5 * np.mean(r ** 2), "there is an extra factor 1/2."),
    ] + divided_by_rows(r ** 2)


def gaussian_mistakes(y_pred, y, s2=1.0):
    y_pred, y, s2 = np.broadcast_arrays(*(np.asarray(v, float) for v in (y_pred, y, s2)))
    r2 = (y - y_pred) ** 2
    const = 0.5 * np.log(2 * np.pi * s2)
    return [
        (np.mean(r2 / (2 * s2)), "the constant term 0.5*log(2*pi*sigma2) is missing."),
        (np.sum(const + r2 / (2 * s2)), "this is a sum over examples; the loss is the mean."),
        (np.mean(0.5 * np.log(2 * np.pi * s2 ** 2) + r2 / (2 * s2 ** 2)),
         "sigma2 is the variance sigma^2, not the standard deviation sigma: do not square it again."),
        (np.mean(0.5 * np.log(2 * np.pi * np.sqrt(s2)) + r2 / (2 * np.sqrt(s2))),
         "sigma2 is already the variance: it is not sigma, do not take its square root."),
        (np.mean(const + r2 / s2), "the quadratic term is missing its factor 1/2: (y - y_pred)^2 / (2 sigma2)."),
        (np.mean(np.log(2 * np.pi * s2) + r2 / (2 * s2)), "the constant term is missing its factor 1/2."),
        (-np.mean(const + r2 / (2 * s2)), "the sign is flipped: this is the log-likelihood, not its negative."),
        (np.mean(-0.5 * np.log(2 * np.pi * s2) + r2 / (2 * s2)), "the constant term has the wrong sign."),
    ] + divided_by_rows(const + r2 / (2 * s2)) + floored_variance(y_pred, y, s2)


# Libraries protect the variance: torch's gaussian_nll_loss clamps it at eps=1e-6, others add
# a small constant. The contract's formula has no floor: it holds for every positive sigma2.
VARIANCE_EPSILONS = (1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12)
VARIANCE_FLOORED = ("the variance is floored at {eps:g}, as torch's F.gaussian_nll_loss does with its eps: "
                    "the contract's formula holds for every positive sigma2, however small. Raise ValueError "
                    "for sigma2 <= 0 and use every positive sigma2 as it is.")
VARIANCE_EPS_ADDED = ("a small constant ({eps:g}) is added to the variance, which changes the value for variances "
                      "near it: the contract's formula holds for every positive sigma2, however small; use "
                      "sigma2 as it is.")


def floored_variance(y_pred, y, s2):
    """What a gaussian_nll that floors sigma2 (or adds an epsilon to it) gives, where that differs."""
    y_pred, y, s2 = np.broadcast_arrays(*(np.asarray(v, float) for v in (y_pred, y, s2)))
    r2 = (y - y_pred) ** 2
    found = []
    for eps in VARIANCE_EPSILONS:
        for v, message in ((np.maximum(s2, eps), VARIANCE_FLOORED), (s2 + eps, VARIANCE_EPS_ADDED)):
            found.append((np.mean(0.5 * np.log(2 * np.pi * v) + r2 / (2 * v)), message.format(eps=eps)))
    return found


def sigma2_mistakes(y_pred, y):
    r = _residuals(y_pred, y)
    return [
        (np.sum(r ** 2) / (r.size - 1), "this divides by N-1 (the unbiased estimate); "
                                        "the maximum-likelihood estimate divides by N."),
        (np.var(r), "this is the variance of the residuals around their own mean; the model says the "
                    "noise has mean 0, so take the mean of the squared residuals themselves."),
        (np.sqrt(np.mean(r ** 2)), "this is sigma, the standard deviation; return the variance sigma^2."),
        (np.sum(r ** 2), "this is the sum of squared residuals; divide by N."),
    ]


def laplace_mistakes(y_pred, y, b=1.0):
    a = np.abs(_residuals(y_pred, y))
    return [
        (np.mean(a / b), "the constant term log(2b) is missing."),
        (np.sum(np.log(2 * b) + a / b), "this is a sum over examples; the loss is the mean."),
        (np.mean(np.log(2 * b) + a ** 2 / b), "the Laplace density uses |y - y_pred|, not its square."),
        (np.mean(np.log(b) + a / b), "the constant is log(2b), not log(b)."),
        (-np.mean(np.log(2 * b) + a / b), "the sign is flipped."),
    ] + divided_by_rows(np.log(2 * b) + a / b) + floored_scale(y_pred, y, b)


def floored_scale(y_pred, y, b):
    """What a laplace_nll that floors b (or adds an epsilon to it) gives, where that differs."""
    y_pred, y, b = np.broadcast_arrays(*(np.asarray(v, float) for v in (y_pred, y, b)))
    a = np.abs(y - y_pred)
    return [(np.mean(np.log(2 * v) + a / v), f"the scale b is floored at {eps:g} (or {eps:g} is added to it): the "
                                             "contract's formula holds for every positive b, however small.")
            for eps in VARIANCE_EPSILONS for v in (np.maximum(b, eps), b + eps)]


def _torch_defines_variance(y_pred, y, s2=1.0):
    return bool(np.all(np.asarray(s2) >= 1e-6))  # torch clamps smaller variances to its eps


MSE = Graded("mse", ref.mse, tref.mse, mse_mistakes, scalar=True)
GAUSSIAN = Graded("gaussian_nll", ref.gaussian_nll, tref.gaussian_nll, gaussian_mistakes, scalar=True,
                  torch_applies=_torch_defines_variance)
SIGMA2 = Graded("sigma2_mle", ref.sigma2_mle, None, sigma2_mistakes, scalar=True)
LAPLACE = Graded("laplace_nll", ref.laplace_nll, None, laplace_mistakes, scalar=True)


# -- inputs ----------------------------------------------------------------------------

def pair(rng, shape):
    return rng.normal(size=shape) * 3, rng.normal(size=shape)


def with_variance(s2):
    return lambda rng, shape: (rng.normal(size=shape), rng.normal(size=shape), s2)


def drawn_variance(rng, shape):
    return rng.normal(size=shape), rng.normal(size=shape), float(rng.uniform(0.2, 3.0))


def tiny_variance(rng, shape):
    """A variance far below torch's floor of 1e-6, where a floored or padded variance shows."""
    return rng.normal(size=shape) * 1e-4, rng.normal(size=shape) * 1e-4, float(10 ** rng.uniform(-11.0, -7.0))


def per_example_variance(rng, shape):
    return rng.normal(size=shape), rng.normal(size=shape), rng.uniform(0.1, 3.0, size=shape)


def column_variance(rng, shape):
    return rng.normal(size=shape), rng.normal(size=shape), rng.uniform(0.2, 2.0, size=(shape[0], 1))


def large_residuals(rng, shape):
    return rng.normal(size=shape) * 1e6, rng.normal(size=shape) * 1e6, 1e-4


def biased_residuals(rng, shape):
    y_pred = rng.normal(size=shape)
    return y_pred, y_pred + rng.normal(0.3, 0.7, size=shape)  # residuals with a nonzero mean


def with_scale(b):
    return lambda rng, shape: (rng.normal(size=shape), rng.normal(size=shape), b)


def per_example_scale(rng, shape):
    return rng.normal(size=shape), rng.normal(size=shape), rng.uniform(0.1, 3.0, size=shape)


def _positive(rng, shape):
    return rng.uniform(0.1, 3.0, size=shape)


def nonpositive_variances(rng):
    """sigma2 below 0 as a number, and one variance among many."""
    n = int(rng.integers(3, 8))
    return [((rng.normal(size=n), rng.normal(size=n), float(-rng.uniform(1e-3, 5.0))), "for a negative sigma2"),
            ((rng.normal(size=n), rng.normal(size=n), one_entry_out_of_range(rng, (n,), -5.0, -1e-3, _positive)),
             "when one of several variances is negative")]


def nonpositive_scales(rng):
    n = int(rng.integers(3, 8))
    return [((rng.normal(size=n), rng.normal(size=n), float(-rng.uniform(1e-3, 5.0))), "for a negative b"),
            ((rng.normal(size=n), rng.normal(size=n), one_entry_out_of_range(rng, (n,), -5.0, -1e-3, _positive)),
             "when one of several scales is negative")]


SEED = seed_data()

register(NB, [
    ("mse_seed_value", "mse on the notebook's demonstration data",
     values(MSE, given(SEED, "on the demonstration data"), drawn(pair, [(12,), (4, 5)]))),
    ("mse_matches_torch", "mse agrees with F.mse_loss on arrays of any shape",
     values(MSE, drawn(pair, [(7,), (3, 4), (2, 3, 5), (1,)]))),
    ("mse_accepts_lists_and_float32", "mse accepts Python lists, scalars and float32 arrays",
     values(MSE, given(([1.0, 2.0, 4.0], [1, 3, 2]), "on Python lists"),
            lists_scalars_float32(pair, (2, 3), scalars=[(2.5, 1.0)], float32_shape=(4, 3)))),
    ("gaussian_nll_value", "gaussian_nll agrees with F.gaussian_nll_loss(full=True) for a scalar variance",
     values(GAUSSIAN, given(SEED + (0.01,), "on the demonstration data with sigma2=0.01"),
            drawn(with_variance(0.5), [(9,)]), drawn(with_variance(2.0), [(3, 4)]),
            drawn(drawn_variance, [(5,)], "on inputs of shape {shape} with a scalar variance"),
            given(([0.0, 1.0], [1.0, 1.0]), "with the default sigma2=1.0 on Python lists"),
            # The contract's formula below torch's floor (its eps clamps variances at 1e-6).
            given((np.array([2e-5, -1e-5, 0.0]), np.array([0.0, 1e-5, 3e-5]), 1e-9),
                  "with a tiny variance sigma2=1e-9"),
            drawn(tiny_variance, [(6,)], "on inputs of shape {shape} with a variance below 1e-7"))),
    ("gaussian_nll_per_example_variance", "gaussian_nll broadcasts an array of variances",
     values(GAUSSIAN, drawn(per_example_variance, [(8,)], "with one variance per example"),
            drawn(column_variance, [(4, 3)], "with variances of shape (4, 1) broadcast against targets of "
                                             "shape {shape}"))),
    ("gaussian_nll_rejects_nonpositive_variance", "gaussian_nll raises ValueError for sigma2 <= 0",
     rejects(GAUSSIAN, [(([1.0, 2.0], [1.5, 2.0], 0.0), "for sigma2=0"),
                        (([1.0, 2.0], [1.5, 2.0], -1.0), "for sigma2=-1"),
                        ((np.zeros(3), np.ones(3), np.array([1.0, -0.5, 2.0])),
                         "when one of several variances is negative")],
             valid=drawn(per_example_variance, [(6,)], "with positive variances"),
             drawn_invalid=nonpositive_variances)),
    ("gaussian_nll_large_residuals", "gaussian_nll stays finite and accurate for large residuals",
     values(GAUSSIAN, given((np.array([1e6, -3e5, 0.0]), np.array([-1e6, 2e5, 1e-3]), 1e-4),
                            "with residuals of order 1e6"),
            drawn(large_residuals, [(5,)], "with residuals of order 1e6"),
            lists_scalars_float32(with_variance(0.25), (3,), float32_shape=(3,)))),
    ("sigma2_mle_value", "sigma2_mle is the mean squared residual",
     values(SIGMA2, drawn(biased_residuals, [(12,), (3, 5)]),
            given(tuple(list(a) for a in SEED), "on Python lists"))),
    ("laplace_nll_value", "laplace_nll is the mean of log(2b) + |y - y_pred| / b",
     values(LAPLACE, drawn(with_scale(1.0), [(10,)]), drawn(with_scale(0.3), [(2, 6)]),
            drawn(per_example_scale, [(5,)], "with one scale per example"),
            given(([0.0, 2.0], [1.0, 1.0]), "with the default b=1.0 on lists"),
            given((np.array([1e-5, -2e-5]), np.array([0.0, 1e-5]), 1e-9), "with a tiny scale b=1e-9"))),
    ("laplace_nll_rejects_nonpositive_scale", "laplace_nll raises ValueError for b <= 0",
     rejects(LAPLACE, [(([1.0], [2.0], 0.0), "for b=0"), (([1.0], [2.0], -2.0), "for b=-2")],
             valid=drawn(per_example_scale, [(6,)], "with positive scales"), drawn_invalid=nonpositive_scales)),
])


@check(NB, "gaussian_nll_expr_equivalent", "the derived -log N(y; y_hat, sigma2) is correct")
def gaussian_nll_expr_equivalent(student, rng):
    y_hat, y, s2 = sym("y_hat"), sym("y"), sym("sigma2")
    want = sympy.log(2 * sympy.pi * s2) / 2 + (y - y_hat) ** 2 / (2 * s2)
    expect_equivalent(
        student, "gaussian_nll_expr", want,
        {"y_hat": (-3.0, 3.0), "y": (-3.0, 3.0), "sigma2": (0.1, 4.0)},
        mistakes=[
            ((y - y_hat) ** 2 / (2 * s2), "the normalising constant log(2*pi*sigma2)/2 is missing."),
            (-want, "the sign is flipped: this is log N, not -log N."),
            (sympy.log(2 * sympy.pi * s2) / 2 + (y - y_hat) ** 2 / s2, "the quadratic term is missing its 1/2."),
            (sympy.log(2 * sympy.pi * s2) + (y - y_hat) ** 2 / (2 * s2), "the log term is missing its 1/2."),
        ], rng=rng)


@check(NB, "nll_per_unit_mse_prediction", "the predicted increase of the mean NLL per unit of MSE at your own variance")
def nll_per_unit_mse_prediction(student, rng):
    # The variance is the student's own choice (not one the figure shows), so no number of the release answers it.
    s2 = chosen_number(student, "sigma2_for_prediction", "a variance", 0.01, 10.0)
    if any(abs(s2 - shown) < 1e-9 for shown in (0.05, 0.1, 0.2)):
        raise CheckFailed("`sigma2_for_prediction` should be a variance other than the figure's 0.05, 0.1 and 0.2.")
    expect_prediction(student, "nll_per_unit_mse", 1 / (2 * s2),
                      "the change of the mean NLL per unit of MSE for your sigma2_for_prediction", [
                          (1 / s2, "that is 1/sigma2; the quadratic term is (y - y_hat)^2 / (2 sigma2)."),
                          (2 * s2, "that is 2 sigma2; the MSE is divided by 2 sigma2, not multiplied."),
                          (1 / (2 * s2 ** 2), "sigma2 is already the variance: do not square it."),
                          (1 / (2 * s2 ** 0.5), "sigma2 is already the variance: do not take its square root."),
                      ])


@check(NB, "perfect_prediction_nll_prediction", "the predicted Gaussian NLL of a perfect prediction with your own variance")
def perfect_prediction_nll_prediction(student, rng):
    # The variance is the student's own choice (not the 0.01 the notebook prints), so no number of the release answers it.
    s2 = chosen_number(student, "sigma2_perfect", "a small variance", 0.001, 0.1)
    if abs(s2 - 0.01) < 1e-12:
        raise CheckFailed("`sigma2_perfect` should be a variance other than 0.01, whose NLL the notebook prints.")
    want = 0.5 * math.log(2 * math.pi * s2)
    expect_prediction(student, "perfect_prediction_nll", want,
                      "the NLL of a prediction equal to its target with your sigma2_perfect", [
                          (0.0, "with y == y_hat the squared term is 0, but the normalising constant "
                                "log(2*pi*sigma2)/2 is still there."),
                          (-want, "the sign is flipped: for a narrow density the NLL is negative."),
                          (math.log(2 * math.pi * s2), "the constant is half of log(2*pi*sigma2)."),
                          (0.5 * math.log(2 * math.pi * s2 ** 2), "sigma2 is already the variance: do not square it."),
                          (0.5 * math.log(2 * math.pi * math.sqrt(s2)), "sigma2 is already the variance: it is not sigma."),
                      ], rtol=1e-3)


@check(NB, "sigma2_mle_expr_equivalent", "the derived maximum-likelihood variance of one example is correct")
def sigma2_mle_expr_equivalent(student, rng):
    y_hat, y, s2 = sym("y_hat"), sym("y"), sym("sigma2")
    want = (y - y_hat) ** 2
    expect_equivalent(
        student, "sigma2_mle_expr", want, {"y_hat": (-3.0, 3.0), "y": (-3.0, 3.0)},
        mistakes=[
            (sympy.Abs(y - y_hat), "this is the best standard deviation sigma; the question asks for the "
                                   "variance sigma2."),
            ((y - y_hat) ** 2 / 2, "there is an extra factor 1/2: solve d/d sigma2 of the NLL = 0 for sigma2."),
            (2 * (y - y_hat) ** 2, "there is an extra factor 2: solve d/d sigma2 of the NLL = 0 for sigma2."),
        ], rng=rng)
