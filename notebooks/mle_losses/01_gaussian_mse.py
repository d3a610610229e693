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
# You will derive the Gaussian negative log-likelihood and the best variance
# symbolically, predict two numbers before you compute them, and implement `mse`,
# `gaussian_nll`, `sigma2_mle` and `laplace_nll` with NumPy only.
# PyTorch is what the grader compares your answers with, not a tool for the answers:
# a function that calls `torch` earns no points.
#
# **How this notebook is graded.** Each answer cell is followed by a test cell.
# The asserts you can see are examples; when grading, more cases are checked
# (other shapes, lists, float32, extreme values, invalid input), each worth its own
# points. *Validate* runs the visible ones.
#
# **Time:** about 60 minutes for a first-time student (reading and every exercise).

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

# %% kind="test" id="gaussian_nll_expr_equivalent" points=2
# At y == y_hat only the normalising constant is left.
assert sp.simplify(gaussian_nll_expr.subs(y, y_hat) - sp.log(2 * sp.pi * sigma2) / 2) == 0

# %% [markdown]
# Look at the two terms of your answer: one does not depend on $\hat y$ at all; the
# other is a positive constant (which depends on $\sigma^2$ only) times $(y - \hat y)^2$.
#
# ### Predict, then check: how fast does the NLL grow with the squared error?
#
# Suppose every example has the same, fixed variance: **choose** it yourself, any
# number from 0.01 to 10 other than the three variances of the figure of section 1.4
# (0.05, 0.1 and 0.2), and assign it to `sigma2_for_prediction`. Average your
# expression over a data set: by how much does the mean NLL increase when the mean
# squared error of the predictions increases by 1? Work it out from your answer
# above (no code needed) and assign the number to `nll_per_unit_mse`.
#
# *Graded for being right for your own variance* (to 0.1%); the figure of section 1.4
# shows the same rate for its three variances, from which you can check your reasoning.

# %% kind="answer" id="nll_per_unit_mse_answer"
### BEGIN SOLUTION
sigma2_for_prediction = 0.4
nll_per_unit_mse = 1 / (2 * sigma2_for_prediction)
### END SOLUTION
sigma2_for_prediction, nll_per_unit_mse

# %% kind="test" id="nll_per_unit_mse_prediction" points=1
assert 0.01 <= float(sigma2_for_prediction) <= 10
assert isinstance(float(nll_per_unit_mse), float) and float(nll_per_unit_mse) > 0

# %% [markdown]
# For one **shared, fixed** $\sigma^2$ (the same for every example, and not fitted
# together with the predictions), the first term is a constant and the second is a
# positive constant times the squared error. Averaged over the data set, the mean NLL
# is a straight line in the MSE whose slope you just predicted.
# Adding a constant and multiplying by a positive constant never moves a minimum.
# So, whatever value that one shared $\sigma^2$ has, **the predictions that
# maximise the Gaussian likelihood are exactly the ones that minimise the mean
# squared error**. That is where MSE comes from. (With a different variance per
# example the factors $1/(2\sigma_i^2)$ differ, and the likelihood asks for a
# *weighted* squared error instead.)
#
# ## 1.3 Mean squared error
#
# ### Exercise: implement `mse(y_pred, y)`
#
# The quantity the derivation above left over: the mean squared residual, taken over
# **all** elements, for array-likes of any shape
# (Python floats and lists, NumPy arrays of float32 or float64). Return one number.
# This is `torch.nn.functional.mse_loss` with its default `reduction='mean'`.

# %% kind="answer" id="mse_answer"
def mse(y_pred, y):
    """Mean squared error between predictions and targets."""
    ### BEGIN SOLUTION
    residual = np.asarray(y_pred, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(residual ** 2))
    ### END SOLUTION


# %% kind="test" id="mse_seed_value" points=1
assert math.isclose(mse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]), 4 / 3)
assert mse([0.5], [0.5]) == 0

