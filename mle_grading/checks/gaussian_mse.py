"""Checks of notebook 01_gaussian_mse: Gaussian likelihood -> mean squared error."""
import math

import numpy as np
import sympy

from .. import reference as ref
from .. import torch_reference as tref
from . import check
from .expect import expect_close, expect_prediction, expect_raises, returned_scalar, rng_for
from .symbolic import expect_equivalent, sym

NB = "01_gaussian_mse"


def seed_data():
    """The contract's demonstration data."""
    rng = np.random.RandomState(0)
    x = np.linspace(-1, 1, 20)
    y = 2 * x + 1 + rng.normal(0, 0.1, size=x.shape)
    return 1.0 * x + 0.0, y


def mse_mistakes(y_pred, y):
    r = np.asarray(y, float) - np.asarray(y_pred, float)
    return [
        (np.sum(r ** 2), "this is the sum of squared residuals; the loss is their mean."),
        (np.sqrt(np.mean(r ** 2)), "this is the root of the mean squared error (RMSE); do not take the square root."),
        (np.mean(np.abs(r)), "this is the mean absolute error: square the residuals."),
        (np.mean(r) ** 2, "this squares the mean residual; take the mean of the squared residuals."),
        (0.5 * np.mean(r ** 2), "there is an extra factor 1/2."),
    ]


@check(NB, "mse_seed_value", "mse on the notebook's demonstration data")
def mse_seed_value(student):
    y_pred, y = seed_data()
    got = returned_scalar(student, "mse", y_pred, y)
    expect_close(got, ref.mse(y_pred, y), "`mse` on the demonstration data", mse_mistakes(y_pred, y))


@check(NB, "mse_matches_torch", "mse agrees with F.mse_loss on arrays of any shape")
def mse_matches_torch(student):
    rng = rng_for("mse_matches_torch")
    for shape in [(7,), (3, 4), (2, 3, 5), (1,)]:
        y_pred, y = rng.normal(size=shape) * 3, rng.normal(size=shape)
        got = returned_scalar(student, "mse", y_pred, y)
        want = ref.mse(y_pred, y)
        if not math.isclose(want, tref.mse(y_pred, y), rel_tol=1e-12):
            raise RuntimeError("reference and torch disagree")  # a bug of ours, never the student's
        expect_close(got, want, f"`mse` on inputs of shape {shape}", mse_mistakes(y_pred, y))


@check(NB, "mse_accepts_lists_and_float32", "mse accepts Python lists, scalars and float32 arrays")
def mse_accepts_lists_and_float32(student):
    expect_close(returned_scalar(student, "mse", [1.0, 2.0, 4.0], [1, 3, 2]), 5 / 3, "`mse` on Python lists")
    expect_close(returned_scalar(student, "mse", 2.5, 1.0), 2.25, "`mse` on two Python floats")
    rng = rng_for("mse_float32")
    a, b = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    expect_close(returned_scalar(student, "mse", a, b), ref.mse(a, b), "`mse` on float32 arrays", rtol=1e-5)


def gaussian_mistakes(y_pred, y, s2):
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
    ]


def _gaussian_value_check(student, y_pred, y, s2, what):
    got = returned_scalar(student, "gaussian_nll", y_pred, y, s2)
    want = ref.gaussian_nll(y_pred, y, s2)
    if np.all(np.asarray(s2) >= 1e-6) and not math.isclose(want, tref.gaussian_nll(y_pred, y, s2), rel_tol=1e-10):
        raise RuntimeError("reference and torch disagree")
    expect_close(got, want, what, gaussian_mistakes(y_pred, y, s2))


@check(NB, "gaussian_nll_value", "gaussian_nll agrees with F.gaussian_nll_loss(full=True) for a scalar variance")
def gaussian_nll_value(student):
    y_pred, y = seed_data()
    _gaussian_value_check(student, y_pred, y, 0.01, "`gaussian_nll` on the demonstration data with sigma2=0.01")
    rng = rng_for("gaussian_nll_value")
    for shape, s2 in [((9,), 0.5), ((3, 4), 2.0), ((5,), 1.0)]:
        _gaussian_value_check(student, rng.normal(size=shape), rng.normal(size=shape), s2,
                              f"`gaussian_nll` on inputs of shape {shape}")
    got = returned_scalar(student, "gaussian_nll", [0.0, 1.0], [1.0, 1.0])
    expect_close(got, ref.gaussian_nll([0.0, 1.0], [1.0, 1.0], 1.0),
                 "`gaussian_nll` with the default sigma2=1.0 on Python lists")


