"""The instructor's pipeline, run for real on the demo class, graded by nbgrader autograde."""
import filecmp
import glob
import os
import re
import shutil

import nbformat
import pytest

from demo_submissions import all_mistakes
from mle_grading import ASSIGNMENTS
from mle_grading.operations.demo_class import COMMITTED_STUDENTS, roster
from mle_grading.operations.pipeline import COURSE_STATE, DEMO_FOLDER, EXAMPLES, MARKER, completed_run

from course_copy import ROOT, copy_course, run_pipeline, scores_by_cell


@pytest.fixture(scope="session")
def demo_course(tmp_path_factory):
    """(the demo course, what the pipeline printed, the course's own folders that existed before it ran).

    `./course demo`'s own run of the repository, when it graded exactly this commit's files (CI runs
    it just before the tests: the same run, read rather than made twice); else a run made here on a
    copy of the course."""
    record = completed_run(ROOT)
    if record is not None:
        return os.path.join(ROOT, DEMO_FOLDER), record["stdout"], set(record["course_state_before"])
    course = copy_course(str(tmp_path_factory.mktemp("course")))
    # Two workers keep CI short; tests/test_parallel_grading.py shows they score
    # exactly as sequential `nbgrader autograde` does.
    proc = run_pipeline(course, "--workers", "2")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    # The demo is a course of its own, inside the course directory and apart from it.
    return os.path.join(course, DEMO_FOLDER), proc.stdout, set()


def test_the_demo_leaves_the_instructors_own_course_folders_and_gradebook_alone(demo_course):
    demo, _, existed_before = demo_course
    course = os.path.dirname(demo)
    for folder in COURSE_STATE:
        assert folder in existed_before or not os.path.exists(os.path.join(course, folder)), folder
        assert os.path.exists(os.path.join(demo, folder)), folder


def released_notebooks():
    """Every notebook of every assignment, each of which must be in the committed release."""
    notebooks = [f"{a}/{nb}" for a, nbs in ASSIGNMENTS.items() for nb in nbs]
    missing = [nb for nb in notebooks if not os.path.exists(os.path.join(ROOT, "release", f"{nb}.ipynb"))]
    assert not missing, f"release/ lacks {missing}"
    return notebooks


def test_pipeline_prints_the_class_table_and_where_things_are(demo_course):
    _, out, _ = demo_course
    assert re.search(r"^reference\s+.*\s100\.0/100$|^reference\s+[+ ]+\s+\d+\.0/\d+$", out, re.M)
    for needle in ("feedback:", "grades:", "chart:", "nothing needs attention"):
        assert needle in out


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_reference_solution_earns_every_point(demo_course, assignment):
    course, *_ = demo_course
    scores = scores_by_cell(course, "reference", assignment=assignment)
    assert scores and all(score == max_score for score, max_score in scores.values())
    assert sum(max_score for _, max_score in scores.values()) == 100


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_untouched_release_earns_no_points(demo_course, assignment):
    course, *_ = demo_course
    scores = scores_by_cell(course, "untouched", assignment=assignment)
    assert scores and all(score == 0 for score, _ in scores.values())


@pytest.mark.parametrize("mistake", all_mistakes(), ids=lambda m: m.student)
def test_each_mistake_loses_exactly_the_cells_that_test_it(demo_course, mistake):
    course, *_ = demo_course
    scores = scores_by_cell(course, mistake.student, assignment=mistake.assignment)
    lost = {cell for (nb, cell), (score, max_score) in scores.items() if score != max_score}
    assert lost == set(mistake.fails)
    assert all(scores[(nb, cell)][0] == 0 for (nb, cell) in scores if cell in mistake.fails)


def test_grades_csv_and_chart_are_written(demo_course):
    course, *_ = demo_course
    grades = open(os.path.join(course, "reports", "grades.csv")).read()
    assert "reference" in grades and "untouched" in grades
    assert os.path.getsize(os.path.join(course, "reports", "question_scores.png")) > 10_000


def test_committed_release_is_exactly_what_generate_assignment_produces(demo_course):
    course, *_ = demo_course
    cmp = filecmp.dircmp(os.path.join(ROOT, "release"), os.path.join(course, "release"))
    assert_same_tree(cmp)


def test_committed_examples_are_exactly_what_the_pipeline_produces_for_its_few_students(demo_course):
    """examples/autograded/ (which only --update-examples writes, never a plain demo run) holds
    the graded notebooks of COMMITTED_STUDENTS byte for byte as the demo grades them."""
    course, *_ = demo_course
    committed = sorted(d for d in os.listdir(os.path.join(ROOT, EXAMPLES)) if not d.startswith("."))
    assert committed == sorted(COMMITTED_STUDENTS)
    for student in COMMITTED_STUDENTS:
        cmp = filecmp.dircmp(os.path.join(ROOT, EXAMPLES, student), os.path.join(course, "autograded", student))
        assert_same_tree(cmp)


def test_pipeline_grades_the_whole_class_beyond_the_committed_few(demo_course):
    course, *_ = demo_course
    graded = set(os.listdir(os.path.join(course, "autograded")))
    for assignment in ASSIGNMENTS:
        assert set(roster(assignment)) <= graded
        assert all(os.path.isdir(os.path.join(course, "autograded", s, assignment)) for s in roster(assignment))
    assert len(graded) > len(COMMITTED_STUDENTS)


def test_git_keeps_no_graded_work_of_the_course_and_none_of_the_demo():
    """The course's autograded/ is an instructor's students' work and demo/ the demo's: git
    ignores both (the committed example lives in examples/autograded/)."""
    ignored = {line.strip() for line in open(os.path.join(ROOT, ".gitignore"))}
    assert "/autograded/" in ignored and f"/{DEMO_FOLDER}/" in ignored
    assert not any(line.startswith("!") and "autograded" in line for line in ignored)


