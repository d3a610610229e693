"""Feedback on submit: a grading service that watches nbgrader's exchange.

    python -m mle_grading.operations.grading_service --course COURSE_ROOT --exchange EXCHANGE_ROOT
        [--course-id ID] [--assignment A ...] [--per-hour 3] [--before-deadline diagnostics]
        [--after-deadline full] [--deadline "2026-12-24 23:59 UTC"] [--state FILE] [--status]

Every few seconds it looks at <exchange>/<course id>/inbound/ for new submissions
(`student+assignment+timestamp[+random]` folders written by `nbgrader submit`) and
grades each as it comes, one at a time, with the course's own nbgrader
configuration, so the same sandbox and trusted checks as every other grading:

1. the submission is copied into submitted/<student>/<assignment>/ (that folder
   exactly, symbolic links left out: never what a link points to);
2. `nbgrader autograde <assignment> --student <student> --force`;
3. `nbgrader generate_feedback` for that student, then what students may see
   before the deadline (--before-deadline): `full` feedback, `diagnostics` (each
   behaviour, passed or failed, with the grader's diagnosis; no points), or
   `receipt` (only that the submission was received and graded);
4. `nbgrader release_feedback` for that student: the Assignments tab's "Fetch
   Feedback" shows it for that very submission.

Rules:
- Rate limit: at most --per-hour gradings per student in any hour (--rate-window
  seconds). A submission beyond it is deferred, and the student is told when it will
  be graded: a note is released as that submission's feedback.
- Only a student's newest waiting submission is graded; older waiting ones are
  superseded (the newest is the one that counts, as with `nbgrader collect`).
- The deadline (--deadline, else the assignment's due date in the gradebook): a
  submission stamped after it, or first seen after it (--grace seconds; the stamp is
  written by the student), is never graded by the service, so the gradebook keeps
  the latest submission before the deadline. Feedback released after the deadline
  follows --after-deadline.
- Restarts: every submission and every state change is written to a SQLite journal
  (--state, default <course>/grading_service.sqlite) before anything else happens.
  A restarted service skips what is done and re-runs only a grading that was
  interrupted before it finished.
"""
import argparse
import calendar
import contextlib
import datetime
import glob
import html
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time

from mle_grading import ASSIGNMENTS
from mle_grading.nbgrader_integration import run as nbgrader_run
from mle_grading.nbgrader_integration.submission_files import why_not_own_file

VISIBILITY = ("full", "diagnostics", "receipt")
PR_SET_PDEATHSIG = 1


class Interrupted(RuntimeError):
    """nbgrader was stopped by a signal: the grading did not fail, it did not finish."""


def _die_with_parent():
    # nbgrader must not outlive a service that was killed: the restarted service grades it again.
    import ctypes
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
FOLDER = re.compile(r"^(?P<student>[^+]+)\+(?P<assignment>[^+]+)\+(?P<stamp>[^+]+)(\+[^+]*)?$")
WAITING = ("queued", "deferred")


def utc_epoch(stamp):
    """Seconds since the epoch of an nbgrader timestamp ('2026-12-02 01:02:03.123456 UTC')."""
    from nbgrader.utils import parse_utc
    when = parse_utc(stamp)
    return calendar.timegm(when.utctimetuple()) + when.microsecond / 1e6


