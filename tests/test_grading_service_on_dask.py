"""The grading service grades a burst of submissions on a real Dask cluster, several at once,
each exactly once, even when a worker is killed in the middle.

Six students submit with `nbgrader submit` into a real exchange at once; the service (in
this process, on a local cluster of two workers) grades them; while gradings are under
way one worker process is killed with SIGKILL. Dask runs that worker's task again on the
other (or a restarted) worker, and the journal must record exactly one finished grading
per submission, each with feedback released that its student can fetch.
"""
import os
import signal
import threading
import time

import pytest

from course_copy import FIRST_ASSIGNMENT as ASSIGNMENT_ID
from mle_grading.operations.demo_class import solutions
from test_exchange_workflow import COURSE_ID, SOLUTION_MARKER, Student, course_with_exchange, run_steps

STUDENTS = ("ann", "ben", "cat", "dan", "eve", "fay")


@pytest.fixture(scope="module")
def burst(tmp_path_factory):
    from mle_grading.nbgrader_integration import run as nbgrader_run
    from mle_grading.operations.grading_service import GradingService, Policy
    from mle_grading.operations.parallel import dask_client
    base = str(tmp_path_factory.mktemp("service-on-dask"))
    course, exchange, instructor_home = course_with_exchange(base)
    students = {name: Student(base, name, exchange) for name in STUDENTS}
    run_steps(base, [(course, instructor_home, ("generate_assignment", ASSIGNMENT_ID, "--force")),
                     (course, instructor_home, ("release_assignment", ASSIGNMENT_ID))]
              + [s.step("fetch_assignment", ASSIGNMENT_ID) for s in students.values()])
    source_dir = os.path.join(course, "source", ASSIGNMENT_ID)
    notebooks = [os.path.basename(p)[:-len(".ipynb")] for p in students["ann"].notebooks()]
    correct = {nb: {gid: SOLUTION_MARKER.sub("", src) for gid, src in solutions(source_dir, nb).items()}
               for nb in notebooks}
    for student in students.values():
        student.write_answers(correct)
    run_steps(base, [s.step("submit", ASSIGNMENT_ID) for s in students.values()])

    lines = []
    service = GradingService(course, exchange, COURSE_ID, [ASSIGNMENT_ID], Policy(per_hour=5),
                             state=os.path.join(base, "service.sqlite"), poll=0.5, log=lines.append,
                             check_owner=False)   # the test's students submit as root
    most_at_once, killed = [0], []
    os.environ.update(nbgrader_run.environment())
    with dask_client(workers=2) as client:
        service.client = client

        def watch():
            # Kill one worker process once two gradings are under way and one has been for a while.
            while not service.stopping:
                most_at_once[0] = max(most_at_once[0], len(service.in_flight))
                if not killed and len(service.in_flight) >= 2 and \
                        min(started for _, _, started, _ in service.in_flight.values()) < time.time() - 5:
                    pids = client.run(os.getpid)
                    victim = sorted(pids.values())[0]
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                time.sleep(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            service.run(until_idle=True)
        finally:
            service.stopping = True
            watcher.join(timeout=10)
    run_steps(base, [s.step("fetch_feedback", ASSIGNMENT_ID) for s in students.values()])
    return {"service": service, "students": students, "killed": killed, "most_at_once": most_at_once[0],
            "log": lines}


def test_every_submission_of_the_burst_is_graded_exactly_once(burst):
    journal = burst["service"].journal
    subs = journal.rows()
    assert sorted(s["student"] for s in subs) == sorted(STUDENTS)
    assert all(s["state"] == "graded" for s in subs), [(s["folder"], s["state"], s["note"]) for s in subs]
    finished = [row[0] for row in journal.db.execute("SELECT folder FROM gradings")]
    assert sorted(finished) == sorted(s["folder"] for s in subs), "a submission was graded twice or never"


def test_several_submissions_were_graded_at_once_and_a_worker_was_killed_midway(burst):
    assert burst["most_at_once"] >= 2, burst["log"]
    assert len(burst["killed"]) == 1, "no worker was killed: the test did not test what it says"


def test_every_student_fetches_feedback_on_all_four_notebooks(burst):
    for student in burst["students"].values():
        pages = [name for root, _, files in os.walk(os.path.join(student.assignment, "feedback"))
                 for name in files if name.endswith(".html")]
        assert len(pages) == 4, (student.name, pages)
