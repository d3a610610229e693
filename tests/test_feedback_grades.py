"""The feedback pages' scores and comments (GradesFromGradebook, in course_config.py) are nbgrader's
GetGrades': compared on a gradebook with automatic and grader's scores, extra credit, automatic
and grader's comments, a task cell and a late penalty; and both refuse a missing submission."""
import datetime
import os
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import GetGrades

from mle_grading.nbgrader_integration.feedback_grades import GradesFromGradebook


def _cell(kind, grade_id, **nbgrader):
    make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    return make("x = 1", metadata={"nbgrader": {"grade_id": grade_id, "locked": False, "schema_version": 3,
                                                "solution": False, "grade": False, "task": False, **nbgrader}})


@pytest.fixture
def gradebook(tmp_path, monkeypatch):
    # nbgrader stamps a new gradebook's schema version with the alembic command of this environment
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    due = datetime.datetime(2026, 1, 1)
    with Gradebook(url) as gb:
        gb.add_assignment("hw", duedate=due)
        gb.add_notebook("nb", "hw")
        gb.add_solution_cell("answer", "nb", "hw")
        gb.add_grade_cell("answer", "nb", "hw", max_score=3, cell_type="code")       # an autograded answer
        gb.add_grade_cell("test_a", "nb", "hw", max_score=2, cell_type="code")
        gb.add_grade_cell("test_b", "nb", "hw", max_score=5, cell_type="code")
        gb.add_solution_cell("essay", "nb", "hw")
        gb.add_grade_cell("essay", "nb", "hw", max_score=4, cell_type="markdown")    # manually graded
        gb.add_task_cell("task", "nb", "hw", max_score=6, cell_type="markdown")
        gb.add_solution_cell("ungraded", "nb", "hw")
        for student in ("ann", "bob"):
            gb.add_student(student)
            gb.add_submission("hw", student, timestamp=due + datetime.timedelta(hours=1))
        for name, auto, manual, extra in (("answer", 3, None, None), ("test_a", 0, None, None),
                                          ("test_b", 5, 2.5, 1), ("essay", None, 3, None), ("task", None, 4, 0.5)):
            grade = gb.find_grade(name, "nb", "hw", "ann")
            grade.auto_score, grade.manual_score, grade.extra_credit = auto, manual, extra
        for name, auto, manual in (("answer", "auto", None), ("essay", "auto", "well argued"), ("task", None, "ok"),
                                   ("ungraded", None, None)):
            comment = gb.find_comment(name, "nb", "hw", "ann")
            comment.auto_comment, comment.manual_comment = auto, manual
        gb.find_submission_notebook("nb", "hw", "ann").late_submission_penalty = 1.5
        gb.db.commit()
    return url


def _notebook():
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Intro"),
        _cell("code", "answer", solution=True, grade=True, points=3),
        _cell("code", "test_a", grade=True, locked=True, points=2),
        _cell("code", "test_b", grade=True, locked=True, points=5),
        _cell("markdown", "essay", solution=True, grade=True, points=4),
        _cell("markdown", "task", task=True, points=6),
        _cell("code", "ungraded", solution=True)])


def _run(preprocessor, url, student):
    nb = _notebook()
    resources = {"nbgrader": {"notebook": "nb", "assignment": "hw", "student": student, "db_url": url}}
    nb, resources = preprocessor.preprocess(nb, resources)
    return nb, resources


@pytest.mark.parametrize("student", ["ann", "bob"])
def test_the_same_scores_comments_and_penalty_as_nbgraders_get_grades(gradebook, student):
    theirs_nb, theirs = _run(GetGrades(), gradebook, student)
    ours_nb, ours = _run(GradesFromGradebook(), gradebook, student)
    assert ours == theirs
    assert [c.metadata for c in ours_nb.cells] == [c.metadata for c in theirs_nb.cells]
    if student == "ann":   # the values themselves, so that a gradebook both misread would show
        meta = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader for c in ours_nb.cells if "nbgrader" in c.metadata}
        assert (meta["test_b"]["score"], meta["essay"]["comment"], meta["task"]["score"]) == (3.5, "well argued", 4.5)
        assert ours["nbgrader"]["late_penalty"] == 1.5 and ours["nbgrader"]["max_score"] == 20


def test_a_missing_submission_is_refused_as_nbgrader_refuses_it(gradebook):
    for preprocessor in (GetGrades(), GradesFromGradebook()):
        with pytest.raises(MissingEntry):
            _run(preprocessor, gradebook, "nobody")


def test_the_gradebook_is_read_afresh_for_each_notebook(gradebook):
    _run(GradesFromGradebook(), gradebook, "ann")
    with Gradebook(gradebook) as gb:
        gb.find_grade("test_a", "nb", "hw", "ann").manual_score = 2
        gb.db.commit()
    nb, resources = _run(GradesFromGradebook(), gradebook, "ann")
    assert nb.cells[2].metadata.nbgrader["score"] == 2
