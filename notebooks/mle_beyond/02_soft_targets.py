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
# # 2. Cross-entropy for any target distribution: entropy, KL, label smoothing
#
# In `mle_losses` the target of a classifier was one label, and cross-entropy was
# the negative log-probability of that label. Practice is full of targets that are
# *distributions*: five annotators who disagree, a teacher network's probabilities
# (distillation), a label deliberately softened (label smoothing). The same
# likelihood gives the loss for all of them, and splitting it into entropy plus KL
# divergence shows what minimising it does.
#
# **model → likelihood → log → negative log-likelihood → loss**
#
# You will implement `soft_cross_entropy`, `entropy`, `kl_divergence` and
# `smooth_labels` with NumPy only, and derive the logit gap that label smoothing
# settles at. PyTorch (`F.cross_entropy` with probability targets and with
# `label_smoothing`, `F.kl_div`) is what the grader compares your answers with, not
# a tool for the answers: a function that calls `torch` earns no points.
#
# **Time.** About 80 minutes for a first-time student (the assignment takes about 4
# hours). The notebook's own code runs in a few seconds.
#
# **How this notebook is graded.** Each answer cell is followed by test cells; when
# grading, more cases are checked (other shapes, one row of shape (C,), extreme
# logits, invalid targets), each worth its own points.

# %%
import math

import numpy as np
import matplotlib.pyplot as plt

# %% [markdown]
# ## 2.1 From counts to a target distribution
#
# A classifier gives example $i$ the probabilities $p_i = \operatorname{softmax}(z_i)$
# over $C$ classes. Suppose the example was labelled not once but $n_i$ times, and
# class $c$ was chosen $n_{i,c}$ times (five annotators: three said "cat", two said
# "dog"). The labels are independent draws from $p_i$, so the likelihood of the
# example's labels and its logarithm are
#
# $$ L_i = \prod_c p_{i,c}^{\,n_{i,c}}, \qquad \log L_i = \sum_c n_{i,c} \log p_{i,c} . $$
#
# Divide by the number of labels $n_i$ (a positive constant: the maximum does not
# move) and write $q_{i,c} = n_{i,c}/n_i$, the fraction of labels that chose $c$.
# The negative log-likelihood per label is the **cross-entropy** of $q_i$ and $p_i$:
#
# $$ H(q_i, p_i) = -\sum_c q_{i,c} \log p_{i,c} . $$
#
# Nothing in the formula needs $q$ to come from counts: any distribution over the
# classes is a target. A one-hot $q$ gives back the categorical NLL of `mle_losses`.
#
# ### Where the naive form breaks
#
# Computed as written, with $p$ from a softmax and then its logarithm, the loss fails
# exactly where classifiers live: a confident logit makes another class's
# probability underflow to 0, its logarithm is $-\infty$, and $q_c \cdot (-\infty)$ is
# $-\infty$ (or NaN where $q_c = 0$).

# %%
# The naive route on one example: the probabilities first (from notebook 3's stable
# softmax, written out), then their logarithm.
q_naive = np.array([0.6, 0.4, 0.0])
with np.errstate(divide="ignore", invalid="ignore"):
    for label, z_naive in (("moderate logits:", np.array([2.0, 0.0, -1.0])), ("logits of 800:  ", np.array([800.0, 0.0, -800.0]))):
        p_naive = np.exp(z_naive - z_naive.max()) / np.exp(z_naive - z_naive.max()).sum()
        print("naive,", label, -np.sum(q_naive * np.log(p_naive)))

# %% [markdown]
# The true value for the second input is finite: $\log \operatorname{softmax}(z)_c$ is
# $z_c - \log\sum_j e^{z_j}$, a difference of finite numbers, and the log-sum-exp
# trick of `mle_losses` computes it without ever forming the underflowing $p$.
#
# ### Exercise: implement `soft_cross_entropy(z, q)`
#
# - `z`: logits of shape (N, C), or one example of shape (C,); `q`: target
#   distributions of the same shape. Return the mean over examples of
#   $-\sum_c q_c \log\operatorname{softmax}(z)_c$ (for one example of shape (C,): that
#   example's value). Stable for logits up to $\pm 10^4$.
# - Raise `ValueError` if `q` has a negative entry, or a row whose sum differs from
#   1 by more than $10^{-6}$: such a `q` is no distribution.
#
# PyTorch's version is `F.cross_entropy(z, q)` with probability targets.