def assert_same_tree(cmp):
    assert not cmp.left_only and not cmp.right_only, (cmp.left, cmp.left_only, cmp.right_only)
    _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    assert not mismatch and not errors, (cmp.left, mismatch, errors)
    for sub in cmp.subdirs.values():
        assert_same_tree(sub)


def test_release_holds_no_solutions_and_no_hidden_tests():
    for nb_id in released_notebooks():
        release = nbformat.read(os.path.join(ROOT, "release", f"{nb_id}.ipynb"), as_version=4)
        source = nbformat.read(os.path.join(ROOT, "source", f"{nb_id}.ipynb"), as_version=4)
        text = "\n".join(c.source for c in release.cells)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "run_trusted_check", "mle_grading"):
            assert marker not in text, (nb_id, marker)
        instructor_text = "\n".join(c.source for c in source.cells
                                    if not c.metadata.get("nbgrader", {}).get("solution"))
        for cell in source.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                body = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
                for line in body.strip().splitlines():
                    line = line.strip()
                    # A distinctive solution line must not reach the release (lines the
                    # instructor's own cells also show, like imports, are not secrets).
                    if len(line) > 12 and line not in instructor_text and not line.startswith("#"):
                        assert line not in text, (nb_id, line)


def test_release_folder_holds_only_notebooks():
    for assignment in ASSIGNMENTS:
        files = os.listdir(os.path.join(ROOT, "release", assignment))
        assert files and all(f.endswith(".ipynb") for f in files), assignment


def test_feedback_shows_diagnostics_but_no_hidden_tests(demo_course):
    course, *_ = demo_course
    pages = glob.glob(os.path.join(course, "feedback", "*", "*", "*.html"))
    assert {os.path.basename(os.path.dirname(p)) for p in pages} == set(ASSIGNMENTS)
    for page in pages:
        html = open(page).read()
        for secret in ("HIDDEN TESTS", "run_trusted_check", "mle_grading"):
            assert secret not in html, (page, secret)
    for assignment in ASSIGNMENTS:
        mistake = all_mistakes(assignment)[0]
        html = open(os.path.join(course, "feedback", mistake.student, assignment, f"{mistake.notebook}.html")).read()
        assert "TestFailed" in html


def test_pipeline_runs_again_without_cleanup_and_refuses_to_delete_real_work(demo_course, tmp_path):
    """On a course copy of its own (the demo course may be the repository's): an earlier run's
    roster and gradebook, and one student's work that the demo did not make."""
    demo, *_ = demo_course
    course = copy_course(str(tmp_path / "course"))
    again = os.path.join(course, DEMO_FOLDER)
    os.makedirs(os.path.join(again, "submitted"))
    shutil.copy(os.path.join(demo, "submitted", MARKER), os.path.join(again, "submitted", MARKER))
    shutil.copy(os.path.join(demo, "gradebook.db"), os.path.join(again, "gradebook.db"))
    stranger = os.path.join(again, "submitted", "real-student", "mle_losses")
    os.makedirs(stranger)
    proc = run_pipeline(course)
    assert proc.returncode == 1
    assert "real-student" in proc.stderr
    assert os.path.isdir(stranger)
    assert os.path.exists(os.path.join(again, "gradebook.db"))


def test_a_demo_run_is_read_again_only_for_the_commit_whose_files_it_graded(tmp_path):
    """What lets the tests read `./course demo`'s run instead of grading the class twice: only a run of
    a clean working tree at the current commit, ended cleanly on its own gradebook, counts."""
    import json
    import subprocess
    from mle_grading.operations import pipeline
    git = lambda *args: subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,  # noqa: E731
                                       text=True).stdout.strip()
    git("init", "-q")
    (tmp_path / ".gitignore").write_text(f"/{DEMO_FOLDER}/\n")
    (tmp_path / "course_config.py").write_text("c = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "course")
    head = git("rev-parse", "HEAD")
    assert pipeline.inputs_identity(str(tmp_path)) == head
    record = {"commit": head, "returncode": 0, "own_sqlite_gradebook": True, "local_cluster": True,
              "course_state_before": [], "stdout": "[1/6] ...\n"}
    (tmp_path / DEMO_FOLDER).mkdir()
    path = tmp_path / DEMO_FOLDER / pipeline.RUN_RECORD
    path.write_text(json.dumps(record))
    assert pipeline.completed_run(str(tmp_path)) == record
    for changed in ({"commit": "0" * 40}, {"returncode": 2}, {"own_sqlite_gradebook": False},
                    {"local_cluster": False}):
        path.write_text(json.dumps({**record, **changed}))
        assert pipeline.completed_run(str(tmp_path)) is None, changed
    path.write_text(json.dumps(record))
    (tmp_path / "course_config.py").write_text("c = 2\n")          # changed since the run
    assert pipeline.inputs_identity(str(tmp_path)) is None and pipeline.completed_run(str(tmp_path)) is None
    git("checkout", "-q", "course_config.py")
    (tmp_path / "new_notebook.py").write_text("")                 # a file git would add
    assert pipeline.inputs_identity(str(tmp_path)) is None and pipeline.completed_run(str(tmp_path)) is None
    (tmp_path / "new_notebook.py").unlink()
    assert pipeline.inputs_identity(str(tmp_path / "not a clone")) is None
    (tmp_path / DEMO_FOLDER / "course").mkdir()                   # a course folder inside another clone
    assert pipeline.inputs_identity(str(tmp_path / DEMO_FOLDER / "course")) is None
    assert pipeline.inputs_identity(str(tmp_path)) == head
