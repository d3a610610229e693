"""The service's clock, never the student's (issue 26, item 3).

The grading service is started exactly as jupyterhub/jupyterhub_config.py starts it
(its command, no --assignment: every assignment of the course watched). The
assignment's due date, in the gradebook, was three days ago. A student submits now,
three days late, with `nbgrader submit`, then sets the submission's folder name and
its timestamp.txt back four days, a day before the due date, as any student can (both
are theirs). The submission must be graded and late in the gradebook: the time the
service records (journal, submitted/…/timestamp.txt, gradebook) is the kernel's.

Before this change the service applied no deadline when more than one assignment was
watched, and copied the student's timestamp.txt: graded on time, no late penalty.

nbgrader's collect (CourseExchangeCollect) is checked for the same: a claim only a few
minutes earlier than the kernel's time (within what it used to tolerate) is not used.
"""
import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from course_copy import FIRST_ASSIGNMENT as ASSIGNMENT_ID
from mle_grading.operations.demo_class import solutions

from test_exchange_workflow import (COURSE_ID, SOLUTION_MARKER, Student, clean_env, course_with_exchange,
                                    run_steps)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HUB_CONFIG = os.path.join(ROOT, "jupyterhub", "jupyterhub_config.py")
GRADING_TIMEOUT = 900
NBGRADER_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"


def hub_service_command(course, exchange, state_dir):
    """The grading service's command line, from jupyterhub_config.py as the hub loads it (local-test profile)."""
    from traitlets.config.loader import PyFileConfigLoader
    env = {"MLE_GRADING_SERVICE": "1", "MLE_HUB_PROFILE": "local-test", "MLE_COURSE_ROOT": course,
           "MLE_EXCHANGE_ROOT": exchange, "MLE_HUB_STATE_DIR": state_dir}
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("MLE_")}
    os.environ.update(env)
    try:
        config = PyFileConfigLoader(os.path.basename(HUB_CONFIG), os.path.dirname(HUB_CONFIG)).load_config()
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update(saved)
    (service,) = [s for s in config.JupyterHub.services if s["name"] == "grading-service"]
    return service["command"], service.get("cwd")


def journal_rows(path):
    if not os.path.exists(path):
        return {}
    db = sqlite3.connect(path, timeout=30)
    try:
        return {r[0]: {"state": r[1], "stamp": r[2], "note": r[3]}
                for r in db.execute("SELECT folder, state, stamp, note FROM submissions")}
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


