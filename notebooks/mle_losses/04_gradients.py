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
# # 4. Gradients: why cross-entropy trains and squared error stalls
#
# The first three notebooks derived three losses from three likelihoods. A loss is
# only useful to a model through its **gradient**: gradient descent never sees the
# loss itself, only how it changes when the model's output changes. This notebook
# derives those gradients, checks them numerically the way every deep-learning
# library is tested, and then asks what they mean in practice: the same classifier,
# started from a badly wrong model, is trained once with binary cross-entropy and
# once with the squared error of its predicted probability. One of the two barely
# moves for a long time; your derivations will tell you which, and why, before the
# experiment shows it.
#
# You will derive three gradients symbolically (binary cross-entropy, squared error
# through a sigmoid, and softmax cross-entropy), predict three numbers before you
# compute them, implement `numerical_grad`, `relative_error`, `bce_grad`,
# `mse_sigmoid_grad`, `softmax_ce_grad` and `logistic_regression_grad` with NumPy
# only, run a gradient check, train a logistic regression with your own gradient,
# and read off the result of the experiment. PyTorch is what the grader compares your answers with, not a tool
# for the answers: a function that calls `torch` earns no points.
#
# **How this notebook is graded.** Each answer cell is followed by a test cell.
# The asserts you can see are examples; when grading, more cases are checked
# (other shapes, lists, float32, extreme logits), each worth its own points.
# *Validate* runs the visible ones.
#
# **Time:** about 90 minutes for a first-time student (reading and every exercise).

# %%
import math

import numpy as np
import matplotlib.pyplot as plt
import sympy as sp

# %% [markdown]
# ## 4.0 Tools from the earlier notebooks
#
# This notebook builds on your own `sigmoid` (notebook 2) and `softmax` along the
# last axis (notebook 3): copy them into the cell below. They earn no points here
# (they earned theirs in notebooks 2 and 3), and when grading, the functions of this
# notebook that use them are run with trusted versions in their place, so a mistake
# in them is not charged twice.

# %% kind="answer" id="earlier_tools_answer"
### BEGIN SOLUTION
def sigmoid(z):
    """1 / (1 + exp(-z)) elementwise, without overflow for any finite z."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(z):
    """Softmax along the last axis, for logits of any size."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
### END SOLUTION


# %% [markdown]
# ## 4.1 The gradients, derived
#
# Throughout, $z$ is a **logit** (the model's raw output), $\sigma(z) = 1/(1+e^{-z})$
# is the predicted probability of class 1, and $y \in \{0, 1\}$ is the label. The
# one fact you need about the sigmoid is its derivative,
#
# $$ \sigma'(z) = \sigma(z)\,\bigl(1 - \sigma(z)\bigr), $$
#
# which you can check by differentiating $(1+e^{-z})^{-1}$ (or with
# `sp.diff(sp_sigmoid(z), z)` below). Note where it is small: $\sigma'(z) \le 1/4$
# everywhere, and it goes to zero on both sides as $|z|$ grows.
#
# The next cell defines the SymPy symbols `y_hat, y, z` (real) and `sigma2`
# (positive) shared by all notebooks, and `sp_sigmoid(t)`, the sigmoid as a SymPy
# expression.
#
# **How a derivation is graded.** Each derivation earns a point for its value (any
# algebraically equivalent expression) and a point for its **form**, which each
# exercise states: derived and simplified by you, not left as SymPy's raw output. The
# size of a form is the number of nodes of its SymPy tree,
# `len(list(sp.preorder_traversal(expr)))`; an unsimplified `sp.diff(...)` earns the
# value point only. Use `sp.diff` to check your hand derivation, not to replace it.

# %%
y_hat, y, z = sp.symbols("y_hat y z", real=True)
sigma2 = sp.Symbol("sigma2", positive=True)


def sp_sigmoid(t):
    """The logistic sigmoid 1 / (1 + exp(-t)) as a SymPy expression."""
    return 1 / (1 + sp.exp(-t))


# %% [markdown]
# ### Exercise: the gradient of binary cross-entropy
#
# Notebook 2 derived the negative log-likelihood of one label under a Bernoulli
# model with $p = \sigma(z)$:
#
# $$ \ell_{\text{BCE}}(z, y) = -y \log \sigma(z) - (1 - y) \log\bigl(1 - \sigma(z)\bigr). $$
#
# Differentiate it with respect to the logit $z$. Use $\sigma'$ above: the
# derivative of $\log \sigma(z)$ is $\sigma'(z)/\sigma(z)$, and that of
# $\log(1 - \sigma(z))$ is $-\sigma'(z)/(1-\sigma(z))$. Simplify as far as you can
# (the result is remarkably short), write it in the symbols `z` and `y` (with
# `sp_sigmoid(z)` for $\sigma(z)$) and assign it to `bce_grad_expr`.
#
# *The form asked for:* simplified, in `sp_sigmoid(z)` and `y` only (no logarithm, no
# other exponential; $\sigma(z)$ written as `sp.exp(z) / (1 + sp.exp(z))` counts as a
# sigmoid too), at most 24 nodes.

# %% kind="answer" id="bce_grad_expr_answer"
### BEGIN SOLUTION
bce_grad_expr = sp_sigmoid(z) - y
### END SOLUTION
bce_grad_expr

