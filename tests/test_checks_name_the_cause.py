"""A wrong answer is told its cause, not only that its value is wrong, in the styles real code
takes: a constant inside the log of the cross-entropy (as BCE's clipping is named), a mean over
axis=0 (never told to convert with np.asarray, which it does), an object-dtype array
(np.frompyfunc), a sum divided by the number of rows on 2-D input, and an elementwise function
that keeps an integer input's dtype (integer inputs are part of the contract, as every
array-like is; the message says so).
"""
import numpy as np
import pytest

from mle_grading.boundary.protocol import InProcessStudent

from corpus.styles import CAUSES
from demo_submissions import all_mistakes
from notebook_namespace import failing_cells, run_notebook_code
from style_grading import failures_per_draw


@pytest.mark.parametrize("variant", CAUSES, ids=lambda v: v.name)
def test_each_failing_cell_names_the_cause_of_the_mistake(variant):
    for student, failed in failures_per_draw(variant, ("ada", "grace")).items():
        assert variant.fails <= set(failed), (student, failed)
        for gid, message in failed.items():
            assert variant.cause in message, (student, gid, message)
            for wrong in variant.not_said:
                assert wrong not in message, (student, gid, message)


def test_an_object_array_is_named_as_one_and_other_odd_values_keep_their_message():
    student = InProcessStudent({"objects": lambda: np.array([0.5, 0.25], dtype=object),
                                "text": lambda: {"a": 1}})
    assert "dtype object" in student.call("objects").message
    assert "not a number, an array or a SymPy expression" in student.call("text").message


# The demo class's mistakes of these kinds: the phrase each failing cell's feedback must hold.
DEMO_CAUSES = {"gauss-variance-floored": "floored at 1e-06", "mse-mean-over-axis-zero": "axis=0",
               "mse-divides-by-rows": "len", "bce-log-capped-at-100": "caps each log at -100",
               "sigmoid-object-array": "dtype object", "sigmoid-keeps-int-dtype": "integer dtype",
               "nll-log-p-plus-eps": "adds 1e-07 inside the log"}


@pytest.mark.parametrize("student", sorted(DEMO_CAUSES))
def test_the_demo_class_mistakes_of_these_kinds_are_told_their_cause(student):
    (mistake,) = [m for m in all_mistakes() if m.student == student]
    namespace = run_notebook_code(mistake.notebook, {mistake.cell: mistake.source}, keep_going=True)
    failed = failing_cells(mistake.notebook, namespace, student)
    assert set(failed) == set(mistake.fails)
    for gid, message in failed.items():
        assert DEMO_CAUSES[student] in message and "the value is wrong" not in message, (gid, message)
