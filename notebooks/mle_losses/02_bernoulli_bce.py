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
# # 2. Where binary cross-entropy comes from: the Bernoulli likelihood
#
# In notebook 1 the targets were numbers and Gaussian noise gave the mean squared
# error. Now the targets are **labels**: spam or not, tumour or not, click or no
# click, written $y \in \{0, 1\}$. A label cannot be "a prediction plus noise", so we
# need a different probabilistic model: the **Bernoulli** distribution. Following the
# same route,
#
# **model → likelihood → log → negative log-likelihood → the named loss**
#
# leads to **binary cross-entropy**, the loss of every binary classifier. The second
# half of the notebook is about computing it *well*: the formula that falls out of
# the derivation breaks down in floating point for confident predictions, and the
# fix (computing from the logits) is what `F.binary_cross_entropy_with_logits` does.
#
# You will implement `sigmoid`, `bernoulli_nll` and `bce_with_logits` with NumPy
# only, and derive the Bernoulli negative log-likelihood symbolically. PyTorch is what
# the grader compares your answers with, not a tool for the answers: a function that
# calls `torch` earns no points (and `torch` is not even installed where grading
# happens).
#
# **How this notebook is graded.** Each answer cell is followed by test cells.
# The asserts you can see are examples; when grading, more cases are checked
# (other shapes, lists, float32, extreme values, invalid input), each worth its own
# points. *Validate* runs the visible ones.
#
# **Time:** about 75 minutes for a first-time student (reading and every exercise).

# %%
import math

import numpy as np
import matplotlib.pyplot as plt
import sympy as sp

# %% [markdown]
# ## 2.1 The model
#
# A classifier computes one real number per example, the **logit** $z = f(x) \in \mathbb R$.
# To turn it into a probability it is squashed into $(0, 1)$ by the **logistic
# sigmoid**
#
# $$ p = \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad p = P(y = 1 \mid x). $$
#
# Large positive $z$ means "almost surely 1", large negative $z$ "almost surely 0",
# and $z = 0$ means $p = \tfrac12$. Two facts are used again and again below:
#
# $$ 1 - \sigma(z) = \sigma(-z), \qquad z = \log\frac{p}{1 - p} \;\text{(the log-odds: hence "logit")}. $$
#
# The label itself is one coin flip with probability $p$ of heads, a **Bernoulli**
# random variable:
#
# $$ P(y \mid p) = \begin{cases} p & y = 1 \\ 1 - p & y = 0 \end{cases}
#    \;=\; p^{\,y}\,(1 - p)^{\,1 - y}. $$
#
# The product form is a trick worth pausing on: with $y = 1$ the second factor is
# $(1-p)^0 = 1$, with $y = 0$ the first factor is $p^0 = 1$. One formula covers both
# cases, and that is what makes the logarithm below so tidy.
#
# ## 2.2 The likelihood and its logarithm
#
# For independent examples $(x_i, y_i)$, $i = 1, \dots, N$, with $p_i = \sigma(z_i)$,
# the likelihood is the product of the per-example probabilities,
#
# $$ L = \prod_{i=1}^N p_i^{\,y_i} (1 - p_i)^{\,1 - y_i}, $$
#
# and, exactly as in notebook 1, we minimise the **mean negative log-likelihood**
# $-\frac1N \log L$ instead: the logarithm turns the product into a sum and the
# powers into factors.
#
# ### Exercise: derive $-\log P(y \mid z)$ for one example
#
# Take the logarithm of $p^{\,y}(1-p)^{\,1-y}$, negate it, and write the result in
# terms of the logit: substitute $p = \sigma(z)$. Use the symbols `y` and `z` defined
# in the next cell, and `sp_sigmoid(z)` for $\sigma(z)$ (it is the SymPy expression
# $1 / (1 + e^{-z})$; the NumPy function `sigmoid` is one you write later). Assign the
# result to `bernoulli_nll_expr`. Any algebraically equivalent form earns full marks;
# it is checked for both labels $y = 0$ and $y = 1$.

