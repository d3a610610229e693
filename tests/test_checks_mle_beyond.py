"""The trusted checks of `mle_beyond`: the reference passes, the release scores 0, every demo
mistake loses exactly its cells, honest answers written differently keep everything.

In-process and fast: the checks the sandboxed grader runs, applied to the source
notebook's own namespace (answer cells replaced where a case says so), for several
students, since every student's hidden inputs differ.
"""
import contextlib
import io
import os
import warnings

import matplotlib
import nbformat
import pytest
from nbgrader.preprocessors import ClearSolutions

from mle_grading import ASSIGNMENTS, checks
from demo_submissions import all_mistakes
from mle_grading.protocol import InProcessStudent

matplotlib.use("Agg")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSIGNMENT = "mle_beyond"
NOTEBOOKS = ASSIGNMENTS[ASSIGNMENT]
STUDENTS = ("ada", "grace", "edsger")
MISTAKES = all_mistakes(ASSIGNMENT)


def source_notebook(notebook_id):
    return nbformat.read(os.path.join(ROOT, "source", ASSIGNMENT, f"{notebook_id}.ipynb"), as_version=4)


def graded_cells(notebook_id):
    return [c.metadata["nbgrader"]["grade_id"] for c in source_notebook(notebook_id).cells
            if c.metadata.get("nbgrader", {}).get("grade")]


def run_code(nb, replace=None, allow_errors=False):
    """Execute every non-test code cell of `nb`; `replace` maps answer grade_ids to new sources."""
    replace = replace or {}
    namespace = {"__name__": "__main__"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        code = replace.get(meta.get("grade_id"), cell.source)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            try:
                exec(compile(code, "<cell>", "exec"), namespace)
            except Exception:
                if not allow_errors:
                    raise
    import matplotlib.pyplot as plt
    plt.close("all")
    return namespace


def failing_cells(notebook_id, namespace, student_id):
    student = InProcessStudent(namespace)
    failed = {}
    for gid in graded_cells(notebook_id):
        chk = checks.find(notebook_id, gid)
        assert chk is not None, f"no trusted check for test cell {gid}"
        message = checks.run_check(chk, student, student_id=student_id, assignment=ASSIGNMENT)
        if message is not None:
            failed[gid] = message
    return failed


def test_the_assignment_has_three_notebooks_and_100_points():
    points = 0
    for notebook_id in NOTEBOOKS:
        points += sum(c.metadata["nbgrader"]["points"] for c in source_notebook(notebook_id).cells
                      if c.metadata.get("nbgrader", {}).get("grade"))
    assert len(NOTEBOOKS) == 3 and points == 100


def test_every_new_function_has_a_demo_mistake():
    answered = {(m.notebook, m.cell) for m in MISTAKES}
    for notebook_id in NOTEBOOKS:
        answers = {c.metadata["nbgrader"]["grade_id"] for c in source_notebook(notebook_id).cells
                   if c.metadata.get("nbgrader", {}).get("solution")}
        assert answers and {(notebook_id, a) for a in answers} <= answered, notebook_id


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_reference_solution_passes_every_check_for_every_student(notebook_id):
    namespace = run_code(source_notebook(notebook_id))
    for student_id in STUDENTS:
        assert failing_cells(notebook_id, namespace, student_id) == {}, student_id


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_the_release_version_scores_nothing(notebook_id):
    nb = source_notebook(notebook_id)
    released, _ = ClearSolutions().preprocess(nb, {})
    namespace = run_code(released, allow_errors=True)
    assert set(failing_cells(notebook_id, namespace, "untouched")) == set(graded_cells(notebook_id))


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.student)
def test_mistake_fails_exactly_the_cells_that_test_it(mistake):
    namespace = run_code(source_notebook(mistake.notebook), {mistake.cell: mistake.source})
    # Graded as the demo class grades it: under the mistake's own student id.
    failed = failing_cells(mistake.notebook, namespace, mistake.student)
    assert set(failed) == set(mistake.fails), failed


MARKER = "SECRET-STUDENT-TEXT-1234"
ECHOING = {
    "01_learned_variance": {
        "gaussian_nll_logvar_answer": f"def gaussian_nll_logvar(y_pred, y, log_var):\n    raise ValueError({MARKER!r})\n",
        "gaussian_nll_logvar_grad_answer": f"def gaussian_nll_logvar_grad(y_pred, y, log_var):\n    return {MARKER!r}\n",
        "laplace_b_mle_answer": f"class Odd(Exception):\n    pass\n\ndef laplace_b_mle(y_pred, y):\n    raise Odd({MARKER!r})\n",
    },
    "02_soft_targets": {"optimal_logit_gap_answer": f"optimal_logit_gap = {MARKER!r}\n"},
    "03_softmax_regression": {"fit_temperature_answer": f"def fit_temperature(z, y):\n    print({MARKER!r})\n"
                                                        f"    raise RuntimeError({MARKER!r})\n"},
}


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_no_message_repeats_what_the_submission_said(notebook_id):
    namespace = run_code(source_notebook(notebook_id), ECHOING[notebook_id], allow_errors=True)
    failed = failing_cells(notebook_id, namespace, "echo")
    assert failed, "the echoing submission should fail something"
    assert not [m for m in failed.values() if MARKER in m]


