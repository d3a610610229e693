"""Feedback on submit: a grading service that watches nbgrader's exchange.

    python -m mle_grading.operations.grading_service --course COURSE_ROOT --exchange EXCHANGE_ROOT
        [--course-id ID] [--assignment A ...] [--per-hour 3] [--before-deadline diagnostics]
        [--after-deadline full] [--deadline "2026-12-24 23:59 UTC"] [--state FILE] [--status]

Every few seconds it looks at <exchange>/<course id>/inbound/ for new submissions
(`student+assignment+timestamp[+random]` folders written by `nbgrader submit`) and
grades each as it comes, with the course's own nbgrader configuration, so the same
sandbox and trusted checks as every other grading. By default it grades on a Dask
cluster (a local one, one worker per core, or --scheduler), several students at once,
with the same warm tasks as batch grading (`parallel.grade_student`, feedback included);
--one-at-a-time runs nbgrader's commands instead, one submission after another:

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
- The service's clock, never the student's: a submission's time is the latest
  change time (ctime) the kernel recorded for its folder and files, read when the
  service first sees it (no account can set a ctime back); the folder name and the
  timestamp.txt the student wrote are kept only as what was claimed. That time is
  what the journal, submitted/<student>/<assignment>/timestamp.txt and so the
  gradebook (and nbgrader's late penalty) hold.
- Only a student's newest waiting submission is graded; older waiting ones are
  superseded (the newest is the one that counts, as with `nbgrader collect`).
- The deadline of each watched assignment (--deadline for all, else each one's due
  date in the gradebook, read again every minute): a submission made after it, or
  first seen after it (--grace seconds), is not graded when the student has a
  submission made before it (the gradebook keeps the latest submission before the
  deadline, as `nbgrader collect --before-duedate`); when the student has none, it is
  graded, and late in the gradebook. Feedback released after the deadline follows
  --after-deadline.
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
from mle_grading.nbgrader_integration.submission_files import (copy_file_bounded, kernel_time, summarize, survey,
                                                               write_left_out)

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


def nbgrader_stamp(epoch):
    """An epoch in nbgrader's timestamp.txt format ('2026-12-02 01:02:03.123456 UTC')."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


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
                state TEXT NOT NULL, not_before REAL, note TEXT DEFAULT '', attempts INTEGER DEFAULT 0,
                claimed TEXT DEFAULT '');
            CREATE TABLE IF NOT EXISTS gradings (
                folder TEXT NOT NULL, student TEXT NOT NULL, started REAL NOT NULL, finished REAL NOT NULL,
                visibility TEXT NOT NULL);
        """)
        # A journal from before the service kept what the student claimed apart from its own time.
        if "claimed" not in {row[1] for row in self.db.execute("PRAGMA table_info(submissions)")}:
            self.db.execute("ALTER TABLE submissions ADD COLUMN claimed TEXT DEFAULT ''")

    def add(self, folder, student, assignment, stamp, stamp_epoch, now, claimed=""):
        """stamp and stamp_epoch: the service's time of the submission; claimed: what the student wrote."""
        self.db.execute("INSERT OR IGNORE INTO submissions (folder, student, assignment, stamp, stamp_epoch, "
                        "first_seen, state, claimed) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
                        (folder, student, assignment, stamp, stamp_epoch, now, claimed))

    def known(self):
        return {row[0] for row in self.db.execute("SELECT folder FROM submissions")}

    def set_state(self, folder, state, note=None, not_before=None):
        self.db.execute("UPDATE submissions SET state = ?, note = COALESCE(?, note), not_before = ? "
                        "WHERE folder = ?", (state, note, not_before, folder))

    def rows(self, where="1", args=()):
        cur = self.db.execute(f"SELECT folder, student, assignment, stamp, stamp_epoch, first_seen, state, "
                              f"not_before, note, attempts, claimed FROM submissions WHERE {where} "
                              f"ORDER BY first_seen, stamp_epoch", args)
        keys = [d[0] for d in cur.description]
        return [dict(zip(keys, r)) for r in cur.fetchall()]

    def changed_at(self, folder, stamp, stamp_epoch):
        """The submission's files changed after it was first seen: it counts from then."""
        self.db.execute("UPDATE submissions SET stamp = ?, stamp_epoch = ?, state = 'queued', "
                        "note = 'its files changed after it was first seen' WHERE folder = ?",
                        (stamp, stamp_epoch, folder))

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
    """deadline: one deadline for every assignment; deadlines: {assignment: epoch} (each one's own)."""

    def __init__(self, per_hour=3, window=3600.0, deadline=None, grace=300.0, deadlines=None):
        if per_hour < 1:
            raise ValueError("--per-hour must be at least 1")
        self.per_hour, self.window, self.deadline, self.grace = per_hour, window, deadline, grace
        self.deadlines = dict(deadlines or {})

    def deadline_for(self, assignment):
        return self.deadline if self.deadline is not None else self.deadlines.get(assignment)

    def too_late(self, sub):
        deadline = self.deadline_for(sub["assignment"])
        return deadline is not None and (sub["stamp_epoch"] > deadline or sub["first_seen"] > deadline + self.grace)

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
    ready = ready_submissions(journal, policy, now, notify)
    return ready[0] if ready else None


