"""`nbgrader generate_assignment / autograde / generate_feedback mle_beyond`, bare, on a course copy.

A lean class of three: the reference, the untouched release and one demo mistake,
graded by nbgrader's own commands with the course's configuration (the sandbox and
the trusted checks), then read back from the gradebook and the feedback pages.
"""
import glob
import os

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_copy import copy_course, run_nbgrader
from demo_submissions import all_mistakes
from mle_grading.operations import demo_class

ASSIGNMENT = "mle_beyond"
MISTAKE = "kl-clipped-p"


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    course = copy_course(str(tmp_path_factory.mktemp("beyond") / "course"))
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    present = demo_class.notebooks_present(course, ASSIGNMENT)
    release = {nb: nbformat.read(os.path.join(course, "release", ASSIGNMENT, f"{nb}.ipynb"), as_version=4)
               for nb in present}
    answers = {nb: demo_class.solutions(os.path.join(course, "source", ASSIGNMENT), nb) for nb in present}
    (mistake,) = [m for m in all_mistakes(ASSIGNMENT) if m.student == MISTAKE]
    mistaken = {nb: dict(answers[nb], **({mistake.cell: mistake.source} if nb == mistake.notebook else {}))
                for nb in present}
    demo_class.write_submission(course, "reference", {nb: demo_class.fill(release[nb], answers[nb]) for nb in present},
                                ASSIGNMENT)
    demo_class.write_submission(course, "untouched", {nb: nbformat.from_dict(release[nb]) for nb in present},
                                ASSIGNMENT)
    demo_class.write_submission(course, MISTAKE, {nb: demo_class.fill(release[nb], mistaken[nb]) for nb in present},
                                ASSIGNMENT)
    run_nbgrader(course, "autograde", ASSIGNMENT, "--force")
    run_nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    return course, mistake


def lost_cells(course, student):
    with Gradebook(f"sqlite:///{os.path.join(course, 'gradebook.db')}") as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        return submission.score, {g.name for nb in submission.notebooks for g in nb.grades if g.score < g.max_score}


def test_release_has_the_three_notebooks_without_solutions(graded_course):
    course, _ = graded_course
    released = sorted(os.path.basename(p) for p in glob.glob(os.path.join(course, "release", ASSIGNMENT, "*.ipynb")))
    assert released == ["01_learned_variance.ipynb", "02_soft_targets.ipynb", "03_softmax_regression.ipynb"]
    for path in glob.glob(os.path.join(course, "release", ASSIGNMENT, "*.ipynb")):
        text = open(path).read()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text


def test_reference_scores_100_and_the_untouched_release_0(graded_course):
    course, _ = graded_course
    assert lost_cells(course, "reference") == (100.0, set())
    score, lost = lost_cells(course, "untouched")
    assert score == 0.0 and len(lost) == 26


def test_the_mistake_loses_exactly_its_cells_and_its_feedback_names_it(graded_course):
    course, mistake = graded_course
    score, lost = lost_cells(course, MISTAKE)
    assert lost == set(mistake.fails) and score == 97.0
    page = open(os.path.join(course, "feedback", MISTAKE, ASSIGNMENT, f"{mistake.notebook}.html")).read()
    assert "do not clip p" in page
    for path in glob.glob(os.path.join(course, "feedback", "*", ASSIGNMENT, "*.html")):
        text = open(path).read()
        assert "run_trusted_check" not in text and "HIDDEN TESTS" not in text