# %% kind="test" id="bce_grad_expr_equivalent" points=1
# A model that is undecided (z = 0) about a positive example (y = 1).
assert sp.simplify(bce_grad_expr.subs({y: 1, z: 0}) + sp.Rational(1, 2)) == 0

# %% kind="test" id="bce_grad_expr_simplified" points=1
assert len(list(sp.preorder_traversal(bce_grad_expr))) <= 24

# %% [markdown]
# Look at what you found, in the terms of the model: it compares the model's
# prediction with the target. Evaluate it for a positive example ($y = 1$) that the
# model gets confidently wrong ($z \ll 0$): how large is the push? The worse the
# mistake, the stronger it is. This is no accident: the logarithm of the likelihood
# undoes the exponential inside the sigmoid. The next cell evaluates your expression
# there.

# %%
for z_value in (-1.0, -4.0, -10.0):
    print(f"your bce_grad_expr at z = {z_value:5.1f}, y = 1: {float(bce_grad_expr.subs({z: z_value, y: 1})):+.5f}")

# %% [markdown]
#
# ### Exercise: the gradient of squared error through a sigmoid
#
# Now treat the predicted probability as a regression output and use the squared
# error of notebook 1 instead:
#
# $$ \ell_{\text{MSE}}(z, y) = \bigl(\sigma(z) - y\bigr)^2 . $$
#
# Differentiate it with respect to $z$ (the chain rule, once) and assign the result
# to `mse_sigmoid_grad_expr`, in the same symbols.
#
# *The form asked for:* in `sp_sigmoid(z)` and `y`, with $\sigma'(z)$ written through
# the fact above (no exponential outside a sigmoid), at most 70 nodes.

# %% kind="answer" id="mse_sigmoid_grad_expr_answer"
### BEGIN SOLUTION
mse_sigmoid_grad_expr = 2 * (sp_sigmoid(z) - y) * sp_sigmoid(z) * (1 - sp_sigmoid(z))
### END SOLUTION
mse_sigmoid_grad_expr

# %% kind="test" id="mse_sigmoid_grad_expr_equivalent" points=1
# At z = 0: sigma = 1/2 and sigma' = 1/4.
assert sp.simplify(mse_sigmoid_grad_expr.subs({y: 1, z: 0}) + sp.Rational(1, 4)) == 0

# %% kind="test" id="mse_sigmoid_grad_expr_simplified" points=1
assert len(list(sp.preorder_traversal(mse_sigmoid_grad_expr))) <= 70

# %% [markdown]
# ### Predict, then check: how much stronger is one gradient than the other?
#
# Take a positive example ($y = 1$) that the model gets badly wrong: **choose** its
# logit yourself, any number from $-8$ to $-2$, and assign it to `z_for_ratio`. By
# what factor is the magnitude of the BCE gradient larger than that of the
# squared-error gradient at your logit? Work it out from your two expressions (the
# ratio simplifies to something short), assign the number to `gradient_ratio`, and
# keep the form of the ratio in mind for section 4.5.
#
# *Graded for being right at your own logit* (to 0.1%): the number depends on the
# logit you chose, so no number printed in this notebook answers it.

# %% kind="answer" id="gradient_ratio_answer"
### BEGIN SOLUTION
z_for_ratio = -3.0
s_mine = 1 / (1 + math.exp(-z_for_ratio))
gradient_ratio = 1 / (2 * s_mine * (1 - s_mine))
### END SOLUTION
z_for_ratio, gradient_ratio

# %% kind="test" id="gradient_ratio_prediction" points=1
assert -8 <= float(z_for_ratio) <= -2 and float(gradient_ratio) > 1

# %% [markdown]
# Check your prediction with your own two expressions, at your logit:

# %%
ratio_from_your_expressions = abs(float((bce_grad_expr / mse_sigmoid_grad_expr).subs({z: z_for_ratio, y: 1})))
print(f"at z = {float(z_for_ratio):g}: your expressions give {ratio_from_your_expressions:.4g}, "
      f"you predicted {float(gradient_ratio):.4g}")

# %% [markdown]
# The squared-error gradient is "prediction minus target" too, times a factor that
# holds $\sigma'(z)$. When the model is confidently wrong, $\sigma(z)$ is near 0 or 1,
# so $\sigma'(z)$ is near zero and the squared-error gradient **vanishes** just when
# it is needed most. Section 4.5 puts numbers on it.
#
# ### Exercise: the gradient of softmax cross-entropy
#
# For $C$ classes with logits $z \in \mathbb R^C$ and a label $y$, notebook 3's
# cross-entropy of one example is $-\log \operatorname{softmax}(z)_y$. Take three
# classes with logits `z0, z1, z2` (the symbols of the next cell) and true class 0.
# Write that loss as a SymPy expression, differentiate it with respect to each of the
# three logits, and assign the three derivatives, in the order
# $[\partial/\partial z_0, \partial/\partial z_1, \partial/\partial z_2]$, as a
# list (or an `sp.Matrix`) to `softmax_ce_grad_expr`. Then try to write each entry
# in terms of the softmax probabilities: the pattern is what you implement next.
#
# *The form asked for:* each entry simplified, in exponentials of the logits, with
# no logarithm, at most 28 nodes each.

# %%
z0, z1, z2 = sp.symbols("z0 z1 z2", real=True)

