"""The contract's quantities computed by PyTorch, in float64, as NumPy values.

Imported only on the trusted side: the grading sandbox has no torch at all.
"""
import numpy as np
import torch
import torch.nn.functional as F


def _t(x, dtype=torch.float64):
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype)


def mse(y_pred, y):
    return F.mse_loss(_t(y_pred), _t(y)).item()


def gaussian_nll(y_pred, y, sigma2=1.0):
    y_pred_t, y_t = torch.broadcast_tensors(_t(y_pred), _t(y))
    var = _t(sigma2)
    if var.dim() == 0:
        var = var.expand_as(y_t)
    return F.gaussian_nll_loss(y_pred_t, y_t, var, full=True, eps=1e-12).item()


def sigmoid(z):
    return torch.sigmoid(_t(z)).numpy()


def bernoulli_nll(p, y):
    return F.binary_cross_entropy(_t(p), _t(y)).item()


def bce_with_logits(z, y):
    return F.binary_cross_entropy_with_logits(_t(z), _t(y)).item()


def softmax(z):
    return F.softmax(_t(z), dim=-1).numpy()


def log_softmax(z):
    return F.log_softmax(_t(z), dim=-1).numpy()


def categorical_nll(z, y):
    return F.cross_entropy(_t(z), torch.as_tensor(np.asarray(y), dtype=torch.long)).item()


def _grad_of(loss_fn, z):
    zt = _t(z).requires_grad_(True)
    (g,) = torch.autograd.grad(loss_fn(zt), zt)
    return g.numpy()


def bce_grad(z, y):
    return _grad_of(lambda zt: F.binary_cross_entropy_with_logits(zt, _t(y), reduction="sum"), z)


def mse_sigmoid_grad(z, y):
    return _grad_of(lambda zt: ((torch.sigmoid(zt) - _t(y)) ** 2).sum(), z)


def softmax_ce_grad(z, y):
    labels = torch.as_tensor(np.asarray(y), dtype=torch.long)
    return _grad_of(lambda zt: F.cross_entropy(zt, labels, reduction="sum"), z)


def grad_of_scalar_function(f_torch, x):
    return _grad_of(f_torch, x)


def logistic_regression_grad(X, y, w, b):
    """Autograd of F.binary_cross_entropy_with_logits(X @ w + b, y) (mean) with respect to w and b."""
    wt = _t(w).requires_grad_(True)
    bt = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(_t(X) @ wt + bt, _t(y))
    gw, gb = torch.autograd.grad(loss, (wt, bt))
    return gw.numpy(), float(gb)


def logistic_regression_run(loss, features, labels, w, b, steps, lr):
    """Gradient descent on the mean `loss` ("bce" or "mse") of sigmoid(features @ w + b), by
    autograd and torch.optim.SGD: the training accuracy and the logits after 0..steps steps."""
    x, y = _t(features), _t(labels)
    w = _t(w).clone().requires_grad_(True)
    b = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.SGD([w, b], lr=lr)
    accuracy, logits = [], []
    for step in range(steps + 1):
        z = x @ w + b
        accuracy.append(((z > 0) == (y == 1)).double().mean().item())
        logits.append(z.detach().numpy().copy())
        if step == steps:
            break
        optimiser.zero_grad()
        mean_loss = (F.binary_cross_entropy_with_logits(z, y) if loss == "bce"
                     else ((torch.sigmoid(z) - y) ** 2).mean())
        mean_loss.backward()
        optimiser.step()
    return np.array(accuracy), np.array(logits)


# mle_beyond ------------------------------------------------------------------

def _broadcast(*arrays):
    return [t.contiguous() for t in torch.broadcast_tensors(*(_t(a) for a in arrays))]


def gaussian_nll_logvar(y_pred, y, log_var):
    """Torch clamps the variance at eps=1e-6: a reference only for exp(log_var) >= 1e-6."""
    y_pred_t, y_t, log_var_t = _broadcast(y_pred, y, log_var)
    return F.gaussian_nll_loss(y_pred_t, y_t, torch.exp(log_var_t), full=True).item()


def gaussian_nll_logvar_grad(y_pred, y, log_var):
    y_pred_t, y_t, log_var_t = _broadcast(y_pred, y, log_var)
    y_pred_t.requires_grad_(True)
    log_var_t.requires_grad_(True)
    loss = F.gaussian_nll_loss(y_pred_t, y_t, torch.exp(log_var_t), full=True, reduction="sum")
    d_y_pred, d_log_var = torch.autograd.grad(loss, (y_pred_t, log_var_t))
    return d_y_pred.numpy(), d_log_var.numpy()


def soft_cross_entropy(z, q):
    return F.cross_entropy(_t(z), _t(q)).item()


def smoothed_cross_entropy(z, y, epsilon):
    return F.cross_entropy(_t(z), torch.as_tensor(np.asarray(y), dtype=torch.long), label_smoothing=epsilon).item()


def entropy(q):
    q_t = _t(q)
    return torch.distributions.Categorical(probs=q_t).entropy().mean().item()


def kl_divergence(q, p):
    """F.kl_div on rows: a 1-D q is one row (batchmean would divide by C)."""
    q_t, p_t = _t(q), _t(p)
    if q_t.dim() == 1:
        q_t, p_t = q_t[None, :], p_t[None, :]
    return F.kl_div(torch.log(p_t), q_t, reduction="batchmean").item()


def softmax_regression_grad(X, y, W, b):
    W_t, b_t = _t(W).requires_grad_(True), _t(b).requires_grad_(True)
    labels = torch.as_tensor(np.asarray(y), dtype=torch.long)
    loss = F.cross_entropy(_t(X) @ W_t + b_t, labels)
    d_w, d_b = torch.autograd.grad(loss, (W_t, b_t))
    return d_w.numpy(), d_b.numpy()


def temperature_nll_slope(z, y, temperature):
    """d/dT of the mean cross-entropy of z / T: zero at the maximum-likelihood temperature."""
    t = torch.tensor(float(temperature), dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(_t(z) / t, torch.as_tensor(np.asarray(y), dtype=torch.long))
    (slope,) = torch.autograd.grad(loss, t)
    return slope.item()


def smoothed_targets(y, num_classes, epsilon):
    """The target rows torch's label smoothing uses, read off autograd: at z = 0 the gradient of
    the summed F.cross_entropy(z, y, label_smoothing=epsilon) is softmax(0) - q = 1/C - q."""
    labels = torch.as_tensor(np.asarray(y), dtype=torch.long).reshape(-1)
    z = torch.zeros((labels.numel(), int(num_classes)), dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(F.cross_entropy(z, labels, label_smoothing=epsilon, reduction="sum"), z)
    return (1.0 / num_classes - grad).numpy()
