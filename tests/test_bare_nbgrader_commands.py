"""The course directory is a course: in a fresh clone every bare nbgrader command of the
README works from the root, with the course's configuration and a fresh gradebook."""
import json
import os

import nbformat
import pytest

from mle_grading import ASSIGNMENTS
from mle_grading.operations.demo_class import fill, solutions, write_submission

from mle_grading.nbgrader_integration import run as nbgrader_run

from course_copy import FIRST_ASSIGNMENT, fresh_clone, run_nbgrader, scores_by_cell
from servers import free_port, server_process, tail, wait_for_http

STUDENT = "alice"


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return fresh_clone(str(tmp_path_factory.mktemp("clone")))


def test_a_fresh_clone_holds_no_graded_work_and_no_gradebook(clone):
    for state in ("submitted", "autograded", "feedback", "gradebook.db", "demo"):
        assert not os.path.exists(os.path.join(clone, state)), state


def test_bare_export_works_before_anything_is_graded(clone):
    run_nbgrader(clone, "export", "--to", os.path.join(clone, "before.csv"))


def test_every_bare_nbgrader_command_of_the_readme_works_on_a_submitted_student(clone):
    for assignment in ASSIGNMENTS:
        run_nbgrader(clone, "generate_assignment", assignment)
        assert os.path.isdir(os.path.join(clone, "release", assignment))
    # One student hands in the reference solution, as `nbgrader collect` would leave it.
    release_dir = os.path.join(clone, "release", FIRST_ASSIGNMENT)
    notebooks = {}
    for nb_id in ASSIGNMENTS[FIRST_ASSIGNMENT]:
        release = nbformat.read(os.path.join(release_dir, f"{nb_id}.ipynb"), as_version=4)
        notebooks[nb_id] = fill(release, solutions(os.path.join(clone, "source", FIRST_ASSIGNMENT), nb_id))
    write_submission(clone, STUDENT, notebooks, FIRST_ASSIGNMENT)
    run_nbgrader(clone, "autograde", FIRST_ASSIGNMENT)
    scores = scores_by_cell(clone, STUDENT)
    assert scores and all(score == max_score for score, max_score in scores.values())
    # Issue 27: the demo students once committed in autograded/ were not in a fresh
    # gradebook, and this command failed with six tracebacks.
    run_nbgrader(clone, "generate_feedback", FIRST_ASSIGNMENT)
    pages = os.listdir(os.path.join(clone, "feedback", STUDENT, FIRST_ASSIGNMENT))
    assert sorted(p for p in pages if p.endswith(".html")) == sorted(f"{nb}.html" for nb in ASSIGNMENTS[FIRST_ASSIGNMENT])
    grades = os.path.join(clone, "grades.csv")
    run_nbgrader(clone, "export", "--to", grades)
    assert STUDENT in open(grades).read()
    run_nbgrader(clone, "validate", os.path.join("source", FIRST_ASSIGNMENT, f"{ASSIGNMENTS[FIRST_ASSIGNMENT][0]}.ipynb"))


def test_the_formgrader_from_the_root_serves_the_graded_student(clone, tmp_path):
    """nbgrader 0.9's formgrader is a Jupyter server extension: `jupyter server` (or `jupyter lab`) from
    the root, with the course's configuration; its API lists the student graded above."""
    port, token = free_port(), "formgrader-test-token"
    cmd = [os.path.join(nbgrader_run.bin_directory(), "jupyter-server"), "--no-browser", "--allow-root",
           f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"]
    with server_process(cmd, nbgrader_run.environment(db_url=""), clone, str(tmp_path / "formgrader.log")) as proc:
        url = f"http://127.0.0.1:{port}/formgrader/api/submissions/{FIRST_ASSIGNMENT}?token={token}"
        try:
            body = wait_for_http(url, 120, proc)
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"{exc}\n{tail(str(tmp_path / 'formgrader.log'))}")
    submissions = json.loads(body)
    assert [s["student"] for s in submissions] == [STUDENT]
    assert submissions[0]["score"] == submissions[0]["max_score"] == 100
