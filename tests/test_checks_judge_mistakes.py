"""Every trusted check passes the reference solution and fails exactly the mistakes aimed at it.

In-process and fast: the same checks the sandboxed grader runs, applied to the
source notebook's namespace with one answer cell replaced by each known mistake.
"""
import pytest

from mle_grading import NOTEBOOK_IDS, checks
from mle_grading.mistakes import all_mistakes

from notebook_namespace import run_notebook_code, graded_cell_ids

MISTAKES = all_mistakes()


def _notebooks():
    import os
    from notebook_namespace import ROOT
    return [nb for nb in NOTEBOOK_IDS if os.path.exists(os.path.join(ROOT, "source", "mle_losses", f"{nb}.ipynb"))]


def failing_cells(notebook_id, namespace):
    student = checks.InProcessStudent(namespace)
    failed = {}
    for gid in graded_cell_ids(notebook_id):
        chk = checks.find(notebook_id, gid)
        assert chk is not None, f"no trusted check for test cell {gid}"
        message = checks.run_check(chk, student)
        if message is not None:
            failed[gid] = message
    return failed


@pytest.mark.parametrize("notebook_id", _notebooks())
def test_reference_solution_passes_every_check(notebook_id):
    assert failing_cells(notebook_id, run_notebook_code(notebook_id)) == {}


@pytest.mark.parametrize("notebook_id", _notebooks())
def test_empty_namespace_fails_every_check(notebook_id):
    failed = failing_cells(notebook_id, {})
    assert set(failed) == set(graded_cell_ids(notebook_id))


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if m.notebook in _notebooks()], ids=lambda m: m.student)
def test_mistake_fails_exactly_the_cells_that_test_it(mistake):
    namespace = run_notebook_code(mistake.notebook, {mistake.cell: mistake.source})
    failed = failing_cells(mistake.notebook, namespace)
    assert set(failed) == set(mistake.fails), failed
