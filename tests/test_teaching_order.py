"""The notebooks teach in the right order: no answer before its exercise, and a known length.

A derivation's result, written the way these notebooks write mathematics (LaTeX in
markdown, NumPy or SymPy code), must not appear in any markdown cell above the
answer cell that asks for it: in that notebook or in an earlier one.
"""
import re

import pytest

from mle_grading import ASSIGNMENTS

NOTEBOOK_IDS = ASSIGNMENTS["mle_losses"]
# What a student has read by each exercise: mle_beyond comes after the whole of mle_losses.
READING_ORDER = ASSIGNMENTS["mle_losses"] + ASSIGNMENTS["mle_beyond"]

from notebook_namespace import source_notebook

# answer cell -> the ways its result could be written down in advance
ANSWERS = {
    ("01_gaussian_mse", "gaussian_nll_expr_answer"): [
        r"\tfrac12 \log(2\pi\sigma^2) + (y - \hat y)^2 / (2\sigma^2)",
        r"\frac{1}{2}\log(2\pi\sigma^2) + \frac{(y - \hat y)^2}{2\sigma^2}",
        "0.5*log(2*pi*sigma2) + (y - y_hat)**2/(2*sigma2)",
        "sp.log(2 * sp.pi * sigma2) / 2 + (y - y_hat) ** 2 / (2 * sigma2)",
    ],
    ("01_gaussian_mse", "nll_per_unit_mse_answer"): ["2.5", r"1/(2 \cdot 0.2)", "1 / (2 * 0.2)",
                                                      r"\frac{1}{2\sigma^2}\,\text{MSE}"],
    ("01_gaussian_mse", "perfect_prediction_nll_answer"): ["-1.38", "−1.38", r"\tfrac12\log(2\pi \cdot 0.01)"],
    ("01_gaussian_mse", "sigma2_mle_expr_answer"): [
        r"\hat\sigma^2", r"\sigma^2 = (y - \hat y)^2", "sigma2 = (y - y_hat)**2",
        "best variance is the squared residual"],
    ("01_gaussian_mse", "sigma2_mle_answer"): [r"\hat\sigma^2 = \text{MSE}", "best variance is the mean squared"],
    ("02_bernoulli_bce", "bernoulli_nll_expr_answer"): [
        r"y \log p + (1 - y) \log(1 - p)", r"-y \log p - (1 - y)\log(1 - p)",
        "y*log(p) + (1-y)*log(1-p)", "y * sp.log(sp_sigmoid(z))",
        r"y \log \sigma(z) + (1 - y) \log(1 - \sigma(z))"],
    ("03_categorical_ce", "untrained_loss_answer"): [r"\log C", r"\log 10 \approx", r"\log(10)", "log(10)", "2.302",
                                                   "log C"],
    ("04_gradients", "bce_grad_expr_answer"): [r"\sigma(z) - y", "sigmoid(z) - y", "sp_sigmoid(z) - y",
                                              "prediction minus target"],
    ("04_gradients", "mse_sigmoid_grad_expr_answer"): [
        r"2(\sigma(z) - y)\sigma'(z)", r"2\,\bigl(\sigma(z) - y\bigr)", "2 * (sigmoid(z) - y)",
        r"extra factor $\sigma'(z)$", r"factor $\sigma'(z) = \sigma(z)(1-\sigma(z))$ that"],
    ("04_gradients", "gradient_ratio_answer"): [r"1/(2\sigma'(z))", r"\frac{1}{2\sigma'(z)}", "28.3", r"1 + \cosh"],
    ("04_gradients", "softmax_ce_grad_expr_answer"): [
        r"\operatorname{softmax}(z) - \operatorname{onehot}(y)", "softmax(z) - onehot(y)",
        r"\operatorname{softmax}(z) - \text{onehot}(y)", r"\operatorname{softmax}(z)_k - [k = y]", "p_0 - 1"],
    ("04_gradients", "relative_error_signatures_answer"): ["flipped sign gives exactly 1", "gives 1/3",
                                                          "missing factor 2 gives"],
    ("04_gradients", "logistic_regression_grad_answer"): [
        r"\frac1N X^\top g", "X.T @ g", r"\frac1N \sum_i \frac{\partial \ell}{\partial z_i}\, x_i",
        r"\frac1N \sum_i g_i\, x_i"],
    ("01_learned_variance", "gaussian_nll_logvar_grad_answer"): [
        r"(\mu - y) e^{-s}", r"(\mu_i - y_i) e^{-s_i}", r"(\mu_i - y_i)\,e^{-s_i}", r"e^{-s}(\mu - y)",
        r"\frac12(1 - (y - \mu)^2 e^{-s})", r"\frac12(1 - (y_i - \mu_i)^2 e^{-s_i})", r"1 - (y_i - \mu_i)^2 e^{-s_i}",
        "residual * precision", "residual ** 2 * precision"],
    ("01_learned_variance", "laplace_b_mle_answer"): [
        r"\hat b = \frac1N \sum_i |y_i - \hat y_i|", r"\hat b = \text{MAE}", r"b = \text{MAE}",
        "mean absolute residual", "np.mean(np.abs("],
    ("02_soft_targets", "optimal_logit_gap_answer"): [
        r"\log\frac{1 - \varepsilon + \varepsilon/C}{\varepsilon/C}", r"g = \log", r"e^g = 9", r"e^g = (C - 1)",
        r"\log(1 + C(1 - \varepsilon)/\varepsilon)"],
    ("03_softmax_regression", "softmax_regression_grad_answer"): [
        r"\frac1N X^\top (P - Y)", r"X^\top (P - Y)", "X.T @ (P - Y)", "(1/N) X^T (P - Y)", r"\frac1N \sum_i (p_i - y_i)"],
    ("03_softmax_regression", "predicted_initial_loss_answer"): [
        r"-\sum_k f_k \log f_k", r"\sum_k f_k \log f_k", "H(f)", "entropy of the class frequencies",
        "entropy of f", "f * np.log(f)"],
}