def when(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- the journal ---------------------------------------------------------------

class Journal:
    """Every submission the service has seen, its state, and every grading it finished."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS submissions (
                folder TEXT PRIMARY KEY, student TEXT NOT NULL, assignment TEXT NOT NULL,
                stamp TEXT NOT NULL, stamp_epoch REAL NOT NULL, first_seen REAL NOT NULL,
                state TEXT NOT NULL, not_before REAL, note TEXT DEFAULT '', attempts INTEGER DEFAULT 0);
            CREATE TABLE IF NOT EXISTS gradings (
                folder TEXT NOT NULL, student TEXT NOT NULL, started REAL NOT NULL, finished REAL NOT NULL,
                visibility TEXT NOT NULL);
        """)

    def add(self, folder, student, assignment, stamp, stamp_epoch, now):
        self.db.execute("INSERT OR IGNORE INTO submissions (folder, student, assignment, stamp, stamp_epoch, "
                        "first_seen, state) VALUES (?, ?, ?, ?, ?, ?, 'queued')",
                        (folder, student, assignment, stamp, stamp_epoch, now))

    def known(self):
        return {row[0] for row in self.db.execute("SELECT folder FROM submissions")}

    def set_state(self, folder, state, note=None, not_before=None):
        self.db.execute("UPDATE submissions SET state = ?, note = COALESCE(?, note), not_before = ? "
                        "WHERE folder = ?", (state, note, not_before, folder))

    def rows(self, where="1", args=()):
        cur = self.db.execute(f"SELECT folder, student, assignment, stamp, stamp_epoch, first_seen, state, "
                              f"not_before, note, attempts FROM submissions WHERE {where} "
                              f"ORDER BY first_seen, stamp_epoch", args)
        keys = [d[0] for d in cur.description]
        return [dict(zip(keys, r)) for r in cur.fetchall()]

    def start(self, folder):
        self.db.execute("UPDATE submissions SET state = 'grading', attempts = attempts + 1 WHERE folder = ?",
                        (folder,))

    def finish(self, folder, student, started, finished, visibility):
        with self.transaction():
            self.db.execute("INSERT INTO gradings VALUES (?, ?, ?, ?, ?)",
                            (folder, student, started, finished, visibility))
            self.db.execute("UPDATE submissions SET state = 'graded', not_before = NULL WHERE folder = ?",
                            (folder,))

    def gradings_since(self, student, since):
        """When the student's feedback of each grading finished since then (the rate limit counts these)."""
        return [r[0] for r in self.db.execute(
            "SELECT finished FROM gradings WHERE student = ? AND finished > ? ORDER BY finished", (student, since))]

    def interrupted_to_queue(self):
        """A grading that was under way when the service stopped never finished: grade it again."""
        self.db.execute("UPDATE submissions SET state = 'queued' WHERE state = 'grading'")

    @contextlib.contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


# -- the policy ----------------------------------------------------------------

class Policy:
    def __init__(self, per_hour=3, window=3600.0, deadline=None, grace=300.0):
        if per_hour < 1:
            raise ValueError("--per-hour must be at least 1")
        self.per_hour, self.window, self.deadline, self.grace = per_hour, window, deadline, grace

    def too_late(self, sub):
        return self.deadline is not None and (sub["stamp_epoch"] > self.deadline
                                              or sub["first_seen"] > self.deadline + self.grace)

    def free_at(self, journal, student, now):
        """When the student may next be graded under the rate limit (now, or later)."""
        given = journal.gradings_since(student, now - self.window)
        if len(given) < self.per_hour:
            return now
        return given[len(given) - self.per_hour] + self.window


def plan(journal, policy, now, notify=None):
    """Settle every waiting submission's state; return the one to grade now, or None.

    notify(sub, free_at) is called when a submission is newly deferred by the rate limit.
    """
    waiting = journal.rows("state IN ('queued', 'deferred')")
    graded = {}
    for sub in journal.rows("state = 'graded'"):
        key = (sub["student"], sub["assignment"])
        graded[key] = max(graded.get(key, float("-inf")), sub["stamp_epoch"])
    newest = {}
    for sub in waiting:
        if policy.too_late(sub):
            journal.set_state(sub["folder"], "late", note=f"submitted after the deadline {when(policy.deadline)}")
            continue
        if sub["stamp_epoch"] <= graded.get((sub["student"], sub["assignment"]), float("-inf")):
            journal.set_state(sub["folder"], "superseded", note="a newer submission was graded already")
            continue
        key = (sub["student"], sub["assignment"])
        if key in newest:
            older, sub = sorted((newest[key], sub), key=lambda s: s["stamp_epoch"])
            journal.set_state(older["folder"], "superseded", note=f"a newer submission ({sub['stamp']}) came in")
        newest[key] = sub
    ready = []
    for sub in newest.values():
        free = policy.free_at(journal, sub["student"], now)
        if free > now:
            if sub["state"] != "deferred" or sub["not_before"] != free:
                journal.set_state(sub["folder"], "deferred", not_before=free,
                                  note=f"rate limit: graded at {when(free)}")
                if notify:
                    notify(sub, free)
        else:
            ready.append(sub)
    return min(ready, key=lambda s: s["first_seen"]) if ready else None


# -- feedback pages ------------------------------------------------------------

PAGE = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}}li{{margin:.3em 0;overflow-wrap:anywhere}}"
        ".pass{{color:#176b2c}}.fail{{color:#a1261b}}</style></head><body><h1>{title}</h1>{body}</body></html>")


