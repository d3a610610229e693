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
# # 3. Where cross-entropy comes from: the categorical likelihood
#
# In notebook 2 the target was one of two labels. Now it is one of $C$ classes: a
# digit from 0 to 9, a word out of a vocabulary, a species out of a field guide.
# A classifier outputs $C$ real numbers per example, the **logits**, and the
# **softmax** turns them into a probability for each class. The loss every
# classifier is trained with, **cross-entropy**, is again no choice: it is the
# negative log-likelihood of this categorical model.
#
# The route is the one every notebook of this assignment follows:
#
# **model → likelihood → log → negative log-likelihood → the named loss**
#
# and, on the way, the one piece of numerical care that makes it work in practice:
# computed naively, softmax and its logarithm return `nan` and `-inf` for logits that
# real networks produce. The **log-sum-exp trick** repairs this *exactly*.
#
# You will implement `softmax`, `log_softmax` and `categorical_nll` with NumPy only.
# PyTorch is what the grader compares your answers with, not a tool for the answers:
# a function that calls `torch` earns no points.
#
# **How this notebook is graded.** Each answer cell is followed by test cells.
# The asserts you can see are examples; when grading, more cases are checked
# (other shapes, lists, float32, extreme logits), each worth its own points.
# *Validate* runs the visible ones.
#
# **Time:** about 60 minutes for a first-time student (reading and every exercise).

# %%
import math

import numpy as np
import matplotlib.pyplot as plt
import sympy as sp

# %% [markdown]
# ## 3.1 The model
#
# Example $i$ has a label $y_i \in \{0, 1, \dots, C-1\}$ (numbered from 0, as NumPy
# and PyTorch index) and the model gives it a vector of logits
# $z_i = (z_{i,0}, \dots, z_{i,C-1}) \in \mathbb R^C$. The **categorical** model
# says the label is drawn with the probabilities
#
# $$ p(y_i = k \mid z_i) = \operatorname{softmax}(z_i)_k = \frac{e^{z_{i,k}}}{\sum_{j=0}^{C-1} e^{z_{i,j}}} . $$
#
# The exponential makes every probability positive, the division makes them sum to
# one, and a larger logit means a more probable class. Nothing else is assumed: any
# vector of $C$ real numbers describes a distribution over the $C$ classes.
#
# ## 3.2 The likelihood, its logarithm, and cross-entropy
#
# The examples are independent, so the likelihood of all labels is the product of
# the probabilities the model gave to the labels that actually occurred:
#
# $$ L = \prod_{i=1}^N \operatorname{softmax}(z_i)_{y_i} . $$
#
# As in notebooks 1 and 2: take the logarithm (a sum instead of a product, the same
# maximum), negate it and divide by $N$. With
# $\log \operatorname{softmax}(z)_k = z_k - \log \sum_j e^{z_j}$, the **mean negative
# log-likelihood** is
#
# $$ \text{NLL} = \frac1N \sum_{i=1}^N \Big( -z_{i,y_i} + \log \sum_{j=0}^{C-1} e^{z_{i,j}} \Big). $$
#
# This is **cross-entropy**, `torch.nn.functional.cross_entropy`: the cross-entropy
# $-\sum_k q_k \log p_k$ between the label written as a one-hot vector $q$ and the
# predicted distribution $p$, in which only the term of the true class survives.
# Read the two terms: $-z_{i,y_i}$ rewards a large logit for the true class, and
# $\log\sum_j e^{z_{i,j}}$, a smooth version of $\max_j z_{i,j}$, penalises large
# logits for every class, the largest most. The loss is small only when the true
# class stands out above all the others.
#
# ### Predict, then check: the loss of an untrained model
#
# A freshly initialised classifier has small random weights, so all $C$ logits of
# every example are (almost) equal. **Choose** the number of classes yourself, any
# whole number from 3 to 1000, and assign it to `classes_for_prediction`. Before you
# implement anything: what mean cross-entropy does such a model have? Work it out
# from the formula above, assign the number to `untrained_loss`, and remember it.
#
# *Graded for being right for your own number of classes* (to 0.1%).
# In practice it is the first thing to look at when training starts: a first loss
# far from this value means a bug before any learning has happened. You will check
# your prediction with your own `categorical_nll` in section 3.5.
#
# %% kind="answer" id="untrained_loss_answer"
### BEGIN SOLUTION
classes_for_prediction = 7
untrained_loss = math.log(classes_for_prediction)
### END SOLUTION
classes_for_prediction, untrained_loss