# %% kind="answer" id="softmax_ce_grad_expr_answer"
### BEGIN SOLUTION
ce_class_0 = -sp.log(sp.exp(z0) / (sp.exp(z0) + sp.exp(z1) + sp.exp(z2)))
softmax_ce_grad_expr = [sp.simplify(sp.diff(ce_class_0, zk)) for zk in (z0, z1, z2)]
### END SOLUTION
softmax_ce_grad_expr

# %% kind="test" id="softmax_ce_grad_expr_equivalent" points=1
assert len(softmax_ce_grad_expr) == 3, "one derivative per logit"

# %% kind="test" id="softmax_ce_grad_expr_simplified" points=1
assert all(len(list(sp.preorder_traversal(entry))) <= 28 for entry in softmax_ce_grad_expr)

# %% [markdown]
# Look at what you found, with $p_k = \operatorname{softmax}(z)_k$: write each entry
# in the $p_k$ and compare the entry of the true class with the others. Then
# generalise it to any label $y$: that is the function you implement in section 4.3.
# The next cell checks one thing about your three entries without giving them away:
# they sum to 0, because adding the same constant to all logits changes nothing.

# %%
print("the sum of your three entries, simplified:", sp.simplify(sum(softmax_ce_grad_expr)))
#
# ## 4.2 Checking a gradient numerically
#
# A derivation can be wrong, and so can its code. The standard defence is to compare
# the analytic gradient with a **numerical** one computed from the loss alone. For a
# scalar function $f$ of an array $x$, perturb one element $x_i$ at a time by a small
# $\varepsilon$ in both directions:
#
# $$ \frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon}, $$
#
# where $e_i$ is the array with a 1 at position $i$ and zeros elsewhere. Taylor's
# theorem says why this **central** difference is the one to use: the one-sided
# difference $\bigl(f(x + \varepsilon e_i) - f(x)\bigr)/\varepsilon$ has an error
# proportional to $\varepsilon$, the central one an error proportional to
# $\varepsilon^2$ (the $\varepsilon^2$ terms of the two Taylor expansions cancel).
# With $\varepsilon = 10^{-6}$ that is $10^{-12}$ instead of $10^{-6}$.
#
# Rounding sets the other limit: $f$ is only known to about $10^{-16}$ of its size
# in float64, and dividing by $2\varepsilon$ magnifies that error to about
# $10^{-10}$. In float32 (about $10^{-7}$) the same division leaves nothing
# useful, so **gradient checks are done in float64**.
#
# ### Exercise: implement `numerical_grad(f, x, eps=1e-6)`
#
# - `f` takes an array shaped like `x` and returns one number;
# - return the central-difference gradient, an array of the **same shape as `x`**
#   (any shape: 1-D, 2-D, ...), computed in float64;
# - perturb **one element at a time** (`np.ndindex(x.shape)` walks over every index
#   of an array of any shape; for a 2-D `x`, `x[i]` with an integer `i` is a whole
#   row);
# - leave the caller's `x` **unchanged** afterwards: work on a float64 copy, or save
#   each element before perturbing it and put it back.

# %% kind="answer" id="numerical_grad_answer"
def numerical_grad(f, x, eps=1e-6):
    """Central-difference gradient of the scalar function f at x (same shape as x)."""
    ### BEGIN SOLUTION
    x = np.array(x, dtype=np.float64)  # a float64 copy: the caller's x is never touched
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old - eps
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
    ### END SOLUTION


# %% kind="test" id="numerical_grad_accuracy" points=2
# The gradient of sum(x**2) is 2x.
g = numerical_grad(lambda v: np.sum(v ** 2), np.array([1.0, -2.0, 0.5]))
assert np.allclose(g, [2.0, -4.0, 1.0], rtol=1e-7)

# %% kind="test" id="numerical_grad_central_differences" points=1
# With a large eps the central difference of x**3 is exactly 3x^2 + eps^2.
g = numerical_grad(lambda v: np.sum(v ** 3), np.array([1.0, 2.0]), eps=0.1)
assert np.allclose(g, [3.01, 12.01], rtol=1e-9)

# %% kind="test" id="numerical_grad_any_shape" points=1
g = numerical_grad(lambda v: np.sum(v ** 2), np.ones((2, 3)))
assert g.shape == (2, 3)
assert np.allclose(g, 2.0)

# %% kind="test" id="numerical_grad_leaves_x_unchanged" points=1
x_check = np.array([0.5, -1.0, 2.0])
numerical_grad(lambda v: np.sum(v ** 3), x_check)
assert np.array_equal(x_check, [0.5, -1.0, 2.0])

