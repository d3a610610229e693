"""Checks of mle_beyond's 03_softmax_regression: the gradient of softmax regression, the
predicted initial loss, and the temperature fitted by maximum likelihood.

`fit_temperature` has no torch counterpart; its reference (a golden-section search,
where the notebook's solution bisects the derivative) is checked against torch's
derivative of the NLL in T in tests/test_reference_mle_beyond.py.
"""
import math

import numpy as np

from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref
from mle_grading.checks import check
from mle_grading.checks.api import F32, agree, expect_prediction
from mle_grading.checks.families import Graded, drawn, register, values
from mle_grading.checks.parts import Parts, parts_values
from mle_grading.checks.properties import as_lists, properties

NB = "03_softmax_regression"
NUM_CLASSES = 4              # the notebook's data set
TEMPERATURE_RTOL = 1e-4      # the contract's accuracy of fit_temperature


# -- softmax_regression_grad ------------------------------------------------------------

def grad_mistakes(X, y, W, b):
    X, W, b = (np.asarray(a, dtype=np.float64) for a in (X, W, b))
    labels = np.asarray(y).astype(int)
    n = X.shape[0]
    p = ref.softmax(X @ W + b)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), labels] = 1.0
    delta = p - onehot
    right_w, right_b = X.T @ delta / n, delta.mean(axis=0)
    found = [
        ("the gradient is not divided by N: it is the gradient of the mean cross-entropy, (1/N) X^T (P - Y).",
         right_w * n, right_b * n),
        ("dW is not divided by N while db is: both are gradients of the mean.", right_w * n, None),
        ("the sign is flipped: the gradient is (1/N) X^T (softmax - onehot), and gradient descent subtracts it.",
         -right_w, -right_b),
        ("the one-hot labels are missing: the gradient in the logits is softmax(z) - onehot(y).",
         X.T @ p / n, p.mean(axis=0)),
        ("the softmax is missing: the gradient in the logits is softmax(z) - onehot(y), not z - onehot(y).",
         X.T @ (X @ W + b - onehot) / n, (X @ W + b - onehot).mean(axis=0)),
        ("db is the sum over examples; like dW it is the gradient of the mean: divide by N.", None, right_b * n),
    ]
    cols = p.copy()
    cols[:, labels] -= 1.0
    found.append(("the labels pick whole columns: p[:, y] selects column y[i] in every row; pair the row numbers "
                  "with the labels, p[np.arange(N), y].", X.T @ cols / n, cols.mean(axis=0)))
    return found


GRAD = Parts("softmax_regression_grad", ("dW", "db"), ref.softmax_regression_grad, tref.softmax_regression_grad,
             grad_mistakes)
# Logits of size 1e4: the reference without torch's guard (Hypothesis-tested against torch there).
GRAD_EXTREME = Parts("softmax_regression_grad", ("dW", "db"), ref.softmax_regression_grad, None, grad_mistakes)
OVERFLOW = ("exp of a logit of 1000 or more overflows to inf: subtract each row's maximum logit before exp, "
            "which changes no probability.")


def problem(weight_scale=1.0):
    def draw(rng, shape):
        n, d, c = shape
        return (rng.normal(size=(n, d)), rng.integers(0, c, size=n), rng.normal(size=(d, c)) * weight_scale,
                rng.normal(size=c) * weight_scale)
    return draw


def extreme_problem(rng, shape):
    """Weights that give logits of order 1e3 to 1e4, the true class often far below the largest."""
    n, d, c = shape
    X = rng.choice([-1.0, 1.0], size=(n, d)) * rng.uniform(0.5, 1.0, size=(n, d))
    W = rng.choice([-1.0, 1.0], size=(d, c)) * rng.uniform(2e3, 5e3, size=(d, c))
    return X, rng.integers(0, c, size=n), W, rng.normal(size=c)


def float32_problem(rng, shape):
    X, y, W, b = problem()(rng, shape)
    return X.astype(np.float32), y.astype(np.int32), W.astype(np.float32), b.astype(np.float32)


# -- fit_temperature ----------------------------------------------------------------------

def temperature_mistakes(z, y):
    t = ref.fit_temperature(z, y)
    return [
        (1 / t, "this is 1/T, the factor the logits are multiplied by; return the temperature T that they are "
                "divided by."),
        (math.log(t), "this is log T; return T itself."),
        (t * t, "this is T squared."),
    ]  # never a constant here: a property check credits what this list recognises


def _interior(z, y):
    """Is the maximum-likelihood temperature inside [0.02, 50] (well inside the contract's range)?"""
    t = ref.fit_temperature(z, y)
    return 0.02 < t < 50


def calibration_set(true_temperature, logit_scale=3.0):
    """Logits, and labels drawn from softmax(z / T): the ML temperature is near T."""
    def draw(rng, shape):
        n, c = shape
        for _ in range(20):
            z = rng.normal(size=(n, c)) * logit_scale
            p = ref.softmax(z / true_temperature)
            y = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1).clip(0, c - 1)
            if _interior(z, y):
                return z, y
        raise RuntimeError("no calibration set with an interior temperature")  # our bug
    return draw


def scaled(draw, factor):
    def scaled_draw(rng, shape):
        for _ in range(20):
            z, y = draw(rng, shape)
            if _interior(z * factor, y):
                return z * factor, y
        raise RuntimeError("no scaled calibration set with an interior temperature")  # our bug
    return scaled_draw