# %% kind="test" id="untrained_loss_prediction" points=1
assert 3 <= int(classes_for_prediction) <= 1000
assert float(untrained_loss) > 0, "a cross-entropy is never negative"

# %% [markdown]
# ## 3.3 Softmax, and where the textbook formula breaks
#
# Logits are not always small. A float64 `exp` overflows to `inf` above about
# 709.78, and `inf / inf` is `nan`. The textbook formula fails on a logit of 1000:

# %%
# The formula as written, for illustration only, on two examples.
with np.errstate(over="ignore", invalid="ignore"):          # silence NumPy's warnings to see the values
    for z_textbook in (np.array([1.0, 0.0, -1.0]), np.array([1000.0, 0.0, -1000.0])):
        print(np.exp(z_textbook) / np.exp(z_textbook).sum())   # fine, then [nan  0.  0.]

# %% [markdown]
# The repair rests on one identity. For any constant $c$,
#
# $$ \frac{e^{z_k - c}}{\sum_j e^{z_j - c}} = \frac{e^{-c}\, e^{z_k}}{e^{-c} \sum_j e^{z_j}} = \frac{e^{z_k}}{\sum_j e^{z_j}}, $$
#
# so **adding the same constant to all the logits of an example changes nothing**.
# Use that freedom: find the constant $c$, one per example, for which no exponent
# $z_j - c$ is positive (so no `exp` can overflow) and the largest term of the sum is
# exactly 1 (so the sum lies between 1 and $C$: it can neither overflow nor round
# to 0). Whatever the $c$, the result is **exact**, an identity and not an
# approximation: the only errors left are the ordinary rounding errors of each
# operation. A probability smaller than the smallest positive float64 (about
# $5 \cdot 10^{-324}$) still comes out as 0, which is the correctly rounded answer.
#
# ### Exercise: implement `softmax(z)`
#
# `z` is an array-like of logits (a Python list, or a NumPy array of float32 or
# float64). Softmax acts along the **last axis**:
#
# - shape `(C,)`: one example, returns its `C` probabilities, shape `(C,)`;
# - shape `(N, C)`: a batch, each row sums to 1;
# - more dimensions, e.g. `(batch, time, C)`: every slice along the last axis sums to 1.
#
# Use the constant you found, one per example, so that logits of $\pm 10^4$ work.
# A NumPy reduction with `axis=-1, keepdims=True` keeps the reduced axis, so its
# result broadcasts against `z` whatever its shape. This is `F.softmax(z, dim=-1)`.

# %% kind="answer" id="softmax_answer"
def softmax(z):
    """Softmax of the logits z along the last axis."""
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
    ### END SOLUTION


# %% kind="test" id="softmax_matches_torch" points=2
p = softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
assert p.shape == (2, 3)
assert np.allclose(p.sum(axis=-1), 1.0), "each row of probabilities should sum to 1"
assert np.allclose(p[0], np.exp([1.0, 2.0, 3.0]) / np.sum(np.exp([1.0, 2.0, 3.0])))
assert np.allclose(p[1], 1 / 3)

# %% kind="test" id="softmax_large_logits" points=2
p = softmax(np.array([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]]))
assert np.all(np.isfinite(p)), "NaN or inf: subtract each row's maximum before exponentiating"
assert np.allclose(p, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])

# %% kind="test" id="softmax_last_axis_any_shape" points=1
assert np.allclose(softmax(np.array([0.0, math.log(3.0)])), [0.25, 0.75])   # one example, shape (C,)
p = softmax(np.arange(24.0).reshape(2, 3, 4))
assert p.shape == (2, 3, 4)
assert np.allclose(p.sum(axis=-1), 1.0)

# %% kind="test" id="softmax_accepts_lists_and_float32" points=1
assert np.allclose(softmax([[0.0, 0.0], [1.0, 1.0]]), 0.5)
assert np.allclose(softmax(np.array([[0.0, math.log(3.0)]], dtype=np.float32)), [[0.25, 0.75]], atol=1e-6)

