"""Feedback on submit on the course's JupyterHub: the grading service as a hub-managed service.

The hub of tests/test_jupyterhub.py (its local-test profile) runs here with
MLE_GRADING_SERVICE=1, so JupyterHub itself starts and watches
mle_grading.operations.grading_service, with one grading per student an hour
(MLE_FEEDBACK_PER_HOUR=1) and, before the deadline, feedback that shows each
behaviour and its diagnosis but no points (MLE_FEEDBACK_BEFORE_DEADLINE=diagnostics).
A hub of its own, so that the service never sees the other hub test's submissions.

1. The instructor releases the assignment with nbgrader in the course directory.
   In headless Chromium alice logs in, fetches it in JupyterLab's Assignments tab,
   answers (one known mistake), clicks Submit, and, still logged in, refreshes the
   tab until her feedback is there and clicks "Fetch Feedback".
2. She fixes the mistake and submits again at once: beyond the limit, the feedback
   she fetches for that submission says when it will be graded.
3. bob and carol submit with nbgrader from their own homes; while the service grades
   one of them it is killed with SIGKILL; JupyterHub starts it again, and every
   submission is graded exactly once (the service's journal, its --status, the
   gradebook).

The tests run in order and share the hub.
"""
import contextlib
import datetime
import glob
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import nbformat
import pytest

from course_copy import FIRST_ASSIGNMENT as ASSIGNMENT_ID
from mle_grading.operations.demo_class import fill, solutions

from servers import loopback_browser, save_screenshot
from test_exchange_workflow import MISTAKE, SOLUTION_MARKER, Student, run_steps, text_of
from test_jupyterhub import COURSE_ID, load_hub_config, log_in, running_hub, stop_by_pid

from playwright.sync_api import expect

PER_HOUR = 1
GRADING_TIMEOUT = 900       # s: one student's four notebooks took 45 to 85 s on this busy machine
RESTART_TIMEOUT = 120       # s: JupyterHub polls its managed services every 30 s
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


# -- what the test reads: the service's processes, its journal, the student's files --------

def service_pids(course):
    """Ids of the grading services running for this course copy (their command line names it)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            argv = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
            if b"mle_grading.operations.grading_service" in argv and course.encode() in argv:
                found.append(int(entry))
    return found


def proc_stat(pid):
    """(state, parent id) of a process, or None once it is gone."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    return None


def running(pid):
    stat = proc_stat(pid)
    return stat is not None and stat[0] != "Z"   # a zombie has stopped: only its exit status is left


def cmdline(pid):
    with contextlib.suppress(OSError):
        return open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").split("\0")
    return []


def children(pid):
    """Ids of the running processes whose parent is pid."""
    return [int(e) for e in filter(str.isdigit, os.listdir("/proc"))
            if (proc_stat(e) or (None, None))[1] == pid and running(e)]


def descendants(pid):
    """Ids of pid's running children, their children, and so on."""
    found, todo = [], [pid]
    while todo:
        below = children(todo.pop())
        found += below
        todo += below
    return found


def journal_once_graded(course, folder, seconds=60):
    """The journal once it records `folder` as graded, or as it stands after `seconds`."""
    deadline = time.time() + seconds
    while True:
        subs, gradings = journal(course)
        if subs.get(folder, {}).get("state") == "graded" or time.time() > deadline:
            return subs, gradings
        time.sleep(0.5)