@pytest.fixture(scope="module")
def late_with_a_forged_stamp(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("service_clock"))
    course, exchange, instructor_home = course_with_exchange(base)
    now = datetime.datetime.now(datetime.timezone.utc)
    due, claimed = now - datetime.timedelta(days=3), now - datetime.timedelta(days=4)
    dora = Student(base, "dora", exchange)
    run_steps(base, [(course, instructor_home, ("generate_assignment", ASSIGNMENT_ID, "--force")),
                     (course, instructor_home, ("db", "assignment", "add", ASSIGNMENT_ID,
                                                f"--duedate={due.strftime('%Y-%m-%d %H:%M:%S UTC')}")),
                     (course, instructor_home, ("release_assignment", ASSIGNMENT_ID)),
                     dora.step("fetch_assignment", ASSIGNMENT_ID)])
    source_dir = os.path.join(course, "source", ASSIGNMENT_ID)
    notebooks = [os.path.basename(p)[:-len(".ipynb")] for p in dora.notebooks()]
    dora.write_answers({nb: {gid: SOLUTION_MARKER.sub("", src) for gid, src in solutions(source_dir, nb).items()}
                        for nb in notebooks})
    run_steps(base, [dora.step("submit", ASSIGNMENT_ID)])
    submitted_at = time.time()

    # dora moves her submission four days back: the folder's name and its timestamp.txt.
    inbound = os.path.join(exchange, COURSE_ID, "inbound")
    (folder,) = [f for f in os.listdir(inbound) if f.startswith(f"dora+{ASSIGNMENT_ID}+")]
    claimed_text = claimed.strftime(NBGRADER_FORMAT)
    forged = f"dora+{ASSIGNMENT_ID}+{claimed_text}+{folder.rsplit('+', 1)[1]}"
    os.rename(os.path.join(inbound, folder), os.path.join(inbound, forged))
    with open(os.path.join(inbound, forged, "timestamp.txt"), "w") as fh:
        fh.write(claimed_text)

    command, cwd = hub_service_command(course, exchange, os.path.join(base, "hub"))
    env = clean_env()
    env["PYTHONPATH"] = ROOT
    log_path = os.path.join(base, "service.log")
    state = os.path.join(course, "grading_service.sqlite")
    proc = subprocess.Popen(command, cwd=cwd or course, env=env, stdout=open(log_path, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + GRADING_TIMEOUT
        while time.time() < deadline and proc.poll() is None:
            row = journal_rows(state).get(forged)
            if row and row["state"] not in ("queued", "grading", "deferred"):
                break
            time.sleep(1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return dict(course=course, command=command, folder=forged, journal=journal_rows(state),
                log=open(log_path).read(), due=due, claimed=claimed, submitted_at=submitted_at)


def test_the_hub_starts_the_service_watching_every_assignment(late_with_a_forged_stamp):
    assert "--assignment" not in late_with_a_forged_stamp["command"]


def test_a_late_submission_with_a_forged_stamp_is_graded_and_late_in_the_gradebook(late_with_a_forged_stamp):
    from nbgrader.api import Gradebook
    facts = late_with_a_forged_stamp
    row = facts["journal"][facts["folder"]]
    assert row["state"] == "graded", (row, facts["log"][-3000:])
    with Gradebook(f"sqlite:///{os.path.join(facts['course'], 'gradebook.db')}") as gb:
        submission = gb.find_submission(ASSIGNMENT_ID, "dora")
        stamp = submission.timestamp.replace(tzinfo=datetime.timezone.utc)
        late = submission.total_seconds_late
    assert late > 2 * 86400, (stamp, late)   # three days late, whatever dora wrote
    assert abs(stamp.timestamp() - facts["submitted_at"]) < 600, stamp


def test_the_service_records_its_own_time_never_the_students(late_with_a_forged_stamp):
    facts = late_with_a_forged_stamp
    written = open(os.path.join(facts["course"], "submitted", "dora", ASSIGNMENT_ID, "timestamp.txt")).read()
    recorded = datetime.datetime.strptime(written.strip(), NBGRADER_FORMAT).replace(tzinfo=datetime.timezone.utc)
    assert abs(recorded.timestamp() - facts["submitted_at"]) < 600, written
    journal_stamp = facts["journal"][facts["folder"]]["stamp"]
    assert str(facts["claimed"].date()) not in journal_stamp and journal_stamp.strip() == written.strip()
    claimed = open(os.path.join(facts["course"], "submitted", "dora", ASSIGNMENT_ID, "timestamp_claimed.txt")).read()
    assert str(facts["claimed"].date()) in claimed   # kept as what she claimed, used for nothing


def test_collect_takes_the_kernels_time_even_for_a_claim_a_few_minutes_early(tmp_path):
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from mle_grading.nbgrader_integration.exchange import CourseExchangeCollect
    folder = tmp_path / f"eve+{ASSIGNMENT_ID}+x"
    folder.mkdir()
    (folder / "answers.ipynb").write_text("{}")
    collect = CourseExchangeCollect(coursedir=CourseDirectory(), authenticator=Authenticator())
    kernel = os.lstat(folder).st_ctime
    for minutes in (4, 60 * 24 * 4):
        claim = datetime.datetime.fromtimestamp(kernel - 60 * minutes, datetime.timezone.utc).replace(tzinfo=None)
        used = collect._trusted_time(str(folder), claim)
        assert abs(used.replace(tzinfo=datetime.timezone.utc).timestamp() - kernel) < 1, (minutes, used)