# %% [markdown]
# ### Two pictures of softmax
#
# *Left:* dividing the logits by a **temperature** $T > 0$ keeps their order but
# changes how decided the distribution is. Shown: $\operatorname{softmax}(z / T)$
# for four fixed logits. As $T \to 0$ softmax puts all its mass on the largest
# logit (a hard $\arg\max$, hence the name *soft*max); as $T \to \infty$ it tends
# to the uniform distribution $1/C$. Large logits are a confident model, not a
# broken one, which is why softmax must survive them.
#
# *Right:* add a constant $c$ to the logits $(1, 0, -1)$. The probabilities do not
# move (solid lines, your `softmax`). The textbook formula (dashed) agrees only
# while the exponentials are ordinary numbers. Below $c \approx -708$ they are
# *subnormal* (smaller than the smallest normal float64, $2.2 \cdot 10^{-308}$, and
# stored with fewer significant digits) and its answers drift; below
# $c \approx -745$ they round to 0, and there, as beyond $c \approx 709$ on the
# right, it returns `nan` and its lines stop.

# %%
logits = np.array([2.0, 1.0, 0.2, -1.0])
temperatures = np.geomspace(0.05, 50, 300)
probs_by_temperature = softmax(logits[np.newaxis, :] / temperatures[:, np.newaxis])   # one row per T

shifts = np.linspace(-1000.0, 1000.0, 801)
shifted_logits = np.array([1.0, 0.0, -1.0]) + shifts[:, np.newaxis]                  # one row per shift c
with np.errstate(over="ignore", under="ignore", invalid="ignore"):
    probs_textbook = np.exp(shifted_logits) / np.exp(shifted_logits).sum(axis=-1, keepdims=True)
probs_yours = softmax(shifted_logits)

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
for k, value in enumerate(logits):
    left.plot(temperatures, probs_by_temperature[:, k], lw=2, label=f"class {k}: $z_{k}$ = {value:g}")
left.axhline(1 / len(logits), color="black", lw=0.8, ls=":", label="uniform, 1/C")
left.set(xscale="log", xlabel="temperature T", ylabel="softmax(z / T)", ylim=(0, 1),
         title="Low temperature: argmax. High temperature: uniform.")
left.legend(fontsize=8)

for k, colour in enumerate(["C0", "C1", "C2"]):
    right.plot(shifts, probs_yours[:, k], color=colour, lw=4, alpha=0.4, label=f"class {k}, your softmax")
    right.plot(shifts, probs_textbook[:, k], color=colour, ls="--", lw=1.2,
               label="textbook formula" if k == 2 else None)
right.set(xlabel="constant c added to the logits (1, 0, -1)", ylabel="probability", ylim=(-0.05, 1),
          title="Adding a constant changes nothing")
right.legend(loc="center right", fontsize=8)
fig.subplots_adjust(left=0.05, right=0.99, bottom=0.15, top=0.9, wspace=0.25)
plt.show()

# %% [markdown]
# ## 3.4 Log-probabilities and the log-sum-exp trick
#
# The loss needs $\log \operatorname{softmax}(z)_y$, not the probability itself.
# Taking the logarithm of a correct softmax is still not good enough:

# %%
with np.errstate(divide="ignore"):                          # log(0) warns; we want to see the value
    print(np.log(softmax(np.array([[1000.0, 0.0, -1000.0]]))))   # [[   0. -inf -inf]]

# %% [markdown]
# The true values are $0$, $-1000$ and $-2000$, perfectly ordinary numbers. But
# $e^{-1000} \approx 10^{-434}$ is far below the smallest float64 (about
# $5 \cdot 10^{-324}$): softmax correctly rounds that probability to 0, and
# $\log 0 = -\infty$. The cure is never to form the tiny probability. Take the
# logarithm of $\operatorname{softmax}(z)_k$ on paper first, then shift the logits by
# the constant of section 3.3 inside the log of the sum, and write what is left:
# the **log-sum-exp trick**. Done right, every intermediate value is an ordinary
# number (a sum between 1 and $C$, its logarithm between 0 and $\log C$): nothing
# overflows, nothing is rounded to 0, and the result is exact up to rounding.
#
# ### Exercise: implement `log_softmax(z)`
#
# The logarithm of `softmax(z)` along the last axis, for the same inputs and shapes
# as `softmax`, computed with the log-sum-exp trick: `[1000, 0, -1000]` gives
# `[0, -1000, -2000]`. Do not call `np.log(softmax(z))`. This is
# `F.log_softmax(z, dim=-1)`.

