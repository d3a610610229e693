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
# # 3. Softmax regression, trained end to end and calibrated
#
# The pieces of `mle_losses` and of notebooks 1-2 make a whole classifier. Here you
# train **softmax regression** (multinomial logistic regression: logits linear in
# the features) with your own gradient, predict its loss before training starts,
# and then measure what maximum likelihood does with too little data for its
# features (100 examples, 18 of 20 features noise): on data it has not seen, the
# fit is **over-confident**. One more maximum-likelihood fit, of a single number,
# the **temperature**, repairs most of that; you then compare it with early stopping
# and with a prior on the weights (MAP).
#
# **model → likelihood → log → NLL → gradient → training → calibration**
#
# You will implement `softmax_regression_grad` and `fit_temperature` with NumPy only,
# and answer one question numerically before the code shows the answer. PyTorch is
# what the grader compares your answers with, not a tool for the answers: a function
# that calls `torch` earns no points.
#
# **Time.** About 80 minutes for a first-time student (the assignment takes about 4
# hours). The notebook's own code runs in a few seconds.
#
# **How this notebook is graded.** Each answer cell is followed by test cells; when
# grading, more cases are checked (other shapes, extreme logits, float32, other
# data sets), each worth its own points.

# %%
import math

import numpy as np
import matplotlib.pyplot as plt

# %% [markdown]
# ## 3.1 The model and its loss
#
# Example $i$ has features $x_i \in \mathbb R^D$ (a row of the matrix $X$, shape
# (N, D)) and a label $y_i \in \{0, \dots, C-1\}$. The model's logits are linear,
#
# $$ z_i = x_i W + b, \qquad W \in \mathbb R^{D\times C},\ b \in \mathbb R^C, $$
#
# and the label is categorical with probabilities $p_i = \operatorname{softmax}(z_i)$.
# As in `mle_losses` notebook 3, the mean negative log-likelihood is the mean
# cross-entropy, computed stably by log-sum-exp:

# %%
def log_softmax(z):
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def mean_cross_entropy(X, y, W, b):
    log_p = log_softmax(np.asarray(X, float) @ W + b)
    return float(-np.mean(log_p[np.arange(len(y)), y]))


# %% [markdown]
# ## 3.2 The gradient
#
# ### Exercise: implement `softmax_regression_grad(X, y, W, b)`
#
# Derive the gradient of the mean cross-entropy with respect to $W$ and $b$ by the
# chain rule: first $\partial \ell_i / \partial z_i$ for one example (you met it in
# `mle_losses` notebook 4), then how $z_i$ depends on $W$ and $b$. Return the tuple
# `(dW, db)` of shapes (D, C) and (C,). It must be finite and correct for logits up
# to $\pm 10^4$, and accept integer labels as a list or an array of any integer type.

# %% kind="answer" id="softmax_regression_grad_answer"
def softmax_regression_grad(X, y, W, b):
    """Gradient of the mean cross-entropy of X @ W + b with respect to W and b."""
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    n = X.shape[0]
    z = X @ W + b
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    delta = e / e.sum(axis=1, keepdims=True)
    delta[np.arange(n), y] -= 1.0
    return X.T @ delta / n, delta.mean(axis=0)
    ### END SOLUTION


# %% [markdown]
# ### The gradient check
#
# Central differences of `mean_cross_entropy`, one parameter at a time, against your
# gradient, at a random point. A relative error below about $10^{-7}$ means the
# formula is right.

# %%
def numerical_parameter_grad(f, theta, h=1e-6):
    grad = np.zeros_like(theta)
    for index in np.ndindex(theta.shape):
        old = theta[index]
        theta[index] = old + h
        up = f()
        theta[index] = old - h
        down = f()
        theta[index] = old
        grad[index] = (up - down) / (2 * h)
    return grad


check_rng = np.random.default_rng(11)
X_small = check_rng.normal(size=(7, 3))
y_small = check_rng.integers(0, 4, size=7)
W_small, b_small = check_rng.normal(size=(3, 4)), check_rng.normal(size=4)
dW, db = softmax_regression_grad(X_small, y_small, W_small, b_small)
num_dW = numerical_parameter_grad(lambda: mean_cross_entropy(X_small, y_small, W_small, b_small), W_small)
num_db = numerical_parameter_grad(lambda: mean_cross_entropy(X_small, y_small, W_small, b_small), b_small)
gradient_check_error = max(np.max(np.abs(dW - num_dW) / np.maximum(1e-8, np.abs(dW) + np.abs(num_dW))),
                           np.max(np.abs(db - num_db) / np.maximum(1e-8, np.abs(db) + np.abs(num_db))))
