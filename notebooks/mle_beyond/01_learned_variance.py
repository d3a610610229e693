# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. A model that knows how unsure it is: learned variance
#
# In `mle_losses` the noise variance $\sigma^2$ was one number for the whole data
# set, and the predictions that maximised the likelihood were the ones that
# minimised MSE, whatever $\sigma^2$ was. Real data are rarely that kind: a sensor
# is noisier at high temperature, a price is more variable for larger houses. A
# model can output a **mean and a variance for every example**, and the same
# maximum-likelihood route then gives a loss that is no longer plain MSE.
#
# **model → likelihood → log → negative log-likelihood → loss → gradient**
#
# You will implement `gaussian_nll_logvar`, its gradient `gaussian_nll_logvar_grad`
# and, for the Laplace likelihood, `laplace_b_mle`, with NumPy only, and train a
# small model with your own gradient. PyTorch is what the grader compares your
# answers with, not a tool for the answers: a function that calls `torch` earns no
# points.
#
# **Time.** About 80 minutes for a first-time student (the assignment of three
# notebooks takes about 4 hours). The notebook's own code runs in a few seconds.
#
# **How this notebook is graded.** Each answer cell is followed by test cells. The
# asserts you can see are examples; when grading, more cases are checked (other
# shapes, lists, float32, extreme log-variances), each worth its own points.
# *Validate* runs the visible ones.

# %%
import math

import numpy as np
import matplotlib.pyplot as plt

# %% [markdown]
# ## 1.1 The model: a mean and a log-variance per example
#
# For input $x_i$ the model now outputs two numbers, a mean $\mu_i$ and a
# **log-variance** $s_i$, and says
#
# $$ y_i \sim \mathcal N\!\left(\mu_i,\ \sigma_i^2\right), \qquad \sigma_i^2 = e^{s_i}. $$
#
# Why output $s = \log\sigma^2$ rather than $\sigma^2$ itself? A network's output
# layer produces any real number. A variance must be positive; $e^{s}$ is positive
# for every real $s$, so no constraint is needed, no clipping, no special case at 0.
# It also puts the variance on the scale where it varies: a variance from $10^{-4}$
# to $10^{4}$ is $s$ from $-9.2$ to $9.2$, and a step in $s$ changes $\sigma^2$ by the
# same *factor* wherever you are. The next cell puts numbers on both points.

# %%
raw_outputs = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
print("output as the variance itself:", raw_outputs, "-> negative values are no variance at all")
print("output as a log-variance:     ", np.round(np.exp(raw_outputs), 4), "-> always positive")
print("variance 1e-4 .. 1e4 is log-variance", round(math.log(1e-4), 2), "..", round(math.log(1e4), 2))

# %% [markdown]
# ## 1.2 The likelihood, its logarithm, and the loss
#
# The examples are independent, so the likelihood is the product of the densities
#
# $$ L = \prod_{i=1}^N \frac{1}{\sqrt{2\pi e^{s_i}}} \exp\!\left(-\frac{(y_i - \mu_i)^2}{2 e^{s_i}}\right), $$
#
# and, as always, we minimise the mean negative log-likelihood.
#
# ### Exercise: implement `gaussian_nll_logvar(y_pred, y, log_var)`
#
# Take $-\log$ of one factor above, with $\log e^{s} = s$ used wherever it appears,
# and return the mean over all elements. `y_pred` is $\mu$, `log_var` is $s$.
#
# - `log_var` broadcasts against `y` by NumPy's rules: a scalar is one variance for
#   all, an array of the shape of `y` one per example.
# - It must be exact wherever the true value is finite, for every `log_var` in
#   $[-50, 50]$: write it in terms of `log_var` ($\log\sigma^2$ is `log_var` itself).
#   Do not clamp the variance or add a small constant to it "for stability": PyTorch
#   clamps at $10^{-6}$, and below that floor its value is no longer this function's.
#
# PyTorch's version is `F.gaussian_nll_loss(y_pred, y, exp(log_var), full=True)`.