# %%
y_hat, y, z = sp.symbols("y_hat y z", real=True)
sigma2 = sp.Symbol("sigma2", positive=True)


def sp_sigmoid(t):
    """The logistic sigmoid as a SymPy expression: 1 / (1 + exp(-t))."""
    return 1 / (1 + sp.exp(-t))


# %% kind="answer" id="bernoulli_nll_expr_answer"
### BEGIN SOLUTION
bernoulli_nll_expr = -(y * sp.log(sp_sigmoid(z)) + (1 - y) * sp.log(1 - sp_sigmoid(z)))
### END SOLUTION
bernoulli_nll_expr

# %% kind="test" id="bernoulli_nll_expr_equivalent" points=3
# At z = 0 the model says p = 1/2, so either label costs log 2.
assert abs(float(bernoulli_nll_expr.subs({y: 1, z: 0})) - math.log(2)) < 1e-12
assert abs(float(bernoulli_nll_expr.subs({y: 0, z: 0})) - math.log(2)) < 1e-12
# A confident, correct prediction costs almost nothing.
assert 0 < float(bernoulli_nll_expr.subs({y: 1, z: 10})) < 1e-4

# %% [markdown]
# Written out, your answer is
#
# $$ -\log P(y \mid z) = -\big[\, y \log p + (1 - y) \log(1 - p) \,\big], \qquad p = \sigma(z), $$
#
# and its mean over the data set is the **binary cross-entropy**
#
# $$ \text{BCE} = -\frac1N \sum_{i=1}^N \big[\, y_i \log p_i + (1 - y_i) \log(1 - p_i) \,\big]. $$
#
# Why *cross-entropy*? For two distributions $q$ and $p$ over the same outcomes, the
# cross-entropy is $H(q, p) = -\sum_k q_k \log p_k$. Take $q = (y, 1-y)$, the label
# as a distribution that puts all its mass on the observed class, and
# $p = (p, 1 - p)$, the model's distribution: $H(q, p)$ is exactly the bracket above.
# So **maximising the Bernoulli likelihood is minimising the cross-entropy between
# the labels and the predicted probabilities**. Only one term is ever active:
# an example with $y = 1$ costs $-\log p$, one with $y = 0$ costs $-\log(1 - p)$.
#
# Now in terms of the logit. Since $\log \sigma(z) = -\log(1 + e^{-z})$ and
# $1 - \sigma(z) = \sigma(-z)$, each of the two terms of your expression can be
# rewritten without $p$, as the function
#
# $$ \mathrm{softplus}(t) = \log(1 + e^t) $$
#
# of $z$ or of $-z$. Work out which goes with which label, on paper: that form is the
# key to section 2.5.

# %% [markdown]
# ## 2.3 The sigmoid
#
# ### Exercise: implement `sigmoid(z)`
#
# $1 / (1 + e^{-z})$ elementwise, returning an array of the input's shape (a Python
# float gives a 0-d array or a float). It must be **correct and finite for every
# finite** `z`, including $z = \pm 10^4$. Mind the overflow: in float64, `np.exp(t)`
# is `inf` once $t > 709.78$. For $z = -10^4$, `np.exp(-z)` overflows (the result
# $1/(1 + \infty) = 0$ happens to be right, with a warning); the equally valid-looking
# `np.exp(z) / (1 + np.exp(z))` gives $\infty / \infty = $ `nan` for $z = 10^4$.
# A safe route only ever exponentiates a number that is not positive, which never
# overflows: the two forms above, each used on the side of $z = 0$ where it is safe,
# are one such route. Work out which form goes with which side.

# %% kind="answer" id="sigmoid_answer"
def sigmoid(z):
    """The logistic sigmoid 1 / (1 + exp(-z)), elementwise and overflow-free."""
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