print(f"largest relative error of the gradient check: {gradient_check_error:.1e}")

# %% kind="test" id="softmax_regression_grad_matches_torch" points=7
assert np.shape(dW) == (3, 4) and np.shape(db) == (4,)
assert gradient_check_error < 1e-6

# %% kind="test" id="softmax_regression_grad_extreme_logits" points=5
dW_big, db_big = softmax_regression_grad([[1.0, 0.0]], [1], [[1e4, -1e4], [0.0, 0.0]], [0.0, 0.0])
assert np.all(np.isfinite(dW_big)) and np.all(np.isfinite(db_big))

# %% kind="test" id="softmax_regression_grad_lists_and_float32" points=2
dW_l, db_l = softmax_regression_grad([[0.0, 1.0]], [0], [[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0])
assert np.allclose(db_l, [-0.5, 0.5])

# %% [markdown]
# ### The result
#
# With $\delta_i = p_i - \mathrm{onehot}(y_i)$ (the gradient of $\ell_i$ in $z_i$),
#
# $$ \frac{\partial\, \text{NLL}}{\partial W} = \frac1N X^\top \Delta, \qquad
#    \frac{\partial\, \text{NLL}}{\partial b} = \frac1N \sum_i \delta_i , $$
#
# where $\Delta$ stacks the rows $\delta_i$. Each class's weights move towards the
# features of its examples and away from those of the examples that wrongly gave
# it probability.
#
# ## 3.3 The data
#
# Four classes in $D = 20$ features: two features carry the class (each class has
# its own centre in them), the other eighteen are pure noise. Only 100 training
# examples, 300 for validation, 1000 for testing.

# %%
NUM_CLASSES, NUM_FEATURES = 4, 20
data_rng = np.random.default_rng(0)
centres = data_rng.normal(0, 1, size=(NUM_CLASSES, 2)) * 2.5


def make_split(n):
    labels = data_rng.integers(0, NUM_CLASSES, size=n)
    features = data_rng.normal(size=(n, NUM_FEATURES))
    features[:, :2] += centres[labels]
    return features, labels


X_train, y_train = make_split(100)
X_val, y_val = make_split(300)
X_test, y_test = make_split(1000)
print("class counts in training:", np.bincount(y_train, minlength=NUM_CLASSES))

# %% [markdown]
# ## 3.4 Predict, then check: the best model that ignores the features
#
# Training starts from $W = 0$, $b = 0$, whose loss you predicted in notebook 3 of
# `mle_losses` (no points for it here). A model with $W = 0$ ignores the features but
# can still use its bias: the best such bias gives every example the class
# frequencies of the training set, $f_k$ = the fraction of training examples of
# class $k$ (printed above as counts).
#
# ### Exercise: predict the loss of the best constant model
#
# Before running the next cell, work out the mean cross-entropy on the training set
# of the model that gives every example the probabilities $f$, and assign the number
# to `predicted_initial_loss` (natural logarithm). It is the loss any model of these
# features has to beat.
#
# *Graded for being right* (to $10^{-6}$): the number depends on this notebook's
# class counts, which only running it shows; no number in the text gives it.

# %% kind="answer" id="predicted_initial_loss_answer"
### BEGIN SOLUTION
class_fractions = np.bincount(y_train, minlength=NUM_CLASSES) / len(y_train)
predicted_initial_loss = float(-np.sum(class_fractions * np.log(class_fractions)))
### END SOLUTION
predicted_initial_loss

# %% kind="test" id="predicted_initial_loss_value" points=5
assert isinstance(predicted_initial_loss, (int, float)) and predicted_initial_loss > 0

# %% [markdown]
# ## 3.5 Training with your gradient
#
# Plain gradient descent, 3000 steps, learning rate 0.5, no regularisation. Every
# step calls your `softmax_regression_grad`.

# %%
W = np.zeros((NUM_FEATURES, NUM_CLASSES))
b = np.zeros(NUM_CLASSES)
initial_loss = mean_cross_entropy(X_train, y_train, W, b)
best_constant_b = np.log(np.bincount(y_train, minlength=NUM_CLASSES) / len(y_train))
print(f"loss at W = 0, b = 0: {initial_loss:.6f}; at W = 0 with the best bias: "
      f"{mean_cross_entropy(X_train, y_train, W, best_constant_b):.6f}; your prediction {predicted_initial_loss:.6f}")
history = {"train": [], "validation": []}
for step in range(3000):
    if step % 50 == 0:
        history["train"].append(mean_cross_entropy(X_train, y_train, W, b))
        history["validation"].append(mean_cross_entropy(X_val, y_val, W, b))
    dW, db = softmax_regression_grad(X_train, y_train, W, b)
    W -= 0.5 * dW
    b -= 0.5 * db


def accuracy(X, y):
    return float(np.mean(np.argmax(X @ W + b, axis=1) == y))


print(f"accuracy: train {accuracy(X_train, y_train):.3f}, test {accuracy(X_test, y_test):.3f}")

fig, ax = plt.subplots(figsize=(7, 4))
steps_axis = np.arange(0, 3000, 50)
ax.plot(steps_axis, history["train"], label="training NLL")
ax.plot(steps_axis, history["validation"], label="validation NLL")
ax.axhline(math.log(NUM_CLASSES), color="grey", ls="--", label="log C (the start)")
ax.set(xlabel="gradient-descent step", ylabel="mean cross-entropy (nats)",
       title="Training NLL keeps falling; validation NLL turns up")
ax.legend()
fig.subplots_adjust(left=0.1, right=0.97, bottom=0.15, top=0.9)
plt.show()

# %% [markdown]
# ## 3.6 Over-confidence on held-out data
#
# A classifier is **calibrated** if, among the examples to which it gives confidence
# about 0.8 (its largest probability), about 80% are right. On the training set the
# unregularised fit drives the logits up to make every training label likely; on new
# data it keeps that confidence but not the accuracy. Computed on the test set:

# %%
def softmax(z):
    return np.exp(log_softmax(z))


test_logits = X_test @ W + b
val_logits = X_val @ W + b
confidence = softmax(test_logits).max(axis=1)
print(f"training set: accuracy {accuracy(X_train, y_train):.3f}, "
      f"mean confidence {softmax(X_train @ W + b).max(axis=1).mean():.3f}")
print(f"test set:     accuracy {accuracy(X_test, y_test):.3f}, mean confidence {confidence.mean():.3f}")

# %% [markdown]
# ## 3.7 Temperature scaling, fitted by maximum likelihood
#
# Divide every logit by one positive number $T$, the **temperature**:
# $p_i = \operatorname{softmax}(z_i / T)$. $T > 1$ softens the probabilities, $T < 1$
# sharpens them, and the predicted class never changes (dividing by a positive
# number keeps the order of the logits), so the accuracy stays exactly the same.
# Choose $T$ as every parameter in this course is chosen: maximise the likelihood,
# here of the **validation** labels (the training set is the one the model is
# over-confident on):
#
# $$ \hat T = \arg\min_{T > 0} \frac1N \sum_i -\log \operatorname{softmax}(z_i / T)_{y_i} . $$
#
# ### Exercise: implement `fit_temperature(z, y)`
#
# For logits `z` (N, C) and integer labels `y` (N,), return the minimising $T$ as a
# positive float, to a relative accuracy of $10^{-4}$; you may assume it lies in
# $[0.01, 100]$. Hints: write the NLL as a function of $\beta = 1/T$ and
# differentiate it; it is convex in $\beta$ (a log-sum-exp minus a linear function),
# so its derivative crosses zero once, and bisection on the derivative (or Newton's
# method) finds it. Stay stable for large logits.

# %% kind="answer" id="fit_temperature_answer"
def fit_temperature(z, y):
    """The temperature T > 0 that minimises the mean cross-entropy of z / T."""
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    true_logit = z[np.arange(len(y)), y]

    def slope(beta):   # d/d beta of the mean NLL of beta * z: E_p[z] - z_y, averaged
        p = np.exp(log_softmax(beta * z))
        return float(np.mean(np.sum(p * z, axis=1) - true_logit))

    low, high = 1e-2, 1e2   # beta = 1/T; the slope rises from negative to positive
    for _ in range(200):
        mid = math.sqrt(low * high)
        if slope(mid) > 0:
            high = mid
        else:
            low = mid
        if high / low < 1 + 1e-12:
            break
    return float(1.0 / math.sqrt(low * high))
    ### END SOLUTION


# %% kind="test" id="fit_temperature_value" points=8
T_hat = fit_temperature(val_logits, y_val)
assert T_hat > 0
nll_at = lambda T: float(-np.mean(log_softmax(val_logits / T)[np.arange(len(y_val)), y_val]))
assert nll_at(T_hat) <= min(nll_at(T_hat * 1.01), nll_at(T_hat / 1.01))

# %% kind="test" id="fit_temperature_scales_with_the_logits" points=4
# Logits twice as large need twice the temperature.
assert math.isclose(fit_temperature(2 * val_logits, y_val), 2 * T_hat, rel_tol=1e-3)

# %% kind="test" id="fit_temperature_accepts_lists" points=2
assert fit_temperature([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [2.0, 0.0]], [0, 1, 1, 0]) > 0

# %% [markdown]
# ### Why the minimum is where it is
#
# With $\beta = 1/T$, the derivative of the NLL is
# $\frac1N\sum_i \big(\mathbb E_{c \sim p_i}[z_{i,c}] - z_{i,y_i}\big)$: the fitted
# temperature makes the logit the model expects, on average, equal to the logit of
# the label that occurred. The fitted value on the validation set, and what it does
# to the test set:

# %%
T_hat = fit_temperature(val_logits, y_val)
scaled_confidence = softmax(test_logits / T_hat).max(axis=1)
test_nll_before = mean_cross_entropy(X_test, y_test, W, b)
test_nll_after = mean_cross_entropy(X_test, y_test, W / T_hat, b / T_hat)
print(f"fitted temperature {T_hat:.4f}")
print(f"test NLL {test_nll_before:.4f} -> {test_nll_after:.4f};  mean confidence {confidence.mean():.3f} -> "
      f"{scaled_confidence.mean():.3f};  accuracy {accuracy(X_test, y_test):.3f} (unchanged)")

# %% [markdown]
# ## 3.8 Two remedies that change the fit: stop early, or add a prior (MAP)
#
# Temperature scaling repairs the confidence after the fit. Two standard remedies act
# on the fit itself, and both are chosen on the same validation set:
#
# - **Early stopping.** Run the same gradient descent from $W = 0$, compute the
#   validation NLL after every step, and keep the parameters where it was lowest.
# - **L2 regularisation, which is maximum a posteriori (MAP).** Put a Gaussian
#   prior on every weight, $W_{jc} \sim \mathcal N(0, \tau^2)$, and maximise
#   likelihood $\times$ prior instead of the likelihood. Its negative logarithm,
#   divided by $N$, is
#
#   $$ \frac1N\Big(-\sum_i \log p_{i, y_i} + \frac{1}{2\tau^2}\lVert W\rVert^2\Big) + \text{const}
#      = \text{mean NLL} + \frac{\alpha}{2}\lVert W\rVert^2, \qquad \alpha = \frac{1}{N\tau^2}, $$
#
#   so its gradient in $W$ is your gradient plus $\alpha W$ (the bias gets no
#   prior). A small $\tau$ (a large $\alpha$) says "weights are small unless the data
#   insist", which is what 18 noise features need. The cell tries three values of
#   $\alpha$ and keeps the one with the lowest validation NLL.

# %%
def train(steps, alpha=0.0, learning_rate=0.5, keep_best_on_validation=False):
    """Gradient descent from zero with your gradient plus alpha W; optionally the step best on validation."""
    W_run, b_run = np.zeros((NUM_FEATURES, NUM_CLASSES)), np.zeros(NUM_CLASSES)
    best = (mean_cross_entropy(X_val, y_val, W_run, b_run), 0, W_run, b_run)
    for step in range(1, steps + 1):
        dW, db = softmax_regression_grad(X_train, y_train, W_run, b_run)
        W_run, b_run = W_run - learning_rate * (dW + alpha * W_run), b_run - learning_rate * db
        if keep_best_on_validation:
            val_nll = mean_cross_entropy(X_val, y_val, W_run, b_run)
            if val_nll < best[0]:
                best = (val_nll, step, W_run, b_run)
    return best if keep_best_on_validation else (mean_cross_entropy(X_val, y_val, W_run, b_run), steps, W_run, b_run)


early_val_nll, early_step, W_early, b_early = train(100, keep_best_on_validation=True)
print(f"early stopping: validation NLL lowest after step {early_step} ({early_val_nll:.4f}; "
      "the curve in 3.5, drawn every 50 steps, passes over it)")
map_fits = {alpha: train(300, alpha=alpha) for alpha in (0.03, 0.1, 0.3)}
for alpha, (val_nll, _, W_alpha, _) in map_fits.items():
    print(f"MAP with alpha = {alpha}: validation NLL {val_nll:.4f}, |W| = {np.linalg.norm(W_alpha):.2f}")
alpha_hat = min(map_fits, key=lambda alpha: map_fits[alpha][0])
_, _, W_map, b_map = map_fits[alpha_hat]
print(f"chosen alpha = {alpha_hat} (prior standard deviation tau = {1 / math.sqrt(len(y_train) * alpha_hat):.3f}); "
      f"the ML fit's |W| = {np.linalg.norm(W):.2f}")

# %% [markdown]
# ## 3.9 The four, measured on the test set
#
# Group the test examples into ten bins of confidence and plot each bin's accuracy
# against its mean confidence; the number by each point is how many test examples
# the bin holds (a bin of a handful says little). A calibrated model lies on the
# diagonal. The **expected calibration error** (ECE) is the bin-size-weighted mean
# distance from it.

# %%
def reliability(confidences, correct, bins=10):
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidences, edges[1:-1]), 0, bins - 1)
    mean_conf, mean_acc, counts = [], [], []
    for k in range(bins):
        members = which == k
        if members.any():
            mean_conf.append(confidences[members].mean())
            mean_acc.append(correct[members].mean())
            counts.append(members.sum())
    mean_conf, mean_acc, counts = map(np.array, (mean_conf, mean_acc, counts))
    ece = float(np.sum(counts * np.abs(mean_acc - mean_conf)) / counts.sum())
    return mean_conf, mean_acc, counts, ece