# %% [markdown]
# ### A worked example
#
# Data from a line $y = 2x + 1$ with a little Gaussian noise ($\sigma = 0.1$), and
# a deliberately poor model $\hat y = 1.0 \cdot x + 0.0$. The arrays are called
# `x_data` and `y_data`, so that `y` stays the SymPy symbol of the derivations
# (rerunning a derivation cell after this one still works).

# %%
np.random.seed(0)
x_data = np.linspace(-1, 1, 20)
y_data = 2 * x_data + 1 + np.random.normal(0, 0.1, size=x_data.shape)
y_pred = 1.0 * x_data + 0.0
print(f"MSE of the poor model: {mse(y_pred, y_data):.6f}")   # 1.450860

# %% kind="test" id="mse_matches_torch" points=2
assert math.isclose(mse(y_pred, y_data), 1.450860, rel_tol=1e-6)
assert math.isclose(mse(np.ones((2, 3)), np.zeros((2, 3))), 1.0)

# %% kind="test" id="mse_accepts_lists_and_float32" points=1
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
assert math.isclose(gaussian_nll(y_pred, y_data, 0.01), 71.159339, rel_tol=1e-6)
assert math.isclose(gaussian_nll([0.0], [0.0]), 0.5 * math.log(2 * math.pi))

# %% kind="test" id="gaussian_nll_per_example_variance" points=2
# Each example with its own variance: the mean of the per-example values.
expected = np.mean([0.5 * math.log(2 * math.pi * s2) + 1.0 / (2 * s2) for s2 in (0.5, 1.0, 2.0)])
assert math.isclose(gaussian_nll([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], np.array([0.5, 1.0, 2.0])), expected)

# %% kind="test" id="gaussian_nll_rejects_nonpositive_variance" points=1
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
# ### Predict, then check: the NLL of a perfect prediction
#
# A model predicts one target exactly, $\hat y = y$, with a small variance: **choose**
# it yourself, any number from 0.001 to 0.1 other than 0.01, and assign it to
# `sigma2_perfect`. What is its Gaussian NLL? Predict the number from your
# `gaussian_nll_expr` (is it positive?), assign it to `perfect_prediction_nll`, and
# only then compare it with `gaussian_nll([0.0], [0.0], sigma2_perfect)`.
#
# *Graded for being right for your own variance* (to 0.1%).

# %% kind="answer" id="perfect_prediction_nll_answer"
### BEGIN SOLUTION
sigma2_perfect = 0.02
perfect_prediction_nll = 0.5 * math.log(2 * math.pi * sigma2_perfect)
### END SOLUTION
sigma2_perfect, perfect_prediction_nll

# %% kind="test" id="perfect_prediction_nll_prediction" points=1
assert 0.001 <= float(sigma2_perfect) <= 0.1
assert isinstance(float(perfect_prediction_nll), float)

# %%
print(f"your prediction {float(perfect_prediction_nll):.4f}; "
      f"your gaussian_nll: {gaussian_nll([0.0], [0.0], float(sigma2_perfect)):.4f}")

# %% [markdown]
# It is **negative**: a probability *density* is not a probability and exceeds 1
# when it is narrow, so its negative logarithm drops below 0. Nothing stops it
# there: for a perfect prediction only the normalising term of your expression is
# left, and it goes to $-\infty$ as $\sigma^2 \to 0$. The Gaussian NLL is **unbounded
# below**, which is why a model that may choose its own variance must be kept from
# shrinking it to zero on examples it fits exactly. With a fixed variance this cannot
# happen:

# %%
for s2_small in (1.0, 0.01, 1e-6, 1e-12):
    print(f"sigma2 = {s2_small:7.0e}   NLL of a perfect prediction = {gaussian_nll([0.0], [0.0], s2_small):9.4f}")

# %% [markdown]
# ### The seed's numbers, term by term
#
# With $\sigma^2 = 0.01$ the factor $1/(2\sigma^2)$ is 50, so the quadratic term is
# 50 times the MSE, and the constant $\tfrac12\log(2\pi \cdot 0.01) \approx -1.3836$
# is added to it:

# %%
s2 = 0.01
constant = 0.5 * math.log(2 * math.pi * s2)
quadratic = mse(y_pred, y_data) / (2 * s2)
print(f"quadratic term   {quadratic:10.6f}  = {1 / (2 * s2):.1f} x MSE")   # 72.542985
print(f"constant term    {constant:10.6f}")
print(f"Gaussian NLL     {gaussian_nll(y_pred, y_data, s2):10.6f}")            # 71.159339

# %% [markdown]
# ### What $\sigma^2$ does
#
# Slide the prediction for a single target $y = 0$ and draw the NLL for several
# variances. Every curve is a parabola with its minimum at $\hat y = y$: the
# variance changes **how steep** it is (the factor $1/(2\sigma^2)$) and **how high**
# it sits (the constant), never **where** the minimum is. On the right, the NLL of
# many random models of the worked example lies on a straight line in their MSE; the
# legend gives the slope fitted to the points, which is $1/(2\sigma^2)$.

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
    mses = np.array([mse(a * x_data + 1, y_data) for a in slopes])
    nlls = np.array([gaussian_nll(a * x_data + 1, y_data, s2_line) for a in slopes])
    fitted_slope = np.polyfit(mses, nlls, 1)[0]          # measured from the points, not assumed
    right.scatter(mses, nlls, s=12, label=f"$\\sigma^2$ = {s2_line}: slope {fitted_slope:.2f}")
right.set(xlabel="MSE of a model", ylabel="Gaussian NLL of the same model", title="NLL is an affine function of MSE")
right.legend()
fig.subplots_adjust(left=0.05, right=0.99, bottom=0.15, top=0.9, wspace=0.25)
plt.show()

# %% [markdown]
# ## 1.5 The maximum-likelihood variance
#
# The predictions are not the only thing a likelihood can fit. Fix the prediction
# and ask which variance makes the observation most probable: the $\sigma^2$ at
# which the derivative of the NLL with respect to $\sigma^2$ is zero.
#
# ### Exercise: derive the best $\sigma^2$ for one example, with SymPy
#
# Differentiate your `gaussian_nll_expr` with respect to the symbol `sigma2` with
# `sp.diff`, set the derivative to zero and solve for `sigma2` with `sp.solve`.
# Assign the solution, an expression in `y` and `y_hat`, to `sigma2_mle_expr`
# (`sp.solve` returns a list of solutions: the one-element list is accepted too).
# Before you run it: should the answer depend on `sigma2`?

# %% kind="answer" id="sigma2_mle_expr_answer"
### BEGIN SOLUTION
sigma2_mle_expr = sp.solve(sp.diff(gaussian_nll_expr, sigma2), sigma2)[0]
### END SOLUTION
sigma2_mle_expr

# %% kind="test" id="sigma2_mle_expr_equivalent" points=2
best = sigma2_mle_expr[0] if isinstance(sigma2_mle_expr, (list, tuple)) else sigma2_mle_expr
assert sigma2 not in best.free_symbols, "the solution is a value of sigma2: it cannot contain sigma2"
assert sp.simplify(best.subs({y: 3, y_hat: 1}) - 4) == 0

# %% [markdown]
# Look at what you found: for one example the best variance is the squared residual
# $(y - \hat y)^2$ itself. The second derivative at that point is positive (try
# `sp.diff(gaussian_nll_expr, sigma2, 2)`), so it is a minimum of the NLL, a maximum
# of the likelihood.
#
# ### Exercise: implement `sigma2_mle(y_pred, y)`
#
# Now $N$ examples that share **one** variance. Their mean NLL is the mean of $N$
# copies of your expression with the same $\sigma^2$; repeat the calculation on it
# (on paper, or with SymPy for $N = 3$) and implement the result: the $\sigma^2$
# that maximises the likelihood of all the residuals `y - y_pred`, for array-likes of
# any shape, as one number.