def int32_labels(draw):
    def with_int32(rng, shape):
        z, y = draw(rng, shape)
        return z, y.astype(np.int32)
    return with_int32


TEMPERATURE = Graded("fit_temperature", ref.fit_temperature, None, temperature_mistakes, scalar=True)
T_TOL = {"rtol": TEMPERATURE_RTOL, "atol": 0.0}

register(NB, [
    ("softmax_regression_grad_matches_torch",
     "softmax_regression_grad agrees with autograd of F.cross_entropy(X @ W + b, y)",
     parts_values(GRAD, drawn(problem(), [(8, 3, 4), (5, 2, 3), (1, 4, 2), (12, 5, 6)],
                              "with (N, D, C) = {shape}"))),
    ("softmax_regression_grad_extreme_logits", "softmax_regression_grad is finite and correct for logits up to +-1e4",
     properties(GRAD_EXTREME, drawn(extreme_problem, [(6, 2, 3), (4, 3, 4)], "with logits of size up to 1e4"),
                nonfinite=OVERFLOW, fallback="for logits of size 1e3 to 1e4 the gradient is wrong: compute the "
                                             "softmax with each row's maximum subtracted.")),
    ("softmax_regression_grad_lists_and_float32",
     "softmax_regression_grad accepts Python lists, float32 arrays and int32 labels",
     properties(GRAD, as_lists(drawn(problem(), [(4, 2, 3)], "on nested Python lists")),
                drawn(float32_problem, [(5, 3, 4)], "on float32 arrays with int32 labels", **F32),
                fallback="on lists or float32 input the gradient is wrong: convert the inputs with "
                         "np.asarray(..., dtype=np.float64) and the labels with .astype(int).")),
    ("fit_temperature_value", "fit_temperature returns the maximum-likelihood temperature to a relative 1e-4",
     values(TEMPERATURE, drawn(calibration_set(0.5), [(300, 4)], "on a data set whose best T is below 1", **T_TOL),
            drawn(calibration_set(3.0), [(200, 3)], "on a data set whose best T is above 1", **T_TOL),
            drawn(calibration_set(1.5, 6.0), [(150, 6)], "on a data set with six classes", **T_TOL))),
    ("fit_temperature_scales_with_the_logits", "fit_temperature(a * z, y) is a * fit_temperature(z, y), stably",
     properties(TEMPERATURE, drawn(scaled(calibration_set(2.0), 10.0), [(200, 4)],
                                   "on logits ten times as large (logits up to about 100)", **T_TOL),
                drawn(scaled(calibration_set(2.0), 0.05), [(200, 4)], "on logits twenty times smaller", **T_TOL),
                drawn(scaled(calibration_set(0.3), 100.0), [(200, 3)], "on logits of order 1000", **T_TOL),
                nonfinite="exp of a large scaled logit overflowed: subtract each row's maximum before exp.",
                fallback="on logits scaled by a constant a the best temperature is a times the unscaled one; "
                         "the result is not: search the whole range [0.01, 100] to a relative 1e-4, and "
                         "compute the softmax stably.")),
    ("fit_temperature_accepts_lists", "fit_temperature accepts Python lists and int32 labels",
     properties(TEMPERATURE, as_lists(drawn(calibration_set(2.0), [(60, 3)], "on nested Python lists", **T_TOL)),
                drawn(int32_labels(calibration_set(1.0)), [(80, 4)], "with int32 labels", **T_TOL))),
])


# -- the predicted initial loss -----------------------------------------------------------------

def _initial_loss_mistakes(f):
    c = NUM_CLASSES
    return [
        (-np.sum(f * np.log2(f)), "this is in bits (log base 2); the cross-entropy uses the natural logarithm."),
        (np.sum(f * np.log(f)), "the sign is flipped: a cross-entropy is never negative."),
        (-np.mean(np.log(f)), "this averages over the classes; average over the examples, of which class k has a "
                              "share f_k."),
        (math.log(c), "this is log C, the loss at b = 0; the best bias gives every example the class frequencies "
                      "f_k instead of 1/C."),
        (float(np.max(f)), "this is the largest class frequency; the loss is the mean negative log-probability of "
                           "the labels."),
    ]


def training_class_fractions():
    """The class fractions of the notebook's training labels, drawn here as the notebook draws them
    (never read from the submission, which could change them)."""
    data_rng = np.random.default_rng(0)
    data_rng.normal(0, 1, size=(NUM_CLASSES, 2))          # the class centres, drawn first
    labels = data_rng.integers(0, NUM_CLASSES, size=100)
    return np.bincount(labels, minlength=NUM_CLASSES) / 100


@check(NB, "predicted_initial_loss_value", "predicted_initial_loss is the loss of the best model with W = 0")
def predicted_initial_loss_value(student, rng):
    f = training_class_fractions()
    # The loss itself: every training example given the probabilities f.
    logits = np.tile(np.log(f), (100, 1))
    labels = np.repeat(np.arange(NUM_CLASSES), np.round(f * 100).astype(int))
    want = ref.categorical_nll(logits, labels)
    agree(want, -np.sum(f * np.log(f)), "the loss of the best constant model")
    expect_prediction(student, "predicted_initial_loss", want, "", _initial_loss_mistakes(f), rtol=1e-6,
                      fallback="is not the mean cross-entropy of the model that gives every example the class "
                      "frequencies: which probability does it give an example of class k, and how many are there?")