fits = {"ML (T = 1)": (W, b),
        f"ML, temperature T = {T_hat:.2f}": (W / T_hat, b / T_hat),
        f"early stopping (step {early_step})": (W_early, b_early),
        f"MAP, alpha = {alpha_hat}": (W_map, b_map)}
measured = {}
for name, (W_fit, b_fit) in fits.items():
    probabilities = softmax(X_test @ W_fit + b_fit)
    right = (np.argmax(probabilities, axis=1) == y_test).astype(float)
    measured[name] = reliability(probabilities.max(axis=1), right)
    print(f"{name:28s} test accuracy {right.mean():.3f}  NLL {mean_cross_entropy(X_test, y_test, W_fit, b_fit):.4f}  "
          f"mean confidence {probabilities.max(axis=1).mean():.3f}  ECE {measured[name][3]:.3f}")

fig, panels = plt.subplots(1, 2, figsize=(12, 5.5))
for ax, names, title in ((panels[0], list(fits)[:2], "Maximum likelihood, before and after temperature"),
                         (panels[1], list(fits)[2:], "Early stopping and MAP (L2)")):
    ax.plot([0, 1], [0, 1], color="grey", ls="--", label="calibrated")
    for name, marker, offset in zip(names, ("o-", "s-"), ((5, -12), (-16, 6))):   # counts of the two apart
        mean_conf, mean_acc, counts, ece = measured[name]
        line, = ax.plot(mean_conf, mean_acc, marker, label=f"{name}: ECE {ece:.3f}")
        for x_point, y_point, count in zip(mean_conf, mean_acc, counts):
            ax.annotate(str(count), (x_point, y_point), textcoords="offset points", xytext=offset,
                        fontsize=8, color=line.get_color())
    ax.set(xlabel="mean confidence in the bin", ylabel="accuracy in the bin (number: test examples)",
           xlim=(0, 1.05), ylim=(-0.05, 1.05), title=title)
    ax.legend(loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# - Softmax regression's gradient is $\frac1N X^\top(P - Y)$ and $\frac1N\sum_i(p_i - y_i)$;
#   check it numerically before trusting it.
# - At $W = 0$ every class has probability $1/C$, so the loss starts at $\log C$:
#   a first check of any classifier's training run.
# - Measured here, on 100 training examples with 18 noise features among 20: the
#   maximum-likelihood fit is over-confident on the test set (its mean confidence
#   far above its accuracy, printed in 3.6). One more maximum-likelihood fit, of $T$
#   on held-out data, brings the confidence to the accuracy without changing a
#   single prediction; early stopping and a Gaussian prior (MAP, likelihood
#   $\times$ prior) do it by changing the fit, and on this data set MAP also raised
#   the test accuracy (the table in 3.9). Whether a fit is over-confident is
#   something to measure on held-out data, as here, for every model.