# %% [markdown]
# ### How close is close enough? The relative error
#
# An absolute difference means nothing without a scale: $10^{-6}$ is a large error
# for a gradient of size $10^{-6}$ and a tiny one for a gradient of size $10^{3}$.
# A gradient check therefore compares each analytic element $a$ with its numerical
# estimate $n$ by a **relative error**. This notebook uses the one of the gradient
# check code of Stanford's CS231n assignments,
#
# $$ \text{rel}(a, n) = \frac{|a - n|}{\max\bigl(10^{-8},\; |a| + |n|\bigr)}, $$
#
# where the floor $10^{-8}$ keeps $0/0$ (both gradients exactly zero) from becoming
# NaN. The table of thresholds below comes from the CS231n *lecture notes*, which
# divide by $\max(|a|, |n|)$ instead of $|a| + |n|$. Since
# $\max(|a|, |n|) \le |a| + |n| \le 2\max(|a|, |n|)$, our relative error is between
# half of theirs and all of it: never more than a factor 2 apart, which moves no
# verdict of a table whose rows are orders of magnitude apart. For a smooth function
# in float64 the numbers mean:
#
# | largest relative error | verdict |
# |---|---|
# | above $10^{-2}$ | the gradient is almost certainly wrong |
# | $10^{-4}$ to $10^{-2}$ | suspicious: look for a mistake |
# | $10^{-7}$ to $10^{-4}$ | acceptable only near kinks (ReLU, abs); otherwise too high |
# | below $10^{-7}$ | the gradient is right |
#
# ### Predict, then check: the signature of a mistake
#
# A usual mistake leaves a signature in the relative error, whatever the size of the
# gradient: a gradient with a factor wrong, $a = c\,n$. **Choose** the factor
# yourself, any positive number other than 1 (say a factor a derivation could
# really lose or gain), assign it to `wrong_factor`, and predict from the formula
# above (with gradients far from 0) the relative error between a right gradient $n$
# and $a = c\,n$: assign it to `rel_error_wrong_factor`. You will check it with your
# own `relative_error` right after implementing it.
#
# *Graded for being right for your own factor* (to $10^{-6}$).

# %% kind="answer" id="relative_error_signatures_answer"
### BEGIN SOLUTION
wrong_factor = 6.0
rel_error_wrong_factor = abs(wrong_factor - 1) / (wrong_factor + 1)
### END SOLUTION
wrong_factor, rel_error_wrong_factor

# %% kind="test" id="relative_error_signatures_prediction" points=1
assert float(wrong_factor) > 0 and 0 <= float(rel_error_wrong_factor) <= 1

# %% [markdown]
# ### Exercise: implement `relative_error(a, n)`
#
# The formula above, elementwise, for array-likes of the same shape (or that
# broadcast); return an array (use `.max()` on it for the worst element). Then run
# the cell after the test to compare with your predictions.

# %% kind="answer" id="relative_error_answer"
def relative_error(a, n):
    """CS231n's relative error |a - n| / max(1e-8, |a| + |n|), elementwise, in float64."""
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    return np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))
    ### END SOLUTION


# %% kind="test" id="relative_error_value" points=1
assert relative_error(0.0, 0.0) == 0.0
assert relative_error([2.0, 5.0], [2.0, 5.0]).shape == (2,)

# %%
right_gradient = np.array([0.3, -2.0, 7.5])
print("sign flipped:      ", relative_error(-right_gradient, right_gradient))
print(f"factor {float(wrong_factor):g}:", relative_error(wrong_factor * right_gradient, right_gradient),
      "  predicted", rel_error_wrong_factor)

# %% [markdown]
# ## 4.3 The analytic gradients in code
#
# Each function below returns the derivative of the **per-example** loss with
# respect to that example's logit(s): an array of the shape of `z`, one entry per
# logit, **not** divided by the number of examples. (Averaging belongs to whoever
# averages the losses: the training loop of section 4.6 does it once, for all
# parameters.) These are what PyTorch's autograd gives for the losses summed over
# the examples, `reduction='sum'`.
#
# Inputs are array-likes of any shape (Python floats and lists, NumPy float32 or
# float64 arrays); labels may be ints or floats. Use `sigmoid` and `softmax` from
# section 4.0; the results must be finite and correct for every finite logit,
# including $\pm 120$ and $\pm 10^4$.
#
# ### Exercise: implement `bce_grad(z, y)`
#
# Your simplified `bce_grad_expr`, in NumPy. Before you write it, ask whether your
# form stays finite when `sigmoid(z)` rounds to exactly 0 or 1 (it does for
# $|z| > 37$): a form that divides by $\sigma(z)$ or $1 - \sigma(z)$ does not.

# %% kind="answer" id="bce_grad_answer"
def bce_grad(z, y):
    """d/dz of -y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z)), elementwise."""
    ### BEGIN SOLUTION
    return sigmoid(z) - np.asarray(y, dtype=np.float64)
    ### END SOLUTION


# %% kind="test" id="bce_grad_matches_torch" points=2
assert math.isclose(float(bce_grad(-10.0, 1.0)), -0.9999546, rel_tol=1e-6)
assert np.allclose(bce_grad(np.array([0.0, 0.0]), np.array([1.0, 0.0])), [-0.5, 0.5])

# %% kind="test" id="bce_grad_extreme_logits" points=2
assert np.allclose(bce_grad(np.array([120.0, -120.0]), np.array([0.0, 1.0])), [1.0, -1.0])

# %% kind="test" id="bce_grad_lists_and_float32" points=1
assert np.allclose(bce_grad([0.0, 2.0], [1, 0]), [-0.5, sigmoid(2.0)])
assert np.allclose(bce_grad(np.float32([0.0]), np.float32([1.0])), [-0.5])

# %% [markdown]
# ### Exercise: implement `mse_sigmoid_grad(z, y)`
#
# Your `mse_sigmoid_grad_expr`, in NumPy, with the same care at large $|z|$:
# compute $\sigma'(z)$ from the stable `sigmoid`, not from `np.exp(-z)`, which
# overflows for $z < -709$.

