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
