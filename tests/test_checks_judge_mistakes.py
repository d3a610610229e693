"""Every trusted check passes the reference solution and fails exactly the mistakes aimed at it.

In-process and fast: the same checks the sandboxed grader runs, applied to the
source notebook's namespace with one answer cell replaced by each known mistake.
Each mistake is graded as its own demo student, on that student's own hidden
inputs, and again on another student's (a check that catches a mistake only for
some hidden inputs would fail one of the two), and under several more students' inputs (each
check keeps fixed inputs that expose its known mistakes beside the drawn ones, so a wrong function
fails the same cells whatever the draw); the reference under several students' inputs. A cell
that raises is passed over, as in the grader's sandbox (a function returning an object array
breaks the notebook's own demonstration cells).
"""
import pytest

from demo_submissions import MODULES, all_mistakes

from notebook_namespace import failing_cells, graded_cell_ids, graded_notebooks, run_notebook_code

NOTEBOOKS = graded_notebooks()
MISTAKES = all_mistakes()


def test_every_assignment_with_demo_submissions_has_its_notebooks_graded_here():
    graded = {assignment for assignment, _ in NOTEBOOKS}
    assert set(MODULES) <= graded, set(MODULES) - graded
    assert all(m.notebook in {nb for _, nb in NOTEBOOKS} for m in MISTAKES)


@pytest.mark.parametrize("notebook_id", [nb for _, nb in NOTEBOOKS])
@pytest.mark.parametrize("student_id", ["reference", "student-1", "student-2"])
def test_reference_solution_passes_every_check_on_anyones_inputs(notebook_id, student_id):
    assert failing_cells(notebook_id, run_notebook_code(notebook_id), student_id) == {}


@pytest.mark.parametrize("notebook_id", [nb for _, nb in NOTEBOOKS])
def test_empty_namespace_fails_every_check(notebook_id):
    failed = failing_cells(notebook_id, {})
    assert set(failed) == set(graded_cell_ids(notebook_id))


@pytest.mark.parametrize("inputs_of", ["own", "another-student"])
@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.student)
def test_mistake_fails_exactly_the_cells_that_test_it_on_anyones_inputs(mistake, inputs_of):
    namespace = run_notebook_code(mistake.notebook, {mistake.cell: mistake.source}, keep_going=True)
    failed = failing_cells(mistake.notebook, namespace, mistake.student if inputs_of == "own" else inputs_of)
    assert set(failed) == set(mistake.fails), failed
    assert set(mistake.fails) <= set(graded_cell_ids(mistake.notebook))


DRAWS = ("draw-1", "draw-2", "draw-3")


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.student)
def test_mistake_fails_the_same_cells_whatever_the_draw(mistake):
    namespace = run_notebook_code(mistake.notebook, {mistake.cell: mistake.source}, keep_going=True)
    failed = {student: sorted(failing_cells(mistake.notebook, namespace, student)) for student in DRAWS}
    assert all(cells == sorted(mistake.fails) for cells in failed.values()), failed