def journal(course):
    """The service's journal: ({folder: submission row}, [grading rows])."""
    path = os.path.join(course, "grading_service.sqlite")
    if not os.path.exists(path):
        return {}, []
    db = sqlite3.connect(path, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        subs = {r["folder"]: dict(r) for r in db.execute("SELECT * FROM submissions")}
        gradings = [dict(r) for r in db.execute("SELECT * FROM gradings")]
    except sqlite3.OperationalError:   # the service has not created its tables yet
        return {}, []
    finally:
        db.close()
    return subs, gradings


def wait_until(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def inbound_folders(hub, student=None):
    folders = sorted(os.listdir(os.path.join(hub["exchange"], COURSE_ID, "inbound")))
    return [f for f in folders if student is None or f.startswith(f"{student}+")]


def stamp_of(folder):
    return folder.split("+")[2]


def feedback_pages(hub, name, stamp):
    """{notebook: text} of the feedback Fetch Feedback wrote into the student's home for that submission."""
    folder = os.path.join(hub["homes"], name, ASSIGNMENT_ID, "feedback", stamp)
    return {os.path.basename(p)[:-len(".html")]: text_of(open(p).read())
            for p in sorted(glob.glob(os.path.join(folder, "*.html")))}


def hidden_test_lines(course):
    """Every non-empty line of the source notebooks' hidden test blocks."""
    lines = set()
    for path in glob.glob(os.path.join(course, "source", ASSIGNMENT_ID, "*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for block in HIDDEN_BLOCK.findall(cell.source):
                lines.update(line.strip() for line in block.splitlines() if line.strip())
    return lines


def answers(course, with_mistake):
    """{notebook: {grade_id: answer}}: the reference solutions, or the same with MISTAKE in its cell."""
    source = os.path.join(course, "source", ASSIGNMENT_ID)
    notebooks = [os.path.basename(p)[:-len(".ipynb")] for p in sorted(glob.glob(os.path.join(source, "*.ipynb")))]
    found = {nb: {gid: SOLUTION_MARKER.sub("", src) for gid, src in solutions(source, nb).items()}
             for nb in notebooks}
    if with_mistake:
        found[MISTAKE.notebook][MISTAKE.cell] = MISTAKE.source
    return found


def write_answers(folder, answers_by_notebook):
    """What the student types into each notebook of the fetched assignment (saved to disk, as JupyterLab does)."""
    paths = sorted(glob.glob(os.path.join(folder, "*.ipynb")))
    assert paths, f"no notebooks in {folder}"
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.write(fill(nb, answers_by_notebook.get(os.path.basename(path)[:-len(".ipynb")], {})), path)


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- the Assignments tab ---------------------------------------------------------------------

def refresh_until(page, pattern, timeout, what):
    """Click the Assignments tab's refresh button until the submitted list's text matches pattern."""
    submitted = page.locator("#submitted_assignments_list")
    deadline = time.time() + timeout
    while time.time() < deadline:
        page.locator("#refresh_assignments_list").click()
        with contextlib.suppress(Exception):
            expect(submitted).to_contain_text(pattern, timeout=5_000)
            return
        time.sleep(3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; the list shows:\n"
                         + submitted.inner_text())


def submit_in_browser(page, hub, name):
    """Click Submit on the fetched assignment; return the new inbound folder once the tab lists it."""
    before = set(inbound_folders(hub, name))
    page.locator("#fetched_assignments_list").get_by_role("button", name="Submit").first.click()
    new = wait_until(lambda: sorted(set(inbound_folders(hub, name)) - before), 120, f"{name}'s submission")
    assert len(new) == 1, new
    expect(page.locator("#submitted_assignments_list")).to_contain_text(stamp_of(new[0]), timeout=60_000)
    return new[0]


def fetch_feedback_in_browser(page, stamp):
    """Wait for the submission's feedback to be offered, click Fetch Feedback, wait for "(view feedback)"."""
    offered = re.compile(re.escape(stamp) + r"\s*\(feedback available to fetch\)")
    refresh_until(page, offered, GRADING_TIMEOUT, f"feedback of the submission of {stamp}")
    page.locator("#submitted_assignments_list").get_by_role("button", name="Fetch Feedback").first.click()
    expect(page.locator("#submitted_assignments_list")).to_contain_text(
        re.compile(re.escape(stamp) + r"\s*\(view feedback\)"), timeout=120_000)


# -- the hub, the release, the student ----------------------------------------------------------

@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("jupyterhub_feedback"))
    course = os.path.join(base, "course")
    try:
        with running_hub(base, MLE_GRADING_SERVICE="1", MLE_FEEDBACK_PER_HOUR=str(PER_HOUR),
                         MLE_FEEDBACK_BEFORE_DEADLINE="diagnostics") as info:
            assert info["course"] == course
            info["base"] = base
            yield info
    finally:
        # The hub stops its services when it stops; a service it could not stop in time goes here.
        for pid in service_pids(course):
            stop_by_pid(pid)


@pytest.fixture(scope="module")
def released(hub):
    """The instructor generates and releases the assignment (nbgrader, in the course directory)."""
    home = os.path.join(hub["base"], "home", "instructor")
    os.makedirs(home)
    flags = (f"--Exchange.root={hub['exchange']}", f"--CourseDirectory.course_id={COURSE_ID}")
    run_steps(hub["base"], [(hub["course"], home, ("generate_assignment", ASSIGNMENT_ID, "--force", *flags)),
                            (hub["course"], home, ("release_assignment", ASSIGNMENT_ID, *flags))])
    return hub


@pytest.fixture(scope="module")
def browser(hub):
    with loopback_browser(hub["origin"]) as browser:
        yield browser


@pytest.fixture(scope="module")
def alice(browser, released):
    page = log_in(browser, released, "alice")
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def facts():
    """What one test found that a later one checks (the tests run in order)."""
    return {}


# -- the tests ----------------------------------------------------------------------------------

def test_only_the_local_test_hub_grades_inbound_folders_whatever_account_owns_them():
    def command(profile):
        c = load_hub_config(MLE_GRADING_SERVICE="1", MLE_HUB_PROFILE=profile, MLE_COURSE_ROOT="/home/prof/course",
                            MLE_COURSE_PYTHON=sys.executable)
        (service,) = [s for s in c.JupyterHub.services if s["name"] == "grading-service"]
        return service["command"]
    # Its servers all run as the hub's own user: checking owners there would refuse every submission.
    assert "--no-check-owner" in command("local-test")
    # With unix accounts a folder named for a student but owned by another is refused.
    assert "--no-check-owner" not in command("production") and "--no-check-owner" not in command("tljh")


def test_the_hub_starts_the_grading_service(hub):
    pids = wait_until(lambda: service_pids(hub["course"]), 60, "the grading service to start")
    assert len(pids) == 1, pids
    argv = cmdline(pids[0])
    assert argv[argv.index("--per-hour") + 1] == str(PER_HOUR)
    assert argv[argv.index("--before-deadline") + 1] == "diagnostics"
    assert argv[argv.index("--exchange") + 1] == hub["exchange"]


def test_a_submission_from_the_assignments_tab_gets_its_feedback_while_the_student_is_still_logged_in(
        hub, alice, facts):
    alice.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    alice.get_by_role("menuitem", name="Assignment List").click()
    released_list = alice.locator("#released_assignments_list")
    expect(released_list).to_contain_text(ASSIGNMENT_ID, timeout=60_000)
    released_list.get_by_role("button", name="Fetch").click()
    expect(alice.locator("#fetched_assignments_list")).to_contain_text(ASSIGNMENT_ID, timeout=60_000)
    write_answers(os.path.join(hub["homes"], "alice", ASSIGNMENT_ID), answers(hub["course"], with_mistake=True))

    folder = submit_in_browser(alice, hub, "alice")
    clicked = time.time()
    fetch_feedback_in_browser(alice, stamp_of(folder))
    facts["first_feedback_seconds"] = time.time() - clicked
    print(f"grading service on the hub: alice's feedback offered and fetched {facts['first_feedback_seconds']:.0f} s "
          "after she clicked Submit")
    save_screenshot(alice, "hub-student-feedback-fetched")
    facts["alice_first"] = folder

    # The service graded exactly this submission, once, with the configured visibility. It releases
    # the feedback before it records the grading, so the student can fetch a moment before the record.
    subs, gradings = journal_once_graded(hub["course"], folder)
    assert [(g["folder"], g["visibility"]) for g in gradings] == [(folder, "diagnostics")]
    assert subs[folder]["state"] == "graded"
    pages = feedback_pages(hub, "alice", stamp_of(folder))
    notebooks = {os.path.basename(p)[:-len(".ipynb")]
                 for p in glob.glob(os.path.join(hub["course"], "source", ASSIGNMENT_ID, "*.ipynb"))}
    assert set(pages) == notebooks
    # Diagnostics: every behaviour passed or "not yet" with its diagnosis; only the mistake's notebook fails.
    assert "not yet" in pages[MISTAKE.notebook] and "sum" in pages[MISTAKE.notebook]
    assert all("passed:" in text and "not yet" not in text for nb, text in pages.items() if nb != MISTAKE.notebook)
    hidden = hidden_test_lines(hub["course"])
    assert hidden
    for nb, text in pages.items():
        assert "Score" not in text and "points:" not in text.lower(), nb
        assert not [line for line in hidden if line in text], nb

    # The student, still logged in, opens the page her server now serves.
    page = alice.context.new_page()
    page.goto(f"{hub['origin']}/user/alice/files/{ASSIGNMENT_ID}/feedback/{stamp_of(folder)}/{MISTAKE.notebook}.html")
    expect(page.locator("body")).to_contain_text("not yet")
    save_screenshot(page, "hub-student-feedback-page")
    page.close()


def test_a_second_submission_beyond_the_hourly_limit_is_told_when_it_will_be_graded(hub, alice, facts):
    write_answers(os.path.join(hub["homes"], "alice", ASSIGNMENT_ID), answers(hub["course"], with_mistake=False))
    folder = submit_in_browser(alice, hub, "alice")
    fetch_feedback_in_browser(alice, stamp_of(folder))
    save_screenshot(alice, "hub-student-feedback-deferred")
    facts["alice_second"] = folder

    subs, gradings = journal(hub["course"])
    (first,) = gradings   # still the one grading: the limit is one an hour
    assert subs[folder]["state"] == "deferred"
    assert subs[folder]["not_before"] == pytest.approx(first["finished"] + 3600)
    pages = feedback_pages(hub, "alice", stamp_of(folder))
    assert len(pages) == len(feedback_pages(hub, "alice", stamp_of(facts["alice_first"])))
    for nb, text in pages.items():
        assert f"will be graded at {utc(first['finished'] + 3600)}" in text, (nb, text)
        assert "passed:" not in text and "not yet" not in text, nb   # a note, not a grading


def test_killed_mid_queue_and_restarted_by_the_hub_every_submission_is_graded_exactly_once(hub, facts):
    base, course, exchange = hub["base"], hub["course"], hub["exchange"]
    students = {name: Student(base, name, exchange) for name in ("bob", "carol")}
    run_steps(base, [s.step("fetch_assignment", ASSIGNMENT_ID) for s in students.values()])
    students["bob"].write_answers(answers(course, with_mistake=False))
    students["carol"].write_answers(answers(course, with_mistake=True))
    run_steps(base, [s.step("submit", ASSIGNMENT_ID) for s in students.values()])
    queued = {name: inbound_folders(hub, name)[0] for name in students}

    # Kill the service while it grades one of them, the other waiting behind it.
    (service,) = service_pids(course)

    def grading_under_way():
        subs = journal(course)[0]
        cut = [f for f in queued.values() if subs.get(f, {}).get("state") == "grading"]
        graders = [p for p in children(service) if "autograde" in cmdline(p)]
        return cut and graders and (cut, graders)
    (cut,), graders = wait_until(grading_under_way, 300, "the service's nbgrader autograde of bob or carol")
    # Until autograde runs the student's notebook: its kernel is a process below nbgrader.
    wait_until(lambda: set(descendants(service)) - set(graders), 120, "autograde to start a kernel")
    subs = journal(course)[0]
    assert subs[cut]["state"] == "grading"
    (waiting,) = [f for f in queued.values() if f != cut]
    assert subs[waiting]["state"] == "queued"
    grading_processes = descendants(service)   # nbgrader, its kernel, the sandbox
    assert set(graders) <= set(grading_processes)
    print("killing the grading service during autograde; its processes:",
          "; ".join(" ".join(cmdline(p)[:3]) for p in grading_processes))
    os.kill(service, signal.SIGKILL)
    # What it ran dies with it: nothing half-finished keeps writing the gradebook.
    wait_until(lambda: not [p for p in grading_processes if running(p)], 30,
               "every process of the killed service's grading to stop")

    restarted = wait_until(lambda: [p for p in service_pids(course) if p != service], RESTART_TIMEOUT,
                           "JupyterHub to start the grading service again")
    assert len(restarted) == 1
    assert re.search(r"Service grading-service exited with status -9", open(hub["log"]).read())
    wait_until(lambda: all(journal(course)[0].get(f, {}).get("state") == "graded" for f in queued.values()),
               GRADING_TIMEOUT, "bob's and carol's submissions to be graded after the restart")

    subs, gradings = journal(course)
    inbound = inbound_folders(hub)
    assert sorted(subs) == inbound   # none lost: every submission is in the journal
    graded = [g["folder"] for g in gradings]
    assert sorted(graded) == sorted([facts["alice_first"], *queued.values()])   # each once, none twice
    assert subs[cut]["attempts"] == 2   # the interrupted grading was run again, from the start
    assert all(subs[f]["attempts"] == 1 for f in (waiting, facts["alice_first"]))
    assert subs[facts["alice_second"]]["state"] == "deferred"   # still waiting for its hour, not lost
    assert subs[facts["alice_second"]]["attempts"] == 0

    # What the operator sees.
    proc = subprocess.run([sys.executable, "-m", "mle_grading.operations.grading_service", "--course", course,
                           "--exchange", exchange, "--course-id", COURSE_ID, "--status"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    status = {line[:60].strip(): line[60:].split()[0] for line in proc.stdout.splitlines()[1:]}
    assert status == {f[:60]: subs[f]["state"] for f in inbound}, proc.stdout

    # The gradebook holds, for each student, the one submission the service graded.
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc
    from course_copy import scores_by_cell
    with Gradebook(f"sqlite:///{os.path.join(course, 'gradebook.db')}") as gb:
        stamps = {s.student.id: s.timestamp for s in gb.find_assignment(ASSIGNMENT_ID).submissions}
    expected = {"alice": facts["alice_first"], **queued}
    # the service's time of each submission (the kernel's), never the one in its folder name ...
    assert stamps == {name: parse_utc(subs[f]["stamp"]).replace(tzinfo=None) for name, f in expected.items()}
    # ... which an honest `nbgrader submit` wrote within seconds of it
    for name, f in expected.items():
        assert abs((stamps[name] - parse_utc(stamp_of(f)).replace(tzinfo=None)).total_seconds()) < 120, name
    for name, mistaken in (("alice", True), ("bob", False), ("carol", True)):
        lost = {cell for (nb, cell), (score, top) in scores_by_cell(course, name).items() if score != top}
        assert lost == (set(MISTAKE.fails) if mistaken else set()), name


def test_the_browser_made_no_request_outside_the_hub(alice):
    assert alice.context.blocked_requests == []
