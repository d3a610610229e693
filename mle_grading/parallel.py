"""Grade a class with several `nbgrader autograde` processes at once.

    python -m mle_grading.parallel <assignment> --workers W [--force] [--retries R] [--shard K/M]

Run it from the course root (where nbgrader_config.py is). It grades every student
in submitted/ that has the assignment, prints one line per graded student, then one
line per student who could not be graded, and exits 1 if there was any (0 if all
were graded).

How it works
------------
The students are split into chunks (a few per worker, so a slow submission does not
leave the other workers idle at the end). Each of W worker threads takes the next
chunk and runs the real `nbgrader autograde <assignment>` on it, from the course
root, so course_config.py applies exactly as for a sequential run: the sandbox, the
trusted checks, the rebuilt submissions, the gradebook writes. A chunk is selected
with nbgrader's own `CourseDirectory.student_id_exclude` (a comma-separated list
of everyone else in submitted/; for a very long list it goes in a JSON config file
that nbgrader reads from JUPYTER_CONFIG_PATH instead of on the command line).

The gradebook is shared: SQLite (the default) gets a busy timeout
(`sqlite:///...?timeout=60`, which SQLAlchemy passes to sqlite3.connect) so that a
writer waits for another instead of failing with "database is locked"; PostgreSQL
(MLE_GRADING_DB_URL=postgresql://...) handles concurrent writers itself. A student
counts as graded when nbgrader wrote every notebook of theirs to autograded/ (it
removes a student's folder when grading them failed). A student not graded because
of the gradebook ("database is locked", a lost connection) or because their
worker stopped before reaching them is graded again, up to `retries` times;
whoever is still not graded is reported, one line each.

Each sandbox runs as an unprivileged uid derived from the grading process's pid
(`mle_grading.sandbox.runner.sandbox_uid`); two workers never share one, so one
student's processes never count against another's process limit.
"""
import argparse
import glob
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SQLITE_BUSY_TIMEOUT = 60          # seconds a SQLite writer waits for another
MAX_EXCLUDE_ARG = 100_000         # bytes; Linux allows 128 KiB for one argument
CHUNKS_PER_WORKER = 4             # at most; fewer for small classes
MIN_CHUNK = 20                    # students; an nbgrader start costs ~8 s (nbgrader, torch)
TRANSIENT = ("database is locked", "database table is locked", "could not serialize access",
             "deadlock detected", "server closed the connection", "could not connect to server",
             "connection to server", "terminating connection")


def submitted_students(course_root, assignment):
    """Every student nbgrader autograde would see: submitted/<student>/<assignment>/."""
    pattern = os.path.join(glob.escape(os.path.join(course_root, "submitted")), "*", glob.escape(assignment))
    return sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(pattern) if os.path.isdir(p))


def course_db_url(course_root):
    """The gradebook the workers share, with a busy timeout if it is SQLite."""
    url = os.environ.get("MLE_GRADING_DB_URL") or f"sqlite:///{os.path.join(os.path.abspath(course_root), 'gradebook.db')}"
    return with_busy_timeout(url)


def with_busy_timeout(url, seconds=SQLITE_BUSY_TIMEOUT):
    if not url.startswith("sqlite"):
        return url
    base, _, query = url.partition("?")   # (urlsplit would eat the slashes of sqlite:////abs)
    params = dict(parse_qsl(query))
    params.setdefault("timeout", str(seconds))
    return f"{base}?{urlencode(params)}"


def redact(url):
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def gradebook_notebooks(db_url, assignment):
    """The assignment's notebook ids in the gradebook (created tables if need be, no rows)."""
    from nbgrader.api import Gradebook, MissingEntry
    # course_id "" adds no course row: nbgrader's own run adds the configured one.
    with Gradebook(db_url, course_id="") as gb:
        try:
            return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            raise RuntimeError(f"the gradebook has no assignment {assignment!r}: "
                               f"run `nbgrader generate_assignment {assignment}` first") from None


