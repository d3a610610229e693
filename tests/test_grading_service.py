"""Feedback on submit (mle_grading.operations.grading_service).

The policy (rate limit, newest submission, deadline, restart) is checked on the
journal alone with a made-up clock, fast. Then the service runs for real, as a
separate process, on a real nbgrader exchange with four students who submit with
`nbgrader submit` and fetch with `nbgrader fetch_feedback` (the pattern of
tests/test_exchange_workflow.py); it is killed with SIGKILL while grading and
started again, and every submission must be graded exactly once.
"""
import glob
import json
import os
import pwd
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from course_copy import FIRST_ASSIGNMENT as ASSIGNMENT_ID
from mle_grading.operations.demo_class import solutions
from mle_grading.operations.grading_service import (Journal, Policy, diagnostics_page, plan, ready_submissions,
                                                     utc_epoch)
from demo_submissions import all_mistakes

from course_copy import scores_by_cell
from test_exchange_workflow import (COURSE_ID, SOLUTION_MARKER, Student, clean_env, course_with_exchange,
                                    run_steps, text_of)

# -- the policy, on the journal alone ------------------------------------------

T0 = utc_epoch("2026-12-01 10:00:00 UTC")


def stamp(seconds):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(T0 + seconds))


def submit(journal, student, at, seen=None, assignment="mle_losses"):
    folder = f"{student}+{assignment}+{stamp(at)}+r{at}"
    journal.add(folder, student, assignment, stamp(at), T0 + at, T0 + (at if seen is None else seen))
    return folder


def grade(journal, sub, at):
    journal.start(sub["folder"])
    journal.finish(sub["folder"], sub["student"], T0 + at, T0 + at + 5, "diagnostics")


def test_a_student_beyond_the_rate_limit_is_deferred_until_a_grading_leaves_the_hour(tmp_path):
    journal, policy = Journal(str(tmp_path / "j.sqlite")), Policy(per_hour=2)
    told = []
    for at in (0, 100):
        submit(journal, "ann", at)
        sub = plan(journal, policy, T0 + at, notify=lambda s, free: told.append(free))
        assert sub["student"] == "ann"
        grade(journal, sub, at)
    third = submit(journal, "ann", 200)
    assert plan(journal, policy, T0 + 200, notify=lambda s, free: told.append(free)) is None
    (row,) = journal.rows("folder = ?", (third,))
    # The first feedback was given at T0 + 5: the hour is counted from there.
    assert row["state"] == "deferred" and row["not_before"] == T0 + 5 + 3600
    assert told == [T0 + 3605]
    assert plan(journal, policy, T0 + 3604) is None and told == [T0 + 3605]  # told once
    assert plan(journal, policy, T0 + 3606)["folder"] == third


def test_another_student_is_not_held_up_by_a_rate_limited_one(tmp_path):
    journal, policy = Journal(str(tmp_path / "j.sqlite")), Policy(per_hour=1)
    submit(journal, "ann", 0)
    grade(journal, plan(journal, policy, T0), 0)
    submit(journal, "ann", 10)
    bob = submit(journal, "bob", 20)
    assert plan(journal, policy, T0 + 30)["folder"] == bob


def test_only_the_newest_waiting_submission_of_a_student_is_graded(tmp_path):
    journal, policy = Journal(str(tmp_path / "j.sqlite")), Policy()
    first, second = submit(journal, "ann", 0), submit(journal, "ann", 50)
    assert plan(journal, policy, T0 + 60)["folder"] == second
    assert journal.rows("folder = ?", (first,))[0]["state"] == "superseded"


def test_a_submission_after_the_deadline_is_not_graded_when_one_before_it_was(tmp_path):
    journal = Journal(str(tmp_path / "j.sqlite"))
    policy = Policy(deadline=T0 + 1000, grace=60)
    on_time = submit(journal, "ann", 900)
    grade(journal, plan(journal, policy, T0 + 900), 900)
    late = submit(journal, "ann", 1100)
    assert plan(journal, policy, T0 + 2000) is None
    states = {r["folder"]: r["state"] for r in journal.rows()}
    assert states == {on_time: "graded", late: "late"}


