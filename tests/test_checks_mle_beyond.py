"""The trusted checks of `mle_beyond`, beyond what every assignment's tests check
(tests/test_checks_judge_mistakes.py: the reference passes on anyone's inputs, each
demo mistake loses exactly its cells; tests/test_checks_refuse_empty_effort.py):
the release scores 0, no message repeats what a submission said, honest answers
written differently keep every point, and tuple results cross the wire intact.
"""
import numpy as np
import pytest
from nbgrader.preprocessors import ClearSolutions

from demo_submissions import all_mistakes
from mle_grading import ASSIGNMENTS
from mle_grading.inside_sandbox import wire
from mle_grading.boundary.protocol import InProcessStudent

from notebook_namespace import failing_cells, graded_cell_ids, run_notebook_code, source_notebook

ASSIGNMENT = "mle_beyond"
NOTEBOOKS = ASSIGNMENTS[ASSIGNMENT]
STUDENTS = ("ada", "grace", "edsger")


def answer_cells(notebook_id):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in source_notebook(notebook_id).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def test_the_assignment_has_three_notebooks_and_100_points():
    points = sum(c.metadata["nbgrader"]["points"] for nb in NOTEBOOKS for c in source_notebook(nb).cells
                 if c.metadata.get("nbgrader", {}).get("grade"))
    assert len(NOTEBOOKS) == 3 and points == 100


def test_every_answer_cell_has_a_demo_mistake():
    mistaken = {(m.notebook, m.cell) for m in all_mistakes(ASSIGNMENT)}
    for notebook_id in NOTEBOOKS:
        assert {(notebook_id, gid) for gid in answer_cells(notebook_id)} <= mistaken, notebook_id


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_the_release_version_scores_nothing(notebook_id):
    released, _ = ClearSolutions().preprocess(source_notebook(notebook_id), {})
    cleared = {c.metadata["nbgrader"]["grade_id"]: c.source for c in released.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    assert set(cleared) == set(answer_cells(notebook_id))
    namespace = run_notebook_code(notebook_id, cleared, keep_going=True)
    assert set(failing_cells(notebook_id, namespace, "untouched")) == set(graded_cell_ids(notebook_id))


def test_a_tuple_of_arrays_crosses_the_wire_as_a_tuple_and_hostile_tuples_are_refused():
    student = InProcessStudent({"pair": lambda: (np.ones((2, 3)), np.arange(3.0)), "nested": lambda: ((1.0,), 2.0),
                                "same_shape": lambda: (np.ones(3), np.zeros(3)),
                                "long": lambda: tuple(range(wire.MAX_SEQUENCE + 1))})
    outcome = student.call("pair")
    assert outcome.kind == "returned" and isinstance(outcome.value, tuple)
    assert [v.shape for v in outcome.value] == [(2, 3), (3,)]
    assert isinstance(student.call("same_shape").value, tuple)   # not stacked into one (2, 3) array
    assert student.call("nested").kind == "invalid"
    assert isinstance(student.call("long").value, np.ndarray)   # too long for a tuple of results: an array
    for forged in ({"kind": "seq", "items": []}, {"kind": "seq", "items": "x"},
                   {"kind": "seq", "items": [{"kind": "seq", "items": [{"kind": "none"}]}]},
                   {"kind": "seq", "items": [{"kind": "none"}] * (wire.MAX_SEQUENCE + 1)}):
        with pytest.raises(wire.WireError):
            wire.decode_result(forged)


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
    namespace = run_notebook_code(notebook_id, ECHOING[notebook_id], keep_going=True)
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
        "optimal_logit_gap_answer": "epsilon_for_gap = 0.05\noptimal_logit_gap = np.log((1 - 0.05 + 0.005) / 0.005)\n",
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
        "predicted_initial_loss_answer": ("predicted_initial_loss = float(-np.mean(np.log(np.bincount(y_train) / "
                                          "y_train.size)[y_train]))\n"),
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
    namespace = run_notebook_code(notebook_id, HONEST[notebook_id])
    for student_id in STUDENTS:
        assert failing_cells(notebook_id, namespace, student_id) == {}, student_id