def make_chunks(students, workers):
    """Split students into a multiple of `workers` chunks of similar size."""
    students = list(students)
    if not students:
        return []
    per_worker = max(1, min(CHUNKS_PER_WORKER, len(students) // (workers * MIN_CHUNK)))
    n = min(len(students), workers * per_worker)
    return [students[i::n] for i in range(n)]


def is_graded(course_root, assignment, student, notebooks):
    """nbgrader wrote each of the student's submitted notebooks to autograded/."""
    submitted = os.path.join(course_root, "submitted", student, assignment)
    graded = os.path.join(course_root, "autograded", student, assignment)
    if not os.path.isdir(graded):
        return False
    for nb in notebooks:
        if os.path.exists(os.path.join(submitted, f"{nb}.ipynb")) and \
                not os.path.exists(os.path.join(graded, f"{nb}.ipynb")):
            return False
    return True


class _Shard:
    """One `nbgrader autograde` run on a chunk of students."""

    def __init__(self, number, students):
        self.number = number
        self.students = list(students)
        self.lines = []
        self.code = None
        self.errors = {}        # student -> last line of nbgrader's traceback
        self.started = set()    # students nbgrader began to grade
        self.completed = set()  # students nbgrader finished (or skipped, already graded)


class _Grader:
    def __init__(self, course_root, assignment, workers, log_path, progress, force, db_url, nbgrader=None):
        self.root = os.path.abspath(course_root)
        # Sandbox uids are uid_base + pid % uid_slots (sandbox.runner.sandbox_uid), as the course configures them.
        from .sandbox.runner import configured_limits
        self.uid_slots = configured_limits(self.root).uid_slots
        self.assignment = assignment
        self.workers = workers
        self.log_path = log_path
        self.progress = progress
        self.force = force
        self.db_url = db_url
        self.everyone = submitted_students(self.root, assignment)
        self.path_pattern = re.compile(r"/(?:submitted|autograded)/([^/]+)/" + re.escape(assignment) + r"(?:/|\s|$)")
        self.lock = threading.Lock()
        self.live = {}          # pid -> Popen, workers running now
        self.done = set()
        self.total = 0
        self.stopping = False
        self.scratch = tempfile.mkdtemp(prefix="mle-grading-parallel-")
        exe = os.path.join(os.path.dirname(sys.executable), "nbgrader")
        self.nbgrader = nbgrader or (exe if os.path.exists(exe) else (shutil.which("nbgrader") or exe))

    # -- one nbgrader process --------------------------------------------------------
    def command(self, shard):
        args = [self.nbgrader, "autograde", self.assignment]
        if self.force:
            args.append("--force")
        env = dict(os.environ)
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")  # alembic
        env.setdefault("PYTHONWARNINGS", "ignore")
        env["MLE_GRADING_DB_URL"] = self.db_url   # course_config.py reads it (the workers' gradebook)
        mine = set(shard.students)
        others = [s for s in self.everyone if s not in mine]
        exclude = ",".join(others)
        if len(exclude) <= MAX_EXCLUDE_ARG:
            args.append(f"--CourseDirectory.student_id_exclude={exclude}")
        else:
            folder = os.path.join(self.scratch, f"shard-{shard.number}")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "nbgrader_config.json"), "w") as fh:
                json.dump({"CourseDirectory": {"student_id_exclude": exclude}}, fh)
            env["JUPYTER_CONFIG_PATH"] = folder + os.pathsep + env.get("JUPYTER_CONFIG_PATH", "")
        return args, env

    def spawn(self, shard):
        args, env = self.command(shard)
        while True:
            with self.lock:
                if self.stopping:
                    return None
                proc = subprocess.Popen(args, cwd=self.root, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, errors="replace",
                                        start_new_session=True)
                # Its sandboxes' uid comes from its pid: never the same as a live worker's.
                slot = proc.pid % self.uid_slots
                if all(p % self.uid_slots != slot for p in self.live):
                    self.live[proc.pid] = proc
                    return proc
            # Killed before it imported anything, let alone graded.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()

    def run_shard(self, worker, shard):
        shown = len(self.everyone) - len(shard.students)
        self.log(worker, f"$ nbgrader autograde {self.assignment}{' --force' * self.force} "
                         f"--CourseDirectory.student_id_exclude=<{shown} other students>  "
                         f"(gradebook {redact(self.db_url)})")
        self.log(worker, f"grading {len(shard.students)} students: {', '.join(shard.students)}")
        proc = self.spawn(shard)
        if proc is None:
            shard.code = -1
            return shard
        current = None
        failing = None
        for line in proc.stdout:
            shard.lines.append(line)
            self.log(worker, line.rstrip("\n"))
            student = self._student_in(line)
            if "Sanitizing" in line and student:
                current = student
                shard.started.add(student)
            elif "Skipping existing assignment" in line and student:
                shard.started.add(student)
                shard.completed.add(student)
                self.finished(student)
            elif "Setting destination file permissions" in line and current:
                shard.completed.add(current)
                self.finished(current)
            elif "There was an error processing assignment:" in line and student:
                failing = student
                shard.started.add(student)
                shard.errors[student] = "nbgrader could not grade this submission"
            elif failing and line.strip() and not line.startswith("["):
                shard.errors[failing] = line.strip()[:300]   # the traceback's last line wins
            elif line.startswith("["):
                failing = None if "Traceback" not in line else failing
        shard.code = proc.wait()
        proc.stdout.close()
        with self.lock:
            self.live.pop(proc.pid, None)
        self.log(worker, f"(nbgrader exited with status {shard.code})")
        return shard

    def _student_in(self, line):
        """The student of a path in an nbgrader log line (.../submitted/<s>/<assignment>)."""
        match = self.path_pattern.search(line)
        return match.group(1) if match else None

    def finished(self, student):
        with self.lock:
            if student in self.done or student not in self.pending:
                return
            self.done.add(student)
            count = len(self.done)
        if self.progress:
            self.progress(student, count, self.total)

    def log(self, worker, text):
        with self.lock:
            with open(self.log_path, "a") as fh:
                fh.write(f"[worker {worker}] {text}\n")

    # -- the class ---------------------------------------------------------------------
    def run(self, students, retries):
        # Read the gradebook while the first workers start (importing nbgrader takes seconds).
        found = {}

        def read_gradebook():
            try:
                found["notebooks"] = gradebook_notebooks(self.db_url, self.assignment)
            except Exception as exc:  # noqa: BLE001  (reported below, after the workers)
                found["error"] = exc
        reader = threading.Thread(target=read_gradebook, daemon=True)
        reader.start()
        missing = [s for s in students if s not in self.everyone]
        failed = {s: f"no submission in submitted/{s}/{self.assignment}/" for s in missing}
        commas = [s for s in self.everyone if "," in s]
        if commas:   # nbgrader splits student_id_exclude at commas: no worker could be given a part
            why = f"not graded: student ids in submitted/ contain a comma ({', '.join(commas[:5])}); rename them"
            return [f"{s}: {failed.get(s, why)}" for s in students]
        todo = [s for s in students if s not in failed]
        self.pending = set(todo)
        self.total = len(students)
        for attempt in range(retries + 1):
            if not todo:
                break
            shards = self.grade_round(make_chunks(todo, self.workers))
            reader.join()
            if "error" in found:   # e.g. no such assignment: nobody can have been graded
                why = f"the gradebook could not be read: {found['error']}"
                return [f"{s}: {failed.get(s, why)}" for s in students]
            notebooks = found["notebooks"]
            todo, again = [], []
            for shard in shards:
                text = "".join(shard.lines)
                transient = any(t in text for t in TRANSIENT)
                for student in shard.students:
                    # Graded: nbgrader said it finished them (or exited cleanly), and wrote them.
                    # (After a crash, a student it never reached may still have an old folder.)
                    if student not in shard.errors and (student in shard.completed or shard.code == 0) and \
                            is_graded(self.root, self.assignment, student, notebooks):
                        failed.pop(student, None)
                        self.finished(student)   # in case the log line was missed
                        continue
                    if student in shard.errors:
                        why = shard.errors[student]
                    elif student not in shard.started:
                        why = f"not reached: its nbgrader process stopped (status {shard.code})"
                    else:
                        why = f"nbgrader did not write its autograded notebooks (status {shard.code})"
                    failed[student] = why
                    if transient or student not in shard.started:
                        again.append(student)
            if self.stopping:
                break
            todo = sorted(again)
            if todo and attempt < retries:
                self.log(0, f"grading again ({attempt + 1}/{retries}): {', '.join(todo)}")
        for student in students:
            if student in failed:
                self.finished(student)
        return [f"{s}: {failed[s]}" for s in students if s in failed]

    def grade_round(self, chunks):
        work = queue.Queue()
        for number, chunk in enumerate(chunks, 1):
            work.put(_Shard(number, chunk))
        results = []

        def worker(number):
            while not self.stopping:
                try:
                    shard = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    results.append(self.run_shard(number, shard))
                except Exception as exc:  # noqa: BLE001  (its students are reported, not lost)
                    shard.code = -1
                    shard.lines.append(f"the worker could not run nbgrader: {type(exc).__name__}: {exc}\n")
                    for student in shard.students:
                        shard.errors.setdefault(student, f"the worker could not run nbgrader: {exc}")
                    self.log(number, shard.lines[-1].rstrip())
                    results.append(shard)

        threads = [threading.Thread(target=worker, args=(i + 1,), daemon=True)
                   for i in range(min(self.workers, len(chunks)))]
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(0.2)
        except BaseException:
            self.stop()
            for t in threads:
                t.join(30)
            raise
        return results

    def stop(self):
        with self.lock:
            self.stopping = True
            procs = list(self.live.values())
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def cleanup(self):
        shutil.rmtree(self.scratch, ignore_errors=True)