# %% kind="test" id="sigmoid_values" points=2
assert sigmoid(0.0) == 0.5
assert np.allclose(sigmoid([-1.0, 0.0, 2.0]), [0.2689414214, 0.5, 0.8807970780])
assert sigmoid(np.zeros((2, 3))).shape == (2, 3)
t = np.linspace(-5, 5, 11)
assert np.allclose(sigmoid(-t), 1 - sigmoid(t))   # 1 - sigma(z) = sigma(-z)

# %% kind="test" id="sigmoid_extreme_logits" points=2
# Overflow warnings cost nothing; a NaN or a wrong value does.
with np.errstate(all="ignore"):
    s = sigmoid(np.array([-1e4, -800.0, 800.0, 1e4]))
assert np.all(np.isfinite(s))
assert np.allclose(s, [0.0, 0.0, 1.0, 1.0])

# %% [markdown]
# ## 2.4 Binary cross-entropy from probabilities
#
# ### Exercise: implement `bernoulli_nll(p, y)`
#
# The mean over all elements of $-y \log p - (1 - y)\log(1 - p)$, for predicted
# probabilities `p` and labels `y` in $\{0, 1\}$, of any (matching) shape; Python
# lists and floats, NumPy float32 or float64 arrays, labels as ints or floats. This is
# `F.binary_cross_entropy(p, y)`: probabilities first, labels second.
#
# - **Certain predictions.** When $p = y = 1$ the second term is $0 \cdot \log 0$, and
#   when $p = y = 0$ the first one is. Mathematically the term is 0 (because
#   $t \log t \to 0$ as $t \to 0$), but NumPy computes `0 * np.log(0.0)` as
#   `0 * -inf = nan`. A prediction that equals its label must contribute 0, never
#   `nan`: compute each term only where its factor is nonzero (`np.where` helps).
# - **No clipping.** Do not clip `p` to $[\epsilon, 1-\epsilon]$: a clipped
#   certain prediction costs about $\epsilon$ instead of 0, and $p = 10^{-12}$ for a
#   label 1 really costs $-\log 10^{-12} \approx 27.6$. (PyTorch's
#   `F.binary_cross_entropy` does something else again: it clamps each logarithm at
#   $-100$, so a certain, *wrong* prediction, $p = 0$ for a label 1, costs 100 there
#   instead of $\infty$. The contract compares with torch only for $p$ strictly
#   between 0 and 1, where no clamp acts; the cell after the worked example shows the
#   clamp.)
# - **Invalid input.** Raise `ValueError` if any `p` lies outside $[0, 1]$: it is not
#   a probability, and the log would quietly return `nan`.

# %% kind="answer" id="bernoulli_nll_answer"
def bernoulli_nll(p, y):
    """Mean Bernoulli negative log-likelihood (binary cross-entropy) of labels y under probabilities p."""
    ### BEGIN SOLUTION
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    p, y = np.broadcast_arrays(p, y)

    def xlogy(a, b):
        """a * log(b), with 0 * log(0) = 0: log is taken only where a != 0."""
        with np.errstate(divide="ignore"):
            return np.where(a == 0, 0.0, a * np.log(np.where(a == 0, 1.0, b)))

    return float(np.mean(-xlogy(y, p) - xlogy(1 - y, 1 - p)))
    ### END SOLUTION


# %% [markdown]
# ### A worked example
#
# Five examples, their logits and labels. The first two are labelled 0 and get
# negative logits, the last two are labelled 1 and get positive ones: a decent model.
# The third has $z = 0$, a shrug, and costs $\log 2 \approx 0.693$.

# %%
z_seed = np.array([-0.5, -0.8, 0.0, 0.8, 0.5])
y_seed = np.array([0, 0, 1, 1, 1])
p_seed = sigmoid(z_seed)
print("p =", np.round(p_seed, 4))
print(f"BCE = {bernoulli_nll(p_seed, y_seed):.6f}")   # 0.476700

