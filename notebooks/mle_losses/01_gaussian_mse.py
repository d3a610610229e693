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
# # 1. Where mean squared error comes from: the Gaussian likelihood
#
# Mean squared error is usually introduced as a sensible-looking choice: square the
# errors so they are positive, average them. In this notebook you will see that it
# is not a choice at all. It is what you get when you assume the targets are noisy
# measurements with **Gaussian noise** around the model's prediction, and then ask
# for the prediction that makes the observed data most probable.
#
# The route is the one every notebook of this assignment follows:
#
# **model → likelihood → log → negative log-likelihood → the named loss**
#
# You will implement `mse`, `gaussian_nll`, `sigma2_mle` and `laplace_nll` with
# NumPy only, and derive the Gaussian negative log-likelihood symbolically.
# PyTorch is what the grader compares your answers with, not a tool for the answers:
# a function that calls `torch` earns no points.
#
# **How this notebook is graded.** Each answer cell is followed by a test cell.
# The asserts you can see are examples; when grading, more cases are checked
# (other shapes, lists, float32, extreme values, invalid input), each worth its own
# points. *Validate* runs the visible ones.

# %%
import math

import numpy as np
import matplotlib.pyplot as plt
import sympy as sp

# %% [markdown]
# ## 1.1 The model
#
# We observe pairs $(x_i, y_i)$, $i = 1, \dots, N$. A model makes a prediction
# $\hat y_i = f(x_i)$. The **probabilistic** model says how the target scatters
# around that prediction:
#
# $$ y_i = \hat y_i + \varepsilon_i, \qquad \varepsilon_i \sim \mathcal N(0, \sigma^2) \text{ independently,} $$
#
# that is, $y_i \sim \mathcal N(\hat y_i, \sigma^2)$, with density
#
# $$ p(y_i \mid \hat y_i, \sigma^2) = \frac{1}{\sqrt{2\pi\sigma^2}} \exp\!\left( -\frac{(y_i - \hat y_i)^2}{2\sigma^2} \right). $$
#
# ## 1.2 The likelihood and its logarithm
#
# Because the noise is independent, the probability density of the whole data set
# is the product of the per-example densities. Seen as a function of the model's
# predictions, this product is the **likelihood**:
#
# $$ L = \prod_{i=1}^N p(y_i \mid \hat y_i, \sigma^2). $$
#
# Products of many small numbers underflow, and they are awkward to differentiate.
# The logarithm turns the product into a sum and, being increasing, does not move
# the maximum. Maximising $\log L$ is the same as minimising $-\log L$, and
# dividing by $N$ (which also moves nothing) gives a number that does not grow with
# the size of the data set: the **mean negative log-likelihood**.
#
# ### Exercise: derive $-\log \mathcal N(y; \hat y, \sigma^2)$ for one example
#
# Take the logarithm of the density above and negate it. Write the result as a
# SymPy expression in the symbols `y_hat`, `y` and `sigma2` (which stands for
# $\sigma^2$ itself, not $\sigma$) defined in the next cell, and assign it to
# `gaussian_nll_expr`. Any algebraically equivalent form earns full marks.

# %%
y_hat, y, z = sp.symbols("y_hat y z", real=True)
sigma2 = sp.Symbol("sigma2", positive=True)

# %% kind="answer" id="gaussian_nll_expr_answer"
### BEGIN SOLUTION
gaussian_nll_expr = sp.log(2 * sp.pi * sigma2) / 2 + (y - y_hat) ** 2 / (2 * sigma2)
### END SOLUTION
gaussian_nll_expr

# %% kind="test" id="gaussian_nll_expr_equivalent" points=3
# At y == y_hat only the normalising constant is left.
assert sp.simplify(gaussian_nll_expr.subs(y, y_hat) - sp.log(2 * sp.pi * sigma2) / 2) == 0

# %% [markdown]
# Look at the two terms of your answer:
#
# $$ -\log p(y \mid \hat y, \sigma^2) = \underbrace{\tfrac12 \log(2\pi\sigma^2)}_{\text{does not depend on } \hat y}
#    + \underbrace{\frac{1}{2\sigma^2}}_{\text{a positive constant}} (y - \hat y)^2 . $$
#
# For a fixed $\sigma^2$, the first term is a constant and the second is a positive
# constant times the squared error. Averaged over the data set:
#
# $$ \text{NLL} = \tfrac12 \log(2\pi\sigma^2) + \frac{1}{2\sigma^2}\,\text{MSE}. $$
#
# Adding a constant and multiplying by a positive constant never moves a minimum.
# So **the predictions that maximise the Gaussian likelihood are exactly the ones
# that minimise the mean squared error**, whatever $\sigma^2$ is. That is where MSE
# comes from.
#
# ## 1.3 Mean squared error
#
# ### Exercise: implement `mse(y_pred, y)`
#
# The mean of `(y_pred - y)**2` over **all** elements, for array-likes of any shape
# (Python floats and lists, NumPy arrays of float32 or float64). Return one number.
# This is `torch.nn.functional.mse_loss` with its default `reduction='mean'`.

