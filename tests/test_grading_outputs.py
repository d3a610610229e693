"""The cells and outputs the grader writes into autograded notebooks are the ones nbformat itself would build,
in the order of the instructor's source notebook."""
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mle_grading.nbgrader_integration import preprocessors as plugins

REPORT = {"outputs": [{"type": "stream", "text": "p = [0.5]\n"},
                      {"type": "image/png", "data": "iVBORw0KGgo="},
                      {"type": "text/plain", "text": "array([1., 2.])"}],
          "error": "ValueError: shapes differ"}


def test_a_cells_outputs_equal_nbformats_new_output_field_by_field():
    want = [new_output("stream", name="stdout", text="p = [0.5]\n"),
            new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
            new_output("display_data", data={"text/plain": "array([1., 2.])"}),
            new_output("stream", name="stdout", text="[this cell raised] ValueError: shapes differ\n")]
    assert plugins._cell_outputs(REPORT) == want


@pytest.mark.parametrize("message", [None, "`gaussian_nll` returns the sum, not the mean"])
def test_a_test_cells_verdict_equals_nbformats_new_output(message):
    class Check:
        behaviour = "gaussian_nll matches the reference"
    got = plugins._passed(Check()) if message is None else plugins._failed(message)
    want = (new_output("stream", name="stdout", text=f"Passed: {Check.behaviour}\n") if message is None else
            new_output("error", ename="TestFailed", evalue=message, traceback=[f"TestFailed: {message}"]))
    assert got == want


def test_a_notebook_holding_every_kind_of_output_validates():
    class Check:
        behaviour = "b"
    cell = new_code_cell("x = 1")
    cell.outputs = plugins._cell_outputs(REPORT) + [plugins._passed(Check()), plugins._failed("wrong")]
    nbformat.validate(new_notebook(cells=[cell]))


@pytest.mark.parametrize("cell_type, build", [("code", new_code_cell), ("markdown", new_markdown_cell)])
def test_a_rebuilt_cell_equals_nbformats_new_cell_but_for_its_id(cell_type, build):
    text = "def mse(y_hat, y):\n    return 0.0\n"
    got, want = plugins.RebuildSubmission._new_cell(cell_type, text), build(text)
    assert {k: v for k, v in got.items() if k != "id"} == {k: v for k, v in want.items() if k != "id"}
    assert set(got) == set(want)
    got["id"] = "cell-0000"
    nbformat.validate(new_notebook(cells=[got]))


def _order_notebook():
    cells = []
    for name in ("answer_a", "test_a", "answer_b", "test_b", "test_c"):
        cell = nbformat.v4.new_code_cell("pass")
        cell.metadata["nbgrader"] = {"grade_id": name}
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def test_the_source_notebooks_cell_order_is_read_again_once_the_instructor_changes_it(tmp_path):
    from mle_grading.nbgrader_integration.preprocessors import _source_grade_ids
    path = str(tmp_path / "nb.ipynb")
    nbformat.write(_order_notebook(), path)
    first = _source_grade_ids(path)
    assert first == ("answer_a", "test_a", "answer_b", "test_b", "test_c") and _source_grade_ids(path) is first
    changed = _order_notebook()
    changed.cells.reverse()
    before = os.stat(path)
    nbformat.write(changed, path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))   # as `cp -p` or `rsync -a` would leave it
    assert _source_grade_ids(path) == tuple(reversed(first))
    assert _source_grade_ids(str(tmp_path / "missing.ipynb")) == ()
