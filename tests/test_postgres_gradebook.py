"""A class graded by 2 workers into a real PostgreSQL gradebook gets the scores of sequential SQLite grading.

A throwaway PostgreSQL server (Debian's, installed by scripts/setup_extras.sh) is
started on 127.0.0.1, on a free port, with its data and socket in a temporary
directory; as root it runs as the `postgres` user, since PostgreSQL refuses to run
as root. It is stopped, and its directory removed, whatever happens.
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from course_copy import nbgrader_env, scores_by_cell
from test_parallel_grading import (ASSIGNMENT, build_class_course, finish_sequential, sequentially_graded_class,
                                   small_class)

USER, DATABASE = "grader", "gradebook"


def postgres_binary(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    if shutil.which(name):
        return shutil.which(name)
    pytest.fail(f"PostgreSQL's {name} is not installed: run scripts/setup_extras.sh "
                "(as root on Debian: apt-get install postgresql)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_server_user(cmd):
    """PostgreSQL will not run as root: run its programs as the postgres user then."""
    if os.geteuid() == 0:
        return [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="module")
def postgres_url():
    folder = tempfile.mkdtemp(prefix="mle-grading-pg-")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, log = os.path.join(folder, "data"), os.path.join(folder, "server.log")
    port = free_port()
    pg_ctl = postgres_binary("pg_ctl")
    started = False
    try:
        subprocess.run(as_server_user([postgres_binary("initdb"), "-D", data, "-U", USER, "-A", "trust",
                                       "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True, text=True)
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        proc = subprocess.run(as_server_user([pg_ctl, "-D", data, "-o", options, "-l", log, "-w", "-t", "60",
                                              "start"]), capture_output=True, text=True)
        started = True
        assert proc.returncode == 0, proc.stdout + proc.stderr + (open(log).read() if os.path.exists(log) else "")
        import psycopg2
        conn = psycopg2.connect(host="127.0.0.1", port=port, user=USER, dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DATABASE}")
        conn.close()
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; the pack installs psycopg2.
        yield f"postgresql+psycopg2://{USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if started:
            subprocess.run(as_server_user([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"]),
                           capture_output=True, text=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def graded_into_postgres(postgres_url, tmp_path_factory):
    graded = sequentially_graded_class(tmp_path_factory)   # SQLite, sequential: runs meanwhile
    students = small_class()
    course = build_class_course(tmp_path_factory.mktemp("postgres"), students, db_url=postgres_url)
    env = nbgrader_env()
    env["MLE_GRADING_DB_URL"] = postgres_url
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "mle_grading.parallel", ASSIGNMENT, "--workers", "2", "--force"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=1500)
    sequential = finish_sequential(graded)
    return postgres_url, course, sequential, proc, time.time() - started


def test_two_workers_grade_a_class_into_postgresql_with_the_scores_of_sequential_sqlite(graded_into_postgres):
    url, course, sequential, proc, _ = graded_into_postgres
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not os.path.exists(os.path.join(course, "gradebook.db")), "the workers wrote to SQLite, not PostgreSQL"
    for student in small_class():
        expected = scores_by_cell(sequential, student)
        assert expected and scores_by_cell(course, student, db_url=url) == expected, student


def test_the_postgresql_gradebook_holds_each_student_once_and_no_one_else(graded_into_postgres):
    url, _, _, _, _ = graded_into_postgres
    from nbgrader.api import Course, Gradebook
    with Gradebook(url, course_id="") as gb:
        assert sorted(s.id for s in gb.students) == sorted(small_class())
        assert len(gb.find_assignment(ASSIGNMENT).submissions) == len(small_class())
        # The workers wrote under the course id of course_config.py. (course_copy.scores_by_cell,
        # which opens the gradebook without one, may have added nbgrader's "default_course".)
        assert "mle_losses_course" in {c.id for c in gb.db.query(Course)}
