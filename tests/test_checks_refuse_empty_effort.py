"""A submission that implements nothing real earns nothing on the checks it games.

Each empty effort (demo_submissions/<assignment>/empty_effort.py) is built from what
the release shows: the printed numbers, the contract's exception, a constant that
is right on the one property a check names. It must fail the cells it names, on
any student's hidden inputs.
"""
import pytest

from demo_submissions import all_empty_efforts

from notebook_namespace import failing_cells, graded_cell_ids, run_notebook_code

EFFORTS = all_empty_efforts()


def test_there_are_empty_efforts_for_every_family_of_check():
    names = {e.name for e in EFFORTS}
    assert len(EFFORTS) >= 10 and len(names) == len(EFFORTS)


@pytest.mark.parametrize("student_id", ["student-1", "student-2"])
@pytest.mark.parametrize("effort", EFFORTS, ids=lambda e: e.name)
def test_empty_effort_fails_the_cells_it_games(effort, student_id):
    assert set(effort.fails) <= set(graded_cell_ids(effort.notebook))
    namespace = run_notebook_code(effort.notebook, effort.answers, keep_going=True)
    failed = failing_cells(effort.notebook, namespace, student_id)
    assert set(effort.fails) <= set(failed), set(effort.fails) - set(failed)