# The same number from PyTorch, where it is installed (it is not while grading).
try:
    import torch
except ImportError:
    torch = None
if torch is not None:
    bce_torch = torch.nn.functional.binary_cross_entropy(
        torch.sigmoid(torch.tensor(z_seed)), torch.tensor(y_seed, dtype=torch.float64))
    print(f"PyTorch's F.binary_cross_entropy: {bce_torch.item():.6f}")
    clamped = torch.nn.functional.binary_cross_entropy(torch.tensor([0.0], dtype=torch.float64),
                                                       torch.tensor([1.0], dtype=torch.float64))
    print(f"PyTorch's F.binary_cross_entropy at p = 0, y = 1: {clamped.item():.1f}  (the log clamped at -100)")

# %% kind="test" id="bernoulli_nll_seed_value" points=2
assert math.isclose(bernoulli_nll(1 / (1 + np.exp(-z_seed)), y_seed), 0.476700, abs_tol=1e-6)
assert math.isclose(bernoulli_nll(np.array([0.5]), np.array([1])), math.log(2))
assert math.isclose(bernoulli_nll(np.array([0.9, 0.9]), np.array([1, 0])), (-math.log(0.9) - math.log(0.1)) / 2)

# %% kind="test" id="bernoulli_nll_shapes_and_dtypes" points=2
expected = -(math.log(0.9) + math.log(0.8) + math.log(0.6) + math.log(0.5)) / 4
assert math.isclose(bernoulli_nll([[0.9, 0.2], [0.6, 0.5]], [[1, 0], [1, 1]]), expected)
assert math.isclose(bernoulli_nll(0.8, 1), -math.log(0.8))
assert math.isclose(bernoulli_nll(np.float32([0.25, 0.75]), np.float32([0, 1])), -math.log(0.75), rel_tol=1e-6)

# %% kind="test" id="bernoulli_nll_confident_predictions" points=2
with np.errstate(all="ignore"):
    certain = bernoulli_nll(np.array([0.0, 1.0]), np.array([0, 1]))
    confident = bernoulli_nll(np.array([1e-12]), np.array([1]))
assert certain == 0, f"a prediction equal to its label must cost 0, got {certain}"
assert math.isclose(confident, -math.log(1e-12))

# %% kind="test" id="bernoulli_nll_rejects_invalid_probabilities" points=2
for bad in ([0.5, 1.5], [-0.1, 0.5]):
    try:
        bernoulli_nll(np.array(bad), np.array([0, 1]))
    except ValueError:
        pass
    else:
        raise AssertionError(f"bernoulli_nll should raise ValueError for p = {bad}")

# %% [markdown]
# ### What the loss rewards
#
# Per example, only one term of the loss is active. Drawn against the predicted
# probability, $-\log p$ (label 1) and $-\log(1 - p)$ (label 0) are mirror images:
# each is 0 for a certain, correct prediction and **grows without bound** for a
# confident wrong one. A model that says $p = 0.001$ for an example labelled 1 pays
# $\log 1000 \approx 6.9$; compare the squared error $(1 - p)^2$, which can never
# exceed 1 however wrong the prediction is (dashed).

# %%
grid = np.linspace(0.001, 0.999, 400)
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(grid, [bernoulli_nll(np.array([g]), np.array([1])) for g in grid], label="label $y = 1$: $-\\log p$")
ax.plot(grid, [bernoulli_nll(np.array([g]), np.array([0])) for g in grid], label="label $y = 0$: $-\\log(1 - p)$")
ax.plot(grid, (1 - grid) ** 2, "--", color="grey", label="squared error for $y = 1$: $(1 - p)^2$")
ax.set(xlabel="predicted probability $p = \\sigma(z)$", ylabel="loss of one example", ylim=(0, 5),
       title="Binary cross-entropy punishes confident mistakes")
