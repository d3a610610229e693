"""Trusted versions of the student functions that others build on, in plain NumPy.

One mistake costs once: when a check calls an outer function (categorical_nll on
log_softmax), its inner names are bound to these for that one call. This file is
never mounted in the sandbox: the source of just the functions a call needs is
sent with that call (`protocol.trusted_inner_source`, `wire.call_with_trusted_source`),
and it imports nothing but NumPy. Extra arguments a
student's own helper takes (axis=-1, say) are accepted and ignored.
"""
import numpy as np

def _trusted_mse(y_pred, y, *_, **__):
    return float(np.mean((np.asarray(y_pred, dtype=np.float64) - np.asarray(y, dtype=np.float64)) ** 2))


def _trusted_sigmoid(z, *_, **__):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _trusted_bernoulli_nll(p, y, *_, **__):
    p, y = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64))
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(y == 0, 0.0, y * np.log(np.where(y == 0, 1.0, p)))
        neg = np.where(y == 1, 0.0, (1 - y) * np.log(np.where(y == 1, 1.0, 1 - p)))
    return float(np.mean(-pos - neg))


def _trusted_bce_with_logits(z, y, *_, **__):
    z, y = np.asarray(z, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.mean(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))))


def _trusted_log_softmax(z, *_, **__):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _trusted_softmax(z, *_, **__):
    return np.exp(_trusted_log_softmax(z))


def _trusted_bce_grad(z, y, *_, **__):
    return _trusted_sigmoid(z) - np.asarray(y, dtype=np.float64)


def _trusted_mse_sigmoid_grad(z, y, *_, **__):
    s = _trusted_sigmoid(z)
    return 2 * (s - np.asarray(y, dtype=np.float64)) * s * (1 - s)


TRUSTED_INNER = {
    "mse": _trusted_mse,
    "sigmoid": _trusted_sigmoid,
    "bernoulli_nll": _trusted_bernoulli_nll,
    "bce_with_logits": _trusted_bce_with_logits,
    "softmax": _trusted_softmax,
    "log_softmax": _trusted_log_softmax,
    "bce_grad": _trusted_bce_grad,
    "mse_sigmoid_grad": _trusted_mse_sigmoid_grad,
}