# %% kind="answer" id="gaussian_nll_logvar_answer"
def gaussian_nll_logvar(y_pred, y, log_var):
    """Mean negative log-likelihood of y under N(y_pred, exp(log_var))."""
    ### BEGIN SOLUTION
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    log_var = np.asarray(log_var, dtype=np.float64)
    per_element = 0.5 * (math.log(2 * math.pi) + log_var + (y - y_pred) ** 2 * np.exp(-log_var))
    return float(np.mean(np.broadcast_to(per_element, np.broadcast_shapes(y_pred.shape, y.shape, log_var.shape))))
    ### END SOLUTION


# %% kind="test" id="gaussian_nll_logvar_value" points=5
# log_var = 0 is the variance 1: the Gaussian NLL of mle_losses with sigma2 = 1.
assert math.isclose(gaussian_nll_logvar([0.0, 1.0], [1.0, 1.0], 0.0), 0.5 * math.log(2 * math.pi) + 0.25)
assert math.isclose(gaussian_nll_logvar([0.0], [0.0], math.log(4.0)), 0.5 * math.log(2 * math.pi * 4.0))

# %% kind="test" id="gaussian_nll_logvar_broadcasts" points=3
# One log-variance per row, broadcast along the columns.
got = gaussian_nll_logvar(np.zeros((2, 3)), np.ones((2, 3)), np.array([[0.0], [math.log(2.0)]]))
want = np.mean([0.5 * math.log(2 * math.pi) + 0.5, 0.5 * math.log(2 * math.pi * 2.0) + 0.25])
assert math.isclose(got, want)

# %% kind="test" id="gaussian_nll_logvar_extreme_log_var" points=5
assert math.isclose(gaussian_nll_logvar([0.0], [0.0], -50.0), 0.5 * (math.log(2 * math.pi) - 50.0))
assert math.isfinite(gaussian_nll_logvar([1e3], [-1e3], 50.0))

# %% kind="test" id="gaussian_nll_logvar_lists_and_float32" points=2
assert math.isclose(gaussian_nll_logvar(np.float32([0.5]), np.float32([1.5]), np.float32(0.0)),
                    0.5 * math.log(2 * math.pi) + 0.5, rel_tol=1e-6)

# %% [markdown]
# ### What the loss is made of
#
# Your function computes, per example,
#
# $$ \ell_i = \tfrac12 \log 2\pi \;+\; \tfrac12\, e^{-s_i}\, (y_i - \mu_i)^2 \;+\; \tfrac12\, s_i . $$
#
# Read it as two forces. The middle term is a **weighted squared error**, with weight
# $e^{-s_i}$: an example the model calls noisy (large $s_i$) counts less. Left alone,
# that term would push every $s_i$ to $+\infty$ and ignore all data. The last term,
# the **log-variance penalty** $\tfrac12 s_i$, stops it: claiming a large variance
# costs. With one variance shared by all examples and $s$ fixed, the weight is a
# constant and we are back at MSE. The cell computes both parts for a residual of 2
# at three log-variances: the weighted error falls as $s$ grows, the penalty rises.

# %%
for s in (-1.0, math.log(4.0), 3.0):
    weighted, penalty = 0.5 * math.exp(-s) * 2.0 ** 2, 0.5 * s
    print(f"s = {s:6.3f}: weighted squared error {weighted:7.4f}  penalty {penalty:7.4f}  "
          f"sum + constant {weighted + penalty + 0.5 * math.log(2 * math.pi):7.4f}  "
          f"(gaussian_nll_logvar: {gaussian_nll_logvar([0.0], [2.0], s):7.4f})")

# %% [markdown]
# ## 1.3 The gradient
#
# To train a model that outputs $\mu_i$ and $s_i$ we need the derivatives of the
# per-example loss $\ell_i$ with respect to both outputs.
#
# ### Exercise: implement `gaussian_nll_logvar_grad(y_pred, y, log_var)`
#
# Differentiate $\ell_i$ (the per-example term, *not* the mean) with respect to
# $\mu_i$ and to $s_i$ by hand, then return the tuple
# `(d_y_pred, d_log_var)`: two arrays, each of the broadcast shape of the three
# arguments, one derivative per element. With a scalar `log_var` that is still one
# derivative per element (the model has one output per example, even if they are
# equal), not their sum. Keep it finite for `log_var` in $[-50, 50]$.

