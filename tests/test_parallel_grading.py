"""Grading a class with several nbgrader processes gives exactly the scores of one.

The same small class is graded twice, in two private copies of the course: by a
plain sequential `nbgrader autograde`, and by `python -m mle_grading.parallel` with
2 workers sharing the SQLite gradebook. Both run at once, to keep the test short.
One student of the class cannot be graded (a file stands where nbgrader must
write their autograded folder), so the failure report is checked on the same run.
"""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from course_copy import copy_course, nbgrader_env, scores_by_cell
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
    return ["reference", "untouched"] + chosen


def build_class_course(target, students, db_url=None, broken=False):
    """A course copy with the assignment generated (into db_url if given) and these submissions."""
    from mle_grading.demo_class import build_demo_class
    course = copy_course(str(target), with_release=True)
    env = nbgrader_env()
    if db_url:
        env["MLE_GRADING_DB_URL"] = db_url
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"), "generate_assignment",
                           ASSIGNMENT, "--force"], cwd=course, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for student in build_demo_class(course):
        if student not in students:
            shutil.rmtree(os.path.join(course, "submitted", student))
    if broken:
        shutil.copytree(os.path.join(course, "submitted", "reference"), os.path.join(course, "submitted", BROKEN))
        # nbgrader must replace autograded/<student>/<assignment>; a plain file there stops it.
        os.makedirs(os.path.join(course, "autograded", BROKEN))
        open(os.path.join(course, "autograded", BROKEN, ASSIGNMENT), "w").close()
    return course


_GRADED = {}


def sequentially_graded_class(tmp_path_factory):
    """The small class graded by sequential nbgrader autograde on SQLite (once per session)."""
    if "course" not in _GRADED:
        course = build_class_course(tmp_path_factory.mktemp("sequential"), small_class(), broken=True)
        _GRADED["proc"] = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "nbgrader"), "autograde", ASSIGNMENT, "--force"],
            cwd=course, env=nbgrader_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        _GRADED["course"] = course
    return _GRADED


def finish_sequential(graded):
    proc = graded.pop("proc", None)
    if proc is not None:
        graded["log"] = proc.communicate()[0]
        graded["code"] = proc.returncode
        # The broken student makes nbgrader exit 1; everyone else must have been graded.
        for student in small_class():
            assert os.path.isdir(os.path.join(graded["course"], "autograded", student, ASSIGNMENT)), graded["log"][-3000:]
    return graded["course"]


@pytest.fixture(scope="module")
def both_gradings(tmp_path_factory):
    graded = sequentially_graded_class(tmp_path_factory)   # starts, runs while the parallel one does
    course = build_class_course(tmp_path_factory.mktemp("parallel"), small_class(), broken=True)
    proc = subprocess.run([sys.executable, "-m", "mle_grading.parallel", ASSIGNMENT, "--workers", "2", "--force"],
                          cwd=course, env=nbgrader_env(), capture_output=True, text=True, timeout=1500)
    sequential = finish_sequential(graded)
    log = open(os.path.join(course, "reports", "parallel_autograde.log")).read()
    return sequential, course, proc, log


def test_two_workers_give_every_cell_of_every_student_the_score_of_sequential_autograde(both_gradings):
    sequential, parallel, _, _ = both_gradings
    totals = set()
    for student in small_class():
        expected = scores_by_cell(sequential, student)
        assert expected, f"sequential grading has no scores for {student}"
        assert scores_by_cell(parallel, student) == expected, student
        totals.add(sum(score for score, _ in expected.values()))
    # The class is not trivially uniform: full marks, no marks and partial marks all occur.
    assert len(totals) == len(small_class())


def test_each_student_is_graded_by_exactly_one_of_the_two_workers(both_gradings):
    _, course, _, log = both_gradings
    graders = {}
    for line in log.splitlines():   # nbgrader's own lines, as each worker logged them
        if line.startswith("[worker ") and "Sanitizing " in line:
            worker = line.split("]", 1)[0]
            student = os.path.relpath(line.split("Sanitizing ", 1)[1].strip(), os.path.join(course, "submitted"))
            graders.setdefault(student.split(os.sep)[0], set()).add(worker)
    assert sorted(graders) == sorted(small_class())   # (nbgrader stops the broken one before sanitizing)
    assert all(len(workers) == 1 for workers in graders.values()), graders
    assert set().union(*graders.values()) == {"[worker 1", "[worker 2"}