def test_a_students_only_submission_after_the_deadline_is_graded_and_counts_as_late(tmp_path):
    journal = Journal(str(tmp_path / "j.sqlite"))
    policy = Policy(deadline=T0 + 1000, grace=60)
    late = submit(journal, "bob", 1100)
    seen_late = submit(journal, "cy", 500, seen=2000)   # made before, first seen long after the deadline
    chosen = plan(journal, policy, T0 + 2000)
    assert chosen["folder"] in (late, seen_late) and policy.too_late(chosen)
    assert all(policy.too_late(r) for r in journal.rows())


def test_each_watched_assignment_has_its_own_deadline(tmp_path):
    journal = Journal(str(tmp_path / "j.sqlite"))
    policy = Policy(grace=60, deadlines={"mle_losses": T0 + 1000, "mle_more": T0 + 5000})
    on_time = {a: submit(journal, "ann", 900, assignment=a) for a in ("mle_losses", "mle_more")}
    for _ in on_time:
        grade(journal, plan(journal, policy, T0 + 900), 900)
    after = {a: submit(journal, "ann", 2000, assignment=a) for a in ("mle_losses", "mle_more")}
    assert plan(journal, Policy(per_hour=10, grace=60, deadlines=policy.deadlines), T0 + 2000)["folder"] \
        == after["mle_more"]
    assert journal.rows("folder = ?", (after["mle_losses"],))[0]["state"] == "late"


def test_on_a_cluster_gradings_under_way_count_against_the_rate_limit(tmp_path):
    journal, policy = Journal(str(tmp_path / "j.sqlite")), Policy(per_hour=1)
    first = submit(journal, "ann", 0, assignment="mle_losses")
    submit(journal, "ann", 1, assignment="mle_more")
    bob = submit(journal, "bob", 2)
    # Started at once on a cluster, ann would be graded twice within the hour.
    assert [s["folder"] for s in ready_submissions(journal, policy, T0 + 10)] == [first, bob]
    journal.start(first)
    journal.start(bob)
    assert ready_submissions(journal, policy, T0 + 20, busy={("ann", "mle_losses"), ("bob", "mle_losses")}) == []
    grade(journal, journal.rows("folder = ?", (first,))[0], 30)
    assert ready_submissions(journal, policy, T0 + 40) == []   # now deferred by the limit, as one at a time


def test_a_restart_grades_again_only_what_was_interrupted(tmp_path):
    path = str(tmp_path / "j.sqlite")
    journal, policy = Journal(path), Policy()
    done, cut = submit(journal, "ann", 0), submit(journal, "bob", 0)
    grade(journal, plan(journal, policy, T0), 0)
    journal.start(plan(journal, policy, T0 + 10)["folder"])   # the service dies here, mid-grading
    restarted = Journal(path)
    restarted.interrupted_to_queue()
    assert plan(restarted, policy, T0 + 20)["folder"] == cut
    assert {r["folder"]: r["state"] for r in restarted.rows()} == {done: "graded", cut: "queued"}


def test_a_folder_named_for_a_student_but_owned_by_another_account_is_refused_not_graded(tmp_path):
    from mle_grading.operations.grading_service import GradingService
    inbound = tmp_path / "exchange" / COURSE_ID / "inbound"
    me = pwd.getpwuid(os.getuid()).pw_name
    stamp = "2026-12-01 10:00:00.000000 UTC"
    for student in (me, "no-such-account-here"):
        (inbound / f"{student}+{ASSIGNMENT_ID}+{stamp}").mkdir(parents=True)
    os.symlink(tmp_path, inbound / f"linked+{ASSIGNMENT_ID}+{stamp}")
    service = GradingService(str(tmp_path), str(tmp_path / "exchange"), COURSE_ID, [ASSIGNMENT_ID], Policy(),
                             state=str(tmp_path / "j.sqlite"), log=lambda text: None)
    service.scan(T0)
    states = {r["student"]: (r["state"], r["note"] or "") for r in service.journal.rows()}
    assert states[me][0] == "queued"                        # owned by the account it is named for
    assert states["no-such-account-here"][0] == "failed" and "refused" in states["no-such-account-here"][1]
    assert states["linked"][0] == "failed" and "not a folder" in states["linked"][1]