# %% kind="answer" id="gaussian_nll_logvar_grad_answer"
def gaussian_nll_logvar_grad(y_pred, y, log_var):
    """Per-element derivatives of the Gaussian NLL in y_pred and in log_var."""
    ### BEGIN SOLUTION
    y_pred, y, log_var = np.broadcast_arrays(np.asarray(y_pred, dtype=np.float64),
                                             np.asarray(y, dtype=np.float64),
                                             np.asarray(log_var, dtype=np.float64))
    precision = np.exp(-log_var)
    residual = y_pred - y
    return residual * precision, 0.5 * (1.0 - residual ** 2 * precision)
    ### END SOLUTION


# %% [markdown]
# ### Check it numerically before you trust it
#
# A central difference of your own `gaussian_nll_logvar` on a one-element input is
# the derivative of $\ell$ itself. If the next cell prints large relative errors,
# your formula is wrong (or it returns the gradient of the mean over a longer input).

# %%
def central_difference(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


rng = np.random.default_rng(3)
worst = 0.0
for _ in range(20):
    mu, target, s = rng.normal(), rng.normal(), rng.uniform(-3, 3)
    d_mu, d_s = gaussian_nll_logvar_grad([mu], [target], [s])
    num_mu = central_difference(lambda m: gaussian_nll_logvar([m], [target], [s]), mu)
    num_s = central_difference(lambda v: gaussian_nll_logvar([mu], [target], [v]), s)
    for analytic, numeric in ((d_mu[0], num_mu), (d_s[0], num_s)):
        worst = max(worst, abs(analytic - numeric) / max(1e-8, abs(analytic) + abs(numeric)))
print(f"largest relative error over 20 random points: {worst:.1e}")

# %% kind="test" id="gaussian_nll_logvar_grad_matches_torch" points=6
d_mu, d_s = gaussian_nll_logvar_grad([1.0, 0.0], [0.0, 0.0], [0.0, 0.0])
assert np.allclose(d_mu, [1.0, 0.0]) and np.allclose(d_s, [0.0, 0.5])
assert worst < 1e-6

# %% kind="test" id="gaussian_nll_logvar_grad_scalar_log_var" points=3
d_mu, d_s = gaussian_nll_logvar_grad(np.zeros(4), np.ones(4), 0.0)
assert np.shape(d_mu) == (4,) and np.shape(d_s) == (4,)

# %% kind="test" id="gaussian_nll_logvar_grad_extreme_log_var" points=3
d_mu, d_s = gaussian_nll_logvar_grad([1.0], [0.0], [-50.0])
assert np.all(np.isfinite(d_mu)) and np.all(np.isfinite(d_s))

# %% [markdown]
# ### The result, and what it says
#
# $$ \frac{\partial \ell_i}{\partial \mu_i} = e^{-s_i}(\mu_i - y_i), \qquad
#    \frac{\partial \ell_i}{\partial s_i} = \tfrac12\left(1 - e^{-s_i}(y_i - \mu_i)^2\right). $$
#
# The mean's gradient is the MSE gradient weighted by the precision $e^{-s_i}$. The
# log-variance's gradient is zero exactly when $e^{s_i} = (y_i - \mu_i)^2$: the best
# variance of one example is its own squared residual, the one-example version of
# `sigma2_mle` from `mle_losses`. The cell confirms it: at $s = \log r^2$ the
# derivative in $s$ is zero, on either side it has opposite signs.

# %%
r = 0.7
for s in (math.log(r ** 2) - 0.5, math.log(r ** 2), math.log(r ** 2) + 0.5):
    print(f"s = {s:7.4f}: d loss / d s = {gaussian_nll_logvar_grad([r], [0.0], [s])[1][0]:+.6f}")

# %% [markdown]
# ## 1.4 A fit whose noise grows with $x$
#
# 200 points with $y = 1 + 2x$ plus Gaussian noise whose standard deviation grows
# twentyfold, $\sigma(x) = 0.05\,e^{3x}$, from 0.05 at $x = 0$ to 1.0 at $x = 1$:
# its log-variance $\log 0.05^2 + 6x$ is a line. The model is a line for the mean
# and a line for the log-variance:
#
# $$ \mu(x) = a + b x, \qquad s(x) = c + d x . $$
#
# The chain rule takes your per-example gradients to the four parameters: for
# example $\partial\,\text{NLL}/\partial b = \frac1N\sum_i \frac{\partial \ell_i}{\partial \mu_i} x_i$.
# The loop below is plain gradient descent with **your** `gaussian_nll_logvar_grad`,
# 4000 steps of size 0.05, from all four parameters at 0. If your gradient is wrong,
# so is everything this section prints.

# %%
data_rng = np.random.default_rng(0)
x_fit = np.sort(data_rng.uniform(0, 1, 200))
true_std = 0.05 * np.exp(3.0 * x_fit)
y_fit = 1 + 2 * x_fit + data_rng.normal(0, 1, size=x_fit.shape) * true_std


def gradient_of_the_four(x, y, params):
    """(dNLL/da, dNLL/db, dNLL/dc, dNLL/dd) of the mean NLL, by the chain rule from your gradient."""
    a, b, c, d = params
    d_mu, d_s = gaussian_nll_logvar_grad(a + b * x, y, c + d * x)
    return np.array([np.mean(d_mu), np.mean(d_mu * x), np.mean(d_s), np.mean(d_s * x)])


def fit_mean_and_log_variance(x, y, steps=4000, learning_rate=0.05, scale_mean_step=False):
    """Gradient descent on (a, b, c, d); every iterate is returned, the last one first in the tuple."""
    params = np.zeros(4)
    path = [params]
    for _ in range(steps):
        step = learning_rate * gradient_of_the_four(x, y, params)
        if scale_mean_step:                      # divide the mean's step by the mean precision (see below)
            step[:2] /= np.mean(np.exp(-(params[2] + params[3] * x)))
        params = params - step
        path.append(params)
    return params, np.array(path)


plain, plain_path = fit_mean_and_log_variance(x_fit, y_fit)
for k in range(4, 0, -1):
    a_k, b_k, c_k, d_k = plain_path[-k]
    print(f"step {len(plain_path) - k}: mean line {a_k:.4f} + {b_k:.4f} x, "
          f"NLL {gaussian_nll_logvar(a_k + b_k * x_fit, y_fit, c_k + d_k * x_fit):.4f}")
print(f"largest gradient component after 4000 steps: "
      f"{np.max(np.abs(gradient_of_the_four(x_fit, y_fit, plain))):.3f}")

# %% [markdown]
# The fit has not converged and never will: the mean line flips between two lines
# every step, and the gradient stays far from zero. The figure shows the last 30
# steps of the mean's two parameters.

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
last = np.arange(len(plain_path) - 30, len(plain_path))
ax.plot(last, plain_path[-30:, 0], "o-", ms=3, color="C0", label="intercept $a$")
ax.plot(last, plain_path[-30:, 1] - 1, "s-", ms=3, color="C1", label="slope $b$ minus 1")
ax.set(xlabel="gradient-descent step", ylabel="parameter value",
       title="Step size 0.05: the mean line flips between two lines for ever")
ax.legend(loc="center right")
fig.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.9)
plt.show()

