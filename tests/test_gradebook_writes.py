"""A notebook's autograded scores reach the gradebook as nbgrader's SaveAutoGrades writes them, only
for a notebook that is valid; and they are read back as nbgrader's own objects give them."""
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy import event
from sqlalchemy.engine import Engine

from mle_grading.nbgrader_integration.preprocessors import SaveAutoGradesIfValid
from mle_grading.nbgrader_integration.run import scores_by_cell

GRADE_CELLS = {"test_a": 3, "test_b": 2, "test_c": 4}


def _cell(kind, grade_id, *, grade=False, solution=False, points=None, failed=False):
    make = new_code_cell if kind == "code" else new_markdown_cell
    cell = make("# a student's answer" if solution else "assert True")
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": grade, "solution": solution, "locked": not solution,
                                 "schema_version": 3, **({"points": points} if points is not None else {})}
    if kind == "code":
        cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])] \
            if failed else []
    return cell


def _notebook(extra_cell=None):
    cells = [_cell("code", "answer_a", solution=True),
             _cell("code", "test_a", grade=True, points=3),
             _cell("markdown", "answer_b", solution=True, grade=True, points=2),
             _cell("code", "test_b", grade=True, points=2, failed=True)]
    if extra_cell is not None:
        cells.append(extra_cell)
    cells.append(_cell("code", "test_c", grade=True, points=4))
    return new_notebook(cells=cells)


def _gradebook(folder):
    url = f"sqlite:///{os.path.join(folder, 'gradebook.db')}"
    with Gradebook(url) as gb:
        gb.add_assignment("hw")
        gb.add_notebook("nb", "hw")
        for grade_id, points in GRADE_CELLS.items():
            gb.add_grade_cell(grade_id, "nb", "hw", max_score=points, cell_type="code")
        gb.add_grade_cell("answer_b", "nb", "hw", max_score=2, cell_type="markdown")
        for answer in ("answer_a", "answer_b"):
            gb.add_solution_cell(answer, "nb", "hw")
        gb.add_student("ana")
        gb.add_submission("hw", "ana")
    return url


def _events(name, action):
    """How many times `action()` makes any engine fire event `name` (a commit, a statement)."""
    seen = []
    count = lambda *args: seen.append(1)   # noqa: E731
    event.listen(Engine, name, count)
    try:
        action()
    finally:
        event.remove(Engine, name, count)
    return len(seen)


def _save(preprocessor_class, url, nb):
    resources = {"nbgrader": {"notebook": "nb", "assignment": "hw", "student": "ana", "db_url": url}}
    preprocessor_class().preprocess(nb, resources)


def _rows(url):
    with Gradebook(url) as gb:
        grades = {g.name: (g.auto_score, g.needs_manual_grade) for g in gb.find_submission_notebook("nb", "hw", "ana").grades}
        comments = {c.name: c.auto_comment for c in gb.find_submission_notebook("nb", "hw", "ana").comments}
    return grades, comments


def test_a_valid_notebook_is_saved_with_the_rows_of_nbgraders_saveautogrades(tmp_path):
    (tmp_path / "nbgrader").mkdir()
    (tmp_path / "if_valid").mkdir()
    nbgraders, if_valid = _gradebook(str(tmp_path / "nbgrader")), _gradebook(str(tmp_path / "if_valid"))
    _save(SaveAutoGrades, nbgraders, _notebook())
    _save(SaveAutoGradesIfValid, if_valid, _notebook())
    grades, comments = _rows(if_valid)
    assert (grades, comments) == _rows(nbgraders)
    assert grades["test_a"] == (3, False) and grades["test_b"] == (0, False) and grades["answer_b"][1] is True
    assert set(comments) == {"answer_a", "answer_b"}


def test_a_notebook_made_invalid_before_its_scores_are_saved_gets_none(tmp_path):
    url = _gradebook(str(tmp_path))
    nb = _notebook()
    nb.cells[1].outputs = [{"output_type": "stream", "name": "stdout"}]     # a stream output without its text
    with pytest.raises(nbformat.ValidationError):
        _save(SaveAutoGradesIfValid, url, nb)
    grades, comments = _rows(url)
    assert all(score is None for score, _ in grades.values()) and all(c is None for c in comments.values())
    _save(SaveAutoGradesIfValid, url, _notebook())      # the same notebook, valid: saved
    assert _rows(url)[0]["test_a"] == (3, False)


def _statements(action):
    return _events("before_cursor_execute", action)


def test_the_scores_read_back_for_a_student_are_nbgraders_own_in_a_few_queries(tmp_path):
    url = _gradebook(str(tmp_path))
    _save(SaveAutoGradesIfValid, url, _notebook())
    expected = {}

    def as_nbgrader_reads_them():   # nbgrader's objects, each attribute loaded as nbgrader loads it
        with Gradebook(url, course_id="") as gb:
            expected.update({(nb.name, grade.name): (grade.score, grade.max_score)
                             for nb in gb.find_submission("hw", "ana").notebooks for grade in nb.grades})
    lazily = _statements(as_nbgrader_reads_them)
    found = {}
    at_once = _statements(lambda: found.update(scores_by_cell(url, "hw", "ana")))
    assert found == expected and found[("nb", "test_a")] == (3.0, 3.0) and found[("nb", "answer_b")] == (0.0, 2.0)

    def finding_the_submission():
        with Gradebook(url, course_id="") as gb:
            gb.find_submission("hw", "ana")
    # After the statements of finding the submission: three queries, where nbgrader's objects
    # load a cell and a maximum score for each graded cell.
    assert at_once <= _statements(finding_the_submission) + 3 < lazily
    assert scores_by_cell(url, "hw", "nobody") is None

