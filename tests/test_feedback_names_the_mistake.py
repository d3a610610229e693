"""Feedback before the deadline names the mistake, not the answer; the full diagnosis waits.

A recognised mistake's full message says which step went wrong and then what is right
("the sign is flipped: the gradient of the loss is sigmoid(z) - y"). Guessing and
resubmitting against the second half would hand out the derivations, so the grading
service's `diagnostics` page shows only the first: the hint each check carries.
"""
import math

import numpy as np
import pytest

from mle_grading import checks
from mle_grading.checks import reference as ref
from mle_grading.operations.grading_service import diagnostics_page


def softmax(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_grad_not_divided_by_n(X, y, W, b):
    X, W, b = (np.asarray(a, dtype=float) for a in (X, W, b))
    p = softmax(X @ W + b)
    p[np.arange(len(X)), np.asarray(y).astype(int)] -= 1.0
    return X.T @ p, p.sum(axis=0)


C, E = 10, 0.2
CASES = [
    # (notebook, grade_id, the wrong namespace, the answer the full message states, the mistake the hint names)
    ("04_gradients", "bce_grad_matches_torch",
     {"bce_grad": lambda z, y: np.asarray(y, float) - ref.sigmoid(np.asarray(z, float))},
     "sigmoid(z) - y", "the sign is flipped"),
    ("03_softmax_regression", "softmax_regression_grad_matches_torch",
     {"softmax_regression_grad": softmax_grad_not_divided_by_n},
     "(1/N) X^T (P - Y)", "the gradient is not divided by N"),
    ("02_soft_targets", "optimal_logit_gap_value",
     {"epsilon_for_gap": E, "optimal_logit_gap": math.log((1 - E) / (E / C))},
     "1 - epsilon + epsilon / C", "the true class also gets its share"),
]


def diagnosis(notebook, grade_id, namespace):
    message = checks.run_check(checks.find(notebook, grade_id), checks.InProcessStudent(namespace), "student-1")
    assert message is not None, "the mistake should fail its check"
    return message


@pytest.mark.parametrize("notebook, grade_id, namespace, answer, mistake", CASES, ids=[c[1] for c in CASES])
def test_the_hint_names_the_mistake_and_leaves_out_the_answer_the_full_diagnosis_states(
        notebook, grade_id, namespace, answer, mistake):
    message = diagnosis(notebook, grade_id, namespace)
    assert answer in message and mistake in message
    assert mistake in message.hint
    assert answer not in message.hint


@pytest.mark.parametrize("notebook, grade_id, namespace, answer, mistake", CASES, ids=[c[1] for c in CASES])
def test_the_diagnostics_page_shows_the_hint_never_the_answer(notebook, grade_id, namespace, answer, mistake):
    message = diagnosis(notebook, grade_id, namespace)
    report = {"checks": {grade_id: str(message)}, "hints": {grade_id: message.hint}, "problems": []}
    page = diagnostics_page(notebook, "2026-12-01 10:00:00 UTC", report, None)
    assert mistake in page
    assert answer not in page and answer.replace("'", "&#x27;") not in page


def test_a_report_without_hints_shows_no_diagnosis_before_the_deadline():
    report = {"checks": {"bce_grad_matches_torch": "`bce_grad`: the sign is flipped: the gradient is sigmoid(z) - y."},
              "problems": []}
    page = diagnostics_page("04_gradients", "2026-12-01 10:00:00 UTC", report, None)
    assert "not yet" in page and "sigmoid(z) - y" not in page


def test_a_message_stating_no_answer_is_its_own_hint():
    message = checks.run_check(checks.find("04_gradients", "bce_grad_matches_torch"), checks.InProcessStudent({}))
    assert message.hint == str(message) and "not defined" in message
