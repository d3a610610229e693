"""nbgrader's own checks: the source passes every test, the untouched release fails every test."""
import pytest

from mle_grading import ASSIGNMENTS

from course_copy import copy_course, run_nbgrader

# From the table, not from a directory listing: a missing notebook fails, never shrinks the list.
NOTEBOOKS = [f"{assignment}/{nb}" for assignment, notebooks in ASSIGNMENTS.items() for nb in notebooks]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return copy_course(str(tmp_path_factory.mktemp("validate")), with_release=True)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_source_notebook_passes_every_test(course, notebook):
    proc = run_nbgrader(course, "validate", f"source/{notebook}.ipynb", check=False)
    assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_untouched_release_fails_every_test(course, notebook):
    proc = run_nbgrader(course, "validate", "--invert", f"release/{notebook}.ipynb", check=False)
    assert "Success! The notebook does not pass any tests." in proc.stdout, proc.stdout[-3000:]