def ready_submissions(journal, policy, now, notify=None, busy=()):
    """Settle every waiting submission's state; every one that may be graded now, oldest first.

    busy: (student, assignment) pairs being graded at this moment; their newest waiting
    submission stays queued until that grading is over (both would use one submitted/ folder).
    """
    waiting = journal.rows("state IN ('queued', 'deferred')")
    graded, on_time = {}, set()
    for sub in journal.rows("state = 'graded'"):
        key = (sub["student"], sub["assignment"])
        graded[key] = max(graded.get(key, float("-inf")), sub["stamp_epoch"])
    for sub in journal.rows("state IN ('queued', 'deferred', 'grading', 'graded')"):
        if not policy.too_late(sub):
            on_time.add((sub["student"], sub["assignment"]))
    newest = {}
    for sub in waiting:
        if policy.too_late(sub) and (sub["student"], sub["assignment"]) in on_time:
            # The gradebook keeps the latest submission made before the deadline.
            deadline = when(policy.deadline_for(sub["assignment"]))
            journal.set_state(sub["folder"], "late", note=f"submitted after the deadline {deadline}; "
                                                          "the submission made before it counts")
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
    # Gradings under way (busy) or chosen in this pass count against the student's rate limit too:
    # on a cluster, submissions of several assignments would otherwise all start at once.
    pending = {}
    for student, _ in busy:
        pending[student] = pending.get(student, 0) + 1
    for sub in sorted(newest.values(), key=lambda s: s["first_seen"]):
        if (sub["student"], sub["assignment"]) in busy:
            continue
        free = policy.free_at(journal, sub["student"], now)
        given = len(journal.gradings_since(sub["student"], now - policy.window))
        if free <= now and given + pending.get(sub["student"], 0) >= policy.per_hour:
            continue   # the student's gradings under way take the hour's rest: decided when they finish
        if free > now:
            if sub["state"] != "deferred" or sub["not_before"] != free:
                journal.set_state(sub["folder"], "deferred", not_before=free,
                                  note=f"rate limit: graded at {when(free)}")
                if notify:
                    notify(sub, free)
        else:
            ready.append(sub)
            pending[sub["student"]] = pending.get(sub["student"], 0) + 1
    return sorted(ready, key=lambda s: s["first_seen"])


# -- feedback pages ------------------------------------------------------------

PAGE = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}}li{{margin:.3em 0;overflow-wrap:anywhere}}"
        ".pass{{color:#176b2c}}.fail{{color:#a1261b}}</style></head><body><h1>{title}</h1>{body}</body></html>")


def note_page(title, text):
    return PAGE.format(title=html.escape(title), body=f"<p>{html.escape(text)}</p>")