# %% [markdown]
# ### Why: the precision scales the step
#
# With $s$ held fixed, the NLL in $(a, b)$ is a **weighted** least-squares loss,
# $\frac1N\sum_i \tfrac12 e^{-s_i}(y_i - a - b x_i)^2$ plus terms without $a, b$. Its
# second derivative (the Hessian) is
#
# $$ H = \frac1N \sum_i e^{-s_i} \begin{pmatrix} 1 & x_i \\ x_i & x_i^2 \end{pmatrix}. $$
#
# On a quadratic, one gradient step multiplies the distance to the minimum along an
# eigenvector of $H$ with eigenvalue $\lambda$ by $1 - \eta\lambda$ ($\eta$ the step
# size). That shrinks it when $\eta\lambda < 2$, flips its sign without shrinking
# it when $\eta\lambda = 2$, and makes it grow when $\eta\lambda > 2$. So the
# largest stable step is $\eta = 2/\lambda_{\max}$, and $\lambda_{\max}$ grows with
# the precision $e^{-s_i}$: **the better the model learns that the data near $x = 0$
# are precise, the smaller the step its mean can take.**
#
# Why a cycle and not a blow-up? While the mean overshoots, its residuals grow, and
# the log-variance's gradient $\tfrac12(1 - e^{-s}r^2)$ raises $s$ again, lowering the
# precision. The two settle where the mean's step is exactly at its limit,
# $\eta\lambda_{\max} = 2$, with a variance larger than the data's. The cell
# computes $\lambda_{\max}$ at the end of the run:

# %%
def mean_hessian(x, params):
    precision = np.exp(-(params[2] + params[3] * x))
    return np.array([[np.mean(precision), np.mean(precision * x)],
                     [np.mean(precision * x), np.mean(precision * x ** 2)]])


lambda_cycle = np.linalg.eigvalsh(mean_hessian(x_fit, plain)).max()
print(f"in the cycle: largest curvature of the mean {lambda_cycle:.4f}, "
      f"step size x curvature = {0.05 * lambda_cycle:.4f};  precision at x = 0: {math.exp(-plain[2]):.1f}")

# %% [markdown]
# ### A fix: scale the mean's step by the variance
#
# A smaller step would do: one below the limit at the fit, printed below. But the
# log-variance's curvature, $\frac1N\sum_i \tfrac12 e^{-s_i} r_i^2 \left(\begin{smallmatrix} 1 & x_i \\ x_i & x_i^2 \end{smallmatrix}\right)$
# ($r_i$ the residual), is far smaller than the mean's, so a step small enough for the
# mean is slow for the log-variance (the cell prints both curvatures and runs 0.04 to
# compare). Instead, divide the mean's step by the mean precision
# $\bar w = \frac1N\sum_i e^{-s_i}$ (multiply it by a typical variance). The mean's
# Hessian then becomes $H/\bar w$, whose eigenvalues are positive and sum to its
# trace, $1 + \sum_i e^{-s_i} x_i^2 / \sum_i e^{-s_i} \le 2$ for $x_i \in [0, 1]$: the
# limit $2/\lambda_{\max} \ge 1$ holds **whatever the precision**. The log-variance's
# step is left as it was. Below: step size 0.8 (below 1), 1000 steps, the same gradient.
# The fit counts as converged when every component of the gradient is below
# $10^{-8}$.

# %%
GRADIENT_TOLERANCE = 1e-8
fitted, fitted_path = fit_mean_and_log_variance(x_fit, y_fit, steps=1000, learning_rate=0.8, scale_mean_step=True)
a, b, c, d = fitted
final_gradient = np.max(np.abs(gradient_of_the_four(x_fit, y_fit, fitted)))
print(f"largest gradient component after 1000 steps: {final_gradient:.1e} "
      f"({'below' if final_gradient < GRADIENT_TOLERANCE else 'NOT below'} {GRADIENT_TOLERANCE:.0e})")
small_step, small_step_path = fit_mean_and_log_variance(x_fit, y_fit, steps=1000, learning_rate=0.04)
print(f"plain step 0.04, the same 1000 steps: largest gradient component "
      f"{np.max(np.abs(gradient_of_the_four(x_fit, y_fit, small_step))):.1e}")
lambda_fit = np.linalg.eigvalsh(mean_hessian(x_fit, fitted)).max()
weight = 0.5 * np.exp(-(fitted[2] + fitted[3] * x_fit)) * (y_fit - fitted[0] - fitted[1] * x_fit) ** 2
log_variance_hessian = np.array([[np.mean(weight), np.mean(weight * x_fit)],
                                 [np.mean(weight * x_fit), np.mean(weight * x_fit ** 2)]])