# Honest answers, written differently from the solutions: other formulas, loops, lists for
# tuples, np.nansum, log-space Newton.
HONEST = {
    "01_learned_variance": {
        "gaussian_nll_logvar_answer": (
            "def gaussian_nll_logvar(y_pred, y, log_var):\n"
            "    y_pred, y, log_var = np.broadcast_arrays(np.asarray(y_pred, float), np.asarray(y, float),\n"
            "                                             np.asarray(log_var, float))\n"
            "    var = np.exp(log_var)\n"
            "    return np.mean(0.5 * np.log(2 * np.pi * var) + (y - y_pred) ** 2 / (2 * var))\n"),
        "gaussian_nll_logvar_grad_answer": (
            "def gaussian_nll_logvar_grad(y_pred, y, log_var):\n"
            "    y_pred, y, log_var = np.broadcast_arrays(np.asarray(y_pred, float), np.asarray(y, float),\n"
            "                                             np.asarray(log_var, float))\n"
            "    out_mu, out_s = np.empty(y.shape), np.empty(y.shape)\n"
            "    for i in np.ndindex(y.shape):\n"
            "        var = math.exp(log_var[i])\n"
            "        out_mu[i] = (y_pred[i] - y[i]) / var\n"
            "        out_s[i] = 0.5 - (y[i] - y_pred[i]) ** 2 / (2 * var)\n"
            "    return [out_mu, out_s]\n"),
        "laplace_b_mle_answer": ("def laplace_b_mle(y_pred, y):\n"
                                 "    return np.abs(np.subtract(y, y_pred, dtype=np.float64)).mean()\n"),
    },
    "02_soft_targets": {
        "soft_cross_entropy_answer": (
            "def soft_cross_entropy(z, q):\n"
            "    z, q = np.asarray(z, dtype=float), np.asarray(q, dtype=float)\n"
            "    if (q < 0).any() or (abs(q.sum(-1) - 1) > 1e-6).any():\n"
            "        raise ValueError('not a distribution')\n"
            "    lse = np.logaddexp.reduce(z, axis=-1)\n"
            "    return np.mean(lse * q.sum(-1) - (q * z).sum(-1))\n"),
        "entropy_kl_answer": (
            "def entropy(q):\n"
            "    q = np.asarray(q, dtype=float)\n"
            "    with np.errstate(all='ignore'):\n"
            "        return np.mean(-np.nansum(q * np.log(q), axis=-1))\n\n\n"
            "def kl_divergence(q, p):\n"
            "    q, p = np.asarray(q, dtype=float), np.asarray(p, dtype=float)\n"
            "    if q.ndim == 1:\n"
            "        q, p = q[None], p[None]\n"
            "    total = 0.0\n"
            "    for qr, pr in zip(q, p):\n"
            "        for a, b in zip(qr, pr):\n"
            "            if a > 0:\n"
            "                total += math.inf if b == 0 else a * math.log(a / b)\n"
            "    return total / len(q)\n"),
        "smooth_labels_answer": (
            "def smooth_labels(y, num_classes, epsilon):\n"
            "    if epsilon < 0 or epsilon > 1:\n"
            "        raise ValueError('epsilon')\n"
            "    rows = []\n"
            "    for label in list(np.asarray(y).ravel()):\n"
            "        row = [epsilon / num_classes] * num_classes\n"
            "        row[int(label)] += 1 - epsilon\n"
            "        rows.append(row)\n"
            "    return np.array(rows)\n"),
        "optimal_logit_gap_answer": "optimal_logit_gap = np.log(91.0)\n",
    },
    "03_softmax_regression": {
        "softmax_regression_grad_answer": (
            "def softmax_regression_grad(X, y, W, b):\n"
            "    X, W, b = np.asarray(X, float), np.asarray(W, float), np.asarray(b, float)\n"
            "    dW, db = np.zeros_like(W), np.zeros_like(b)\n"
            "    for x, label in zip(X, np.asarray(y)):\n"
            "        z = x @ W + b\n"
            "        p = np.exp(z - np.logaddexp.reduce(z))\n"
            "        p[int(label)] -= 1\n"
            "        dW += np.outer(x, p)\n"
            "        db += p\n"
            "    return dW / len(X), db / len(X)\n"),
        "predicted_initial_loss_answer": "predicted_initial_loss = -np.log(1 / 4)\n",
        "fit_temperature_answer": (
            "def fit_temperature(z, y):\n"
            "    z, y = np.asarray(z, float), np.asarray(y).astype(int)\n"
            "    zy = z[np.arange(len(y)), y]\n"
            "    u = 0.0  # log(1/T): Newton steps on the NLL, clipped to one unit of log\n"
            "    for _ in range(200):\n"
            "        beta = math.exp(u)\n"
            "        p = np.exp(log_softmax(beta * z))\n"
            "        mean_z = (p * z).sum(1)\n"
            "        g = np.mean(mean_z - zy)\n"
            "        h = np.mean((p * z * z).sum(1) - mean_z ** 2)\n"
            "        step = max(-1.0, min(1.0, -g / (h * beta) if h > 0 else -np.sign(g)))\n"
            "        u += step\n"
            "        if abs(step) < 1e-12:\n"
            "            break\n"
            "    return math.exp(-u)\n"),
    },
}


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_honest_answers_written_differently_keep_every_point(notebook_id):
    namespace = run_code(source_notebook(notebook_id), HONEST[notebook_id])
    for student_id in STUDENTS:
        assert failing_cells(notebook_id, namespace, student_id) == {}, student_id