ax.legend()
fig.subplots_adjust(left=0.1, right=0.97, bottom=0.15, top=0.9)
plt.show()

# %% [markdown]
# ## 2.5 Why one computes it from the logits
#
# The model outputs a logit $z$, so the obvious implementation is
# `bernoulli_nll(sigmoid(z), y)`: first the probability, then its log. In exact
# arithmetic that is right. In floating point it fails for confident predictions, in
# two ways:
#
# 1. **Rounding to exactly 1.** $\sigma(z) = 1 - e^{-z} + \dots$ for large $z$, and
#    float64 cannot represent a number closer to 1 than about $1.1 \times 10^{-16}$.
#    For $z > 36.7$, `sigmoid(z)` is *exactly* `1.0`, so a label 0 costs
#    $-\log(1 - 1) = \infty$, although the true loss is simply $\approx z$. Long before
#    that, $1 - \sigma(z)$ loses digits: subtracting two nearly equal numbers
#    (*catastrophic cancellation*).
# 2. **Overflow and underflow.** For very negative $z$, $e^{-z}$ overflows to `inf` once
#    $-z > 709.78$, so the naive $\sigma(z) = 1/(1 + \infty)$ is `0.0` (even a careful
#    sigmoid, $\sigma(z) \approx e^{z}$ there, is *subnormal* below $z \approx -708$,
#    where it is smaller than the smallest normal float64, $2.2 \times 10^{-308}$, and
#    keeps fewer significant digits, and it is `0.0` below $z \approx -745$, under the
#    smallest positive float64, about $5 \times 10^{-324}$). Then a label 1 costs
#    $-\log 0 = \infty$, although the true loss is simply $\approx -z$.
#
# Here is the naive formula against the true value, computed with 60 significant
# digits by `mpmath` (the arbitrary-precision library SymPy is built on: slow, and
# not NumPy, so no answer to the exercise below):

# %%
import mpmath

mpmath.mp.dps = 60
print(f"{'z':>8} {'y':>2} {'naive':>14} {'true':>14} {'naive - true':>13}")
for z_value, y_value in [(2.0, 0), (20.0, 0), (30.0, 0), (36.0, 0), (37.0, 0), (120.0, 0),
                         (-120.0, 1), (-800.0, 1), (1e4, 0), (-1e4, 1)]:
    p_true = 1 / (1 + mpmath.exp(-mpmath.mpf(z_value)))
    true = float(-mpmath.log(p_true) if y_value == 1 else -mpmath.log(1 - p_true))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        p = 1 / (1 + np.exp(-z_value))                    # the naive route: first p, then its log
        naive = -(y_value * np.log(p) + (1 - y_value) * np.log(1 - p))
    print(f"{z_value:8g} {y_value:2d} {naive:14.8f} {true:14.8f} {naive - true:13.1e}")

# %% [markdown]
# At $z = 20$ the naive value is already off by about $4 \cdot 10^{-8}$, at $z = 30$
# by about $10^{-3}$ (the third decimal), at $z = 36$ by about $0.04$ (the second),
# and from $z = 37$ on it is `inf`: one such
# example makes the whole mean `inf` and its gradient `nan`, and training stops. In float32, the precision of most
# neural networks, the same happens from $z \approx 17$.
#
# **The stable form.** Section 2.2 already wrote the loss without ever forming $p$:
#
# $$ -\log \sigma(z) = \mathrm{softplus}(-z), \qquad -\log(1 - \sigma(z)) = \mathrm{softplus}(z),
#    \qquad \mathrm{softplus}(t) = \log(1 + e^{t}) = \log(e^0 + e^t). $$
#
# The last form is a **log-sum-exp**, and a log-sum-exp is made safe by factoring the
# largest of its exponentials out of the sum and out of the log. Do it for
# $\log(e^0 + e^t)$, on paper, for both signs of $t$: then check that in your form
# no exponent is positive (so `np.exp` cannot overflow) and the log's argument lies
# in $(1, 2]$ (so it is never 0). `np.log1p(u)` computes $\log(1 + u)$ accurately
# even when $u$ is tiny. Then write the loss of an example with it, from the form of
# section 2.2 you worked out.
#
# ### Exercise: implement `bce_with_logits(z, y)`
#
# The mean over all elements of `bernoulli_nll(sigmoid(z), y)`, computed from the
# logits as above: finite and accurate for **every** finite `z` (try
# $z = \pm 120$ and $\pm 10^4$). Logits first, labels second, as in
# `F.binary_cross_entropy_with_logits(z, y)`; the same input types as before. Example:
# `bce_with_logits([0, -120], [0, 1])` is $(\log 2 + 120)/2 \approx 60.346574$.