@check(NB, "gaussian_nll_per_example_variance", "gaussian_nll broadcasts an array of variances")
def gaussian_nll_per_example_variance(student):
    rng = rng_for("gaussian_nll_per_example_variance")
    n = 8
    y_pred, y = rng.normal(size=n), rng.normal(size=n)
    s2 = rng.uniform(0.1, 3.0, size=n)
    _gaussian_value_check(student, y_pred, y, s2, "`gaussian_nll` with one variance per example")
    yp2, y2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    s2col = rng.uniform(0.2, 2.0, size=(4, 1))
    got = returned_scalar(student, "gaussian_nll", yp2, y2, s2col)
    expect_close(got, ref.gaussian_nll(yp2, y2, s2col),
                 "`gaussian_nll` with variances of shape (4, 1) broadcast against targets of shape (4, 3)",
                 gaussian_mistakes(yp2, y2, s2col))


@check(NB, "gaussian_nll_rejects_nonpositive_variance", "gaussian_nll raises ValueError for sigma2 <= 0")
def gaussian_nll_rejects_nonpositive_variance(student):
    expect_raises(student, "gaussian_nll", "ValueError", "for sigma2=0", [1.0, 2.0], [1.5, 2.0], 0.0)
    expect_raises(student, "gaussian_nll", "ValueError", "for sigma2=-1", [1.0, 2.0], [1.5, 2.0], -1.0)
    expect_raises(student, "gaussian_nll", "ValueError", "when one of several variances is negative",
                  np.zeros(3), np.ones(3), np.array([1.0, -0.5, 2.0]))


@check(NB, "gaussian_nll_large_residuals", "gaussian_nll stays finite and accurate for large residuals")
def gaussian_nll_large_residuals(student):
    y_pred = np.array([1e6, -3e5, 0.0])
    y = np.array([-1e6, 2e5, 1e-3])
    _gaussian_value_check(student, y_pred, y, 1e-4, "`gaussian_nll` with residuals of order 1e6")
    yp32 = np.array([0.5, 1.5, -2.0], dtype=np.float32)
    y32 = np.array([1.0, 1.0, 1.0], dtype=np.float32)
    got = returned_scalar(student, "gaussian_nll", yp32, y32, 0.25)
    expect_close(got, ref.gaussian_nll(yp32, y32, 0.25), "`gaussian_nll` on float32 arrays", rtol=1e-5)


@check(NB, "gaussian_nll_expr_equivalent", "the derived -log N(y; y_hat, sigma2) is correct")
def gaussian_nll_expr_equivalent(student):
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
        ])


@check(NB, "sigma2_mle_value", "sigma2_mle is the mean squared residual")
def sigma2_mle_value(student):
    rng = rng_for("sigma2_mle_value")
    for shape in [(12,), (3, 5)]:
        y_pred = rng.normal(size=shape)
        y = y_pred + rng.normal(0.3, 0.7, size=shape)  # residuals with a nonzero mean
        r = y - y_pred
        got = returned_scalar(student, "sigma2_mle", y_pred, y)
        expect_close(got, ref.sigma2_mle(y_pred, y), f"`sigma2_mle` on inputs of shape {shape}", [
            (np.sum(r ** 2) / (r.size - 1), "this divides by N-1 (the unbiased estimate); "
                                            "the maximum-likelihood estimate divides by N."),
            (np.var(r), "this is the variance of the residuals around their own mean; the model says the "
                        "noise has mean 0, so take the mean of the squared residuals themselves."),
            (np.sqrt(np.mean(r ** 2)), "this is sigma, the standard deviation; return the variance sigma^2."),
            (np.sum(r ** 2), "this is the sum of squared residuals; divide by N."),
        ])
    y_pred, y = seed_data()
    expect_close(returned_scalar(student, "sigma2_mle", list(y_pred), list(y)), ref.sigma2_mle(y_pred, y),
                 "`sigma2_mle` on Python lists")


def laplace_mistakes(y_pred, y, b):
    a = np.abs(np.asarray(y, float) - np.asarray(y_pred, float))
    return [
        (np.mean(a / b), "the constant term log(2b) is missing."),
        (np.sum(np.log(2 * b) + a / b), "this is a sum over examples; the loss is the mean."),
        (np.mean(np.log(2 * b) + a ** 2 / b), "the Laplace density uses |y - y_pred|, not its square."),
        (np.mean(np.log(b) + a / b), "the constant is log(2b), not log(b)."),
        (-np.mean(np.log(2 * b) + a / b), "the sign is flipped."),
    ]