# %% kind="answer" id="sigma2_mle_answer"
def sigma2_mle(y_pred, y):
    """The variance that maximises the Gaussian likelihood of the residuals."""
    ### BEGIN SOLUTION
    return mse(y_pred, y)   # the mean squared residual, as the derivation for N examples shows
    ### END SOLUTION


# %% kind="test" id="sigma2_mle_value" points=2
assert math.isclose(sigma2_mle([0.0, 0.0], [1.0, 3.0]), 5.0)
# No other variance gives a lower NLL.
best = sigma2_mle(y_pred, y_data)
assert all(gaussian_nll(y_pred, y_data, best) <= gaussian_nll(y_pred, y_data, best * f) for f in (0.5, 0.9, 1.1, 2.0))

# %% [markdown]
# The mean NLL with one shared variance is
# $\tfrac12\log(2\pi\sigma^2) + \text{MSE}/(2\sigma^2)$; its derivative
# $1/(2\sigma^2) - \text{MSE}/(2\sigma^4)$ is zero at $\hat\sigma^2 = \text{MSE}$:
# the best variance is the mean squared residual. Note what it is *not*: it divides
# by $N$, not $N-1$, and it is the mean of the squared residuals themselves, not
# their spread around their own mean (the model says the noise has mean zero).

# %% [markdown]
# ## 1.6 Closing exercise: a different noise model gives a different loss
#
# Nothing forces the noise to be Gaussian. If it follows a **Laplace** distribution
# with scale $b > 0$,
#
# $$ p(y \mid \hat y, b) = \frac{1}{2b} \exp\!\left( -\frac{|y - \hat y|}{b} \right), $$
#
# then its negative log-likelihood of one example (take the logarithm of the density
# and negate it, as in section 1.2) is a constant in $b$ plus a positive constant
# times $|y - \hat y|$, and by the same argument as above, maximising this likelihood
# means minimising the **mean absolute error**. Heavier tails than the Gaussian's give a loss that
# punishes large errors less: the reason MAE is called robust to outliers.
#
# The two losses also estimate different things. Among all constant predictions,
# the one with the smallest MSE is the **mean** of the targets and the one with the
# smallest MAE is their **median**; so a model trained with MSE learns the
# conditional mean of $y$ given $x$, one trained with MAE the conditional median.
# On a skewed sample they differ clearly:
#
# %%
skewed = np.random.default_rng(3).exponential(1.0, size=15)
constants = np.linspace(0, 4, 40001)
residuals = constants[:, np.newaxis] - skewed                        # one row per constant
best_mse = constants[np.argmin(np.mean(residuals ** 2, axis=1))]
best_mae = constants[np.argmin(np.mean(np.abs(residuals), axis=1))]
print(f"smallest MSE at {best_mse:.4f}; mean of the targets   {np.mean(skewed):.4f}")
print(f"smallest MAE at {best_mae:.4f}; median of the targets {np.median(skewed):.4f}")

# %% [markdown]
# ### Exercise: implement `laplace_nll(y_pred, y, b=1.0)`
#
# The mean over the examples of the Laplace negative log-likelihood, which you derive
# from the density above; raise `ValueError` if `b <= 0`.

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

# %% kind="test" id="laplace_nll_rejects_nonpositive_scale" points=1
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
# | Gaussian, variance $\sigma^2$ | your `gaussian_nll_expr` | mean squared error |
# | Laplace, scale $b$ | what your `laplace_nll` averages | mean absolute error |
#
# With one shared, fixed variance, MSE estimates the conditional mean and MAE the
# conditional median; the best shared variance is the mean squared residual; and a
# Gaussian NLL can be negative, without a lower bound as $\sigma^2 \to 0$.
#
# Next: when the target is a label rather than a number, the Bernoulli likelihood
# gives binary cross-entropy (notebook 2).