# %% kind="answer" id="mse_sigmoid_grad_answer"
def mse_sigmoid_grad(z, y):
    """d/dz of (sigmoid(z) - y)**2, elementwise."""
    ### BEGIN SOLUTION
    s = sigmoid(z)
    return 2 * (s - np.asarray(y, dtype=np.float64)) * s * (1 - s)
    ### END SOLUTION


# %% kind="test" id="mse_sigmoid_grad_matches_torch" points=2
assert math.isclose(float(mse_sigmoid_grad(-10.0, 1.0)), -9.0787e-05, rel_tol=1e-4)
assert np.allclose(mse_sigmoid_grad(np.array([0.0]), np.array([1.0])), [-0.25])

# %% kind="test" id="mse_sigmoid_grad_extreme_logits" points=1
assert np.all(np.isfinite(mse_sigmoid_grad(np.array([1e4, -1e4]), np.array([0.0, 1.0]))))

# %% kind="test" id="mse_sigmoid_grad_lists_and_float32" points=1
assert np.allclose(mse_sigmoid_grad([0.0, 0.0], [0, 1]), [0.25, -0.25])
assert np.allclose(mse_sigmoid_grad(np.float32([0.0]), np.float32([0.0])), [0.25])

# %% [markdown]
# ### Exercise: implement `softmax_ce_grad(z, y)`
#
# Logits `z` of shape `(N, C)` and integer class indices `y` of shape `(N,)`; return
# the gradient you derived, generalised to any label, for each row, shape `(N, C)`,
# not divided by `N`. As in notebook 3, a single example may also be given as logits
# of shape `(C,)` with a scalar label; then the result has shape `(C,)`.
#
# Careful when you pick one entry per row: indexing with `y` alone picks whole
# **columns**.

# %% kind="answer" id="softmax_ce_grad_answer"
def softmax_ce_grad(z, y):
    """d/dz of the per-example cross-entropy losses -log softmax(z)[y]; shape of z."""
    ### BEGIN SOLUTION
    p = softmax(z)
    labels = np.asarray(y).astype(np.int64)
    onehot = np.zeros_like(p)
    np.put_along_axis(onehot, labels[..., None], 1.0, axis=-1)
    return p - onehot
    ### END SOLUTION


# %% kind="test" id="softmax_ce_grad_matches_torch" points=2
g = softmax_ce_grad(np.zeros((2, 4)), np.array([1, 3]))
assert np.allclose(g, [[0.25, -0.75, 0.25, 0.25], [0.25, 0.25, 0.25, -0.75]])

# %% kind="test" id="softmax_ce_grad_extreme_logits" points=1
assert np.allclose(softmax_ce_grad(np.array([[1000.0, 0.0, -1000.0]]), np.array([2])), [[1.0, 0.0, -1.0]])

# %% kind="test" id="softmax_ce_grad_lists_and_single_example" points=1
assert np.allclose(softmax_ce_grad([[0.0, 0.0]], [0]), [[-0.5, 0.5]])
assert softmax_ce_grad(np.zeros(3), 1).shape == (3,)

# %% [markdown]
# ## 4.4 The gradient check
#
# Now put the two halves together: for each loss, write the **summed** loss as a
# plain function of the logits, differentiate it numerically with your
# `numerical_grad`, and compare with your analytic gradient by the relative error.
# Nothing here knows the analytic formulas, so a wrong derivation or a typo in the
# code shows up as a large error.
#
# The logits are kept moderate (of order 1) on purpose. Where a gradient element is
# tiny, say $10^{-5}$ for a very confident prediction, the numerical estimate's
# rounding error of about $10^{-10}$ is no longer small *relative* to it, and even a
# right gradient can show a relative error near $10^{-5}$. Check gradients where they
# are of a reasonable size.

# %%
def bce_sum(z_, y_):
    """Sum of the per-example BCE losses, from your sigmoid (fine for logits of order 1)."""
    p = sigmoid(z_)
    return -np.sum(y_ * np.log(p) + (1 - y_) * np.log(1 - p))


def mse_sigmoid_sum(z_, y_):
    return np.sum((sigmoid(z_) - y_) ** 2)


def softmax_ce_sum(z_, y_):
    """Sum of the per-example cross-entropies, from your softmax (fine for logits of order 1)."""
    return -np.sum(np.log(np.sum(softmax(z_) * np.eye(z_.shape[-1])[y_], axis=-1)))


def verdict(err):
    if err < 1e-7:
        return "right"
    if err < 1e-4:
        return "too high for a smooth function"
    if err < 1e-2:
        return "suspicious"
    return "wrong"


rng = np.random.default_rng(4)
z_bin, y_bin = rng.normal(0, 1, size=8), rng.integers(0, 2, size=8).astype(np.float64)
z_multi, y_multi = rng.normal(0, 1, size=(4, 3)), rng.integers(0, 3, size=4)
gradient_checks = [
    ("bce_grad", bce_grad(z_bin, y_bin), numerical_grad(lambda v: bce_sum(v, y_bin), z_bin)),
    ("mse_sigmoid_grad", mse_sigmoid_grad(z_bin, y_bin), numerical_grad(lambda v: mse_sigmoid_sum(v, y_bin), z_bin)),
    ("softmax_ce_grad", softmax_ce_grad(z_multi, y_multi),
     numerical_grad(lambda v: softmax_ce_sum(v, y_multi), z_multi)),
]
for name, analytic, numeric in gradient_checks:
    err = float(np.max(relative_error(analytic, numeric)))
    print(f"{name:17s} largest relative error {err:8.1e}   {verdict(err)}")