# %% kind="answer" id="soft_cross_entropy_answer"
def soft_cross_entropy(z, q):
    """Mean cross-entropy between target distributions q and softmax(z)."""
    ### BEGIN SOLUTION
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    if np.any(np.isnan(q)) or np.any(q < 0):
        raise ValueError("q must not have negative entries")
    if np.any(np.abs(q.sum(axis=-1) - 1.0) > 1e-6):
        raise ValueError("every row of q must sum to 1")
    shifted = z - np.max(z, axis=-1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return float(np.mean(-np.sum(q * log_p, axis=-1)))
    ### END SOLUTION


# %% kind="test" id="soft_cross_entropy_matches_torch" points=5
# A one-hot target is the categorical NLL: -log softmax(z)_label.
z_demo = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
assert math.isclose(soft_cross_entropy(z_demo[1:], np.array([[0.0, 1.0, 0.0]])), math.log(3))
assert math.isclose(soft_cross_entropy([[0.0, 0.0]], [[0.5, 0.5]]), math.log(2))

# %% kind="test" id="soft_cross_entropy_extreme_logits" points=4
assert math.isclose(soft_cross_entropy([[800.0, 0.0, -800.0]], [[0.6, 0.4, 0.0]]), 0.4 * 800.0)

# %% kind="test" id="soft_cross_entropy_single_row_and_lists" points=2
assert math.isclose(soft_cross_entropy([0.0, 0.0, 0.0], [0.2, 0.3, 0.5]), math.log(3))

# %% kind="test" id="soft_cross_entropy_rejects_invalid_targets" points=3
for bad in ([0.5, 0.7, -0.2], [0.5, 0.4, 0.0]):
    try:
        soft_cross_entropy([0.0, 0.0, 0.0], bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"soft_cross_entropy should raise ValueError for q = {bad}")

# %% [markdown]
# ## 2.2 Entropy and KL divergence
#
# Two more quantities of the same family:
#
# - the **entropy** of a distribution, $H(q) = -\sum_c q_c \log q_c$: the
#   cross-entropy of $q$ with itself, the average surprise of a draw from $q$;
# - the **Kullback-Leibler divergence** $\mathrm{KL}(q\,\|\,p) = \sum_c q_c (\log q_c - \log p_c)$.
#
# A term with $q_c = 0$ is 0 in both (the limit of $t \log t$ as $t \to 0$ is 0; in
# NumPy `0 * log(0)` is NaN, so such terms must be left out explicitly). A class
# with $q_c > 0$ and $p_c = 0$ makes the KL divergence $+\infty$: $p$ calls impossible
# what $q$ says happens.
#
# ### Exercise: implement `entropy(q)` and `kl_divergence(q, p)`
#
# For arrays of shape (N, C): the mean over rows; for one row of shape (C,): that
# row's value. PyTorch's KL divergence is `F.kl_div(log(p), q, reduction='batchmean')`
# (note the order of the arguments, and that it takes $\log p$).

# %% kind="answer" id="entropy_kl_answer"
def entropy(q):
    """Mean over rows of -sum q log q, with 0 log 0 = 0."""
    ### BEGIN SOLUTION
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    safe = np.where(q > 0, q, 1.0)
    return float(np.mean(-np.sum(np.where(q > 0, q * np.log(safe), 0.0), axis=-1)))
    ### END SOLUTION


def kl_divergence(q, p):
    """Mean over rows of sum q (log q - log p), with 0 log(0/p) = 0."""
    ### BEGIN SOLUTION
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    p = np.atleast_2d(np.asarray(p, dtype=np.float64))
    q, p = np.broadcast_arrays(q, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1.0)) - np.log(p)), 0.0)
    return float(np.mean(np.sum(terms, axis=-1)))
    ### END SOLUTION


# %% kind="test" id="entropy_value" points=3
assert math.isclose(entropy([0.5, 0.5]), math.log(2))
assert entropy([[1.0, 0.0, 0.0]]) == 0.0

# %% kind="test" id="kl_divergence_value" points=4
assert math.isclose(kl_divergence([0.5, 0.5], [0.25, 0.75]), 0.5 * math.log(2) + 0.5 * math.log(2 / 3))
assert kl_divergence([[0.2, 0.8]], [[0.2, 0.8]]) == 0.0