def test_a_fifo_or_link_as_the_submission_secret_cannot_stall_the_service(tmp_path):
    from mle_grading.operations.grading_service import read_small_regular_file
    os.mkfifo(tmp_path / "fifo")
    os.symlink("/dev/zero", tmp_path / "zero")
    (tmp_path / "huge").write_text("x" * 10_000)
    (tmp_path / "secret").write_text("abc123")
    for name in ("fifo", "zero", "huge"):
        with pytest.raises(OSError):
            read_small_regular_file(str(tmp_path / name))
    assert read_small_regular_file(str(tmp_path / "secret")) == "abc123"


def test_diagnostics_feedback_shows_behaviours_and_diagnoses_but_no_points():
    report = {"checks": {"mse_seed_value": None,
                         "mse_matches_torch": "`mse` on inputs of shape (7,): this is the <b>sum</b>."},
              "hints": {"mse_matches_torch": "`mse` on inputs of shape (7,): this is the <b>sum</b>."},
              "problems": []}
    page = diagnostics_page("01_gaussian_mse", "2026-12-01 10:00:00 UTC", report, T0)
    assert "passed: mse on the notebook&#x27;s demonstration data" in page
    assert "this is the &lt;b&gt;sum&lt;/b&gt;." in page
    assert "Score" not in page and "points:" not in page.lower()


# -- the service, for real ------------------------------------------------------

MISTAKE = next(m for m in all_mistakes() if m.student == "mse-sum-not-mean")
SERVICE_TIMEOUT = 600


def read_journal(state):
    db = sqlite3.connect(state, timeout=30)
    try:
        subs = {r[0]: {"student": r[1], "state": r[2], "attempts": r[3], "note": r[4]} for r in db.execute(
            "SELECT folder, student, state, attempts, note FROM submissions")}
        gradings = [r[0] for r in db.execute("SELECT folder FROM gradings")]
    except sqlite3.OperationalError:  # not created yet
        return {}, []
    finally:
        db.close()
    return subs, gradings


