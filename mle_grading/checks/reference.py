"""Naive float64 reference implementations of the contract's functions.

Written for clarity, not speed, and independently of the notebooks' solutions.
Each is stable only where the contract demands it, by the most explicit route.
"""
import math

import numpy as np


def _f64(x):
    return np.asarray(x, dtype=np.float64)


# 01_gaussian_mse -----------------------------------------------------------

def mse(y_pred, y):
    return float(np.mean((_f64(y_pred) - _f64(y)) ** 2))


def gaussian_nll(y_pred, y, sigma2=1.0):
    y_pred, y, sigma2 = _f64(y_pred), _f64(y), _f64(sigma2)
    if np.any(sigma2 <= 0):
        raise ValueError("sigma2 must be positive")
    terms = 0.5 * np.log(2 * math.pi * sigma2) + (y - y_pred) ** 2 / (2 * sigma2)
    return float(np.mean(terms))


def sigma2_mle(y_pred, y):
    return float(np.mean((_f64(y) - _f64(y_pred)) ** 2))


def laplace_nll(y_pred, y, b=1.0):
    y_pred, y, b = _f64(y_pred), _f64(y), _f64(b)
    if np.any(b <= 0):
        raise ValueError("b must be positive")
    return float(np.mean(np.log(2 * b) + np.abs(y - y_pred) / b))


# 02_bernoulli_bce ----------------------------------------------------------

def sigmoid(z):
    z = _f64(z)
    # exp of a non-positive number never overflows.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _xlogy(x, y):
    """x * log(y) with 0 * log(0) = 0."""
    x, y = np.broadcast_arrays(_f64(x), _f64(y))
    out = np.zeros(x.shape)
    nz = x != 0
    out[nz] = x[nz] * np.log(y[nz])
    return out


def bernoulli_nll(p, y):
    p, y = _f64(p), _f64(y)
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError("probabilities must lie in [0, 1]")
    return float(np.mean(-_xlogy(y, p) - _xlogy(1 - y, 1 - p)))


def softplus(z):
    """log(1 + exp(z)), exact for every finite z."""
    z = _f64(z)
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def bce_with_logits(z, y):
    z, y = _f64(z), _f64(y)
    # -log sigmoid(z) = softplus(-z);  -log(1 - sigmoid(z)) = softplus(z)
    return float(np.mean(y * softplus(-z) + (1 - y) * softplus(z)))


# 03_categorical_ce ---------------------------------------------------------

def log_softmax(z):
    z = _f64(z)
    m = np.max(z, axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def softmax(z):
    return np.exp(log_softmax(z))


def categorical_nll(z, y):
    z = _f64(z)
    y = np.asarray(y)
    if z.ndim == 1:
        z, y = z[None, :], np.reshape(y, (1,))
    logp = log_softmax(z)
    picked = [logp[i, int(y[i])] for i in range(z.shape[0])]
    return float(-np.mean(picked))


# 04_gradients --------------------------------------------------------------

def numerical_grad(f, x, eps=1e-6):
    """Central differences along each basis direction, from fresh points x +- eps e_k
    (x itself is never written to)."""
    x = _f64(x)
    steps = np.eye(x.size).reshape((x.size,) + x.shape) * eps
    slopes = [(f(x + step) - f(x - step)) / (2 * eps) for step in steps]
    return np.array(slopes, dtype=np.float64).reshape(x.shape)


def bce_grad(z, y):
    return sigmoid(z) - _f64(y)


def mse_sigmoid_grad(z, y):
    s = sigmoid(z)
    return 2 * (s - _f64(y)) * s * (1 - s)


def softmax_ce_grad(z, y):
    z = _f64(z)
    y = np.asarray(y)
    if z.ndim == 1:
        onehot = np.zeros_like(z)
        onehot[int(y)] = 1.0
        return softmax(z) - onehot
    onehot = np.zeros_like(z)
    onehot[np.arange(z.shape[0]), y.astype(int)] = 1.0
    return softmax(z) - onehot


def relative_error(a, n):
    """CS231n's relative error of an analytic against a numerical gradient."""
    a, n = _f64(a), _f64(n)
    return np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))


def logistic_regression_grad(X, y, w, b):
    """Gradient of the mean BCE of X @ w + b with respect to w and b."""
    X = _f64(X)
    g = bce_grad(X @ _f64(w) + float(b), y)
    return X.T @ g / X.shape[0], float(np.mean(g))


