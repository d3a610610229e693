"""A real Dask cluster grades a class into a real PostgreSQL gradebook, and loses a worker on the way.

A throwaway PostgreSQL server (Debian's, installed by scripts/setup_extras.sh) is
started on 127.0.0.1, on a free port, with its data and socket in a temporary
directory; as root it runs as the `postgres` user, since PostgreSQL refuses to run
as root. A `dask scheduler` and two `dask worker` processes (no nanny, so a killed
worker stays dead) are started on loopback. `python -m mle_grading.operations.parallel
--scheduler` grades the class on them; as soon as one worker is inside a student's
sandbox, it is killed with SIGKILL. Every student must still end graded exactly once,
with the scores of sequential `nbgrader autograde` on SQLite, cell by cell. Servers
and workers are stopped, and their directories removed, whatever happens.
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import psutil
import pytest

from course_copy import nbgrader_env, scores_by_cell
from mle_grading.nbgrader_integration import run as nbgrader_run
from test_parallel_grading import (ASSIGNMENT, build_class_course, finish_sequential, sequentially_graded_class,
                                   small_class, summary)

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


def dask_program():
    return os.path.join(os.path.dirname(sys.executable), "dask")


@pytest.fixture(scope="module")
def dask_cluster_on_loopback():
    """A `dask scheduler` and two `dask worker` processes on 127.0.0.1, TLS: (address, {name: Popen}, tls flags, Security)."""
    from distributed import Client
    from mle_grading.operations.parallel import dask_environment, make_credentials, scheduler_security
    address = f"tls://127.0.0.1:{free_port()}"
    logs = tempfile.mkdtemp(prefix="mle-grading-dask-")
    processes = []
    # TLS with the instructor's credential, as docs/scale.md starts a cluster by hand
    credential = make_credentials(os.path.join(logs, "credential"))
    tls = ["--tls-ca-file", credential["ca"], "--tls-cert", credential["cert"], "--tls-key", credential["key"]]
    security = scheduler_security(address, credential["ca"], credential["cert"], credential["key"])

    def start(name, *args):
        log = open(os.path.join(logs, f"{name}.log"), "w")
        # with Dask's grading settings in the environment, as docs/scale.md starts a cluster by hand
        env = {**nbgrader_env(), **dask_environment()}
        processes.append(subprocess.Popen([dask_program(), *args], env=env, cwd=logs,
                                          stdout=log, stderr=subprocess.STDOUT))
        return processes[-1]
    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
              "--dashboard-address", "127.0.0.1:0", *tls)
        workers = {name: start(name, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                               "--host", "127.0.0.1", "--no-dashboard", *tls) for name in ("w1", "w2")}
        with Client(address, timeout="60s", security=security) as client:
            client.wait_for_workers(2, timeout=120)
        yield address, workers, tls, security
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        shutil.rmtree(logs, ignore_errors=True)


def in_a_sandbox(proc):
    """The worker is grading: a bubblewrap sandbox runs below it."""
    try:
        return any("bwrap" in " ".join(child.cmdline()) for child in psutil.Process(proc.pid).children(recursive=True))
    except psutil.Error:
        return False


@pytest.fixture(scope="module")
def graded_on_a_cluster_that_loses_a_worker(postgres_url, dask_cluster_on_loopback, tmp_path_factory):
    from distributed import Client
    address, workers, tls, security = dask_cluster_on_loopback
    graded = sequentially_graded_class(tmp_path_factory)   # SQLite, sequential: runs meanwhile
    course = build_class_course(tmp_path_factory.mktemp("postgres"), small_class(), db_url=postgres_url)
    env = nbgrader_env()
    env["MLE_GRADING_DB_URL"] = postgres_url
    run = subprocess.Popen([sys.executable, "-m", "mle_grading.operations.parallel", ASSIGNMENT, "--scheduler", address,
                            *tls, "--force"], cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed, interrupted = None, set()
    with Client(address, timeout="60s", security=security) as client:
        deadline = time.time() + 900
        while killed is None and run.poll() is None and time.time() < deadline:
            for name, proc in workers.items():
                if in_a_sandbox(proc):
                    by_name = {w["name"]: a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
                    interrupted = set(client.processing(workers=[by_name[name]])[by_name[name]])
                    os.kill(proc.pid, signal.SIGKILL)
                    killed = name
                    break
            time.sleep(0.2)
    out, err = run.communicate(timeout=1500)
    sequential = finish_sequential(graded)
    return dict(url=postgres_url, course=course, sequential=sequential, run=run, out=out, err=err,
                killed=killed, victim=workers.get(killed), interrupted=interrupted)


def test_a_worker_killed_mid_task_loses_no_student_and_doubles_none(graded_on_a_cluster_that_loses_a_worker):
    g = graded_on_a_cluster_that_loses_a_worker
    assert g["killed"], "no worker was ever seen grading: " + g["out"][-2000:] + g["err"][-2000:]
    assert g["victim"].wait(timeout=10) == -signal.SIGKILL
    assert g["run"].returncode == 0, g["out"][-3000:] + g["err"][-3000:]
    assert f"graded {len(small_class())}/{len(small_class())}" in g["out"]
    assert nbgrader_run.submission_counts(g["url"], ASSIGNMENT) == {s: 1 for s in small_class()}


def test_the_student_graded_when_its_worker_died_was_graded_again_by_the_survivor(graded_on_a_cluster_that_loses_a_worker):
    g = graded_on_a_cluster_that_loses_a_worker
    survivor = ({"w1", "w2"} - {g["killed"]}).pop()
    interrupted = {key.split(f"grade-{ASSIGNMENT}-", 1)[1] for key in g["interrupted"]}
    assert interrupted, "the killed worker held no task"
    results = summary(g["course"])
    assert all(results[s]["worker"] == survivor for s in interrupted), (interrupted, results)


def test_every_cell_of_every_student_scores_as_sequential_nbgrader_on_sqlite(graded_on_a_cluster_that_loses_a_worker):
    g = graded_on_a_cluster_that_loses_a_worker
    assert not os.path.exists(os.path.join(g["course"], "gradebook.db")), "the workers wrote to SQLite, not PostgreSQL"
    for student in small_class():
        expected = scores_by_cell(g["sequential"], student)
        assert scores_by_cell(g["course"], student, db_url=g["url"]) == expected, student


def test_the_postgresql_gradebook_holds_the_class_under_the_configured_course(graded_on_a_cluster_that_loses_a_worker):
    from nbgrader.api import Course, Gradebook
    with Gradebook(graded_on_a_cluster_that_loses_a_worker["url"], course_id="") as gb:
        assert sorted(s.id for s in gb.students) == sorted(small_class())
        # The workers wrote under the course id of course_config.py. (nbgrader_plugins.RebuildSubmission
        # opens the gradebook without one, which adds nbgrader's "default_course" row, in sequential runs too.)
        assert "mle_losses_course" in {c.id for c in gb.db.query(Course)}