def wait_until(predicate, timeout, what, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the service exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


class Service:
    def __init__(self, course, exchange, state, log):
        self.cmd = [sys.executable, "-m", "mle_grading.operations.grading_service", "--course", course, "--exchange", exchange,
                    "--course-id", COURSE_ID, "--assignment", ASSIGNMENT_ID, "--per-hour", "1",
                    "--rate-window", "180", "--poll", "0.5", "--state", state,
                    "--no-check-owner"]   # the test's students submit as root
        self.log, self.proc = log, None

    def start(self):
        env = clean_env()
        env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen(self.cmd, env=env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self.proc

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)  # the service and the nbgrader it runs, at once
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("grading_service"))
    course, exchange, instructor_home = course_with_exchange(base)
    students = {name: Student(base, name, exchange) for name in ("alice", "bob", "carol", "dave")}
    run_steps(base, [(course, instructor_home, ("generate_assignment", ASSIGNMENT_ID, "--force")),
                     (course, instructor_home, ("release_assignment", ASSIGNMENT_ID))]
              + [s.step("fetch_assignment", ASSIGNMENT_ID) for s in students.values()])
    source_dir = os.path.join(course, "source", ASSIGNMENT_ID)
    notebooks = [os.path.basename(p)[:-len(".ipynb")] for p in students["alice"].notebooks()]
    correct = {nb: {gid: SOLUTION_MARKER.sub("", src) for gid, src in solutions(source_dir, nb).items()}
               for nb in notebooks}
    with_mistake = {nb: dict(a) for nb, a in correct.items()}
    with_mistake[MISTAKE.notebook][MISTAKE.cell] = MISTAKE.source
    state, log = os.path.join(base, "service.sqlite"), os.path.join(base, "service.log")
    service = Service(course, exchange, state, log)
    facts = {"course": course, "exchange": exchange, "students": students, "state": state, "log": log}
    try:
        # 1. alice (right) and bob (one mistake) submit; the service grades both and releases feedback.
        students["alice"].write_answers(correct)
        students["bob"].write_answers(with_mistake)
        run_steps(base, [students["alice"].step("submit", ASSIGNMENT_ID),
                         students["bob"].step("submit", ASSIGNMENT_ID)])
        submitted_at = time.time()
        proc = service.start()
        graded = lambda *who: lambda: sum(  # noqa: E731
            s["state"] == "graded" and s["student"] in who for s in read_journal(state)[0].values()) == len(who)
        wait_until(graded("alice", "bob"), SERVICE_TIMEOUT, "alice's and bob's first gradings", proc)
        facts["two_gradings_seconds"] = time.time() - submitted_at
        run_steps(base, [students[n].step("fetch_feedback", ASSIGNMENT_ID) for n in ("alice", "bob")])
        facts["first_feedback"] = {n: fetched(students[n]) for n in ("alice", "bob")}

        # 2. bob fixes his mistake at once: beyond the rate limit (1 an hour), he is told when.
        students["bob"].write_answers(correct)
        run_steps(base, [students["bob"].step("submit", ASSIGNMENT_ID)])
        wait_until(lambda: any(s["state"] == "deferred" for s in read_journal(state)[0].values()), 60,
                   "bob's second submission to be deferred", proc)
        run_steps(base, [students["bob"].step("fetch_feedback", ASSIGNMENT_ID)])
        facts["deferred_feedback"] = fetched(students["bob"])

        # 3. carol and dave submit; the service is killed while grading, then started again.
        students["carol"].write_answers(correct)
        students["dave"].write_answers(with_mistake)
        run_steps(base, [students["carol"].step("submit", ASSIGNMENT_ID),
                         students["dave"].step("submit", ASSIGNMENT_ID)])
        wait_until(lambda: any(s["state"] == "grading" and s["student"] in ("carol", "dave")
                               for s in read_journal(state)[0].values()), 120, "grading of carol or dave", proc)
        time.sleep(2)  # well inside the grading (autograde takes longer)
        service.kill()
        facts["killed_during"] = [f for f, s in read_journal(state)[0].items() if s["state"] == "grading"]
        proc = service.start()
        wait_until(lambda: sum(s["state"] == "graded" for s in read_journal(state)[0].values()) == 5,
                   SERVICE_TIMEOUT, "every submission to be graded after the restart", proc)
        run_steps(base, [students[n].step("fetch_feedback", ASSIGNMENT_ID) for n in ("bob", "carol", "dave")])
        facts["final_feedback"] = {n: fetched(students[n]) for n in ("bob", "carol", "dave")}
    finally:
        service.stop()
    facts["journal"] = read_journal(state)
    facts["inbound"] = sorted(os.listdir(os.path.join(exchange, COURSE_ID, "inbound")))
    print("grading service: alice and bob graded and released", round(facts["two_gradings_seconds"], 1),
          "s after submitting")
    return facts


def fetched(student):
    """{timestamp: {notebook: text}} of the feedback fetch_feedback put in the student's copy."""
    found = {}
    for path in glob.glob(os.path.join(student.assignment, "feedback", "*", "*.html")):
        found.setdefault(os.path.basename(os.path.dirname(path)), {})[os.path.basename(path)[:-5]] = \
            text_of(open(path).read())
    return found


def test_feedback_of_each_submission_is_released_and_fetched_by_its_student(served):
    for name in ("alice", "bob"):
        (pages,) = served["first_feedback"][name].values()
        assert len(pages) == 4, (name, sorted(pages))
    alice = served["first_feedback"]["alice"]
    assert all("not yet" not in text for pages in alice.values() for text in pages.values())