# mle_beyond / 01_learned_variance ----------------------------------------------
# Written through the variance itself (sigma2 = exp(log_var)), not through
# exp(-log_var) as the notebook derives it: exp of a log-variance in [-50, 50] is
# far from float64's limits, so the naive route is exact there.

def gaussian_nll_logvar(y_pred, y, log_var):
    y_pred, y, log_var = np.broadcast_arrays(_f64(y_pred), _f64(y), _f64(log_var))
    sigma2 = np.exp(log_var)
    terms = 0.5 * np.log(2 * math.pi * sigma2) + (y - y_pred) ** 2 / (2 * sigma2)
    return float(np.mean(terms))


def gaussian_nll_logvar_grad(y_pred, y, log_var):
    """Per-element derivatives of the NLL in y_pred and in log_var (chain rule through sigma2)."""
    y_pred, y, log_var = np.broadcast_arrays(_f64(y_pred), _f64(y), _f64(log_var))
    sigma2 = np.exp(log_var)
    d_y_pred = (y_pred - y) / sigma2
    # d/d sigma2 of the NLL, times d sigma2 / d log_var = sigma2
    d_sigma2 = 1 / (2 * sigma2) - (y - y_pred) ** 2 / (2 * sigma2 ** 2)
    return d_y_pred, d_sigma2 * sigma2


def laplace_b_mle(y_pred, y):
    a = np.abs(_f64(y) - _f64(y_pred)).ravel()
    return float(math.fsum(a) / a.size)


# mle_beyond / 02_soft_targets ---------------------------------------------------

def _rows(a):
    a = _f64(a)
    return a[None, :] if a.ndim == 1 else a


def _check_distributions(q):
    if np.any(np.isnan(q)) or np.any(q < 0):
        raise ValueError("target probabilities must be non-negative")
    if np.any(np.abs(np.sum(q, axis=-1) - 1) > 1e-6):
        raise ValueError("each target row must sum to 1")


def soft_cross_entropy(z, q):
    z, q = _rows(z), _rows(q)
    _check_distributions(q)
    # -sum_c q_c (z_c - lse(z)) = lse(z) * sum_c q_c - q . z
    m = np.max(z, axis=1)
    lse = m + np.log(np.sum(np.exp(z - m[:, None]), axis=1))
    return float(np.mean(lse * np.sum(q, axis=1) - np.sum(q * z, axis=1)))


def smooth_labels(y, num_classes, epsilon):
    if not 0 <= epsilon <= 1:
        raise ValueError("epsilon must lie in [0, 1]")
    labels = np.asarray(y).astype(int).ravel()
    out = np.full((labels.size, int(num_classes)), epsilon / num_classes)
    for i, label in enumerate(labels):
        out[i, label] += 1 - epsilon
    return out


def entropy(q):
    q = _rows(q)
    return float(np.mean(-np.sum(_xlogy(q, q), axis=1)))


def kl_divergence(q, p):
    q, p = _rows(q), _rows(p)
    with np.errstate(divide="ignore"):
        return float(np.mean(np.sum(_xlogy(q, q) - _xlogy(q, p), axis=1)))


# mle_beyond / 03_softmax_regression ---------------------------------------------

def softmax_regression_grad(X, y, W, b):
    """Gradient of the mean cross-entropy of X @ W + b, as a sum of per-example outer products."""
    X, W, b = _f64(X), _f64(W), _f64(b)
    labels = np.asarray(y).astype(int)
    n = X.shape[0]
    error = softmax(X @ W + b)
    error[np.arange(n), labels] -= 1.0
    d_w = np.einsum("nd,nc->dc", X, error) / n
    return d_w, error.sum(axis=0) / n


def _temperature_nll(z, labels, beta):
    return categorical_nll(beta * z, labels)


def fit_temperature(z, y):
    """Golden-section search over log(1/T) in [log 0.01, log 100]: the NLL is convex in 1/T."""
    z, labels = _f64(z), np.asarray(y).astype(int)
    lo, hi = math.log(1e-2), math.log(1e2)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _temperature_nll(z, labels, math.exp(a)), _temperature_nll(z, labels, math.exp(b))
    while hi - lo > 1e-10:
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = _temperature_nll(z, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _temperature_nll(z, labels, math.exp(b))
    return float(1 / math.exp((lo + hi) / 2))