print(f"curvatures at the fit: the mean's {np.linalg.eigvalsh(mean_hessian(x_fit, fitted)).round(2)}, "
      f"the log-variance's {np.linalg.eigvalsh(log_variance_hessian).round(3)}")
print(f"at the fit: largest curvature of the mean {lambda_fit:.2f}, so the largest stable plain step is "
      f"{2 / lambda_fit:.4f} (the plain run used 0.05); "
      f"scaled, it is {2 / np.linalg.eigvalsh(mean_hessian(x_fit, fitted) / np.mean(np.exp(-(c + d * x_fit)))).max():.2f}; "
      f"precision at x = 0: {math.exp(-c):.1f} (in the cycle {math.exp(-plain[2]):.1f})")
fitted_std = np.exp(0.5 * (c + d * x_fit))
print(f"mean line: {a:.3f} + {b:.3f} x (true 1 + 2 x);  "
      f"log-variance line: {c:.3f} + {d:.3f} x (true {math.log(0.05 ** 2):.3f} + 6 x)")
print(f"fitted std at x=0: {fitted_std[0]:.3f} (true {true_std[0]:.3f});  "
      f"at x=1: {fitted_std[-1]:.3f} (true {true_std[-1]:.3f})")
nll_plain = gaussian_nll_logvar(plain[0] + plain[1] * x_fit, y_fit, plain[2] + plain[3] * x_fit)
print(f"NLL with the learned variance {gaussian_nll_logvar(a + b * x_fit, y_fit, c + d * x_fit):.4f} "
      f"(the plain run ended at {nll_plain:.4f}), with the best shared variance "
      f"{gaussian_nll_logvar(a + b * x_fit, y_fit, math.log(np.mean((y_fit - a - b * x_fit) ** 2))):.4f}")

# %%
fig, (ax_nll, ax) = plt.subplots(1, 2, figsize=(12, 4))
best = gaussian_nll_logvar(a + b * x_fit, y_fit, c + d * x_fit)
for path, style, label in ((plain_path, "C3", "plain step 0.05"), (small_step_path, "C2", "plain step 0.04"),
                           (fitted_path, "C0", "mean's step scaled, 0.8")):
    nll_path = [gaussian_nll_logvar(p[0] + p[1] * x_fit, y_fit, p[2] + p[3] * x_fit) for p in path[::10]]
    ax_nll.semilogy(np.arange(len(path))[::10], np.maximum(np.array(nll_path) - best, 1e-16), color=style, label=label)
ax_nll.set(xlabel="gradient-descent step", ylabel="NLL minus the fit's final NLL (floor 1e-16)",
           title="0.05 cycles, 0.04 is slow, the scaled step converges")
ax_nll.legend()
ax.scatter(x_fit, y_fit, s=8, color="grey", label="data")
ax.plot(x_fit, a + b * x_fit, color="C0", label="fitted mean $\\mu(x)$")
ax.fill_between(x_fit, a + b * x_fit - 2 * fitted_std, a + b * x_fit + 2 * fitted_std, color="C0", alpha=0.2,
                label="fitted $\\mu \\pm 2\\sigma(x)$")