# %% kind="answer" id="log_softmax_answer"
def log_softmax(z):
    """Logarithm of the softmax of z along the last axis, computed stably."""
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    ### END SOLUTION


# %% kind="test" id="log_softmax_matches_torch" points=2
z_small = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]])
assert log_softmax(z_small).shape == (2, 3)
assert np.allclose(log_softmax(z_small)[0], np.log(np.exp([1.0, 2.0, 3.0]) / np.sum(np.exp([1.0, 2.0, 3.0]))))
assert np.allclose(log_softmax(z_small)[1], -math.log(3.0))

# %% kind="test" id="log_softmax_large_logits" points=2
assert np.allclose(log_softmax(np.array([[1000.0, 0.0, -1000.0]])), [[0.0, -1000.0, -2000.0]])
assert np.allclose(log_softmax(np.array([[-1e4, -1e4, -1e4]])), -math.log(3.0))

# %% kind="test" id="log_softmax_last_axis_any_shape" points=1
assert np.allclose(log_softmax(np.array([0.0, math.log(3.0)])), np.log([0.25, 0.75]))   # shape (C,)
z_3d = np.arange(24.0).reshape(2, 3, 4) / 5
assert log_softmax(z_3d).shape == (2, 3, 4)
assert np.allclose(np.exp(log_softmax(z_3d)).sum(axis=-1), 1.0)

# %% kind="test" id="log_softmax_shift_invariant" points=1
# Adding the same constant to all the logits of an example changes nothing.
assert np.allclose(log_softmax(z_small + 100.0), log_softmax(z_small))
assert np.allclose(log_softmax(z_small + np.array([[900.0], [-900.0]])), log_softmax(z_small))

# %% [markdown]
# ## 3.5 Cross-entropy: the categorical negative log-likelihood
#
# ### Exercise: implement `categorical_nll(z, y)`
#
# - `z`: logits of shape `(N, C)`, one row per example, or of shape `(C,)` for a
#   single example;
# - `y`: the integer class indices, of shape `(N,)` (a Python list or an integer
#   array), or a single integer when `z` has shape `(C,)`;
# - returns the mean over the examples of $-\log \operatorname{softmax}(z_i)_{y_i}$,
#   one number. This is `F.cross_entropy(z, y)`.
#
# Use your `log_softmax`, then pick **one entry per row**: row $i$, column $y_i$,
# a result of shape `(N,)`. Beware `logp[:, y]`: it takes all rows of the columns
# `y`, an `(N, N)` block. (NumPy's guide to *integer array indexing* says how to pair
# a row index with a column index.) A single example of shape `(C,)` is a batch of one.

# %% kind="answer" id="categorical_nll_answer"
def categorical_nll(z, y):
    """Mean negative log-likelihood of the labels y under softmax(z): cross-entropy."""
    ### BEGIN SOLUTION
    logp = log_softmax(z)
    y = np.asarray(y, dtype=np.int64)
    if logp.ndim == 1:                     # one example: a batch of one
        logp, y = logp[np.newaxis, :], y.reshape(1)
    picked = logp[np.arange(logp.shape[0]), y]
    return float(-np.mean(picked))
    ### END SOLUTION


# %% [markdown]
# ### The worked example
#
# Three examples, three classes, and a model that is right but not very sure:
# each true class has the largest logit, 0.7 against 0.1 and 0.2.

# %%
z_example = np.array([[0.1, 0.2, 0.7],
                      [0.1, 0.7, 0.2],
                      [0.7, 0.1, 0.2]])
y_example = np.array([2, 1, 0])
print(f"probability of each true class: {[round(float(softmax(z_example)[i, y_example[i]]), 6) for i in range(3)]}")
print(f"cross-entropy:                  {categorical_nll(z_example, y_example):.6f}")   # 0.767950
print(f"logits [1000, 0, -1000], class 2: {categorical_nll([[1000.0, 0.0, -1000.0]], [2]):.1f}")   # 2000.0