# %% kind="test" id="kl_divergence_zeros_and_infinity" points=3
assert kl_divergence([0.0, 1.0], [0.0, 1.0]) == 0.0
assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf

# %% [markdown]
# ## 2.3 Cross-entropy = entropy + KL divergence
#
# Add and subtract $\sum_c q_c \log q_c$ inside the cross-entropy:
#
# $$ H(q, p) = -\sum_c q_c \log p_c = -\sum_c q_c \log q_c + \sum_c q_c (\log q_c - \log p_c)
#            = H(q) + \mathrm{KL}(q\,\|\,p) . $$
#
# $H(q)$ does not depend on the model at all. So **minimising the cross-entropy in
# $p$ is minimising the KL divergence from $q$ to $p$**, and since KL is never
# negative and is 0 only at $p = q$, the best model predicts the target distribution
# itself, where the loss is $H(q)$, not 0. Your three functions, on random logits and
# random targets:

# %%
rng = np.random.default_rng(7)
z_rand = rng.normal(0, 3, size=(6, 4))
q_rand = rng.dirichlet(np.ones(4), size=6)
p_rand = np.exp(z_rand - z_rand.max(axis=1, keepdims=True))
p_rand /= p_rand.sum(axis=1, keepdims=True)
print(f"H(q, p) = {soft_cross_entropy(z_rand, q_rand):.10f}")
print(f"H(q) + KL(q || p) = {entropy(q_rand) + kl_divergence(q_rand, p_rand):.10f}")

# %% [markdown]
# Two classes, target $q = (0.3, 0.7)$, and the model's $p = (1 - t, t)$ for $t$ from
# 0 to 1: the cross-entropy is the KL divergence lifted by the constant $H(q)$, and
# both are smallest at $t = 0.7$.

# %%
t_grid = np.linspace(0.01, 0.99, 197)
q_two = np.array([0.3, 0.7])
ce_curve = [soft_cross_entropy(np.log([1 - t, t]), q_two) for t in t_grid]
kl_curve = [kl_divergence(q_two, [1 - t, t]) for t in t_grid]
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(t_grid, ce_curve, label="cross-entropy $H(q, p)$")
ax.plot(t_grid, kl_curve, label="KL divergence $KL(q \\| p)$")
ax.axhline(entropy(q_two), color="grey", ls="--", label=f"entropy $H(q)$ = {entropy(q_two):.3f}")
ax.axvline(0.7, color="C3", lw=0.8, label="$p = q$")
ax.set(xlabel="model probability of class 1, $t$", ylabel="nats", ylim=(0, 2.5),
       title="Cross-entropy = entropy + KL: the same minimiser, lifted by H(q)")
ax.legend()
fig.subplots_adjust(left=0.1, right=0.97, bottom=0.15, top=0.9)
plt.show()
print(f"smallest cross-entropy on the grid {min(ce_curve):.4f} at t = {t_grid[int(np.argmin(ce_curve))]:.2f}")

# %% [markdown]
# ## 2.4 Label smoothing is a target distribution
#
# With one-hot targets a classifier is rewarded for ever larger logits: the
# cross-entropy of a correct one-hot label keeps falling as the true class's logit
# pulls away, and has no minimum. **Label smoothing** replaces the one-hot target by
# a mixture with the uniform distribution:
#
# $$ q = (1 - \varepsilon)\,\mathrm{onehot}(y) + \frac{\varepsilon}{C} . $$
#
# ### Exercise: implement `smooth_labels(y, num_classes, epsilon)`
#
# Integer labels `y` of shape (N,) to the rows above, shape (N, C). Raise
# `ValueError` unless $0 \le \varepsilon \le 1$ (outside that range some entries are
# negative or the label is penalised). With these rows your `soft_cross_entropy`
# equals PyTorch's `F.cross_entropy(z, y, label_smoothing=epsilon)`; the grader
# checks that.

# %% kind="answer" id="smooth_labels_answer"
def smooth_labels(y, num_classes, epsilon):
    """Label-smoothed target rows: (1 - epsilon) * onehot(y) + epsilon / num_classes."""
    ### BEGIN SOLUTION
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError("epsilon must lie in [0, 1]")
    y = np.asarray(y).astype(np.int64).reshape(-1)
    onehot = np.eye(num_classes)[y]
    return (1.0 - epsilon) * onehot + epsilon / num_classes
    ### END SOLUTION


