"""Two rounds of feedback: a table of answers for the inputs of round one buys nothing in round two.

Round one's submission records every input the checks give it, and answers
rightly so that every case of every check is reached (a leak more complete than
any number of feedback pages could be: here, in-process, it simply keeps them). Round two answers exactly those inputs with the reference's values and
anything else with garbage. Because the hidden inputs are drawn per submission,
round two meets fresh inputs and scores what garbage scores. The last test shows
the same table would have paid had the inputs been reused: the first tests can fail.
"""
import numpy as np
import pytest

from mle_grading import checks
from mle_grading.checks import reference as ref
from mle_grading.boundary.protocol import InProcessStudent

from notebook_namespace import graded_cell_ids

NOTEBOOK = "01_gaussian_mse"
FUNCTIONS = {"mse": ref.mse, "gaussian_nll": ref.gaussian_nll, "sigma2_mle": ref.sigma2_mle,
             "laplace_nll": ref.laplace_nll}
# Cells that call the functions (not the SymPy derivations, not the predicted numbers).
VALUE_CELLS = [gid for gid in graded_cell_ids(NOTEBOOK) if not gid.endswith(("_expr_equivalent", "_prediction"))]


def key(args, kwargs):
    return repr([np.asarray(a, dtype=float).round(12).tolist() for a in args] + sorted(kwargs.items()))


def recording_submission(seen):
    def records(name):
        def function(*args, **kwargs):
            seen.setdefault(name, []).append((args, kwargs))
            return FUNCTIONS[name](*args, **kwargs)
        return function
    return {name: records(name) for name in FUNCTIONS}


def lookup_submission(seen):
    table = {}
    for name, calls in seen.items():
        for args, kwargs in calls:
            try:
                table[(name, key(args, kwargs))] = FUNCTIONS[name](*args, **kwargs)
            except ValueError as exc:
                table[(name, key(args, kwargs))] = exc

    def answers(name):
        def function(*args, **kwargs):
            answer = table.get((name, key(args, kwargs)), 0.0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return function
    return {name: answers(name) for name in FUNCTIONS}


def garbage_submission():
    return {name: (lambda *args, **kwargs: 0.0) for name in FUNCTIONS}


def passed(namespace, submission_code, student="student-7"):
    student_view = InProcessStudent(namespace)
    return {gid for gid in VALUE_CELLS
            if checks.run_check(checks.find(NOTEBOOK, gid), student_view, student, "mle_losses",
                                submission=[submission_code]) is None}


def two_rounds(second_code):
    seen = {}
    passed(recording_submission(seen), "round one: records its inputs")
    return passed(lookup_submission(seen), second_code), seen


def test_round_one_sees_the_inputs_of_every_value_check():
    _, seen = two_rounds("round two: a table of answers")
    assert set(seen) == set(FUNCTIONS)


def test_a_table_of_round_one_answers_scores_no_more_than_garbage_in_round_two():
    gained, _ = two_rounds("round two: a table of answers")
    assert gained <= passed(garbage_submission(), "round two: garbage")
    assert len(gained) < len(VALUE_CELLS) // 2


@pytest.mark.parametrize("student", ["student-7", "student-8"])
def test_the_same_table_would_pay_if_the_inputs_were_reused(student):
    """The control: graded as the same submission (same inputs), the table earns cells garbage does not."""
    seen = {}
    passed(recording_submission(seen), "one submission", student)
    reused = passed(lookup_submission(seen), "one submission", student)
    assert reused == set(VALUE_CELLS)
    assert not passed(garbage_submission(), "one submission", student)
