"""Grading a class on Dask gives exactly the scores of sequential `nbgrader autograde`, cell by cell.

The same small class is graded in private copies of the course: by plain sequential
`nbgrader autograde` on SQLite (the reference; tests/test_postgres_gradebook.py compares
with it too), and by `python -m mle_grading.operations.parallel` on its default local Dask cluster
(one worker per core) into SQLite. Both run at once, to keep the test short. One more
student of the Dask run cannot be graded (a file stands where nbgrader must write their
autograded folder), so the failure report is checked on the same run.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from course_copy import FIRST_ASSIGNMENT, copy_course, nbgrader_env, run_nbgrader, scores_by_cell
from mle_grading.nbgrader_integration import run as nbgrader_run
from demo_submissions import all_mistakes

ASSIGNMENT = "mle_losses"
BROKEN = "zz-cannot-be-graded"


def small_class():
    """reference, untouched, and the first mistake of two different notebooks."""
    chosen, seen = [], set()
    for mistake in all_mistakes():
        if mistake.notebook not in seen and mistake.notebook in ("02_bernoulli_bce", "04_gradients"):
            seen.add(mistake.notebook)
            chosen.append(mistake.student)
    assert len(chosen) == 2, "the demo mistakes of 02_bernoulli_bce and 04_gradients are missing"
    return ["reference", "untouched"] + chosen


def build_class_course(target, students, db_url="", broken=False):
    """A course copy with the assignment generated (into db_url if given) and these submissions."""
    from mle_grading.operations.demo_class import build_demo_class
    course = copy_course(str(target), with_release=True)
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", db_url=db_url)
    for student in build_demo_class(course, FIRST_ASSIGNMENT):
        if student not in students:
            shutil.rmtree(os.path.join(course, "submitted", student))
    # (a demo class with other assignments keeps only this one's submissions)
    for folder in os.listdir(os.path.join(course, "submitted")):
        for other in os.listdir(os.path.join(course, "submitted", folder)):
            if other != ASSIGNMENT:
                shutil.rmtree(os.path.join(course, "submitted", folder, other))
    if broken:
        shutil.copytree(os.path.join(course, "submitted", "reference"), os.path.join(course, "submitted", BROKEN))
        # nbgrader must replace autograded/<student>/<assignment>; a plain file there stops it.
        os.makedirs(os.path.join(course, "autograded", BROKEN))
        open(os.path.join(course, "autograded", BROKEN, ASSIGNMENT), "w").close()
    return course


_SEQUENTIAL = {}


def sequentially_graded_class(tmp_path_factory):
    """Starts (once per session) the small class's grading by sequential nbgrader autograde on SQLite."""
    if "course" not in _SEQUENTIAL:
        course = build_class_course(tmp_path_factory.mktemp("sequential"), small_class())
        _SEQUENTIAL["proc"] = subprocess.Popen(
            [nbgrader_run.executable(), "autograde", ASSIGNMENT, "--force"],
            cwd=course, env=nbgrader_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        _SEQUENTIAL["course"] = course
    return _SEQUENTIAL


def finish_sequential(graded):
    """Waits for the sequential grading; returns its course."""
    proc = graded.pop("proc", None)
    if proc is not None:
        log = proc.communicate(timeout=1500)[0]
        assert proc.returncode == 0, log[-3000:]
    return graded["course"]


def run_parallel(course, *args, env=None):
    return subprocess.run([sys.executable, "-m", "mle_grading.operations.parallel", ASSIGNMENT, *args], cwd=course,
                          env=env or nbgrader_env(), capture_output=True, text=True, timeout=1500)


def summary(course):
    with open(os.path.join(course, "reports", "parallel_grading.json")) as fh:
        return {r["student"]: r for r in map(json.loads, fh)}


@pytest.fixture(scope="module")
def both_gradings(tmp_path_factory):
    graded = sequentially_graded_class(tmp_path_factory)   # starts, runs while the Dask one does
    course = build_class_course(tmp_path_factory.mktemp("dask-local"), small_class(), broken=True)
    proc = run_parallel(course, "--force")                  # the default: a local cluster, one worker per core
    sequential = finish_sequential(graded)
    return sequential, course, proc


def test_the_local_cluster_gives_every_cell_of_every_student_the_score_of_sequential_autograde(both_gradings):
    sequential, course, _ = both_gradings
    totals = set()
    for student in small_class():
        expected = scores_by_cell(sequential, student)
        assert scores_by_cell(course, student) == expected, student
        totals.add(sum(score for score, _ in expected.values()))
    # The class is not trivially uniform: full marks, no marks and partial marks all occur.
    assert len(totals) == len(small_class())


def test_the_gradebook_holds_every_student_exactly_once_and_no_one_else(both_gradings):
    _, course, _ = both_gradings
    url = f"sqlite:///{os.path.join(course, 'gradebook.db')}"
    assert nbgrader_run.submission_counts(url, ASSIGNMENT) == {s: 1 for s in small_class()}


def test_the_default_is_one_worker_per_core_with_the_dashboard_and_a_progress_bar(both_gradings):
    _, course, proc = both_gradings
    assert f"on {os.cpu_count()} Dask workers (local cluster;" in proc.stdout, proc.stdout
    assert "Dask dashboard: http://127.0.0.1:" in proc.stdout, proc.stdout
    # tqdm's last line: students done of all, elapsed<left, rate, failures.
    n = len(small_class()) + 1
    assert re.search(rf"grading: 100%\|[^\r\n]*\| {n}/{n} \[[0-9:]+<[0-9:]+, [^\]]*student[^\]]*failed=1\]",
                     proc.stderr), proc.stderr[-2000:]
    workers = {r["worker"] for r in summary(course).values()}
    assert len(workers) >= min(2, os.cpu_count()), workers   # the class was shared out


def test_a_student_who_cannot_be_graded_is_one_failure_line_and_a_nonzero_exit(both_gradings):
    _, course, proc = both_gradings
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    failures = [line for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
    assert len(failures) == 1 and failures[0].startswith(f"FAILED {ASSIGNMENT}/{BROKEN}: "), proc.stdout[-3000:]
    assert "NotADirectoryError" in failures[0] or "Not a directory" in failures[0], failures[0]
    assert f"graded {len(small_class())}/{len(small_class()) + 1}" in proc.stdout
    assert summary(course)[BROKEN]["graded"] is False


def test_without_force_graded_students_are_left_as_they_were_and_the_rest_graded(both_gradings):
    _, course, _ = both_gradings
    url = f"sqlite:///{os.path.join(course, 'gradebook.db')}"
    before = {s: scores_by_cell(course, s) for s in small_class()}
    stamps = {s: os.path.getmtime(os.path.join(course, "autograded", s, ASSIGNMENT)) for s in small_class()}
    proc = run_parallel(course, "--workers", "1")
    assert proc.returncode == 1 and f"({len(small_class())} already graded, left as they were" in proc.stdout, \
        proc.stdout[-3000:] + proc.stderr[-3000:]
    assert [line for line in proc.stdout.splitlines() if line.startswith("FAILED ")] == \
        [line for line in proc.stdout.splitlines() if line.startswith(f"FAILED {ASSIGNMENT}/{BROKEN}: ")]
    assert {s: scores_by_cell(course, s) for s in small_class()} == before
    assert {s: os.path.getmtime(os.path.join(course, "autograded", s, ASSIGNMENT)) for s in small_class()} == stamps
    assert nbgrader_run.submission_counts(url, ASSIGNMENT) == {s: 1 for s in small_class()}


def test_the_local_cluster_runs_without_the_profiler_and_with_dask_housekeeping_slowed_down():
    from mle_grading.operations.parallel import GRADING_CLUSTER_CONFIG, dask_client

    def housekeeping(dask_worker=None, dask_scheduler=None):
        import dask
        server = dask_worker or dask_scheduler
        return sorted(server.periodic_callbacks), {key: dask.config.get(key) for key in GRADING_CLUSTER_CONFIG}

    with dask_client(workers=1) as client:
        on_workers = list(client.run(housekeeping).values())
        on_scheduler = client.run_on_scheduler(housekeeping)
    assert len(on_workers) == 1
    for callbacks, config in on_workers + [on_scheduler]:
        assert config == GRADING_CLUSTER_CONFIG
    worker_callbacks = on_workers[0][0]
    assert "profile" not in worker_callbacks and "heartbeat" in worker_callbacks, worker_callbacks


def test_the_printed_dask_environment_gives_a_hand_started_cluster_the_same_settings():
    import dask
    from mle_grading.operations.parallel import GRADING_CLUSTER_CONFIG
    proc = subprocess.run([sys.executable, "-m", "mle_grading.operations.parallel", "--dask-environment"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(GRADING_CLUSTER_CONFIG) and all(line.startswith("export DASK_") for line in lines)
    env = dict(line[len("export "):].split("=", 1) for line in lines)
    read_by_dask = dask.config.update({}, dask.config.collect_env(env))
    assert {key: dask.config.get(key, config=read_by_dask) for key in GRADING_CLUSTER_CONFIG} == GRADING_CLUSTER_CONFIG


def test_a_worker_that_cannot_see_the_course_reports_the_student_with_the_reason(tmp_path):
    from mle_grading.operations.parallel import grade_student
    result = grade_student(str(tmp_path / "nowhere"), ASSIGNMENT, "alice", f"sqlite:///{tmp_path / 'g.db'}")
    assert result["graded"] is False and result["student"] == "alice"
    assert "is not a course directory here" in result["why"] and "same path" in result["why"]


def test_sqlite_gradebook_urls_get_a_busy_timeout_that_sqlalchemy_hands_to_sqlite():
    from sqlalchemy import create_engine
    url = nbgrader_run.with_busy_timeout("sqlite:////tmp/course/gradebook.db")
    assert url == "sqlite:////tmp/course/gradebook.db?timeout=60"
    engine = create_engine(url)
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    assert kwargs["timeout"] == 60.0
    assert nbgrader_run.with_busy_timeout("sqlite:////g.db?timeout=5").endswith("?timeout=5")
    assert nbgrader_run.with_busy_timeout("postgresql://grader@db/gradebook") == "postgresql://grader@db/gradebook"


def test_bad_command_lines_are_refused_with_the_reason(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mle_grading.operations.parallel", "--workers", "0"], cwd=tmp_path,
                          env=nbgrader_env(), capture_output=True, text=True)
    assert proc.returncode == 2 and "--workers must be at least 1" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "mle_grading.operations.parallel", ASSIGNMENT], cwd=tmp_path,
                          env=nbgrader_env(), capture_output=True, text=True)
    assert proc.returncode == 2 and "is not a course directory" in proc.stderr