def note_page(title, text):
    return PAGE.format(title=html.escape(title), body=f"<p>{html.escape(text)}</p>")


def diagnostics_page(notebook, stamp, report, deadline):
    """Which behaviours pass and the grader's diagnosis of each that does not; no points."""
    from mle_grading import checks
    items = []
    for grade_id, message in report.get("checks", {}).items():
        chk = checks.find(notebook, grade_id)
        behaviour = chk.behaviour if chk else grade_id
        if message is None:
            items.append(f"<li class='pass'>passed: {html.escape(behaviour)}</li>")
        else:
            items.append(f"<li class='fail'>not yet: {html.escape(behaviour)}<br>{html.escape(message)}</li>")
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in report.get("problems", []))
    later = f" after the deadline ({when(deadline)})" if deadline else " when the assignment is graded"
    body = (f"<p>Your submission of {html.escape(stamp)}, checked by the grader. Points are shown{later}.</p>"
            f"<ul>{''.join(items)}</ul>" + (f"<p>While grading:</p><ul>{problems}</ul>" if problems else ""))
    return PAGE.format(title=html.escape(f"{notebook}: feedback"), body=body)


def read_small_regular_file(path, limit=4096):
    """The text of a student-written file, read safely: a link, FIFO, device or huge file
    (one that would block or exhaust the service) raises OSError instead."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise OSError(f"{path} is not a small regular file")
        return os.read(fd, limit).decode("utf-8", "replace")
    finally:
        os.close(fd)


# -- the service ---------------------------------------------------------------

class GradingService:
    def __init__(self, course, exchange, course_id, assignments, policy, before="diagnostics", after="full",
                 state=None, poll=2.0, log=print, check_owner=True):
        self.course, self.exchange, self.course_id = course, exchange, course_id
        self.assignments, self.policy, self.before, self.after = set(assignments), policy, before, after
        self.poll, self.log = poll, log
        self.journal = Journal(state or os.path.join(course, "grading_service.sqlite"))
        self.inbound = os.path.join(exchange, course_id, "inbound")
        self.outbound_feedback = os.path.join(exchange, course_id, "feedback")
        self.stopping = False
        self.check_owner = check_owner

    def why_refused(self, path, student):
        """Why an inbound folder is not taken as this student's submission, or None.

        As nbgrader's collect with check_owner: a folder named for a student but owned
        by another account (or a link) is someone else's attempt to replace theirs.
        """
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            return "it is not a folder (a link?)"
        if not self.check_owner:
            return None
        try:
            uid = pwd.getpwnam(student).pw_uid
        except KeyError:
            return f"there is no account {student!r} to own it"
        if info.st_uid != uid:
            return f"it is named for {student} but owned by uid {info.st_uid}"
        return None

    # discovering
    def scan(self, now):
        known = self.journal.known()
        for path in sorted(glob.glob(os.path.join(self.inbound, "*"))):
            folder = os.path.basename(path)
            m = FOLDER.match(folder)
            if folder in known or not m or m["assignment"] not in self.assignments:
                continue
            refused = self.why_refused(path, m["student"])
            if refused:
                self.journal.add(folder, m["student"], m["assignment"], m["stamp"], float("inf"), now)
                self.journal.set_state(folder, "failed", note=f"refused: {refused}")
                self.log(f"refused submission {folder}: {refused}")
                continue
            try:
                stamp_epoch = utc_epoch(m["stamp"])
            except Exception:  # noqa: BLE001  (a stamp nbgrader would not write)
                self.journal.add(folder, m["student"], m["assignment"], m["stamp"], float("inf"), now)
                self.journal.set_state(folder, "failed", note="the submission's timestamp cannot be read")
                continue
            self.journal.add(folder, m["student"], m["assignment"], m["stamp"], stamp_epoch, now)
            self.log(f"new submission: {folder}")

    # telling the student
    def release_page(self, folder, page_for_notebook):
        """Write a page as the feedback of each notebook of one inbound submission (what fetch_feedback finds)."""
        from nbgrader.utils import notebook_hash
        src = os.path.join(self.inbound, folder)
        secret = read_small_regular_file(os.path.join(src, "submission_secret.txt"))
        os.makedirs(self.outbound_feedback, exist_ok=True)
        for nb_path in glob.glob(os.path.join(src, "*.ipynb")):
            notebook = os.path.basename(nb_path)[:-len(".ipynb")]
            dest = os.path.join(self.outbound_feedback, f"{notebook_hash(secret=secret, notebook_id=notebook)}.html")
            with open(dest + ".tmp", "w") as fh:
                fh.write(page_for_notebook(notebook))
            os.chmod(dest + ".tmp", 0o644)
            os.replace(dest + ".tmp", dest)

    def notify_deferred(self, sub, free):
        used = len(self.journal.gradings_since(sub["student"], time.time() - self.policy.window))
        text = (f"Your submission of {sub['stamp']} has been received. You have been given feedback {used} "
                f"time(s) in the last {self.policy.window / 3600:g} hour(s), the limit, so this submission "
                f"will be graded at {when(free)}; its feedback will replace this note then.")
        self.log(f"deferred: {sub['folder']} until {when(free)}")
        with contextlib.suppress(OSError):
            self.release_page(sub["folder"], lambda nb: note_page(f"{nb}: queued", text))

    # grading
    def nbgrader(self, *args):
        cmd = [nbgrader_run.executable(), *args,
               f"--Exchange.root={self.exchange}", f"--CourseDirectory.course_id={self.course_id}"]
        proc = subprocess.run(cmd, cwd=self.course, env=nbgrader_run.environment(), capture_output=True, text=True,
                              preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        if proc.returncode < 0:
            raise Interrupted(f"nbgrader {args[0]} was stopped by signal {-proc.returncode}")
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} exited with {proc.returncode}: "
                               f"{(proc.stdout + proc.stderr)[-1500:]}")

    def copy_submission(self, sub):
        """This submission, and only it, into submitted/ (its own regular files only)."""
        src = os.path.join(self.inbound, sub["folder"])
        dest = os.path.join(self.course, "submitted", sub["student"], sub["assignment"])
        staging = dest + ".incoming"
        shutil.rmtree(staging, ignore_errors=True)
        # Regular files with one name only: no link, hard link, FIFO or device is followed or copied.
        shutil.copytree(src, staging, symlinks=True,
                        ignore=lambda d, names: [n for n in names if why_not_own_file(os.path.join(d, n))])
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        os.replace(staging, dest)

    def grade(self, sub):
        student, assignment = sub["student"], sub["assignment"]
        now = time.time()
        visibility = self.after if self.policy.deadline is not None and now > self.policy.deadline else self.before
        self.journal.start(sub["folder"])
        self.log(f"grading: {sub['folder']} (feedback: {visibility})")
        started = time.time()
        try:
            self.copy_submission(sub)
            self.nbgrader("autograde", assignment, "--student", student, "--force")
            self.nbgrader("generate_feedback", assignment, "--student", student, "--force")
            self.restrict_feedback(sub, visibility)
            self.nbgrader("release_feedback", assignment, "--student", student)
        except Interrupted as exc:
            self.journal.set_state(sub["folder"], "queued", note=str(exc))
            self.log(f"interrupted: {sub['folder']}; it will be graded when the service runs again")
            return
        except Exception as exc:  # noqa: BLE001  (one broken submission never stops the service)
            self.journal.set_state(sub["folder"], "failed", note=str(exc)[-1500:])
            self.log(f"failed: {sub['folder']}: {str(exc)[-300:]}")
            return
        self.journal.finish(sub["folder"], student, started, time.time(), visibility)
        self.log(f"graded: {sub['folder']} in {time.time() - started:.1f} s")

    def restrict_feedback(self, sub, visibility):
        if visibility == "full":
            return
        folder = os.path.join(self.course, "feedback", sub["student"], sub["assignment"])
        reports = os.path.join(self.course, "grading_reports", sub["assignment"], sub["student"])
        for page in glob.glob(os.path.join(folder, "*.html")):
            notebook = os.path.basename(page)[:-len(".html")]
            if visibility == "receipt":
                text = (f"Your submission of {sub['stamp']} was received and graded. Feedback is released "
                        + (f"after the deadline ({when(self.policy.deadline)})." if self.policy.deadline
                           else "when the instructor releases it."))
                content = note_page(f"{notebook}: received", text)
            else:
                try:
                    with open(os.path.join(reports, f"{notebook}.json")) as fh:
                        report = json.load(fh)
                except (OSError, ValueError):
                    report = {"checks": {}, "problems": ["this notebook could not be graded"]}
                content = diagnostics_page(notebook, sub["stamp"], report, self.policy.deadline)
            with open(page, "w") as fh:
                fh.write(content)

    # the loop
    def step(self):
        """Look once, grade at most one submission; True if something was graded."""
        now = time.time()
        self.scan(now)
        sub = plan(self.journal, self.policy, now, notify=self.notify_deferred)
        if sub is None:
            return False
        self.grade(sub)
        return True

    def run(self, until_idle=False):
        self.journal.interrupted_to_queue()
        self.log(f"watching {self.inbound} for {', '.join(sorted(self.assignments))}")
        while not self.stopping:
            if self.step():
                continue
            if until_idle and not self.journal.rows("state IN ('queued', 'grading')"):
                return
            time.sleep(self.poll)


def status(journal):
    lines = [f"{'submission':60} {'state':11} note"]
    for r in journal.rows():
        lines.append(f"{r['folder'][:60]:60} {r['state']:11} {r['note'] or ''}")
    return "\n".join(lines)


def gradebook_duedate(course, assignment):
    db_url = os.environ.get("MLE_GRADING_DB_URL") or f"sqlite:///{os.path.join(course, 'gradebook.db')}"
    if db_url.startswith("sqlite:///") and not os.path.exists(db_url[len("sqlite:///"):]):
        return None
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(db_url) as gb:
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None
    return calendar.timegm(due.utctimetuple()) if due else None


def main(argv=None):
    parser = argparse.ArgumentParser(description="Grade each submission as it arrives and release its feedback.")
    parser.add_argument("--course", required=True, help="the course directory (holds nbgrader_config.py)")
    parser.add_argument("--exchange", required=True, help="nbgrader's exchange root")
    parser.add_argument("--course-id", help="the course id in the exchange (default: the only one there)")
    parser.add_argument("--assignment", action="append", help="watch only this assignment (repeatable)")
    parser.add_argument("--per-hour", type=int, default=3, help="gradings per student per hour (default 3)")
    parser.add_argument("--rate-window", type=float, default=3600.0, help=argparse.SUPPRESS)  # tests shorten it
    parser.add_argument("--before-deadline", choices=VISIBILITY, default="diagnostics",
                        help="what feedback shows before the deadline (default: diagnostics, no points)")
    parser.add_argument("--after-deadline", choices=VISIBILITY, default="full",
                        help="what feedback shows when graded after the deadline (default: full)")
    parser.add_argument("--deadline", help="e.g. '2026-12-24 23:59:00 UTC' (default: the gradebook's due date)")
    parser.add_argument("--grace", type=float, default=300.0,
                        help="seconds after the deadline a submission stamped before it may first be seen")
    parser.add_argument("--state", help="the journal (default: <course>/grading_service.sqlite)")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between looks at the exchange")
    parser.add_argument("--until-idle", action="store_true", help="stop when nothing is left to grade now")
    parser.add_argument("--status", action="store_true", help="print the journal and exit")
    parser.add_argument("--no-check-owner", dest="check_owner", action="store_false",
                        help="take inbound folders whatever account owns them (as CollectApp.check_owner=False)")
    args = parser.parse_args(argv)
    course, exchange = os.path.abspath(args.course), os.path.abspath(args.exchange)
    if not os.path.exists(os.path.join(course, "nbgrader_config.py")):
        parser.error(f"{course} is not a course directory (no nbgrader_config.py)")
    if not os.path.isdir(exchange):
        parser.error(f"no exchange directory at {exchange}")
    course_id = args.course_id
    if not course_id:
        found = sorted(d for d in os.listdir(exchange) if os.path.isdir(os.path.join(exchange, d)))
        if len(found) != 1:
            parser.error(f"pass --course-id: the exchange holds {len(found)} courses ({', '.join(found)})")
        course_id = found[0]
    assignments = args.assignment or list(ASSIGNMENTS)
    deadline = utc_epoch(args.deadline) if args.deadline else None
    if deadline is None and len(assignments) == 1:
        deadline = gradebook_duedate(course, assignments[0])
    policy = Policy(args.per_hour, args.rate_window, deadline, args.grace)
    service = GradingService(course, exchange, course_id, assignments, policy, args.before_deadline,
                             args.after_deadline, args.state, args.poll,
                             log=lambda text: print(f"[{when(time.time())}] {text}", flush=True),
                             check_owner=args.check_owner)
    if args.status:
        print(status(service.journal))
        return 0

    def stop(signum, frame):
        service.stopping = True  # finish the grading under way, then stop
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service.run(until_idle=args.until_idle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
