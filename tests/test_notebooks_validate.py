"""nbgrader's own checks: the source passes every test, the untouched release fails every test."""
import glob
import os

import pytest

from course_copy import ROOT, copy_course, run_nbgrader

NOTEBOOKS = sorted(os.path.basename(p)[:-6] for p in glob.glob(os.path.join(ROOT, "source", "mle_losses", "*.ipynb")))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return copy_course(str(tmp_path_factory.mktemp("validate")), with_release=True)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_source_notebook_passes_every_test(course, notebook):
    proc = run_nbgrader(course, "validate", f"source/mle_losses/{notebook}.ipynb", check=False)
    assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_untouched_release_fails_every_test(course, notebook):
    proc = run_nbgrader(course, "validate", "--invert", f"release/mle_losses/{notebook}.ipynb", check=False)
    assert "Success! The notebook does not pass any tests." in proc.stdout, proc.stdout[-3000:]