@check(NB, "laplace_nll_value", "laplace_nll is the mean of log(2b) + |y - y_pred| / b")
def laplace_nll_value(student):
    rng = rng_for("laplace_nll_value")
    for shape, b in [((10,), 1.0), ((2, 6), 0.3), ((5,), np.array([0.5, 1.0, 2.0, 0.1, 3.0]))]:
        y_pred, y = rng.normal(size=shape), rng.normal(size=shape)
        got = returned_scalar(student, "laplace_nll", y_pred, y, b)
        expect_close(got, ref.laplace_nll(y_pred, y, b), f"`laplace_nll` on inputs of shape {shape}",
                     laplace_mistakes(y_pred, y, b))
    got = returned_scalar(student, "laplace_nll", [0.0, 2.0], [1.0, 1.0])
    expect_close(got, ref.laplace_nll([0.0, 2.0], [1.0, 1.0]), "`laplace_nll` with the default b=1.0 on lists")


@check(NB, "laplace_nll_rejects_nonpositive_scale", "laplace_nll raises ValueError for b <= 0")
def laplace_nll_rejects_nonpositive_scale(student):
    expect_raises(student, "laplace_nll", "ValueError", "for b=0", [1.0], [2.0], 0.0)
    expect_raises(student, "laplace_nll", "ValueError", "for b=-2", [1.0], [2.0], -2.0)



@check(NB, "nll_per_unit_mse_prediction", "the predicted increase of the mean NLL per unit of MSE at sigma2 = 0.2")
def nll_per_unit_mse_prediction(student):
    s2 = 0.2
    expect_prediction(student, "nll_per_unit_mse", 1 / (2 * s2),
                      "the change of the mean NLL per unit of MSE for sigma2 = 0.2", [
                          (1 / s2, "that is 1/sigma2; the quadratic term is (y - y_hat)^2 / (2 sigma2)."),
                          (2 * s2, "that is 2 sigma2; the MSE is divided by 2 sigma2, not multiplied."),
                          (1 / (2 * s2 ** 2), "sigma2 is already the variance: do not square it."),
                          (1 / (2 * s2 ** 0.5), "sigma2 is already the variance: do not take its square root."),
                      ])


@check(NB, "perfect_prediction_nll_prediction", "the predicted Gaussian NLL of a perfect prediction with sigma2 = 0.01")
def perfect_prediction_nll_prediction(student):
    s2 = 0.01
    want = 0.5 * math.log(2 * math.pi * s2)
    expect_prediction(student, "perfect_prediction_nll", want,
                      "the NLL of a prediction equal to its target with sigma2 = 0.01", [
                          (0.0, "with y == y_hat the squared term is 0, but the normalising constant "
                                "log(2*pi*sigma2)/2 is still there."),
                          (-want, "the sign is flipped: for a narrow density the NLL is negative."),
                          (math.log(2 * math.pi * s2), "the constant is half of log(2*pi*sigma2)."),
                          (0.5 * math.log(2 * math.pi * s2 ** 2), "sigma2 is already the variance: do not square it."),
                          (0.5 * math.log(2 * math.pi * math.sqrt(s2)), "sigma2 is already the variance: it is not sigma."),
                      ], rtol=1e-3)


@check(NB, "sigma2_mle_expr_equivalent", "the derived maximum-likelihood variance of one example is correct")
def sigma2_mle_expr_equivalent(student):
    y_hat, y, s2 = sym("y_hat"), sym("y"), sym("sigma2")
    want = (y - y_hat) ** 2
    expect_equivalent(
        student, "sigma2_mle_expr", want, {"y_hat": (-3.0, 3.0), "y": (-3.0, 3.0)},
        mistakes=[
            (sympy.Abs(y - y_hat), "this is the best standard deviation sigma; the question asks for the "
                                   "variance sigma2."),
            ((y - y_hat) ** 2 / 2, "there is an extra factor 1/2: solve d/d sigma2 of the NLL = 0 for sigma2."),
            (2 * (y - y_hat) ** 2, "there is an extra factor 2: solve d/d sigma2 of the NLL = 0 for sigma2."),
        ])