# Your prediction of section 3.2, checked: your number of classes, equal logits, any labels.
C_yours = int(classes_for_prediction)
untrained_logits = np.random.default_rng(0).normal(0, 1e-3, size=(100, C_yours))   # small random weights
untrained_labels = np.random.default_rng(1).integers(0, C_yours, size=100)
print(f"untrained {C_yours}-class model: {categorical_nll(untrained_logits, untrained_labels):.6f}"
      f"   your prediction: {float(untrained_loss):.6f}")

# %% [markdown]
# The same numbers from PyTorch, where it is installed (it is not while grading,
# and your answers must not use it):

# %%
try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("PyTorch is not installed here: nothing to compare with.")
else:
    print(f"F.cross_entropy: {F.cross_entropy(torch.tensor(z_example), torch.tensor(y_example)).item():.6f}")
    print(f"F.cross_entropy: {F.cross_entropy(torch.tensor([[1000.0, 0.0, -1000.0]], dtype=torch.float64), torch.tensor([2])).item():.1f}")

# %% kind="test" id="categorical_nll_seed_value" points=2
assert math.isclose(categorical_nll(z_example, y_example), 0.767950, abs_tol=1e-6)

# %% kind="test" id="categorical_nll_matches_torch" points=2
# With logits that are log-probabilities, the loss is the mean of -log p[y].
probs = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
assert math.isclose(categorical_nll(np.log(probs), np.array([2, 0])), -(math.log(0.5) + math.log(0.6)) / 2)
assert math.isclose(categorical_nll(np.zeros((1, 2)), np.array([1])), math.log(2.0))

# %% kind="test" id="categorical_nll_large_logits" points=2
assert math.isclose(categorical_nll(np.array([[1000.0, 0.0, -1000.0]]), np.array([2])), 2000.0)
assert math.isclose(categorical_nll(np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([1, 1])), 1e4)

# %% kind="test" id="categorical_nll_uniform_logits_give_log_c" points=1
# Equal logits: every class has probability 1/C, whatever the common value.
assert math.isclose(categorical_nll(np.zeros((4, 10)), np.array([0, 3, 9, 5])), math.log(10))
assert math.isclose(categorical_nll(np.full((2, 3), 500.0), np.array([1, 2])), math.log(3))

# %% kind="test" id="categorical_nll_single_example" points=1
# Shape (C,) with an integer label is the same as a batch of one.
z_one = np.log(np.array([0.2, 0.3, 0.5]))
assert math.isclose(categorical_nll(z_one, 2), -math.log(0.5))
assert math.isclose(categorical_nll(z_one, 0), categorical_nll(z_one[np.newaxis, :], np.array([0])))

# %% kind="test" id="categorical_nll_label_types" points=1
assert math.isclose(categorical_nll(z_example, [2, 1, 0]), categorical_nll(z_example, y_example))
assert math.isclose(categorical_nll(z_example.tolist(), np.array([2, 1, 0], dtype=np.int32)), 0.767950, abs_tol=1e-6)
assert math.isclose(categorical_nll(z_example.astype(np.float32), y_example), 0.767950, abs_tol=1e-6)

# %% [markdown]
# ### Where the log of a probability breaks, and where yours does not
#
# Take one example with logits $s \cdot (1, 0, -1)$ and true class 2, the least
# likely one. The exact loss is $2s + \log(1 + e^{-s} + e^{-2s}) \approx 2s$, an
# ordinary number at every scale. Computed as $-\log$ of a (stable!) softmax, the
# probability $\approx e^{-2s}$ rounds to 0 once $2s$ passes about 745, and the loss
# jumps to `inf` at $s \approx 372$. Your `log_softmax` never forms that probability.
# Points that are `inf` are not drawn: a curve stops where it breaks.

# %%
scales = np.linspace(1.0, 1000.0, 500)
batch = scales[:, np.newaxis] * np.array([1.0, 0.0, -1.0])     # one example per row
with np.errstate(divide="ignore"):
    loss_log_of_softmax = -np.log(softmax(batch)[:, 2])
loss_stable = -log_softmax(batch)[:, 2]