def autograde_parallel(course_root, assignment, students, workers, log_path, progress=None,
                       force=True, retries=2, db_url=None, nbgrader=None):
    """Grade `students` with `workers` concurrent `nbgrader autograde` processes.

    progress(student, done, total) is called once per student, when they are graded
    or given up on. Returns one line per student who could not be graded (empty if
    all were). `force` regrades students already in autograded/ (as `--force`).
    db_url: the gradebook (default: MLE_GRADING_DB_URL, else gradebook.db in the course
    root); nbgrader: the nbgrader executable (default: this environment's).
    """
    grader = _Grader(course_root, assignment, max(1, int(workers)), log_path, progress, force,
                     with_busy_timeout(db_url) if db_url else course_db_url(course_root), nbgrader)
    try:
        return grader.run(list(students), retries)
    finally:
        grader.cleanup()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mle_grading.parallel",
        description="Autograde every submission of an assignment with several nbgrader processes. "
                    "Run from the course root.")
    parser.add_argument("assignment")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="concurrent nbgrader autograde processes (default: the number of cores)")
    parser.add_argument("--force", action="store_true",
                        help="regrade students already in autograded/ (nbgrader autograde --force)")
    parser.add_argument("--retries", type=int, default=2,
                        help="times a student not graded because of the gradebook is graded again")
    parser.add_argument("--shard", default=None, metavar="K/M",
                        help="grade only part K of M of submitted/ (students sorted, every M-th from the K-th): "
                             "for M machines sharing one course directory and one gradebook")
    parser.add_argument("--log", default=None,
                        help="log file (default: reports/parallel_autograde.log in the course root)")
    args = parser.parse_args(argv)
    root = os.getcwd()
    if not os.path.exists(os.path.join(root, "nbgrader_config.py")):
        print("error: run this from the course root (no nbgrader_config.py here)", file=sys.stderr)
        return 2
    students = submitted_students(root, args.assignment)
    if not students:
        print(f"error: nobody in submitted/ has {args.assignment!r}", file=sys.stderr)
        return 2
    if args.shard:
        try:
            part, parts = (int(x) for x in args.shard.split("/"))
        except ValueError:
            part, parts = 0, 0
        if not 1 <= part <= parts:
            print(f"error: --shard takes K/M with 1 <= K <= M, not {args.shard!r}", file=sys.stderr)
            return 2
        students = students[part - 1::parts]
    log_path = os.path.abspath(args.log or os.path.join(root, "reports", "parallel_autograde.log"))
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    open(log_path, "w").close()
    started = time.time()
    print(f"grading {len(students)} submissions of {args.assignment} with {args.workers} workers "
          f"(log: {log_path})", flush=True)
    try:
        failed = autograde_parallel(root, args.assignment, students, args.workers, log_path,
                                    progress=lambda s, i, n: print(f"  {i}/{n} {s}", flush=True),
                                    force=args.force, retries=args.retries)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the workers were stopped", file=sys.stderr)
        return 130
    print(f"graded {len(students) - len(failed)}/{len(students)} in {time.time() - started:.0f} s", flush=True)
    for line in failed:
        print(f"FAILED {line}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