ax.plot(x_fit, 1 + 2 * x_fit + 2 * true_std, color="C3", ls="--", lw=1, label="true $\\pm 2\\sigma(x)$")
ax.plot(x_fit, 1 + 2 * x_fit - 2 * true_std, color="C3", ls="--", lw=1)
ax.set(xlabel="x", ylabel="y", title="The converged fit: the band widens with x")
ax.legend(loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 1.5 When a point is fitted exactly, the likelihood has no maximum
#
# Give a model enough freedom to put its mean exactly on one training point,
# $\mu_i = y_i$, and the squared error of that point is 0. Its loss is then
# $\tfrac12\log 2\pi + \tfrac12 s_i$, which goes to $-\infty$ as $s_i \to -\infty$:
# the likelihood is **unbounded**, "maximum likelihood" has no answer, and
# gradient descent drives the variance of that point towards zero while the loss of
# the whole data set falls without limit. Computed:

# %%
y_three = np.array([0.3, -1.2, 2.0])
mu_three = np.array([0.3, -0.2, 1.0])          # the first point is fitted exactly
for s_first in (0.0, -10.0, -30.0, -50.0):
    print(f"log-variance of the exact point {s_first:6.1f}: mean NLL "
          f"{gaussian_nll_logvar(mu_three, y_three, np.array([s_first, 0.0, 0.0])):9.4f}")

# %% [markdown]
# The usual remedies all bound the variance away from 0 or make small variances cost:
#
# - **a floor**: $\sigma^2 \ge \varepsilon$, as `F.gaussian_nll_loss` does with its
#   `eps=1e-6` (it clamps the variance), or $\sigma^2 = \varepsilon + \text{softplus}(\cdot)$;
# - **a prior** on the variance (maximum a posteriori instead of maximum likelihood),
#   or weight decay on the log-variance head;
# - **less freedom**: a variance shared by groups of examples, or a smooth function
#   of $x$ as in 1.4, cannot collapse onto one point.
#
# With a floor of $10^{-6}$ the NLL of one exactly fitted point is bounded below:

# %%
floor = math.log(1e-6)
bounded = [gaussian_nll_logvar(mu_three, y_three, np.maximum(np.array([s, 0.0, 0.0]), floor))
           for s in (0.0, -10.0, -30.0, -50.0)]
print("with the floor:", np.round(bounded, 4), " lowest possible:",
      round(gaussian_nll_logvar(mu_three, y_three, np.array([floor, 0.0, 0.0])), 4))

# %% [markdown]
# ## 1.6 The Laplace likelihood: MAE, the median, and a scale of its own
#
# Replace the Gaussian by the Laplace density $p(y\mid\mu, b) = \frac{1}{2b}e^{-|y-\mu|/b}$.
# Its NLL per example is $\log 2b + |y - \mu|/b$: for a fixed scale $b$,
# maximising the likelihood means minimising the **mean absolute error**.
#
# What does that change? For a constant model $\mu$, the MSE is minimised by the
# **mean** of the targets and the MAE by their **median**. A few gross outliers move
# the mean a long way and the median hardly at all. The cell shows it on eleven values
# (two of them outliers),
# minimising both losses over a fine grid of $\mu$.

# %%
values = np.array([1.0, 1.2, 0.9, 1.1, 1.05, 0.95, 1.15, 9.0, 10.0, 0.85, 1.3])
grid = np.linspace(0, 10, 100001)
mse_best = grid[np.argmin([np.mean((values - g) ** 2) for g in grid[::10]]) * 10]
mae_best = grid[np.argmin(np.abs(values[None, :] - grid[:, None]).mean(axis=1))]
print(f"MSE's best constant {mse_best:.3f} (mean {values.mean():.3f});  "
      f"MAE's best constant {mae_best:.3f} (median {np.median(values):.3f})")

# %% [markdown]
# The same holds for a line. Below, 40 points on $y = 0.5 + 1.5x$ with small noise,
# of which 6 are replaced by gross outliers. The MSE line is least squares; the MAE
# line is found by iteratively reweighted least squares (each pass weights example
# $i$ by $1/\max(|r_i|, 10^{-6})$, which makes the weighted squared error equal the
# absolute error at the current fit).

# %%
line_rng = np.random.default_rng(5)
x_line = np.linspace(0, 1, 40)
y_line = 0.5 + 1.5 * x_line + line_rng.normal(0, 0.05, size=40)
outliers = line_rng.choice(40, size=6, replace=False)
y_line[outliers] += line_rng.uniform(2, 4, size=6)
design = np.stack([np.ones_like(x_line), x_line], axis=1)
coef_mse = np.linalg.lstsq(design, y_line, rcond=None)[0]
coef_mae = coef_mse.copy()
for _ in range(100):
    weights = 1 / np.maximum(np.abs(y_line - design @ coef_mae), 1e-6)
    coef_mae = np.linalg.solve(design.T @ (weights[:, None] * design), design.T @ (weights * y_line))
print(f"MSE fit: {coef_mse[0]:.3f} + {coef_mse[1]:.3f} x;  MAE fit: {coef_mae[0]:.3f} + {coef_mae[1]:.3f} x;  "
      "true: 0.5 + 1.5 x")

fig, ax = plt.subplots(figsize=(10, 4))
inliers = np.setdiff1d(np.arange(40), outliers)
ax.scatter(x_line[inliers], y_line[inliers], s=12, color="grey", label="data")
ax.scatter(x_line[outliers], y_line[outliers], s=30, color="C3", marker="x", label="outliers")
ax.plot(x_line, design @ coef_mse, color="C0", label="MSE fit (Gaussian likelihood)")
ax.plot(x_line, design @ coef_mae, color="C2", label="MAE fit (Laplace likelihood)")
ax.set(xlabel="x", ylabel="y", title="Six outliers pull the MSE line; the MAE line stays on the data")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))   # outside: inside it would cover an outlier
fig.subplots_adjust(left=0.08, right=0.68)
fig.subplots_adjust(left=0.08, right=0.66, bottom=0.15, top=0.9)
plt.show()

