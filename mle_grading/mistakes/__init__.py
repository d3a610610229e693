"""Realistic mistakes for the demo class and the grading tests.

Each `Mistake` replaces one answer cell of an otherwise correct submission and
names exactly the test cells (grade_ids) that must lose points; every other test
cell of the assignment must keep its points. One module per notebook.
"""
import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    student: str          # the demo student's id, which says what the mistake is
    notebook: str         # notebook id
    cell: str             # grade_id of the answer cell it replaces
    source: str           # the mistaken cell source
    fails: frozenset      # grade_ids that must score 0; all others full marks
    note: str = ""        # what a teacher would call the mistake


MODULES = ("gaussian_mse", "bernoulli_bce", "categorical_ce", "gradients")


def all_mistakes():
    found = []
    for name in MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        found.extend(module.MISTAKES)
    students = [m.student for m in found]
    if len(set(students)) != len(students):
        raise RuntimeError("two mistakes share a student id")
    return found