def diagnostics_page(notebook, stamp, report, deadline):
    """Which behaviours pass and, for each that does not, the grader's hint: the mistake named,
    never the answer (the full diagnosis, which may state it, waits for the deadline); no points."""
    from mle_grading import checks
    items = []
    hints = report.get("hints", {})
    for grade_id, message in report.get("checks", {}).items():
        chk = checks.find(notebook, grade_id)
        behaviour = chk.behaviour if chk else grade_id
        if message is None:
            items.append(f"<li class='pass'>passed: {html.escape(behaviour)}</li>")
        else:
            # A report without hints (written before hints existed) shows no diagnosis at all.
            hint = hints.get(grade_id)
            said = f"<br>{html.escape(hint)}" if hint else ""
            items.append(f"<li class='fail'>not yet: {html.escape(behaviour)}{said}</li>")
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
                 state=None, poll=2.0, log=print, check_owner=True, due_dates=None, limits=None, client=None,
                 db_url=None, unix_account="{username}"):
        self.course, self.exchange, self.course_id = course, exchange, course_id
        self.assignments, self.policy, self.before, self.after = set(assignments), policy, before, after
        self.poll, self.log = poll, log
        self.journal = Journal(state or os.path.join(course, "grading_service.sqlite"))
        self.inbound = os.path.join(exchange, course_id, "inbound")
        self.outbound_feedback = os.path.join(exchange, course_id, "feedback")
        self.stopping = False
        self.check_owner = check_owner
        # With a Dask client, submissions are graded on its workers (warm, several at once, the
        # same tasks as batch grading); without one, by nbgrader's commands, one at a time.
        self.client = client
        self.db_url = nbgrader_run.gradebook_url(course, db_url)
        self.in_flight = {}   # folder -> (submission, future, started, visibility)
        from mle_grading.sandbox.runner import SandboxLimits
        self.limits = limits if limits is not None else SandboxLimits()
        self.most_entries = 8 * self.limits.submission_file_count + 100   # how far a folder's time is walked
        # due_dates(): {assignment: epoch} from the gradebook, read again every minute (None: fixed deadlines).
        self.due_dates, self.due_dates_read = due_dates, float("-inf")
        self.unix_account = unix_account   # the account owning a student's submissions: "jupyter-{username}" on TLJH

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
        account = self.unix_account.format(username=student)
        try:
            uid = pwd.getpwnam(account).pw_uid
        except KeyError:
            return f"there is no account {account!r} to own it"
        if info.st_uid != uid:
            return f"it is named for {student} (account {account}) but owned by uid {info.st_uid}"
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
            # The kernel's time, never the student's: the folder name and timestamp.txt are only a claim.
            try:
                seen = kernel_time(path, self.most_entries).timestamp()
            except OSError as exc:
                self.journal.add(folder, m["student"], m["assignment"], when(now), float("inf"), now, m["stamp"])
                self.journal.set_state(folder, "failed", note=f"the submission cannot be read: {exc.strerror}")
                continue
            self.journal.add(folder, m["student"], m["assignment"], nbgrader_stamp(seen), seen, now, m["stamp"])
            self.log(f"new submission: {folder} (made at {when(seen)})")

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
        """This submission, and only it, into submitted/ (its own regular files only, within the limits).

        Returns the notes of what was left out (over a limit of SandboxLimits, or changed while copied).
        """
        src = os.path.join(self.inbound, sub["folder"])
        dest = os.path.join(self.course, "submitted", sub["student"], sub["assignment"])
        staging = dest + ".incoming"
        shutil.rmtree(staging, ignore_errors=True)
        # Sizes and counts by lstat before anything is copied: regular files with one name only (no
        # link, hard link, FIFO or device is followed or copied), within the limits; no
        # timestamp.txt of the student's: the service writes its own.
        keep, left_out = survey(src, self.limits)
        os.makedirs(staging)
        for rel, size, ident in keep:
            if rel in ("timestamp.txt", "timestamp_claimed.txt"):
                continue
            target = os.path.join(staging, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            why = copy_file_bounded(os.path.join(src, rel), target, size, ident)
            if why:
                left_out[rel] = f"the file {rel} was not copied: {why}"
        write_left_out(staging, left_out)
        with open(os.path.join(staging, "timestamp.txt"), "w") as fh:
            fh.write(sub["stamp"])
        if sub.get("claimed"):
            with open(os.path.join(staging, "timestamp_claimed.txt"), "w") as fh:
                fh.write(sub["claimed"])
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        os.replace(staging, dest)
        return summarize(left_out)

    def prepare(self, sub):
        """Copy the submission into submitted/; False when it is not to be graded now."""
        notes = self.copy_submission(sub)
        if notes:
            self.journal.set_state(sub["folder"], "grading", note="; ".join(notes)[:1500])
            self.log(f"over the limits: {sub['folder']}: {'; '.join(notes)[:300]}")
        # Files rewritten in the inbound folder after the service saw it (e.g. past the deadline,
        # while it waited for the rate limit) make it a submission of that later time.
        changed = kernel_time(os.path.join(self.inbound, sub["folder"]), self.most_entries).timestamp()
        if changed > sub["stamp_epoch"]:
            self.journal.changed_at(sub["folder"], nbgrader_stamp(changed), changed)
            self.log(f"changed since it was seen: {sub['folder']} now counts from {when(changed)}")
            return False
        return True

    def grade(self, sub):
        student, assignment = sub["student"], sub["assignment"]
        visibility = self.visibility_now(sub, time.time())
        self.journal.start(sub["folder"])
        self.log(f"grading: {sub['folder']} (feedback: {visibility})")
        started = time.time()
        try:
            if not self.prepare(sub):
                return
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

    def visibility_now(self, sub, now):
        deadline = self.policy.deadline_for(sub["assignment"])
        return self.after if deadline is not None and now > deadline else self.before

    def start_on_cluster(self, sub):
        """Copy the submission into submitted/ and hand its grading and feedback to a Dask worker."""
        from mle_grading.operations.parallel import grade_student
        started = time.time()
        visibility = self.visibility_now(sub, started)
        self.journal.start(sub["folder"])
        try:
            if not self.prepare(sub):
                return
        except Exception as exc:  # noqa: BLE001  (one broken submission never stops the service)
            self.journal.set_state(sub["folder"], "failed", note=str(exc)[-1500:])
            self.log(f"failed: {sub['folder']}: {str(exc)[-300:]}")
            return
        # A new key for every attempt: a task of a previous attempt or service never answers this one.
        key = f"service-{sub['assignment']}-{sub['student']}-{time.time_ns()}"
        future = self.client.submit(grade_student, self.course, sub["assignment"], sub["student"], self.db_url,
                                    True, key=key)
        self.in_flight[sub["folder"]] = (sub, future, started, visibility)
        self.log(f"grading: {sub['folder']} on the cluster (feedback: {visibility})")

    def finish_from_cluster(self):
        """Release the feedback of every grading the cluster finished; True if any finished."""
        finished = False
        for folder, (sub, future, started, visibility) in list(self.in_flight.items()):
            if not future.done():
                continue
            finished = True
            del self.in_flight[folder]
            try:
                result = future.result()
                if not result["graded"]:
                    raise RuntimeError(f"not graded: {result['why']}")
                if not result.get("feedback"):
                    raise RuntimeError(f"graded, but no feedback: {result.get('feedback_why')}")
                self.restrict_feedback(sub, visibility)
                self.release_feedback(sub)
            except Exception as exc:  # noqa: BLE001  (one broken submission never stops the service)
                self.journal.set_state(folder, "failed", note=str(exc)[-1500:])
                self.log(f"failed: {folder}: {str(exc)[-300:]}")
                continue
            self.journal.finish(folder, sub["student"], started, time.time(), visibility)
            self.log(f"graded: {folder} in {time.time() - started:.1f} s")
        return finished

    def release_feedback(self, sub):
        """nbgrader's own release_feedback for this student, run in this process (no new interpreter)."""
        from nbgrader.apps.releasefeedbackapp import ReleaseFeedbackApp
        previous = os.getcwd()
        os.chdir(self.course)   # nbgrader reads nbgrader_config.py from here
        try:
            app = ReleaseFeedbackApp()
            app.initialize([sub["assignment"], "--student", sub["student"], f"--Exchange.root={self.exchange}",
                            f"--CourseDirectory.course_id={self.course_id}", "--log-level=WARN"])
            try:
                app.start()
            except SystemExit as exc:
                if exc.code:
                    raise RuntimeError(f"nbgrader release_feedback exited with {exc.code}") from None
        finally:
            os.chdir(previous)

    def restrict_feedback(self, sub, visibility):
        if visibility == "full":
            return
        folder = os.path.join(self.course, "feedback", sub["student"], sub["assignment"])
        reports = os.path.join(self.course, "grading_reports", sub["assignment"], sub["student"])
        deadline = self.policy.deadline_for(sub["assignment"])
        for page in glob.glob(os.path.join(folder, "*.html")):
            notebook = os.path.basename(page)[:-len(".html")]
            if visibility == "receipt":
                text = (f"Your submission of {sub['stamp']} was received and graded. Feedback is released "
                        + (f"after the deadline ({when(deadline)})." if deadline
                           else "when the instructor releases it."))
                content = note_page(f"{notebook}: received", text)
            else:
                try:
                    with open(os.path.join(reports, f"{notebook}.json")) as fh:
                        report = json.load(fh)
                except (OSError, ValueError):
                    report = {"checks": {}, "problems": ["this notebook could not be graded"]}
                content = diagnostics_page(notebook, sub["stamp"], report, deadline)
            with open(page, "w") as fh:
                fh.write(content)

    # the loop
    def step(self):
        """Look once; grade at most one submission, or, on a cluster, start every one there is room for
        and release what finished. True if something happened."""
        now = time.time()
        if self.due_dates is not None and now - self.due_dates_read > 60:
            try:
                self.policy.deadlines = self.due_dates()
            except Exception as exc:  # noqa: BLE001  (the gradebook is busy: keep the due dates read last)
                self.log(f"could not read the due dates from the gradebook: {type(exc).__name__}: {exc}")
            self.due_dates_read = now
        self.scan(now)
        if self.client is None:
            sub = plan(self.journal, self.policy, now, notify=self.notify_deferred)
            if sub is None:
                return False
            self.grade(sub)
            return True
        progressed = self.finish_from_cluster()
        busy = {(sub["student"], sub["assignment"]) for sub, *_ in self.in_flight.values()}
        room = max(0, self.cluster_slots() - len(self.in_flight))
        for sub in ready_submissions(self.journal, self.policy, now, self.notify_deferred, busy)[:room]:
            self.start_on_cluster(sub)
            progressed = True
        return progressed

    def warm_workers(self):
        """nbgrader, torch and the checks loaded in every worker before the first submission."""
        from mle_grading.operations.parallel import warm_up
        try:
            self.client.run(warm_up, self.course, self.db_url)
        except Exception as exc:  # noqa: BLE001  (a worker that cannot warm up says why on its first task)
            self.log(f"warming the workers failed: {type(exc).__name__}: {exc}")

    def cluster_slots(self):
        """Gradings under way at once: one per worker thread, and one more waiting at each worker."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        return max(1, 2 * sum(w.get("nthreads", 1) for w in workers))

    def run(self, until_idle=False):
        self.journal.interrupted_to_queue()
        self.log(f"watching {self.inbound} for {', '.join(sorted(self.assignments))}")
        while not self.stopping:
            if self.step():
                continue
            if until_idle and not self.in_flight and not self.journal.rows("state IN ('queued', 'grading')"):
                return
            if self.in_flight:
                # Wake as soon as a grading finishes, or to look at the exchange again.
                from distributed import wait
                with contextlib.suppress(TimeoutError):   # nothing finished within the poll: look again
                    wait([future for _, future, *_ in self.in_flight.values()], timeout=self.poll,
                         return_when="FIRST_COMPLETED")
            else:
                time.sleep(self.poll)
        for _, future, *_ in self.in_flight.values():   # stopped: these are graded again on restart
            future.cancel()


def status(journal):
    lines = [f"{'submission':60} {'state':11} note"]
    for r in journal.rows():
        lines.append(f"{r['folder'][:60]:60} {r['state']:11} {r['note'] or ''}")
    return "\n".join(lines)


def gradebook_duedates(course, assignments):
    """{assignment: due date (epoch)} of each assignment with one in the gradebook."""
    found = {}
    for assignment in assignments:
        due = gradebook_duedate(course, assignment)
        if due is not None:
            found[assignment] = due
    return found


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
    if not due:
        return None
    if due.tzinfo is not None:   # nbgrader stores naive UTC; an aware one is converted, not misread
        due = due.astimezone(datetime.timezone.utc)
    return calendar.timegm(due.utctimetuple()) + due.microsecond / 1e6


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
    parser.add_argument("--deadline", help="e.g. '2026-12-24 23:59:00 UTC', for every watched assignment "
                                           "(default: each assignment's due date in the gradebook)")
    parser.add_argument("--grace", type=float, default=300.0,
                        help="seconds after the deadline a submission stamped before it may first be seen")
    parser.add_argument("--state", help="the journal (default: <course>/grading_service.sqlite)")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between looks at the exchange")
    parser.add_argument("--until-idle", action="store_true", help="stop when nothing is left to grade now")
    parser.add_argument("--status", action="store_true", help="print the journal and exit")
    parser.add_argument("--no-check-owner", dest="check_owner", action="store_false",
                        help="take inbound folders whatever account owns them (as CollectApp.check_owner=False)")
    parser.add_argument("--unix-account", default="{username}",
                        help="the unix account that owns a student's submissions, from their student id: "
                             "'{username}' (default), 'jupyter-{username}' on The Littlest JupyterHub")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="grade on a local Dask cluster of this many workers (default: one per core)")
    where.add_argument("--scheduler", default=None, metavar="tls://HOST:PORT",
                       help="grade on this Dask cluster's workers instead (they must see the course at the same path)")
    where.add_argument("--one-at-a-time", action="store_true",
                       help="no Dask: grade one submission at a time with nbgrader's commands")
    from mle_grading.operations.parallel import add_security_arguments, security_from_arguments
    add_security_arguments(parser)
    args = parser.parse_args(argv)
    security = security_from_arguments(parser, args)   # TLS with the instructor's credential, or refused
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, not {args.workers}")
    if args.per_hour < 1:
        parser.error(f"--per-hour must be at least 1, not {args.per_hour} (a student could never be graded)")
    try:
        args.unix_account.format(username="x")
    except (KeyError, IndexError, ValueError):
        parser.error(f"--unix-account {args.unix_account!r} must name only {{username}}")
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
    due_dates = None if deadline is not None else (lambda: gradebook_duedates(course, assignments))
    policy = Policy(args.per_hour, args.rate_window, deadline, args.grace)
    from mle_grading.sandbox.runner import configured_limits
    limits = configured_limits(course)
    service = GradingService(course, exchange, course_id, assignments, policy, args.before_deadline,
                             args.after_deadline, args.state, args.poll,
                             log=lambda text: print(f"[{when(time.time())}] {text}", flush=True),
                             check_owner=args.check_owner, due_dates=due_dates, limits=limits,
                             unix_account=args.unix_account)
    if args.status:
        print(status(service.journal))
        return 0

    def stop(signum, frame):
        service.stopping = True  # finish the grading under way, then stop
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.one_at_a_time:
        service.run(until_idle=args.until_idle)
        return 0
    from mle_grading.operations.parallel import dask_client
    os.environ.update(nbgrader_run.environment())   # local workers inherit it (alembic on PATH)
    with dask_client(args.scheduler, args.workers, security) as client:
        service.client = client
        service.warm_workers()
        service.log(f"grading on {len(client.scheduler_info(n_workers=-1)['workers'])} Dask workers "
                    f"({args.scheduler or 'local cluster'})")
        service.run(until_idle=args.until_idle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