fig, ax = plt.subplots(figsize=(8, 3.8))
ax.plot(scales, loss_stable, lw=3, alpha=0.6, label="-log_softmax(z)[2]: log-sum-exp")
finite = np.isfinite(loss_log_of_softmax)
ax.plot(scales, np.where(finite, loss_log_of_softmax, np.nan), "--", lw=1.5, label="-log(softmax(z)[2])")
if not finite.all():
    ax.axvline(scales[np.argmin(finite)], color="grey", lw=0.8, ls=":")
    ax.annotate("the probability\nrounds to 0 here", (scales[np.argmin(finite)], 300), xytext=(10, 0),
                textcoords="offset points")
ax.set(xlabel="scale s of the logits s·(1, 0, -1)", ylabel="loss for class 2",
       title="The same loss, two ways: only log-sum-exp survives large logits")
ax.legend(loc="upper left")
fig.subplots_adjust(left=0.1, right=0.97, bottom=0.15, top=0.9)
plt.show()

# %% [markdown]
# ## 3.6 Binary cross-entropy is the two-class case
#
# Shifting all logits by a constant changes nothing, so with two classes only the
# *difference* of the two logits matters, and we may fix the first one at 0:
# logits $[0, z]$. Then
#
# $$ \operatorname{softmax}([0, z])_1 = \frac{e^z}{e^0 + e^z} = \frac{1}{1 + e^{-z}} = \sigma(z), $$
#
# the sigmoid of notebook 2, and $\operatorname{softmax}([0, z])_0 = 1 - \sigma(z)$.
# The categorical likelihood of a label $y \in \{0, 1\}$ is then exactly the
# Bernoulli likelihood, so **cross-entropy with logits $[0, z]$ is binary
# cross-entropy with logit $z$**. Its log-sum-exp term is
# $\log(1 + e^{z})$, the softplus, and the log-sum-exp trick is exactly how
# `bce_with_logits` stays finite. First the identity, symbolically:

# %%
z_sym = sp.Symbol("z", real=True)
softmax_class_1 = sp.exp(z_sym) / (sp.exp(0) + sp.exp(z_sym))
print(sp.simplify(softmax_class_1 - 1 / (1 + sp.exp(-z_sym))) == 0)   # True

# %% [markdown]
# And numerically, on notebook 2's example (binary cross-entropy 0.476700) and on
# its extreme case (logits $[0, -120]$ with labels $[0, 1]$ give 60.346574):

# %%
z_binary = np.array([-0.5, -0.8, 0.0, 0.8, 0.5])
y_binary = np.array([0, 0, 1, 1, 1])
sigma = 1 / (1 + np.exp(-z_binary))               # the sigmoid; safe for these small logits
bce = np.mean(-y_binary * np.log(sigma) - (1 - y_binary) * np.log(1 - sigma))
two_class_logits = np.stack([np.zeros_like(z_binary), z_binary], axis=1)   # shape (5, 2): rows [0, z]

print(f"sigmoid(z)                  {np.round(sigma, 6)}")
print(f"softmax([0, z])[:, 1]       {np.round(softmax(two_class_logits)[:, 1], 6)}")
print(f"binary cross-entropy        {bce:.6f}")                                            # 0.476700
print(f"cross-entropy, logits [0,z] {categorical_nll(two_class_logits, y_binary):.6f}")    # 0.476700
print(f"extreme case                {categorical_nll([[0.0, 0.0], [0.0, -120.0]], [0, 1]):.6f}")   # 60.346574

# %% [markdown]
# ## Summary
#
# | model | probability of the label | negative log-likelihood per example | the loss |
# |---|---|---|---|
# | Bernoulli, one logit $z$ | $\sigma(z)$, $1-\sigma(z)$ | $-y\log\sigma(z) - (1-y)\log(1-\sigma(z))$ | binary cross-entropy |
# | categorical, logits $z \in \mathbb R^C$ | $\operatorname{softmax}(z)_y$ | $-z_y + \log\sum_j e^{z_j}$ | cross-entropy |
#
# - Softmax and log-softmax are unchanged by adding a constant to all logits;
#   subtracting the maximum is an exact rewriting that keeps every `exp` finite.
# - Compute log-probabilities with the log-sum-exp trick, never as `log(softmax(z))`.
# - With two classes and logits $[0, z]$, cross-entropy is binary cross-entropy.
#
# Next: the gradient of this loss with respect to the logits, which you will derive
# in notebook 4; it turns out remarkably simple.