# %% [markdown]
# ### Exercise: implement `laplace_b_mle(y_pred, y)`
#
# Fix the predictions and ask which scale $b > 0$ maximises the Laplace likelihood
# of the residuals: write the mean NLL as a function of $b$, set its derivative to
# zero, solve, and implement the result. Return one float, for array-likes of any
# shape.

# %% kind="answer" id="laplace_b_mle_answer"
def laplace_b_mle(y_pred, y):
    """The Laplace scale b that maximises the likelihood of the residuals y - y_pred."""
    ### BEGIN SOLUTION
    residual = np.asarray(y, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(np.abs(residual)))
    ### END SOLUTION


# %% kind="test" id="laplace_b_mle_value" points=4
def laplace_mean_nll(y_pred, y, b):
    return float(np.mean(np.log(2 * b) + np.abs(np.asarray(y) - np.asarray(y_pred)) / b))


best_b = laplace_b_mle(design @ coef_mae, y_line)
assert all(laplace_mean_nll(design @ coef_mae, y_line, best_b)
           <= laplace_mean_nll(design @ coef_mae, y_line, best_b * f) for f in (0.5, 0.9, 1.1, 2.0))

# %% kind="test" id="laplace_b_mle_lists_and_shapes" points=2
assert math.isclose(laplace_b_mle([0.0, 0.0], [1.0, -3.0]), 2.0)

# %% [markdown]
# ### The result
#
# $\frac{d}{db}\left[\log 2b + \frac{\overline{|r|}}{b}\right] = \frac1b - \frac{\overline{|r|}}{b^2} = 0$
# gives $\hat b = \frac1N\sum_i |y_i - \hat y_i|$, the mean absolute residual (not
# its median, not the root mean square, and divided by $N$). The MAE fit's scale
# and the Gaussian's standard deviation on the same residuals, computed:

# %%
residual_mae = y_line - design @ coef_mae
print(f"Laplace scale of the MAE fit's residuals: {laplace_b_mle(design @ coef_mae, y_line):.4f}; "
      f"Gaussian sigma of the same residuals: {math.sqrt(np.mean(residual_mae ** 2)):.4f}")

# %% [markdown]
# ## Summary
#
# | model | per-example NLL | what it teaches |
# |---|---|---|
# | Gaussian, learned log-variance $s$ | $\tfrac12(\log 2\pi + s + e^{-s}(y-\mu)^2)$ | weighted MSE plus a log-variance penalty; unbounded if a point is fitted exactly |
# | Laplace, scale $b$ | $\log 2b + \lvert y - \mu\rvert/b$ | MAE, the median, robustness; $\hat b$ = mean absolute residual |
#
# Next: cross-entropy for targets that are distributions, not labels (notebook 2).