SPACING = re.compile(r"\\[,;!:]|\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)\b|\\(?:operatorname|text|mathrm)|[{}\s]")


def normalised(text):
    """Text with LaTeX spacing, sizing and grouping removed, so that renderings compare as written."""
    text = text.replace(r"\tfrac", r"\frac").replace(r"\dfrac", r"\frac").replace("−", "-")
    return SPACING.sub("", text)


def markdown_above(notebook_id, answer_id, notebooks=None):
    """All markdown a student has read before reaching the answer cell: earlier notebooks too."""
    notebooks = notebooks or {nb: source_notebook(nb) for nb in READING_ORDER}
    read = []
    for nb_id in READING_ORDER:
        for cell in notebooks[nb_id].cells:
            if nb_id == notebook_id and cell.metadata.get("nbgrader", {}).get("grade_id") == answer_id:
                return "\n".join(read)
            if cell.cell_type == "markdown":
                read.append(cell.source)
    raise KeyError(f"no answer cell {answer_id!r} in {notebook_id}")


def leaks(notebook_id, answer_id, notebooks=None):
    text = normalised(markdown_above(notebook_id, answer_id, notebooks))
    return [r for r in ANSWERS[(notebook_id, answer_id)] if normalised(r) in text]


@pytest.mark.parametrize("notebook_id, answer_id", sorted(ANSWERS), ids=lambda v: v)
def test_no_markdown_above_an_exercise_states_its_answer(notebook_id, answer_id):
    assert leaks(notebook_id, answer_id) == []


def test_every_answer_cell_listed_here_exists_and_every_derivation_is_listed():
    for notebook_id, answer_id in ANSWERS:
        markdown_above(notebook_id, answer_id)
    derivations = {(nb, c.metadata["nbgrader"]["grade_id"]) for nb in NOTEBOOK_IDS for c in source_notebook(nb).cells
                   if c.metadata.get("nbgrader", {}).get("solution")
                   and re.search(r"_(expr|prediction|signatures|ratio|untrained)|nll_per_unit|perfect_prediction",
                                 c.metadata["nbgrader"]["grade_id"])}
    assert derivations <= set(ANSWERS)