# %% [markdown]
# And here is what the usual mistakes look like to the same check, applied to the
# binary cross-entropy gradient:

# %%
numeric_bce = numerical_grad(lambda v: bce_sum(v, y_bin), z_bin)
s_bin = sigmoid(z_bin)
yours = bce_grad(z_bin, y_bin)
broken = {
    "sign flipped": -yours,
    "an extra sigmoid' factor": yours * s_bin * (1 - s_bin),
    "averaged over the examples": yours / len(z_bin),
    "a one-sided difference": np.array([(bce_sum(z_bin + 1e-6 * np.eye(8)[i], y_bin) - bce_sum(z_bin, y_bin)) / 1e-6
                                        for i in range(8)]),
}
for what, candidate in broken.items():
    err = float(np.max(relative_error(candidate, numeric_bce)))
    print(f"{what:30s} largest relative error {err:8.1e}   {verdict(err)}")

# %% [markdown]
# (The one-sided difference is not wrong, only imprecise: its error, about
# $10^{-7}$ to $10^{-6}$, is what makes it useless for telling a right gradient from
# a slightly wrong one.)
#
# ## 4.5 The vanishing gradient, made visible
#
# Take one positive example ($y = 1$) and slide its logit from confidently right
# ($z \gg 0$) to confidently wrong ($z \ll 0$). On the left are the two losses; on
# the right, the size of their gradients on a logarithmic scale.

# %%
z_grid = np.linspace(-15, 8, 461)
ones = np.ones_like(z_grid)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.plot(z_grid, -np.log(sigmoid(z_grid)), label="BCE: $-\\log \\sigma(z)$")
left.plot(z_grid, (sigmoid(z_grid) - 1) ** 2, label="squared error of $\\sigma(z)$")
left.set(xlabel="logit $z$ of a positive example ($y = 1$)", ylabel="loss", title="The losses")
left.legend()

right.semilogy(z_grid, np.abs(bce_grad(z_grid, ones)), label="BCE: your bce_grad")
right.semilogy(z_grid, np.abs(mse_sigmoid_grad(z_grid, ones)), label="squared error: your mse_sigmoid_grad")
at_minus_ten = (float(bce_grad(-10.0, 1.0)), float(mse_sigmoid_grad(-10.0, 1.0)))
right.plot([-10, -10], np.abs(at_minus_ten), "ko")
right.axvline(-10, color="grey", lw=0.8, ls="--")
right.set(xlabel="logit $z$ of a positive example ($y = 1$)", ylabel="$|\\partial \\ell / \\partial z|$",
          title="The gradients: one survives, one vanishes")
right.legend(loc="lower left")
fig.subplots_adjust(left=0.05, right=0.99, bottom=0.15, top=0.9, wspace=0.25)
plt.show()

print(f"at z = -10, y = 1:  bce_grad = {at_minus_ten[0]:.7f}   mse_sigmoid_grad = {at_minus_ten[1]:.4e}")
print(f"the BCE gradient is {at_minus_ten[0] / at_minus_ten[1]:,.0f} times larger")

# %% [markdown]
# At $z = -10$ the model gives the positive example a probability of about
# $4.5 \cdot 10^{-5}$: it is as wrong as it can reasonably be. Binary cross-entropy
# answers with a gradient of $-0.99995$, essentially the largest it ever gives. The
# squared error answers with $-9.08 \cdot 10^{-5}$, about eleven thousand times
# less: the factor $\sigma'(-10) \approx 4.5 \cdot 10^{-5}$ has all but erased it.
# Its loss curve on the left is flat there, at its maximum of 1, and a flat loss
# gives gradient descent nothing to follow.
#
# ## 4.6 What it does to training
#
# A logistic regression, $z_i = w^\top x_i + b$, on 200 points from two overlapping
# Gaussian clouds, started from a **badly wrong** model: $w = (-4, -4)$ points the
# opposite way, so almost every example is confidently misclassified (the cell
# below prints the accuracy at the start).
#
# Plain gradient descent on the mean loss $\frac1N \sum_i \ell(z_i, y_i)$ needs its
# gradient with respect to the **parameters** $w$ and $b$, not the logits. Each
# parameter reaches the loss only through the logits: use the chain rule through
# $z_i = w^\top x_i + b$ (what is $\partial z_i / \partial w_d$? and
# $\partial z_i / \partial b$?), and mind the $\frac1N$ of the mean.
#
# ### Exercise: implement `logistic_regression_grad(X, y, w, b)`
#
# - `X`: features, shape `(N, D)`; `y`: labels in $\{0, 1\}$, shape `(N,)`;
#   `w`: weights, shape `(D,)`; `b`: the bias, a number;
# - use the labels as numbers in a formula, not as class names (no `y == 1` tests,
#   here or in the `bce_grad` you build on): the squared-error run below also calls
#   your function with labels that are not 0 or 1;
# - return the tuple `(grad_w, grad_b)`: the gradient of the **mean** binary
#   cross-entropy of the logits `X @ w + b` with respect to `w` (shape `(D,)`) and to
#   `b` (one number), finite for logits up to $\pm 10^4$;
# - your `bce_grad` does the part that concerns one logit.
#
# PyTorch's autograd of `F.binary_cross_entropy_with_logits(X @ w + b, y)` is the
# reference. Your function trains the model below, so the experiment runs on your
# own gradient.