# %% kind="test" id="smooth_labels_value" points=4
assert np.allclose(smooth_labels([1], 4, 0.2), [[0.05, 0.85, 0.05, 0.05]])
assert np.allclose(smooth_labels([0, 2], 3, 0.0), np.eye(3)[[0, 2]])

# %% kind="test" id="smooth_labels_rejects_bad_epsilon" points=2
try:
    smooth_labels([0], 3, 1.5)
except ValueError:
    pass
else:
    raise AssertionError("smooth_labels should raise ValueError for epsilon=1.5")

# %% [markdown]
# ### What smoothing does to confident logits
#
# Take one example of class 0 out of $C = 10$, with logit $g$ for the true class and
# 0 for the other nine. Under a one-hot target the loss falls for ever as $g$ grows.
# Under the smoothed target it has a minimum: by 2.3 the best model predicts $p = q$.
#
# ### Exercise: the logit gap that label smoothing settles at
#
# For $C = 10$ and a smoothing $\varepsilon$ you **choose** yourself, any number from
# 0.01 to 0.5 other than the 0.1 of the figure below (assign it to `epsilon_for_gap`),
# which gap $g$ (the true class's logit minus each other class's logit, all nine
# others equal) minimises the cross-entropy against the smoothed target? Derive it
# (set $\operatorname{softmax}$ of the logits equal to $q$ and solve for $g$, natural
# logarithm) and assign the number to `optimal_logit_gap`.
#
# *Graded for being right for your own $\varepsilon$* (to $10^{-6}$): the figure below
# shows the case $\varepsilon = 0.1$, from which you can check your reasoning.

# %% kind="answer" id="optimal_logit_gap_answer"
### BEGIN SOLUTION
epsilon_for_gap = 0.2
optimal_logit_gap = math.log((1 - epsilon_for_gap + epsilon_for_gap / 10) / (epsilon_for_gap / 10))
### END SOLUTION
epsilon_for_gap, optimal_logit_gap

# %% kind="test" id="optimal_logit_gap_value" points=4
assert 0.01 <= epsilon_for_gap <= 0.5 and 0 < optimal_logit_gap < 20

# %% [markdown]
# The softmax gives the true class $e^g / (e^g + 9)$, and setting it to
# $1 - \varepsilon + \varepsilon/C = 0.91$ gives $e^g = 9 \cdot 0.91 / 0.09$, that is
# $g = \log(0.91 / 0.01) = \log 91 \approx 4.511$. The figure draws both losses
# against $g$: the one-hot loss falls towards 0 for ever, the smoothed one turns up
# past $\log 91$. That is what smoothing does to confident logits: it caps them.

# %%
gaps = np.linspace(-2, 12, 281)
logits_of = [np.array([g] + [0.0] * 9) for g in gaps]
onehot_loss = [soft_cross_entropy(zz, smooth_labels([0], 10, 0.0)[0]) for zz in logits_of]
smooth_loss = [soft_cross_entropy(zz, smooth_labels([0], 10, 0.1)[0]) for zz in logits_of]
best_gap = gaps[int(np.argmin(smooth_loss))]
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(gaps, onehot_loss, label="one-hot target ($\\varepsilon = 0$)")
ax.plot(gaps, smooth_loss, label="smoothed target ($\\varepsilon = 0.1$)")
ax.axvline(math.log(91), color="C3", lw=0.8, ls="--", label="$g = \\log 91$")
ax.set(xlabel="logit gap $g$ of the true class", ylabel="cross-entropy (nats)",
       title="Label smoothing gives the loss a minimum at a finite logit gap")
ax.legend()
fig.subplots_adjust(left=0.1, right=0.97, bottom=0.15, top=0.9)
plt.show()
smoothed_row = smooth_labels([0], 10, 0.1)[0]
print(f"grid minimum of the smoothed loss at g = {best_gap:.2f}; log 91 = {math.log(91):.4f}")
print(f"this one example at g = log 91: cross-entropy {soft_cross_entropy(np.array([math.log(91)] + [0.0] * 9), smoothed_row):.10f}, "
      f"entropy of its target row {entropy(smoothed_row):.10f}")

