"""Feedback made on the grading workers, warm, is the feedback `nbgrader generate_feedback` makes.

A small class is graded with `python -m mle_grading.operations.parallel --feedback` (each
student's feedback written in the worker that graded them, right after grading); then
plain `nbgrader generate_feedback` writes the same class's feedback again from the same
autograded notebooks, and the pages are compared byte for byte. One more student is
graded but can get no feedback (a file stands where their feedback folder must go): they
are listed, never silently missing.
"""
import filecmp
import json
import os
import shutil
import subprocess
import sys

import pytest

from course_copy import nbgrader_env, run_nbgrader
from test_parallel_grading import ASSIGNMENT, build_class_course, small_class

NO_FEEDBACK = "zz-no-feedback"


@pytest.fixture(scope="module")
def graded_with_feedback(tmp_path_factory):
    course = build_class_course(tmp_path_factory.mktemp("feedback-on-dask"), small_class())
    shutil.copytree(os.path.join(course, "submitted", "reference"), os.path.join(course, "submitted", NO_FEEDBACK))
    os.makedirs(os.path.join(course, "feedback"), exist_ok=True)
    open(os.path.join(course, "feedback", NO_FEEDBACK), "w").close()   # its feedback folder cannot be made
    proc = subprocess.run([sys.executable, "-m", "mle_grading.operations.parallel", ASSIGNMENT, "--force",
                           "--feedback", "--workers", "2"], cwd=course, env=nbgrader_env(),
                          capture_output=True, text=True, timeout=1500)
    return course, proc


def test_every_graded_student_gets_the_pages_plain_generate_feedback_writes(graded_with_feedback, tmp_path):
    course, proc = graded_with_feedback
    on_dask = str(tmp_path / "feedback-on-dask")
    shutil.copytree(os.path.join(course, "feedback"), on_dask)
    shutil.rmtree(os.path.join(course, "feedback"))
    run_nbgrader(course, "generate_feedback", ASSIGNMENT, "--force", check=False)
    for student in small_class():
        made = os.path.join(on_dask, student, ASSIGNMENT)
        plain = os.path.join(course, "feedback", student, ASSIGNMENT)
        pages = sorted(name for name in os.listdir(plain) if name.endswith(".html"))
        assert len(pages) == 4, (student, pages)
        assert sorted(name for name in os.listdir(made) if name.endswith(".html")) == pages, student
        _, mismatch, errors = filecmp.cmpfiles(made, plain, pages, shallow=False)
        assert not mismatch and not errors, (student, mismatch, errors)


def test_a_student_graded_but_given_no_feedback_is_listed_and_the_run_says_so(graded_with_feedback):
    course, proc = graded_with_feedback
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    failures = [line for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
    assert failures == [line for line in failures if line.startswith(f"FAILED {ASSIGNMENT}/{NO_FEEDBACK}: ")]
    assert len(failures) == 1 and "graded, but no feedback" in failures[0], proc.stdout[-3000:]
    with open(os.path.join(course, "reports", "parallel_grading.json")) as fh:
        results = {r["student"]: r for r in map(json.loads, fh)}
    assert results[NO_FEEDBACK]["graded"] is True and results[NO_FEEDBACK]["feedback"] is False
    assert all(results[s]["graded"] and results[s]["feedback"] for s in small_class())
    assert "grading and feedback: 100%" in proc.stderr, proc.stderr[-2000:]