def test_a_stated_answer_above_its_exercise_is_found():
    import nbformat
    notebooks = {nb: source_notebook(nb) for nb in READING_ORDER}
    planted = notebooks["03_categorical_ce"]
    planted.cells.insert(3, nbformat.v4.new_markdown_cell(
        r"Next: the gradient is $\operatorname{softmax}(z)  -  \operatorname{onehot}(y)$."))
    assert leaks("04_gradients", "softmax_ce_grad_expr_answer", notebooks)
    planted.cells.insert(3, nbformat.v4.new_markdown_cell(r"so $\frac{\partial \ell}{\partial z} = \sigma(z) - y$"))
    assert r"\sigma(z) - y" in leaks("04_gradients", "bce_grad_expr_answer", notebooks)
    # an answer of mle_beyond stated in mle_losses, which students read first, is found too
    notebooks["04_gradients"].cells.append(nbformat.v4.new_markdown_cell(
        r"Later you will see that $\hat b = \text{MAE}$ for a Laplace model."))
    assert leaks("01_learned_variance", "laplace_b_mle_answer", notebooks)


TIME = re.compile(r"\*\*Time:\*\* about (\d+) minutes")


def stated_minutes(notebook_id):
    found = [int(m) for c in source_notebook(notebook_id).cells if c.cell_type == "markdown"
             for m in TIME.findall(c.source)]
    assert len(found) == 1, f"{notebook_id} should state its time once, as '**Time:** about N minutes'"
    return found[0]


def test_each_notebook_states_how_long_it_takes_and_the_assignment_fits_in_five_hours():
    minutes = {nb: stated_minutes(nb) for nb in NOTEBOOK_IDS}
    assert all(30 <= m <= 120 for m in minutes.values()), minutes
    assert sum(minutes.values()) <= 5 * 60, minutes


# -- the text's claims, computed ------------------------------------------------------------

def test_rerunning_a_derivation_cell_after_the_whole_notebook_still_finds_the_sympy_symbols():
    import sympy as sp
    from notebook_namespace import run_notebook_code
    for notebook_id in ("01_gaussian_mse", "02_bernoulli_bce", "04_gradients"):
        namespace = run_notebook_code(notebook_id)
        for name in ("y_hat", "y", "z", "sigma2"):
            assert isinstance(namespace[name], sp.Symbol), f"{notebook_id} reassigns `{name}`"


def test_the_numbers_the_texts_quote_are_what_numpy_and_torch_compute():
    import numpy as np
    import torch
    with np.errstate(all="ignore"):
        naive = lambda z: -np.log(1 - 1 / (1 + np.exp(-z)))   # noqa: E731  (label 0)
        errors = {z: abs(naive(z) - np.logaddexp(0, z)) for z in (20.0, 30.0, 36.0)}
    assert 1e-8 < errors[20.0] < 1e-7              # "off by about 4e-8"
    assert 5e-4 < errors[30.0] < 5e-3              # "the third decimal"
    assert 1e-2 < errors[36.0] < 1e-1              # "the second"
    tiny = np.finfo(np.float64).tiny               # subnormals start below it
    assert np.exp(-708.3) > tiny > np.exp(-708.5)  # "subnormal below about -708"
    assert np.exp(-745.1) > 0 == np.exp(-745.2)    # "0.0 below about -745"
    clamped = torch.nn.functional.binary_cross_entropy(torch.zeros(1, dtype=torch.float64),
                                                       torch.ones(1, dtype=torch.float64))
    assert clamped.item() == 100.0                 # "clamps each logarithm at -100"


def test_the_slope_of_the_nll_in_the_mse_is_one_over_two_sigma2_and_the_legend_keeps_it():
    import numpy as np
    from mle_grading.checks import reference as ref
    rng = np.random.default_rng(1)
    x = np.linspace(-1, 1, 20)
    y = 2 * x + 1 + rng.normal(0, 0.1, size=x.shape)
    for s2 in (0.05, 0.1, 0.2):
        slopes = rng.uniform(0, 4, 40)
        mses = [ref.mse(a * x + 1, y) for a in slopes]
        nlls = [ref.gaussian_nll(a * x + 1, y, s2) for a in slopes]
        assert f"{np.polyfit(mses, nlls, 1)[0]:.2f}" == f"{1 / (2 * s2):.2f}"   # 2.50, not "2"


def test_mse_is_minimised_by_the_mean_and_mae_by_the_median():
    import numpy as np
    sample = np.random.default_rng(3).exponential(1.0, size=15)
    grid = np.linspace(0, 4, 40001)
    assert abs(grid[np.argmin([np.mean((c - sample) ** 2) for c in grid])] - sample.mean()) < 1e-4
    assert abs(grid[np.argmin([np.mean(np.abs(c - sample)) for c in grid])] - np.median(sample)) < 1e-4
