"""Wrong submissions for the demo class and the grading tests (not part of the grading library).

Each `Mistake` replaces one answer cell of an otherwise correct submission and
names exactly the test cells (grade_ids) that must lose points; every other test
cell of its assignment must keep its points. A mistake is the demo student whose id
says what it is.

Layout: one package per assignment (`demo_submissions/<assignment>/`), one module
per notebook, each with a list `MISTAKES`; `MODULES` below names them. To add the
mistakes of a new assignment or notebook, write the module and add its name here:
a module named here that does not exist is an error, never a smaller class.

`EmptyEffort` is a submission that implements nothing real (constants, always
raising, a table of printed numbers) and names the test cells it must fail; the
tests grade them, the demo class does not hold them.
"""
import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    student: str          # the demo student's id, which says what the mistake is
    assignment: str       # assignment id
    notebook: str         # notebook id
    cell: str             # grade_id of the answer cell it replaces
    source: str           # the mistaken cell source
    fails: frozenset      # grade_ids that must score 0; all others full marks
    note: str = ""        # what a teacher would call the mistake


@dataclass(frozen=True)
class EmptyEffort:
    name: str             # what it tries, as a test id
    assignment: str
    notebook: str
    answers: dict         # answer grade_id -> source replacing the solution
    fails: frozenset      # grade_ids it must not pass (others may pass or fail)
    note: str = ""


# assignment -> its notebooks' modules under demo_submissions/<assignment>/
MODULES = {
    "mle_losses": ("gaussian_mse", "bernoulli_bce", "categorical_ce", "gradients"),
    "mle_beyond": ("learned_variance", "soft_targets", "softmax_regression"),
}
EMPTY_EFFORT_MODULES = {
    "mle_losses": ("empty_effort",),
    "mle_beyond": ("empty_effort",),
}


def _load(table, attribute, assignment):
    found = []
    for name in (assignment,) if assignment else tuple(table):
        for module in table[name]:
            found.extend(getattr(importlib.import_module(f"{__name__}.{name}.{module}"), attribute))
    return found


def all_mistakes(assignment=None):
    """Every mistake (of one assignment, if given), in teaching order."""
    found = _load(MODULES, "MISTAKES", assignment)
    students = [m.student for m in _load(MODULES, "MISTAKES", None)]
    if len(set(students)) != len(students):
        raise RuntimeError("two mistakes share a student id")
    return found


def all_empty_efforts(assignment=None):
    return _load(EMPTY_EFFORT_MODULES, "EMPTY_EFFORTS", assignment)