# %% kind="answer" id="logistic_regression_grad_answer"
def logistic_regression_grad(X, y, w, b):
    """Gradient of the mean BCE of the logits X @ w + b with respect to w and b."""
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    logit_grads = bce_grad(X @ np.asarray(w, dtype=np.float64) + float(b), y)
    return X.T @ logit_grads / X.shape[0], float(np.mean(logit_grads))
    ### END SOLUTION


# %% kind="test" id="logistic_regression_grad_matches_torch" points=2
grad_w, grad_b = logistic_regression_grad(np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([1.0, 0.0]),
                                          np.zeros(2), 0.0)
assert np.shape(grad_w) == (2,) and np.size(grad_b) == 1

# %% kind="test" id="logistic_regression_grad_extreme_logits" points=1
with np.errstate(all="ignore"):
    grad_w, grad_b = logistic_regression_grad(np.array([[1.0], [-1.0]]), np.array([0.0, 1.0]), np.array([1e4]), 0.0)
assert np.all(np.isfinite(grad_w)) and np.isfinite(grad_b)

# %% kind="test" id="logistic_regression_grad_lists_and_shapes" points=1
grad_w, grad_b = logistic_regression_grad([[0.5, 1.0, -1.0]], [1], [0.0, 0.0, 0.0], 0)
assert np.shape(grad_w) == (3,)

# %% [markdown]
# Look at what you found: the per-example logit gradients $g_i = \partial \ell / \partial z_i$
# are all a training loop needs, and the division by $N$ happens here, once. The
# squared-error run needs the same parameter gradient with the logit gradients of
# `mse_sigmoid_grad` in place of the BCE ones, and it can be had from your own
# `logistic_regression_grad` without writing its formula again: the BCE logit gradient
# $\sigma(z_i) - y_i$ is linear in the label, so lowering every label $y_i$ by some
# $g_i$ changes your parameter gradient by exactly the parameter gradient of the logit
# gradients $g_i$. The function `mse_sigmoid_weights_grad` below calls your function
# twice, at the labels and at the labels lowered by the squared-error logit gradients,
# and returns the difference.

# %%
def mse_sigmoid_weights_grad(X, y, w, b):
    """Gradient of the mean of (sigmoid(X @ w + b) - y)**2 with respect to w and b, from your
    logistic_regression_grad at the labels and at the labels lowered by mse_sigmoid_grad."""
    logit_grads = np.asarray(mse_sigmoid_grad(X @ w + b, y), dtype=np.float64)
    at_labels_w, at_labels_b = logistic_regression_grad(X, y, w, b)
    lowered_w, lowered_b = logistic_regression_grad(X, y - logit_grads, w, b)
    return (np.asarray(lowered_w, dtype=np.float64) - np.asarray(at_labels_w, dtype=np.float64),
            float(lowered_b) - float(at_labels_b))


# %% [markdown]
# Before training with them, check both the way section 4.4 checked the others: the
# numerical gradient of each mean loss with respect to all parameters at once,
# $(w_1, \dots, w_D, b)$, against the analytic one. (If the second check fails and the
# first passes, look at how your `logistic_regression_grad` and your `bce_grad` use `y`.)

# %%
check_rng = np.random.default_rng(7)
X_check, y_check = check_rng.normal(size=(12, 3)), check_rng.integers(0, 2, size=12).astype(np.float64)


def mean_bce_of_parameters(theta):
    """The mean BCE as a function of the parameter vector (w_1, ..., w_D, b)."""
    return bce_sum(X_check @ theta[:-1] + theta[-1], y_check) / len(y_check)


def mean_squared_error_of_parameters(theta):
    """The mean of (sigmoid(z) - y)**2 as a function of the parameter vector (w_1, ..., w_D, b)."""
    return np.mean((sigmoid(X_check @ theta[:-1] + theta[-1]) - y_check) ** 2)


theta_check = check_rng.normal(size=4)
parameter_gradients = [("logistic_regression_grad", logistic_regression_grad, mean_bce_of_parameters),
                       ("mse_sigmoid_weights_grad", mse_sigmoid_weights_grad, mean_squared_error_of_parameters)]
for name, weights_grad_fn, mean_loss in parameter_gradients:
    analytic = np.append(*weights_grad_fn(X_check, y_check, theta_check[:-1], theta_check[-1]))
    numeric = numerical_grad(mean_loss, theta_check)
    err = float(np.max(relative_error(analytic, numeric)))
    print(f"{name:25s} largest relative error {err:8.1e}   {verdict(err)}")

# %% [markdown]
# The next cell trains the same model from the same start with each loss, 300 steps
# of learning rate 1, and records the mean BCE, the mean squared error and the
# training accuracy at every step (entry `k` of each history is the value after `k`
# steps; entry 0 is the start). The BCE run uses your `logistic_regression_grad`,
# the squared-error run your `mse_sigmoid_grad` (through your `logistic_regression_grad`).

# %%
N_TRAIN, STEPS, LEARNING_RATE, TARGET_ACCURACY = 200, 300, 1.0, 0.85