# %% kind="answer" id="mse_answer"
def mse(y_pred, y):
    """Mean squared error between predictions and targets."""
    ### BEGIN SOLUTION
    residual = np.asarray(y_pred, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(residual ** 2))
    ### END SOLUTION


# %% kind="test" id="mse_seed_value" points=2
assert math.isclose(mse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]), 4 / 3)
assert mse([0.5], [0.5]) == 0

# %% [markdown]
# ### A worked example
#
# Data from a line $y = 2x + 1$ with a little Gaussian noise ($\sigma = 0.1$), and
# a deliberately poor model $\hat y = 1.0 \cdot x + 0.0$:

# %%
np.random.seed(0)
x = np.linspace(-1, 1, 20)
y = 2 * x + 1 + np.random.normal(0, 0.1, size=x.shape)
y_pred = 1.0 * x + 0.0
print(f"MSE of the poor model: {mse(y_pred, y):.6f}")   # 1.450860

# %% kind="test" id="mse_matches_torch" points=3
assert math.isclose(mse(y_pred, y), 1.450860, rel_tol=1e-6)
assert math.isclose(mse(np.ones((2, 3)), np.zeros((2, 3))), 1.0)

# %% kind="test" id="mse_accepts_lists_and_float32" points=2
assert math.isclose(mse([1, 2, 4], [1, 3, 2]), 5 / 3)
assert math.isclose(mse(np.float32([1.5, 2.5]), np.float32([1.0, 2.0])), 0.25, rel_tol=1e-6)

# %% [markdown]
# ## 1.4 The Gaussian negative log-likelihood
#
# ### Exercise: implement `gaussian_nll(y_pred, y, sigma2=1.0)`
#
# The mean over all elements of
# $\tfrac12\log(2\pi\sigma^2) + (y - \hat y)^2 / (2\sigma^2)$.
#
# - `sigma2` is the variance $\sigma^2$: a positive scalar, or an array that
#   broadcasts against `y` by NumPy's rules. With `y` of shape `(N,)`, a `sigma2`
#   of shape `(N,)` gives each example its own variance (a *heteroscedastic* model).
# - Raise `ValueError` if any `sigma2 <= 0`: a variance of zero or less describes
#   no distribution.
#
# PyTorch calls this `F.gaussian_nll_loss(input, target, var, full=True)`
# (`full=True` keeps the constant term).

# %% kind="answer" id="gaussian_nll_answer"
def gaussian_nll(y_pred, y, sigma2=1.0):
    """Mean negative log-likelihood of y under N(y_pred, sigma2)."""
    ### BEGIN SOLUTION
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sigma2 = np.asarray(sigma2, dtype=np.float64)
    if np.any(sigma2 <= 0):
        raise ValueError("sigma2 is a variance and must be positive")
    per_element = 0.5 * np.log(2 * np.pi * sigma2) + (y - y_pred) ** 2 / (2 * sigma2)
    return float(np.mean(per_element))
    ### END SOLUTION


# %% kind="test" id="gaussian_nll_value" points=3
assert math.isclose(gaussian_nll(y_pred, y, 0.01), 71.159339, rel_tol=1e-6)
assert math.isclose(gaussian_nll([0.0], [0.0]), 0.5 * math.log(2 * math.pi))

# %% kind="test" id="gaussian_nll_per_example_variance" points=3
# Each example with its own variance: the mean of the per-example values.
expected = np.mean([0.5 * math.log(2 * math.pi * s2) + 1.0 / (2 * s2) for s2 in (0.5, 1.0, 2.0)])
assert math.isclose(gaussian_nll([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], np.array([0.5, 1.0, 2.0])), expected)

# %% kind="test" id="gaussian_nll_rejects_nonpositive_variance" points=2
for bad in (0.0, -1.0):
    try:
        gaussian_nll([1.0], [2.0], bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"gaussian_nll should raise ValueError for sigma2={bad}")

# %% kind="test" id="gaussian_nll_large_residuals" points=1
assert np.isfinite(gaussian_nll([1e6], [-1e6], 1e-4))

# %% [markdown]
# ### The seed's numbers, term by term
#
# With $\sigma^2 = 0.01$ the factor $1/(2\sigma^2)$ is 50, so the quadratic term is
# 50 times the MSE, and the constant $\tfrac12\log(2\pi \cdot 0.01) \approx -1.3836$
# is added to it:

# %%
s2 = 0.01
constant = 0.5 * math.log(2 * math.pi * s2)
quadratic = mse(y_pred, y) / (2 * s2)
print(f"quadratic term   {quadratic:10.6f}  = {1 / (2 * s2):.1f} x MSE")   # 72.542985
print(f"constant term    {constant:10.6f}")
print(f"Gaussian NLL     {gaussian_nll(y_pred, y, s2):10.6f}")            # 71.159339