def test_feedback_before_the_deadline_names_the_mistake_but_shows_no_points(served):
    (bob,) = served["first_feedback"]["bob"].values()
    page = bob[MISTAKE.notebook]
    assert "not yet" in page and "sum" in page
    for pages in served["first_feedback"].values():
        for text in next(iter(pages.values())).values():
            assert "Score:" not in text and "HIDDEN TESTS" not in text and "run_trusted_check" not in text


def test_a_submission_beyond_the_rate_limit_is_told_when_it_will_be_graded(served):
    pages = served["deferred_feedback"]
    notes = [text for stamp_pages in pages.values() for text in stamp_pages.values() if "will be graded at" in text]
    assert len(notes) == 4  # one note per notebook of the deferred submission
    assert "the limit" in notes[0]


def test_killed_mid_queue_and_restarted_every_submission_is_graded_exactly_once(served):
    subs, gradings = served["journal"]
    assert sorted(subs) == served["inbound"] and len(subs) == 5
    assert sorted(gradings) == sorted(subs)  # one finished grading per submission, none twice
    assert all(s["state"] == "graded" for s in subs.values())
    cut = served["killed_during"]   # one or both of carol's and dave's: the service grades several at once
    assert cut and all(subs[f]["attempts"] == 2 for f in cut)
    assert all(s["attempts"] == 1 for f, s in subs.items() if f not in cut)


def test_the_gradebook_holds_each_students_latest_submission(served):
    course = served["course"]
    for name in ("alice", "bob", "carol"):
        assert all(score == top for score, top in scores_by_cell(course, name).values()), name
    dave = scores_by_cell(course, "dave")
    lost = {cell for (nb, cell), (score, top) in dave.items() if score != top}
    assert lost == set(MISTAKE.fails)


def test_the_deferred_submission_gets_its_real_feedback_after_the_wait(served):
    bob = served["final_feedback"]["bob"]
    assert len(bob) == 2  # his first submission and his second
    latest = bob[max(bob)]
    assert all("will be graded at" not in t and "not yet" not in t for t in latest.values())


def test_jupyterhub_starts_the_service_with_arguments_it_accepts(tmp_path, monkeypatch, capsys):
    from traitlets.config import Config
    from mle_grading.operations import grading_service
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    (course).mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    exchange.mkdir()
    for key, value in {"MLE_GRADING_SERVICE": "1", "MLE_HUB_PROFILE": "local-test", "MLE_COURSE_ROOT": str(course),
                       "MLE_EXCHANGE_ROOT": str(exchange), "MLE_HUB_STATE_DIR": str(tmp_path / "hub"),
                       "MLE_FEEDBACK_PER_HOUR": "5",
                       # the hub starts the service with the course's Python, which a bare course lacks
                       "MLE_COURSE_PYTHON": sys.executable}.items():
        monkeypatch.setenv(key, value)
    config = Config()
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "jupyterhub",
                        "jupyterhub_config.py")
    exec(compile(open(path).read(), path, "exec"), {"get_config": lambda: config, "__file__": path})
    (service,) = [s for s in config.JupyterHub.services if s["name"] == "grading-service"]
    command = service["command"]
    assert command[1:3] == ["-m", "mle_grading.operations.grading_service"] and "5" in command
    assert grading_service.main(command[3:] + ["--status", "--state", str(tmp_path / "j.sqlite")]) == 0
    assert "submission" in capsys.readouterr().out


@pytest.mark.parametrize("option, value, said", [("--workers", "0", "--workers must be at least 1"),
                                                 ("--per-hour", "0", "--per-hour must be at least 1"),
                                                 ("--unix-account", "jupyter-{user}", "must name only {username}")])
def test_a_service_started_with_an_impossible_setting_says_which_and_starts_nothing(tmp_path, capsys, option, value,
                                                                                    said):
    from mle_grading.operations import grading_service
    with pytest.raises(SystemExit) as stopped:
        grading_service.main(["--course", str(tmp_path), "--exchange", str(tmp_path), option, value])
    assert stopped.value.code == 2
    assert said in capsys.readouterr().err