# %% kind="answer" id="bce_with_logits_answer"
def bce_with_logits(z, y):
    """Binary cross-entropy of labels y under logits z, computed stably from the logits."""
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)

    def softplus(t):
        """log(1 + exp(t)) without overflow: max(t, 0) + log1p(exp(-|t|))."""
        return np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))

    return float(np.mean(y * softplus(-z) + (1 - y) * softplus(z)))
    ### END SOLUTION


# %% kind="test" id="bce_with_logits_value" points=3
assert math.isclose(bce_with_logits(z_seed, y_seed), 0.476700, abs_tol=1e-6)
assert math.isclose(bce_with_logits(np.array([0.0]), np.array([1])), math.log(2))
assert math.isclose(bce_with_logits(np.array([2.0, -1.0]), np.array([1, 1])),
                    bernoulli_nll(1 / (1 + np.exp(-np.array([2.0, -1.0]))), np.array([1, 1])))

# %% kind="test" id="bce_with_logits_shapes_and_dtypes" points=2
expected = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(-2.0)) + math.log(2) + math.log1p(math.exp(-3.0))) / 4
assert math.isclose(bce_with_logits([[1.0, -2.0], [0.0, 3.0]], [[1, 0], [0, 1]]), expected)
assert math.isclose(bce_with_logits(0.0, 1), math.log(2))
expected32 = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(-2.0))) / 2
assert math.isclose(bce_with_logits(np.float32([1.0, -2.0]), np.float32([1, 0])), expected32, rel_tol=1e-6)

# %% kind="test" id="bce_with_logits_extreme_logits" points=3
with np.errstate(all="ignore"):
    wrong = bce_with_logits(np.array([0.0, -120.0]), np.array([0, 1]))
    huge = bce_with_logits(np.array([1e4, -1e4, 1e4, -1e4]), np.array([0, 1, 1, 0]))
assert math.isclose(wrong, 60.346574, rel_tol=1e-6)
assert math.isclose(huge, 1e4 / 2)   # two confident mistakes cost 1e4 each, two confident hits 0

# %% [markdown]
# ### Naive against stable, over a range of logits
#
# Take a label 0 and let the logit grow, that is, let the model become more and more
# confidently wrong. The true loss is $\mathrm{softplus}(z) \approx z$, a straight
# line. On the left, the naive formula in float64 follows it until $z \approx 37$ and
# then is `inf` (the curve stops); in float32 it already stops at $z \approx 17$.
# On the right, the relative error of the naive formula: it grows like $e^{z}$ times
# the machine precision, long before the curve visibly leaves the line. Your
# `bce_with_logits` (black) stays on the line, with a relative error of $10^{-16}$ or less (drawn
# at the bottom edge where it is exactly 0).

# %%
z_grid = np.linspace(-5, 60, 521)
# -log(1 - sigmoid(z)), the loss of a label 0, with 60 digits; then the naive route in float64
exact = np.array([float(-mpmath.log(1 - 1 / (1 + mpmath.exp(-mpmath.mpf(zv))))) for zv in z_grid])
with np.errstate(over="ignore", divide="ignore"):
    naive64 = -np.log(1 - 1 / (1 + np.exp(-z_grid)))