# %% [markdown]
# ### What $\sigma^2$ does
#
# Slide the prediction for a single target $y = 0$ and draw the NLL for several
# variances. Every curve is a parabola with its minimum at $\hat y = y$: the
# variance changes **how steep** it is (the factor $1/(2\sigma^2)$) and **how high**
# it sits (the constant), never **where** the minimum is. On the right, the NLL of
# many random models of the worked example is a straight line in their MSE, with
# slope $1/(2\sigma^2)$.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
grid = np.linspace(-2, 2, 201)
for s2_curve in (0.25, 0.5, 1.0, 2.0):
    left.plot(grid, [gaussian_nll([g], [0.0], s2_curve) for g in grid], label=f"$\\sigma^2$ = {s2_curve}")
left.axvline(0, color="grey", lw=0.8, ls="--")
left.set(xlabel="prediction $\\hat y$ (target $y = 0$)", ylabel="negative log-likelihood",
         title="Same minimum, different curvature")
left.legend()

rng = np.random.default_rng(1)
slopes = rng.uniform(0, 4, 40)
for s2_line in (0.05, 0.1, 0.2):
    mses = [mse(a * x + 1, y) for a in slopes]
    nlls = [gaussian_nll(a * x + 1, y, s2_line) for a in slopes]
    right.scatter(mses, nlls, s=12, label=f"$\\sigma^2$ = {s2_line}: slope {1 / (2 * s2_line):.0f}")
right.set(xlabel="MSE of a model", ylabel="Gaussian NLL of the same model", title="NLL is an affine function of MSE")
right.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 1.5 The maximum-likelihood variance
#
# The predictions are not the only thing a likelihood can fit. Fix the predictions
# and ask which $\sigma^2$ makes the data most probable. Setting the derivative of
# the mean NLL with respect to $\sigma^2$ to zero,
#
# $$ \frac{\partial}{\partial \sigma^2}\left[ \tfrac12\log(2\pi\sigma^2) + \frac{\text{MSE}}{2\sigma^2} \right]
#    = \frac{1}{2\sigma^2} - \frac{\text{MSE}}{2\sigma^4} = 0
#    \quad\Longrightarrow\quad \hat\sigma^2 = \text{MSE}. $$
#
# The best variance is the mean squared residual. Note what it is *not*: it divides
# by $N$, not $N-1$, and it is the mean of the squared residuals themselves, not
# their spread around their own mean (the model says the noise has mean zero).
#
# ### Exercise: implement `sigma2_mle(y_pred, y)`

# %% kind="answer" id="sigma2_mle_answer"
def sigma2_mle(y_pred, y):
    """The variance that maximises the Gaussian likelihood of the residuals."""
    ### BEGIN SOLUTION
    residual = np.asarray(y, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(residual ** 2))
    ### END SOLUTION


# %% kind="test" id="sigma2_mle_value" points=2
assert math.isclose(sigma2_mle([0.0, 0.0], [1.0, 3.0]), 5.0)
# No other variance gives a lower NLL.
best = sigma2_mle(y_pred, y)
assert all(gaussian_nll(y_pred, y, best) <= gaussian_nll(y_pred, y, best * f) for f in (0.5, 0.9, 1.1, 2.0))

# %% [markdown]
# ## 1.6 Closing exercise: a different noise model gives a different loss
#
# Nothing forces the noise to be Gaussian. If it follows a **Laplace** distribution
# with scale $b > 0$,
#
# $$ p(y \mid \hat y, b) = \frac{1}{2b} \exp\!\left( -\frac{|y - \hat y|}{b} \right), $$
#
# then the negative log-likelihood of one example is $\log(2b) + |y - \hat y| / b$,
# and by the same argument as above, maximising this likelihood means minimising
# the **mean absolute error**. Heavier tails than the Gaussian's give a loss that
# punishes large errors less: the reason MAE is called robust to outliers.
#
# ### Exercise: implement `laplace_nll(y_pred, y, b=1.0)`
#
# The mean of `log(2*b) + abs(y - y_pred) / b`; raise `ValueError` if `b <= 0`.

# %% kind="answer" id="laplace_nll_answer"
def laplace_nll(y_pred, y, b=1.0):
    """Mean negative log-likelihood of y under Laplace(y_pred, b)."""
    ### BEGIN SOLUTION
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if np.any(b <= 0):
        raise ValueError("the Laplace scale b must be positive")
    return float(np.mean(np.log(2 * b) + np.abs(y - y_pred) / b))
    ### END SOLUTION


# %% kind="test" id="laplace_nll_value" points=2
assert math.isclose(laplace_nll([0.0, 0.0], [1.0, -3.0]), math.log(2) + 2.0)

# %% kind="test" id="laplace_nll_rejects_nonpositive_scale" points=2
try:
    laplace_nll([0.0], [1.0], b=0.0)
except ValueError:
    pass
else:
    raise AssertionError("laplace_nll should raise ValueError for b=0")

# %% [markdown]
# ## Summary
#
# | noise model | negative log-likelihood per example | the loss |
# |---|---|---|
# | Gaussian, variance $\sigma^2$ | $\tfrac12\log(2\pi\sigma^2) + (y-\hat y)^2/(2\sigma^2)$ | mean squared error |
# | Laplace, scale $b$ | $\log(2b) + \lvert y-\hat y\rvert / b$ | mean absolute error |
#
# Next: when the target is a label rather than a number, the Bernoulli likelihood
# gives binary cross-entropy (notebook 2).