data_rng = np.random.default_rng(0)
labels = (data_rng.random(N_TRAIN) < 0.5).astype(np.float64)
features = data_rng.normal(size=(N_TRAIN, 2)) + np.where(labels[:, None] == 1, 1.0, -1.0)
w_start, b_start = np.array([-4.0, -4.0]), 0.0


def train_logistic(weights_grad_fn, steps=STEPS, lr=LEARNING_RATE):
    """Gradient descent from (w_start, b_start) with the parameter gradient weights_grad_fn(X, y, w, b)."""
    w, b = w_start.copy(), b_start
    history = {"bce": [], "mse": [], "accuracy": []}
    for step in range(steps + 1):
        logits = features @ w + b
        history["bce"].append(bce_sum(logits, labels) / len(labels))
        history["mse"].append(np.mean((sigmoid(logits) - labels) ** 2))
        history["accuracy"].append(np.mean((logits > 0) == (labels == 1)))
        if step == steps:
            break
        grad_w, grad_b = weights_grad_fn(features, labels, w, b)
        w = w - lr * np.asarray(grad_w, dtype=np.float64)
        b = b - lr * float(grad_b)
    return {key: np.array(values) for key, values in history.items()}


history_bce = train_logistic(logistic_regression_grad)
history_mse = train_logistic(mse_sigmoid_weights_grad)
print(f"training accuracy at the start: {history_bce['accuracy'][0]:.1%}")

# %%
steps_axis = np.arange(STEPS + 1)
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
axes[0].plot(steps_axis, history_bce["bce"], label="trained with BCE")
axes[0].plot(steps_axis, history_mse["bce"], label="trained with squared error")
axes[0].set(ylabel="mean BCE", title="Binary cross-entropy of the model")
axes[1].plot(steps_axis, history_bce["mse"], label="trained with BCE")
axes[1].plot(steps_axis, history_mse["mse"], label="trained with squared error")
axes[1].set(ylabel="mean squared error of $\\sigma(z)$", title="Squared error of the model")
axes[2].plot(steps_axis, history_bce["accuracy"], label="trained with BCE")
axes[2].plot(steps_axis, history_mse["accuracy"], label="trained with squared error")
axes[2].axhline(TARGET_ACCURACY, color="grey", lw=0.8, ls="--", label=f"{TARGET_ACCURACY:.0%} accuracy")
axes[2].set(ylabel="training accuracy", title="Accuracy")
for ax in axes:
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(0, STEPS)
    ax.set_xlabel("gradient steps (linear up to 10, then logarithmic)")
    ax.legend()
fig.subplots_adjust(left=0.05, right=0.99, bottom=0.15, top=0.9, wspace=0.25)
plt.show()

# %% [markdown]
# ### Exercise: read the experiment
#
# Using the histories `history_bce` and `history_mse` from your own run, set
#
# - `steps_bce`: the number of gradient steps the BCE run needs until its training
#   accuracy **first** reaches at least `TARGET_ACCURACY` (85%), that is, the
#   smallest `k` with `history_bce["accuracy"][k] >= TARGET_ACCURACY`;
# - `steps_mse`: the same for the squared-error run.
#
# If a run never reaches the target within its `STEPS` steps, report `STEPS`. Both
# are whole numbers. (Beware `np.argmax(condition)`: it returns 0 when the condition
# is never true.) Your answers are judged against your own run, recomputed from your
# own gradient functions, so a slip in a gradient above does not cost these points
# again.

# %% kind="answer" id="steps_to_accuracy_answer"
### BEGIN SOLUTION
def first_step_reaching(accuracy, target=TARGET_ACCURACY):
    reached = np.flatnonzero(np.asarray(accuracy) >= target)
    return int(reached[0]) if reached.size else STEPS


steps_bce = first_step_reaching(history_bce["accuracy"])
steps_mse = first_step_reaching(history_mse["accuracy"])
### END SOLUTION
steps_bce, steps_mse

# %% kind="test" id="gradient_descent_steps_to_accuracy" points=2
assert steps_bce == int(steps_bce) and steps_mse == int(steps_mse)
assert history_bce["accuracy"][int(steps_bce)] >= TARGET_ACCURACY

# %% [markdown]
# Both runs start from the same model and end near the same accuracy: the data and
# the model decide where training can go. The loss decides **how fast** it gets
# there. Cross-entropy turns the start's confident mistakes into gradients close to
# $\pm 1$ and fixes the model within a handful of steps. Squared error turns the same
# mistakes into gradients of order $\sigma'(z) \approx 10^{-4}$: its loss sits on a
# plateau for well over a hundred steps, creeping along, until enough examples cross
# into the region where $\sigma'$ is large and it finally learns.
#
# ## Summary
#
# | loss of a logit $z$ | its gradient with respect to $z$ | when the model is confidently wrong |
# |---|---|---|
# | binary cross-entropy | your `bce_grad_expr` | about $\pm 1$: a strong push |
# | squared error of $\sigma(z)$ | your `mse_sigmoid_grad_expr` | about $\pm 2\sigma'(z) \to 0$: it vanishes |
# | softmax cross-entropy | your `softmax_ce_grad_expr`, for any label | about $\pm 1$ |
#
# The likelihood view of notebooks 1 to 3 chose each loss to match the kind of target;
# this notebook shows the practical consequence of that choice. Whatever you derive,
# check it numerically: central differences in float64, and a relative error below
# $10^{-7}$.
