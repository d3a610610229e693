"""A notebook's cells in the gradebook (gradebook_cells.py, in course_config.py) are written and read as
nbgrader writes and reads them: the automatic scores and comments autograding saves
(SaveAutoGradesAtOnce against nbgrader's SaveAutoGrades) and the feedback pages' scores and comments
(GradesFromGradebook against nbgrader's GetGrades), on a gradebook with automatic and grader's scores,
extra credit, automatic and grader's comments, a task cell and a late penalty; and each refuses a
missing submission as nbgrader's does."""
import shutil
import datetime
import os
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry
from nbgrader import utils
from nbgrader.api import Comment, Grade
from nbgrader.preprocessors import GetGrades, SaveAutoGrades

from mle_grading.nbgrader_integration.gradebook_cells import GradesFromGradebook, SaveAutoGradesAtOnce


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


def _graded_notebook(answer_untouched):
    """The notebook as autograding leaves it: one test failed, one passed, the answer as released or not."""
    nb = _notebook()
    answer, test_a, test_b = nb.cells[1:4]
    answer.metadata.nbgrader["checksum"] = utils.compute_checksum(answer) if answer_untouched else "released text"
    test_a.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong", traceback=[])]
    test_b.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok")]
    nb.cells[6].metadata.nbgrader["checksum"] = utils.compute_checksum(nb.cells[6])   # an ungraded answer untouched
    nb.cells[5].metadata.nbgrader["checksum"] = utils.compute_checksum(nb.cells[5])   # a task: never "No response."
    return nb


def _saved_rows(url):
    with Gradebook(url) as gb:
        grades = sorted((g.student.id, g.name, g.auto_score, g.needs_manual_grade, g.manual_score)
                        for g in gb.db.query(Grade))
        comments = sorted((c.student.id, c.name, str(c.auto_comment), str(c.manual_comment)) for c in gb.db.query(Comment))
    return grades, comments


@pytest.mark.parametrize("answer_untouched", [True, False])
def test_autograding_saves_the_same_scores_and_comments_as_nbgraders_save_auto_grades(gradebook, tmp_path,
                                                                                      answer_untouched):
    theirs_url = f"sqlite:///{tmp_path / 'theirs.db'}"
    shutil.copy(gradebook[len("sqlite:///"):], tmp_path / "theirs.db")
    for preprocessor, url in ((SaveAutoGrades(), theirs_url), (SaveAutoGradesAtOnce(), gradebook)):
        for student in ("ann", "bob"):
            preprocessor.preprocess(_graded_notebook(answer_untouched),
                                    {"nbgrader": {"notebook": "nb", "assignment": "hw", "student": student, "db_url": url}})
    ours, theirs = _saved_rows(gradebook), _saved_rows(theirs_url)
    assert ours == theirs
    grades = {(student, name): (auto, review) for student, name, auto, review, _ in ours[0]}
    # the values themselves, so that a gradebook both misread would show
    assert grades[("bob", "test_a")] == (0, False) and grades[("bob", "test_b")] == (5, False)
    assert grades[("ann", "test_b")] == (5, True)          # a grader's score: reviewed again
    assert grades[("bob", "essay")] == (None, True)        # written: graded by hand
    comments = {(student, name): auto for student, name, auto, _ in ours[1]}
    assert comments[("bob", "ungraded")] == "No response."
    assert comments[("bob", "answer")] == ("No response." if answer_untouched else "None")


def test_a_cell_the_gradebook_does_not_know_is_refused_by_both_savers_with_nbgraders_words(gradebook):
    def refusal(preprocessor, notebook, student):
        with pytest.raises(MissingEntry) as refused:
            preprocessor.preprocess(notebook, {"nbgrader": {"notebook": "nb", "assignment": "hw", "student": student,
                                                            "db_url": gradebook}})
        return str(refused.value)

    unknown = _graded_notebook(False)
    unknown.cells[3].metadata.nbgrader["grade_id"] = "not_in_the_gradebook"   # after two graded cells
    before = _saved_rows(gradebook)
    ours = [refusal(SaveAutoGradesAtOnce(), unknown, "bob"), refusal(SaveAutoGradesAtOnce(), _graded_notebook(False),
                                                                      "nobody")]
    assert _saved_rows(gradebook) == before      # one transaction: nothing of the refused notebook is kept
    theirs = [refusal(SaveAutoGrades(), unknown, "bob"), refusal(SaveAutoGrades(), _graded_notebook(False), "nobody")]
    assert ours[0] == theirs[0] == "No such grade: hw/nb/not_in_the_gradebook for bob"
    assert "nobody" in ours[1] and "nobody" in theirs[1]
