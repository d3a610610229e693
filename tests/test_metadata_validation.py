"""The course's autograder checks every notebook's grading metadata with nbgrader's own CheckCellMetadata,
after a submission is rebuilt and again before it is written, and refuses one whose metadata is corrupted."""
import copy

import nbformat
import pytest
from nbgrader.nbgraderformat import ValidationError
from nbgrader.preprocessors import CheckCellMetadata
from traitlets.config.loader import PyFileConfigLoader

from course_copy import ROOT


def _autograde_config():
    return PyFileConfigLoader("nbgrader_config.py", path=ROOT).load_config().Autograde


@pytest.mark.parametrize("step", ["sanitize_preprocessors", "autograde_preprocessors"])
def test_each_step_of_autograding_ends_with_nbgraders_own_metadata_check(step):
    assert _autograde_config()[step][-1] is CheckCellMetadata


def test_a_notebook_with_corrupted_metadata_is_refused_by_the_configured_check():
    check = _autograde_config()["autograde_preprocessors"][-1]
    nb = nbformat.read(f"{ROOT}/source/mle_losses/01_gaussian_mse.ipynb", as_version=4)
    check().preprocess(copy.deepcopy(nb), {})        # as written: accepted
    next(c for c in nb.cells if "nbgrader" in c.metadata).metadata.nbgrader["points"] = "ten"
    with pytest.raises(ValidationError):
        check().preprocess(nb, {})