with np.errstate(over="ignore", divide="ignore"):
    z32 = z_grid.astype(np.float32)
    naive32 = -np.log(np.float32(1) - np.float32(1) / (np.float32(1) + np.exp(-z32)))
stable = np.array([bce_with_logits(np.array([zv]), np.array([0])) for zv in z_grid])

fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4))
left.plot(z_grid, np.where(np.isfinite(naive64), naive64, np.nan), lw=5, alpha=0.5, color="C1",
          label="naive, float64")
left.plot(z_grid, np.where(np.isfinite(naive32), naive32, np.nan), lw=1.5, color="C0", label="naive, float32")
left.plot(z_grid[::20], stable[::20], "o", color="black", ms=4, label="your bce_with_logits")
for z_stop, colour, text in ((16.6, "C0", "float32\nends"), (36.7, "C1", "float64\nends")):
    left.axvline(z_stop, color=colour, ls=":", lw=1)
    left.text(z_stop + 0.8, 52, text, color=colour, fontsize=9)
left.set(xlabel="logit $z$ (label $y = 0$)", ylabel="loss", title="The naive formula stops at inf")
left.legend()

floor = 1e-17
with np.errstate(divide="ignore", invalid="ignore"):
    for values, name, colour in ((naive32, "naive, float32", "C0"), (naive64, "naive, float64", "C1"),
                                 (stable, "your bce_with_logits", "black")):
        rel = np.abs(values.astype(np.float64) - exact) / exact
        right.semilogy(z_grid, np.clip(np.where(np.isfinite(rel), rel, np.nan), floor, None), color=colour,
                       label=name)
right.set(xlabel="logit $z$ (label $y = 0$)", ylabel="relative error", ylim=(floor / 2, 10),
          title="...and is inaccurate long before")
right.legend()
fig.subplots_adjust(left=0.05, right=0.99, bottom=0.15, top=0.9, wspace=0.25)
plt.show()

# %% [markdown]
# Finally, the worked example once more, now from the logits. Where PyTorch is
# installed, its `F.binary_cross_entropy_with_logits`, which uses the same stable
# formula, agrees to every printed digit, and the contract's extreme example shows
# the stable form at work.

# %%
print(f"bce_with_logits(z_seed, y_seed)  {bce_with_logits(z_seed, y_seed):.6f}")   # 0.476700
print(f"bce_with_logits([0, -120], [0, 1]) {bce_with_logits(np.array([0.0, -120.0]), np.array([0, 1])):.6f}")
if torch is not None:
    from_logits = torch.nn.functional.binary_cross_entropy_with_logits
    print(f"PyTorch, same two:               {from_logits(torch.tensor(z_seed), torch.tensor(y_seed, dtype=torch.float64)).item():.6f}"
          f"  {from_logits(torch.tensor([0.0, -120.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)).item():.6f}")

# %% [markdown]
# ## Summary
#
# | step | for one example with label $y \in \{0, 1\}$ and logit $z$ |
# |---|---|
# | model | $y \sim \mathrm{Bernoulli}(p)$, $p = \sigma(z) = 1/(1 + e^{-z})$ |
# | likelihood | $p^{\,y}(1-p)^{\,1-y}$ |
# | negative log-likelihood | $-y\log p - (1-y)\log(1-p)$: binary cross-entropy |
# | in logits, stably | your `bce_with_logits`: the log-sum-exp trick, never forming $p$ |
#
# Always hand the loss the **logits**, not the probabilities: `bce_with_logits`
# (PyTorch's `F.binary_cross_entropy_with_logits`) is exact where
# `bernoulli_nll(sigmoid(z), y)` returns `inf`.
#
# Next: more than two classes. The categorical likelihood with a softmax gives the
# cross-entropy loss, and the same log-sum-exp trick keeps it finite (notebook 3).