def test_a_student_who_cannot_be_graded_is_one_failure_line_and_a_nonzero_exit(both_gradings):
    sequential, parallel, proc, _ = both_gradings
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    failures = [line for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
    assert len(failures) == 1 and failures[0].startswith(f"FAILED {BROKEN}: "), proc.stdout[-3000:]
    assert f"graded {len(small_class())}/{len(small_class()) + 1}" in proc.stdout
    assert not os.path.isdir(os.path.join(parallel, "autograded", BROKEN, ASSIGNMENT))


def test_sqlite_gradebook_urls_get_a_busy_timeout_that_sqlalchemy_hands_to_sqlite():
    from sqlalchemy import create_engine
    from mle_grading.parallel import with_busy_timeout
    url = with_busy_timeout("sqlite:////tmp/course/gradebook.db")
    assert url == "sqlite:////tmp/course/gradebook.db?timeout=60"
    engine = create_engine(url)
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    assert kwargs["timeout"] == 60.0
    assert with_busy_timeout("sqlite:////g.db?timeout=5").endswith("?timeout=5")
    assert with_busy_timeout("postgresql://grader@db/gradebook") == "postgresql://grader@db/gradebook"


def test_chunks_hold_every_student_once_and_keep_every_worker_busy():
    from mle_grading.parallel import make_chunks
    for n, workers in ((1, 2), (5, 2), (50, 2), (200, 2), (1000, 8)):
        students = [f"s{i}" for i in range(n)]
        chunks = make_chunks(students, workers)
        assert sorted(s for c in chunks for s in c) == sorted(students)
        assert len(chunks) % workers == 0 or len(chunks) == n   # the same number for every worker
        assert max(map(len, chunks)) - min(map(len, chunks)) <= 1


FAKE_NBGRADER = textwrap.dedent('''\
    """Stands in for nbgrader autograde: the first run stops on a locked gradebook."""
    import glob, os, sys
    root, assignment = os.getcwd(), sys.argv[2]
    exclude = [a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--CourseDirectory.student_id_exclude=")]
    exclude = set(exclude[0]) if exclude else set()
    marker = os.path.join(root, "locked-once")
    for folder in sorted(glob.glob(os.path.join(root, "submitted", "*", assignment))):
        student = folder.split(os.sep)[-2]
        if student in exclude:
            continue
        print(f"[AutogradeApp | INFO] Sanitizing {folder}/nb.ipynb", flush=True)
        if not os.path.exists(marker):
            open(marker, "w").close()
            print("[AutogradeApp | ERROR] sqlite3.OperationalError: database is locked", flush=True)
            sys.exit(1)
        out = os.path.join(root, "autograded", student, assignment)
        os.makedirs(out, exist_ok=True)
        open(os.path.join(out, "nb.ipynb"), "w").close()
        print("[AutogradeApp | INFO] Setting destination file permissions to 444", flush=True)
''')


def test_students_stopped_by_a_locked_gradebook_are_graded_again(tmp_path):
    from nbgrader.api import Gradebook
    from mle_grading import parallel
    course = tmp_path / "course"
    students = [f"student{i}" for i in range(4)]
    for student in students:
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "nb.ipynb").write_text("{}")
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook("nb", ASSIGNMENT)
    fake = tmp_path / "fake_nbgrader.py"
    fake.write_text(FAKE_NBGRADER)
    wrapper = tmp_path / "nbgrader"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {fake} \"$@\"\n")
    wrapper.chmod(0o755)
    seen = []
    failed = parallel.autograde_parallel(str(course), ASSIGNMENT, students, 2, str(tmp_path / "log"),
                                         progress=lambda s, i, n: seen.append((s, i, n)), db_url=db_url,
                                         nbgrader=str(wrapper))
    assert failed == []
    assert sorted(s for s, _, _ in seen) == students and [i for _, i, _ in seen] == [1, 2, 3, 4]
    log = (tmp_path / "log").read_text()
    assert "database is locked" in log and "grading again (1/2)" in log
    for student in students:
        assert (course / "autograded" / student / ASSIGNMENT / "nb.ipynb").exists()


def test_a_student_the_gradebook_stops_every_time_is_reported_after_the_retries(tmp_path):
    from nbgrader.api import Gradebook
    from mle_grading import parallel
    course = tmp_path / "course"
    folder = course / "submitted" / "alone" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "nb.ipynb").write_text("{}")
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook("nb", ASSIGNMENT)
    wrapper = tmp_path / "nbgrader"
    wrapper.write_text("#!/bin/sh\necho '[AutogradeApp | ERROR] sqlite3.OperationalError: database is locked'\n"
                       f"echo run >> {tmp_path / 'runs'}\nexit 1\n")
    wrapper.chmod(0o755)
    failed = parallel.autograde_parallel(str(course), ASSIGNMENT, ["alone"], 2, str(tmp_path / "log"),
                                         db_url=db_url, retries=2, nbgrader=str(wrapper))
    assert len(failed) == 1 and failed[0].startswith("alone: ")
    assert (tmp_path / "runs").read_text().count("run") == 3


def test_exclusions_too_long_for_a_command_line_reach_nbgrader_through_a_config_file(tmp_path, monkeypatch):
    from mle_grading import parallel
    from course_copy import ROOT
    course = tmp_path / "course"
    for student in ("s0", "s1", "s2"):
        (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
    for name in ("course_config.py", "nbgrader_config.py"):
        shutil.copy(os.path.join(ROOT, name), course / name)
    monkeypatch.setattr(parallel, "MAX_EXCLUDE_ARG", 0)
    grader = parallel._Grader(str(course), ASSIGNMENT, 2, str(tmp_path / "log"), None, True, "sqlite:///unused.db")
    try:
        args, env = grader.command(parallel._Shard(1, ["s1"]))
        assert not any("student_id_exclude" in a for a in args)
        probe = ("from nbgrader.apps.autogradeapp import AutogradeApp\n"
                 "app = AutogradeApp.instance(); app.initialize(['mle_losses'])\n"
                 "print('EXCLUDE', app.coursedir.student_id_exclude, app.coursedir.course_id)\n")
        proc = subprocess.run([sys.executable, "-c", probe], cwd=course, env=env, capture_output=True, text=True)
        assert "EXCLUDE s0,s2 mle_losses_course" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    finally:
        grader.cleanup()