# %% [markdown]
# ### Why the loss turns up: its gradient is $\operatorname{softmax}(z) - q$
#
# Write the cross-entropy of one example with $\log\operatorname{softmax}(z)_c = z_c - \log\sum_j e^{z_j}$
# and use $\sum_c q_c = 1$:
#
# $$ H(q, \operatorname{softmax}(z)) = -\sum_c q_c z_c + \Big(\sum_c q_c\Big)\log\sum_j e^{z_j}
#    = -\sum_c q_c z_c + \log\sum_j e^{z_j} . $$
#
# The first term is linear in $z$, with derivative $-q_k$ in $z_k$; the second has
# derivative $e^{z_k}/\sum_j e^{z_j} = \operatorname{softmax}(z)_k$. So
#
# $$ \frac{\partial H}{\partial z_k} = \operatorname{softmax}(z)_k - q_k . $$
#
# That is the one-line reason smoothing caps the logits. In the example above the
# derivative in the true class's logit $g$ is $p_0 - q_0$ with $p_0 = e^g/(e^g + 9)$.
# With the one-hot target $q_0 = 1$, and $p_0 < 1$ for every finite $g$: the
# derivative is negative everywhere, so every gradient step raises $g$, for ever.
# With the smoothed target $q_0 = 0.91$: the derivative is zero where $p_0 = 0.91$
# (at $g = \log 91$) and positive beyond, so a step there lowers $g$ again. The cell
# checks the formula against a central difference of your `soft_cross_entropy`:

# %%
def loss_at_gap(g, target_row):
    return soft_cross_entropy(np.array([g] + [0.0] * 9), target_row)


for g in (0.0, 2.0, math.log(91), 8.0, 12.0):
    p_true = math.exp(g) / (math.exp(g) + 9)
    line = f"g = {g:6.3f}:"
    for epsilon in (0.0, 0.1):
        row = smooth_labels([0], 10, epsilon)[0]
        numeric = (loss_at_gap(g + 1e-5, row) - loss_at_gap(g - 1e-5, row)) / 2e-5
        line += f"   eps = {epsilon}: p0 - q0 = {p_true - row[0]:+.6f} (central difference {numeric:+.6f})"
    print(line)

gap_gradient = {epsilon: [math.exp(g) / (math.exp(g) + 9) - smooth_labels([0], 10, epsilon)[0][0] for g in gaps]
                for epsilon in (0.0, 0.1)}
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(gaps, gap_gradient[0.0], label="one-hot target: $p_0 - 1$")
ax.plot(gaps, gap_gradient[0.1], label="smoothed target: $p_0 - 0.91$")
ax.axhline(0.0, color="grey", lw=0.8, label="zero: no push")
ax.axvline(math.log(91), color="C3", lw=0.8, ls="--", label="$g = \\log 91$")
ax.set(xlabel="logit gap $g$ of the true class", ylabel="$\\partial H / \\partial g$",
       title="One-hot pushes g up everywhere; smoothing pushes it back past log 91")
ax.legend(loc="lower right")
fig.subplots_adjust(left=0.12, right=0.97, bottom=0.15, top=0.9)
plt.show()

# %% [markdown]
# ## Summary
#
# | quantity | formula | PyTorch |
# |---|---|---|
# | cross-entropy | $-\sum_c q_c \log \operatorname{softmax}(z)_c$ | `F.cross_entropy(z, q)` |
# | entropy | $-\sum_c q_c \log q_c$ | `Categorical(probs=q).entropy()` |
# | KL divergence | $\sum_c q_c(\log q_c - \log p_c)$ | `F.kl_div(log p, q, reduction='batchmean')` |
# | label smoothing | $q = (1-\varepsilon)\,\mathrm{onehot} + \varepsilon/C$ | `F.cross_entropy(z, y, label_smoothing=eps)` |
#
# $H(q, p) = H(q) + \mathrm{KL}(q\|p)$ holds row by row, and so for the means over
# rows that your functions return: minimising cross-entropy is minimising KL. Its
# gradient in the logits is $\operatorname{softmax}(z) - q$, which is why a smoothed
# target caps the logits and a one-hot one does not.
# Next: a classifier trained end to end with these pieces, and calibrated (notebook 3).
