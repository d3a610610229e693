"""The grading benchmark: how fast a class is graded, and where the time goes.

    ./course bench [--students N] [--workers W] [--baseline-students K] [--skip RUN ...] [--keep]

Builds a temporary course with a simulated class of N students (the demo roster
cycled: reference, untouched, then one student per known mistake of mle_losses), each
with a submission of mle_losses, 4 notebooks (every assignment is generated, so the
gradebook is the course's), then
measures, one after the other on this machine:

- floor: the same submitted notebooks executed with plain nbclient (a fresh
  kernel per notebook, allow_errors, no grading at all);
- plain nbgrader: sequential `nbgrader autograde` with nbgrader's own Execute
  (course_config.py without TrustedGrading: every cell, hidden-test lines
  included, runs in an ordinary kernel, as the instructor);
- pack, 1 worker: `mle_grading.operations.parallel` on a local Dask cluster of one worker
  (course_config.py as it is: sandboxed submission, trusted checks; nbgrader warm
  in the worker);
- pack, W workers: the same on W workers (default: one per core);

and the peak memory of one grading worker (the Dask worker process: nbgrader, torch,
the checks) and of one sandbox (its VmHWM, read from /proc while it is alive, after
the notebook's code and all its checks ran), against an ordinary kernel running the
same notebook with its hidden tests (the source notebook). Where the pack's time goes
comes from the per-notebook timings TrustedGrading saves in grading_reports/ and the
per-student timings of the Dask tasks. The pack's wall times include starting the
cluster and its workers.

Prints a table and writes it as JSON and markdown to benchmark_runs/ (gitignored).
A benchmark prints figures; it is not a test with time limits. Other jobs on the
machine change the figures: the load average before and after each run is recorded.
"""
import argparse
import contextlib
import datetime
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from mle_grading.nbgrader_integration import run as nbgrader_run
from mle_grading.operations.parallel import failure_lines

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COURSE_FILES = ("notebooks", "source", "release", "course_config.py", "nbgrader_config.py")
RUNS = ("floor", "plain", "pack1", "packW", "cycle_plain", "cycleW")
SKIPPABLE = RUNS + ("memory", "service")

PLAIN_CONFIG = '''

# --- benchmark variant: nbgrader's own autograde, without the pack's TrustedGrading ---
# Every cell of the rebuilt notebook, hidden-test lines included, runs in an ordinary
# kernel (as the instructor, in the course directory): what a plain nbgrader set-up does.
from nbgrader.preprocessors import (CheckCellMetadata, DeduplicateIds, Execute, OverwriteCells,  # noqa: E402
                                    SaveAutoGrades)
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                                      CheckCellMetadata]
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.Autograde.pre_convert_hook = None
'''


def say(text):
    print(f"[bench] {text}", flush=True)


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def clean_env():
    """nbgrader's environment on the course copy's own SQLite gradebook and report folder."""
    env = nbgrader_run.environment(db_url="")
    env.pop("MLE_GRADING_REPORT_DIR", None)
    return env


def run_nbgrader(course, args, log_path):
    return nbgrader_run.run(course, args, log_path=log_path, env=clean_env()).returncode


# -- the simulated class ---------------------------------------------------------------

def build_course(base, n_students, log_path):
    """A course with its assignments generated and n_students simulated students; returns the students."""
    from mle_grading.operations.demo_class import build_demo_class
    os.makedirs(base)
    for name in COURSE_FILES:
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(base, name), ignore=shutil.ignore_patterns("__pycache__"))
        elif os.path.exists(src):
            shutil.copy(src, os.path.join(base, name))
    for assignment in nbgrader_run.course_assignments(base):
        if run_nbgrader(base, ["generate_assignment", assignment, "--force"], log_path) != 0:
            raise SystemExit(f"nbgrader generate_assignment {assignment} failed: see {log_path}")
    roster = build_demo_class(base, "mle_losses")
    submitted = os.path.join(base, "submitted")
    templates = os.path.join(base, ".roster")
    os.rename(submitted, templates)
    os.makedirs(submitted)
    students = []
    for i in range(n_students):
        name = roster[i % len(roster)]
        student = f"s{i:04d}-{name}"
        shutil.copytree(os.path.join(templates, name), os.path.join(submitted, student))
        students.append(student)
    shutil.rmtree(templates)
    return students


def variant(base, target, plain=False):
    shutil.copytree(base, target)
    if plain:
        with open(os.path.join(target, "course_config.py"), "a") as fh:
            fh.write(PLAIN_CONFIG)
    return target


def sample_of(students, k):
    """k students spread evenly over the class (the roster cycles, so every kind of submission is in it)."""
    if not k or k >= len(students):
        return list(students)
    return [students[round(i * len(students) / k)] for i in range(k)]


def keep_only(course, students):
    """Remove every other student's submissions from a course copy."""
    keep = set(students)
    for student in os.listdir(os.path.join(course, "submitted")):
        if student not in keep:
            shutil.rmtree(os.path.join(course, "submitted", student))
    return course


def submissions(course, students):
    """[(assignment, student)]: one submission is one student's assignment."""
    return [(a, s) for a in nbgrader_run.course_assignments(course)
            for s in nbgrader_run.submitted_students(course, a) if s in set(students)]


def submitted_assignments(subs):
    """The assignments the simulated class submitted, in course order (not every assignment of the course)."""
    return list(dict.fromkeys(a for a, _ in subs))


def submission_notebooks(course, student, assignment=None):
    assignments = [assignment] if assignment else nbgrader_run.course_assignments(course)
    return [os.path.join(course, "submitted", student, a, f"{nb}.ipynb") for a in assignments
            for nb in nbgrader_run.submitted_notebooks(course, a, student)]


# -- the runs ----------------------------------------------------------------------------

class Counter:
    def __init__(self, total, label):
        self.total, self.label, self.done, self.t0 = total, label, 0, time.perf_counter()

    def tick(self, what=""):
        self.done += 1
        if self.done == self.total or self.done % max(1, self.total // 10) == 0:
            say(f"  {self.label}: {self.done}/{self.total} ({time.perf_counter() - self.t0:.0f} s) {what}")


def run_floor(course, students):
    import nbformat
    from nbclient import NotebookClient
    counter = Counter(len(students), "floor")
    started = time.perf_counter()
    count = 0
    with course_gradebook_only():
        for student in students:
            for path in submission_notebooks(course, student):
                nb = nbformat.read(path, as_version=4)
                NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                               resources={"metadata": {"path": os.path.dirname(path)}}
                               ).execute(stderr=subprocess.DEVNULL)
                count += 1
            counter.tick()
    return time.perf_counter() - started, count


def run_sequential(course, students, label):
    """Sequential plain `nbgrader autograde`, one command per assignment, as an instructor runs it.

    A run that left a student ungraded measured something else (nbgrader stopping early,
    a configuration that does not load): it stops the benchmark rather than give a ratio.
    """
    log_path = os.path.join(course, "autograde.log")
    started = time.perf_counter()
    for assignment in nbgrader_run.course_assignments(course):
        if not nbgrader_run.submitted_students(course, assignment):
            continue   # nbgrader would fail with "no notebooks were matched"
        code = run_nbgrader(course, ["autograde", assignment, "--force"], log_path)
        if code != 0:
            say(f"  {label}: nbgrader autograde {assignment} exited with status {code} (see {log_path})")
    wall = time.perf_counter() - started
    ungraded = sorted(f"{a}/{s}" for (a, s), scores in gradebook_scores(course, students).items() if scores is None)
    if ungraded:
        with open(log_path, errors="replace") as log:
            tail = log.read()[-1500:]
        raise RuntimeError(f"{label} left {len(ungraded)} submission(s) ungraded ({', '.join(ungraded[:3])}...), "
                           f"so its time means nothing; the end of its log:\n{tail}")
    return wall


def _own_peak_mb():
    return vm_hwm_mb(os.getpid())


@contextlib.contextmanager
def course_gradebook_only():
    """The course copy's own gradebook and reports, whatever the caller's environment says."""
    saved = {k: os.environ.pop(k, None) for k in ("MLE_GRADING_DB_URL", "MLE_GRADING_REPORT_DIR")}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v


def run_pack(course, workers, cycle=False):
    """mle_grading.operations.parallel on a local Dask cluster of `workers` workers, cluster start included.

    With `cycle`, the pack's whole cycle: grading and feedback on the workers (warm), then
    nbgrader export. Returns (wall, results of the tasks, peak memory of each worker process in MB).
    """
    from mle_grading.operations.parallel import dask_client, grade_class
    log_path = os.path.join(course, "cycle.log" if cycle else "autograde.log")
    db_url = f"sqlite:///{os.path.join(course, 'gradebook.db')}"
    with course_gradebook_only():
        started = time.perf_counter()
        with dask_client(workers=workers) as client:
            results = grade_class(course, nbgrader_run.course_assignments(course), client, force=True,
                                  db_url=db_url, log_path=log_path, feedback=cycle)
            peaks = sorted(client.run(_own_peak_mb).values())
            wall = time.perf_counter() - started
        if cycle:
            code = run_nbgrader(course, ["export", "--to", os.path.join(course, "grades.csv")], log_path)
            if code != 0:
                raise RuntimeError(f"pack cycle: nbgrader export exited with status {code} (see {log_path})")
            wall = time.perf_counter() - started
    for line in failure_lines(results):
        say(f"  not graded or no feedback: {line}")
    return wall, results, peaks


def run_cycle_plain(course, students):
    """The instructor's whole cycle with plain nbgrader, one command after another: autograde,
    generate_feedback and export of every assignment. Returns the wall time."""
    log_path = os.path.join(course, "cycle.log")
    started = time.perf_counter()
    run_sequential(course, students, "plain nbgrader cycle")
    for assignment in nbgrader_run.course_assignments(course):
        if nbgrader_run.submitted_students(course, assignment):
            code = run_nbgrader(course, ["generate_feedback", assignment, "--force"], log_path)
            if code != 0:
                say(f"  plain cycle: nbgrader generate_feedback {assignment} exited with status {code} (see {log_path})")
    code = run_nbgrader(course, ["export", "--to", os.path.join(course, "grades.csv")], log_path)
    if code != 0:
        raise RuntimeError(f"plain cycle: nbgrader export exited with status {code} (see {log_path})")
    return time.perf_counter() - started


def run_service_burst(base, target, subs, workers, interval):
    """A deadline burst through a real exchange: one submission lands in the inbound folder every
    `interval` seconds; the grading service (on a local Dask cluster of `workers`) grades each and
    releases its feedback. Returns {submissions, p50_s, p95_s, max_s, lost, unfinished,
    settled_without_feedback, twice, seconds}: the time from a submission landing to its feedback
    being released in the exchange."""
    import secrets
    import statistics
    import threading
    from nbgrader.utils import notebook_hash
    from mle_grading.operations.grading_service import GradingService, Policy
    from mle_grading.operations.parallel import dask_client
    course = variant(base, target)
    exchange = os.path.join(target, "exchange")
    course_id = "mle_losses_course"
    inbound, outbound = (os.path.join(exchange, course_id, name) for name in ("inbound", "feedback"))
    os.makedirs(inbound)
    os.makedirs(outbound)
    staging = os.path.join(target, "staging")
    templates = os.path.join(target, "templates")
    os.rename(os.path.join(course, "submitted"), templates)
    os.makedirs(os.path.join(course, "submitted"))
    service = GradingService(course, exchange, course_id, sorted({a for a, _ in subs}), Policy(per_hour=1000),
                             state=os.path.join(target, "service.sqlite"), poll=0.25, log=lambda text: None,
                             check_owner=False,
                             # the variant's own gradebook, as the other runs (MLE_GRADING_DB_URL is popped below,
                             # after the service has read it)
                             db_url=f"sqlite:///{os.path.join(course, 'gradebook.db')}")
    landed, expected = {}, {}

    def play():
        for i, (assignment, student) in enumerate(subs):
            when = time.time()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1e6):06d} UTC"
            folder = f"{student}+{assignment}+{stamp}+{secrets.token_hex(4)}"
            tmp = os.path.join(staging, folder)
            shutil.copytree(os.path.join(templates, student, assignment), tmp)
            secret = secrets.token_hex(16)
            with open(os.path.join(tmp, "submission_secret.txt"), "w") as fh:
                fh.write(secret)
            with open(os.path.join(tmp, "timestamp.txt"), "w") as fh:
                fh.write(stamp)
            notebook = sorted(n for n in os.listdir(tmp) if n.endswith(".ipynb"))[0][:-len(".ipynb")]
            expected[folder] = os.path.join(outbound, notebook_hash(secret=secret, notebook_id=notebook) + ".html")
            os.rename(tmp, os.path.join(inbound, folder))   # lands at once, as nbgrader submit's copy does
            landed[folder] = time.time()
            time.sleep(max(0.0, when + interval - time.time()))

    os.makedirs(staging)
    started = time.time()
    with course_gradebook_only():
        with dask_client(workers=workers) as client:
            service.client = client
            service.warm_workers()   # the service runs all week: its workers are warm before a burst
            player = threading.Thread(target=play, daemon=True)
            player.start()
            deadline = time.time() + len(subs) * interval + 900
            while time.time() < deadline:
                service.step()
                if not player.is_alive() and not service.in_flight and \
                        not service.journal.rows("state IN ('queued', 'deferred', 'grading')"):
                    break
                time.sleep(0.1)
            service.stopping = True
    # Not released when the benchmark stopped waiting: still to be graded (the service's journal
    # says so, and it would grade them when it runs again), settled without feedback (failed, say),
    # or lost (the journal has them nowhere).
    states = {row["folder"]: row["state"] for row in service.journal.rows()}
    latencies, lost, unfinished, not_released = [], [], [], []
    for folder, path in expected.items():
        if os.path.exists(path):
            latencies.append(os.path.getmtime(path) - landed[folder])
        elif states.get(folder) in ("queued", "deferred", "grading"):
            unfinished.append(folder)
        elif folder in states:
            not_released.append(folder)
        else:
            lost.append(folder)
    counts = {}
    for (folder,) in service.journal.db.execute("SELECT folder FROM gradings"):
        counts[folder] = counts.get(folder, 0) + 1
    latencies.sort()
    q = lambda f: latencies[min(len(latencies) - 1, int(f * len(latencies)))] if latencies else None  # noqa: E731
    return {"submissions": len(subs), "interval_s": interval, "p50_s": statistics.median(latencies) if latencies else None,
            "p95_s": q(0.95), "max_s": max(latencies, default=None), "lost": len(lost),
            "unfinished": len(unfinished), "settled_without_feedback": len(not_released),
            "twice": sum(1 for n in counts.values() if n > 1), "seconds": time.time() - started}


def pack_breakdown(course, wall, workers, results):
    """Seconds per notebook: sandbox start, student code, checks, nbgrader bookkeeping; worker start."""
    sums = {"start": 0.0, "cells": 0.0, "calls": 0.0, "total": 0.0}
    count = 0
    for r in results:
        for timings in (r.get("timings") or {}).get("notebooks", {}).values():
            if not timings:
                continue
            count += 1
            for key in sums:
                sums[key] += float(timings.get(key, 0.0))
    if not count:
        return None
    per = {k: v / count for k, v in sums.items()}
    grading = sum(r["timings"].get("grading", 0.0) for r in results if r.get("timings"))
    warmups = [r["timings"]["warmup"] for r in results if r.get("timings", {}).get("warmup")]
    return {
        "notebooks": count,
        "sandbox_start": per["start"],
        "student_code": per["cells"],          # the sandbox's start-up imports and the notebook's cells
        "checks": per["total"] - per["start"] - per["cells"],   # trusted checks, their calls included
        "student_calls_in_checks": per["calls"],
        "trusted_grading": per["total"],
        # nbgrader's own work around TrustedGrading: reading, sanitizing, the gradebook writes, writing autograded/.
        "nbgrader_bookkeeping": grading / count - per["total"],
        # Once per worker: importing nbgrader, torch and the checks, loading course_config.py.
        "worker_start_seconds": sum(warmups) / len(warmups) if warmups else None,
        # Everything else: starting the cluster, handing out tasks, idle workers at the end.
        "cluster_and_idle": workers * wall / count - grading / count - sum(warmups) / count,
        "wall_per_notebook_per_worker": workers * wall / count,
    }


def gradebook_scores(course, students):
    url = f"sqlite:///{os.path.join(course, 'gradebook.db')}"
    return {(a, s): nbgrader_run.scores_by_cell(url, a, s) for a, s in submissions(course, students)}


# -- memory of one grading kernel ----------------------------------------------------------

def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def sandbox_kernel_peak_mb(course, student):
    """Peak RSS of the sandbox worker that ran one notebook's code and answered all its checks."""
    import nbformat
    from nbgrader import utils
    from mle_grading import checks
    from mle_grading.nbgrader_integration.preprocessors import student_cells
    from mle_grading.sandbox import SandboxSession, SandboxStudent
    from mle_grading.sandbox.runner import Limits
    peaks = {}
    for path in submission_notebooks(course, student):
        nb_id = os.path.splitext(os.path.basename(path))[0]
        nb = nbformat.read(path, as_version=4)
        session = SandboxSession([c.source for _, c in student_cells(nb)], os.path.dirname(path), Limits())
        try:
            session.start()
            learner = SandboxStudent(session)
            for cell in nb.cells:
                if utils.is_grade(cell):
                    chk = checks.find(nb_id, cell.metadata.nbgrader.get("grade_id"))
                    if chk is not None:
                        checks.run_check(chk, learner)
            root = session.proc.pid if isinstance(session.proc, subprocess.Popen) else session.proc.parent.proc.pid
            workers = [p for p in descendants(root) if _is_worker(p)]
            peaks[nb_id] = max(vm_hwm_mb(p) for p in workers) if workers else None
        finally:
            session.close()
    return peaks


def _is_worker(pid):
    """A cold sandbox's worker.py, or a warm sandbox (named by zygote.py)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh, open(f"/proc/{pid}/comm", "rb") as comm:
            return b"worker.py" in fh.read() or comm.read().strip() == b"mle-sandbox"
    except OSError:
        return False


def plain_kernel_peak_mb(course, assignments):
    """Peak RSS of an ordinary kernel running each source notebook of `assignments` (solutions and hidden tests)."""
    import nbformat
    from nbclient import NotebookClient
    peaks = {}
    paths = [p for a in assignments
             for p in sorted(glob.glob(os.path.join(course, "source", a, "*.ipynb")))]
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": os.path.dirname(path)}})
        with client.setup_kernel(stderr=subprocess.DEVNULL):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            peaks[os.path.splitext(os.path.basename(path))[0]] = vm_hwm_mb(client.km.provisioner.pid)
    return peaks


# -- report -----------------------------------------------------------------------------------

def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def render(result):
    n, w = result["students"], result["workers"]
    runs = result["runs"]
    lines = [f"Grading benchmark: {n} students, {result['submissions']} submissions "
             f"({', '.join(result['assignments'])}; {result['notebooks_per_submission']:.1f} notebooks each), "
             f"{w} workers, {result['cores']} cores, {result['date']}",
             f"command: {result['command']}", ""]
    lines.append("| run | submissions | wall (s) | s / submission | x floor | x plain nbgrader | load avg before/after |")
    lines.append("|---|---:|---:|---:|---:|---:|---|")
    names = {"floor": "floor: plain nbclient, no grading", "plain": "plain nbgrader autograde, sequential",
             "pack1": "pack, 1 Dask worker", "packW": f"pack, {w} Dask workers",
             "cycle_plain": "whole cycle, plain nbgrader: autograde, generate_feedback, export",
             "cycleW": f"whole cycle, pack on {w} Dask workers (x plain: against the plain cycle)"}
    for key in RUNS:
        r = runs.get(key)
        if not r:
            continue
        lines.append(f"| {names[key]} | {r.get('submissions', result['submissions'])} | {fmt(r['wall'], 1)} | "
                     f"{fmt(r['per_submission'])} | "
                     f"{fmt(r.get('x_floor'))} | {fmt(r.get('x_plain'))} | "
                     f"{fmt(r['load_before'], 1)} / {fmt(r['load_after'], 1)} |")
    lines.append("")
    phases = (("sandbox_start", "sandbox start"), ("student_code", "student code"), ("checks", "trusted checks"),
              ("student_calls_in_checks", "of which calls into student code"),
              ("nbgrader_bookkeeping", "nbgrader bookkeeping"), ("cluster_and_idle", "cluster start and idle"),
              ("wall_per_notebook_per_worker", "workers x wall / notebooks"))
    if any(runs.get(k, {}).get("breakdown") for k in ("pack1", "packW")):
        lines.append("Where the pack's time goes, seconds per notebook:")
        lines.append("")
        lines.append("| run | " + " | ".join(label for _, label in phases) + " | worker start (s, once) |")
        lines.append("|---|" + "---:|" * (len(phases) + 1))
        for key in ("pack1", "packW"):
            b = runs.get(key, {}).get("breakdown")
            if b:
                lines.append(f"| {names[key]} | " + " | ".join(fmt(b[k]) for k, _ in phases) +
                             f" | {fmt(b['worker_start_seconds'], 1)} |")
        lines.append("")
    mem = result.get("memory")
    workers_mb = [runs[k].get("worker_peak_mb") for k in ("pack1", "packW") if k in runs]
    if mem or any(workers_mb):
        lines.append("Peak memory (VmHWM, MB): one grading worker (nbgrader, torch, the checks) "
                     f"{fmt(max((m for m in workers_mb if m), default=None), 0)}" +
                     (f"; one sandbox {fmt(mem['sandbox_max'], 0)} "
                      f"{json.dumps({k: round(v) for k, v in mem['sandbox'].items() if v})}; "
                      f"a plain nbgrader kernel {fmt(mem['plain_max'], 0)} "
                      f"{json.dumps({k: round(v) for k, v in mem['plain'].items() if v})}" if mem else ""))
        lines.append("")
    svc = result.get("service")
    if svc:
        lines.append(f"Feedback on submit: a burst of {svc['submissions']} submissions, one every {svc['interval_s']:g} s, "
                     f"through a real exchange: from landing to released feedback median {fmt(svc['p50_s'])} s, "
                     f"95th percentile {fmt(svc['p95_s'])} s, max {fmt(svc['max_s'])} s; lost {svc['lost']}, "
                     f"still queued when the benchmark stopped waiting {svc.get('unfinished', 0)}, "
                     f"settled without feedback {svc.get('settled_without_feedback', 0)}, "
                     f"graded twice {svc['twice']} (load {fmt(svc['load_before'], 1)} / {fmt(svc['load_after'], 1)})")
        lines.append("")
    for target in result["targets"]:
        verdict = "met" if target["met"] else ("NOT met" if target["met"] is not None else "not measured")
        lines.append(f"target: {target['what']} <= {target['limit']}: {fmt(target['value'])} -> {verdict}")
    for note in result.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./course bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=50, help="simulated class size (default 50)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="workers of the parallel run (default: one per core)")
    parser.add_argument("--skip", action="append", default=[], choices=SKIPPABLE,
                        help="leave a run out (repeatable)")
    parser.add_argument("--baseline-students", type=int, default=None, metavar="K",
                        help="run floor, plain nbgrader and the pack on 1 worker on K of the N students, spread "
                             "evenly over the class, and compare seconds per submission; the pack on every core "
                             "still grades all N (default: all N for every run)")
    parser.add_argument("--burst-interval", type=float, default=3.0,
                        help="seconds between submissions of the service's burst (default 3: 200 in ten minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course directories")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmark_runs"), help="where to write the results")
    args = parser.parse_args(argv)
    n, w = args.students, args.workers
    tmp = tempfile.mkdtemp(prefix="mle-bench-")
    log_path = os.path.join(tmp, "setup.log")
    command = (f"./course bench --students {n} --workers {w}" + "".join(f" --skip {s}" for s in args.skip)
               + (f" --baseline-students {args.baseline_students}" if args.baseline_students else ""))
    result = {"students": n, "workers": w, "cores": os.cpu_count(), "command": command,
              "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
              "runs": {}, "notes": []}
    try:
        import nbgrader
        result["nbgrader"] = nbgrader.__version__
        say(f"building a course with {n} simulated submissions in {tmp}")
        base = os.path.join(tmp, "base")
        students = build_course(base, n, log_path)
        subs = submissions(base, students)
        notebooks = sum(len(submission_notebooks(base, s, a)) for a, s in subs)
        result["assignments"] = submitted_assignments(subs)
        result["submissions"] = len(subs)
        result["notebooks_per_submission"] = notebooks / len(subs)

        baseline = sample_of(students, args.baseline_students)
        baseline_subs = submissions(base, baseline)
        baseline_notebooks = sum(len(submission_notebooks(base, s, a)) for a, s in baseline_subs)
        if len(baseline) < len(students):
            result["baseline_students"] = len(baseline)
            result["notes"].append(f"floor, plain nbgrader and pack on 1 worker ran on {len(baseline)} of the "
                                   f"{n} students ({len(baseline_subs)} submissions, spread evenly over the "
                                   f"class); ratios compare seconds per submission")

        def record(key, wall, on=None, **extra):
            on_subs, on_notebooks = (baseline_subs, baseline_notebooks) if on is baseline else (subs, notebooks)
            result["runs"][key] = dict(wall=wall, submissions=len(on_subs), per_submission=wall / len(on_subs),
                                       per_notebook=wall / on_notebooks, load_before=extra.pop("load_before"),
                                       load_after=loadavg(), **extra)
            say(f"{key}: {wall:.1f} s, {wall / len(on_subs):.2f} s per submission")

        if "floor" not in args.skip:
            say("floor: executing the submitted notebooks with plain nbclient (no grading)")
            load = loadavg()
            wall, _ = run_floor(base, baseline)
            record("floor", wall, on=baseline, load_before=load)
        if "plain" not in args.skip:
            say("plain nbgrader: sequential nbgrader autograde with nbgrader's Execute")
            course = keep_only(variant(base, os.path.join(tmp, "plain"), plain=True), baseline)
            load = loadavg()
            wall = run_sequential(course, baseline, "plain nbgrader")
            record("plain", wall, on=baseline, load_before=load)
        for key, workers in (("pack1", 1), ("packW", w)):
            if key in args.skip:
                continue
            say(f"pack, {workers} worker{'s' * (workers > 1)}: mle_grading.operations.parallel on a local Dask cluster")
            on = baseline if key == "pack1" else students
            course = keep_only(variant(base, os.path.join(tmp, key)), on)
            load = loadavg()
            wall, results, peaks = run_pack(course, workers)
            record(key, wall, on=on, load_before=load, breakdown=pack_breakdown(course, wall, workers, results),
                   failed=[f"{r['assignment']}/{r['student']}: {r['why']}" for r in results if not r["graded"]],
                   worker_peak_mb=max(peaks) if peaks else None)
        if "cycle_plain" not in args.skip:
            say("plain cycle: sequential nbgrader autograde, generate_feedback and export")
            course = keep_only(variant(base, os.path.join(tmp, "cycle_plain"), plain=True), baseline)
            load = loadavg()
            wall = run_cycle_plain(course, baseline)
            record("cycle_plain", wall, on=baseline, load_before=load)
        if "cycleW" not in args.skip:
            say(f"pack cycle, {w} workers: grading and feedback on Dask, then nbgrader export")
            course = keep_only(variant(base, os.path.join(tmp, "cycleW")), students)
            load = loadavg()
            wall, results, _ = run_pack(course, w, cycle=True)
            record("cycleW", wall, on=students, load_before=load, failed=failure_lines(results))
        if "service" not in args.skip:
            say(f"service: a burst of {len(subs)} submissions through a real exchange, one every "
                f"{args.burst_interval:g} s, graded on {w} Dask workers")
            load = loadavg()
            result["service"] = run_service_burst(base, os.path.join(tmp, "service"), subs, w, args.burst_interval)
            result["service"].update(load_before=load, load_after=loadavg())
            say(f"service: median {fmt(result['service']['p50_s'])} s, 95th percentile "
                f"{fmt(result['service']['p95_s'])} s, lost {result['service']['lost']}, "
                f"twice {result['service']['twice']}")
        if "pack1" in result["runs"] and "packW" in result["runs"]:
            same = gradebook_scores(os.path.join(tmp, "pack1"), baseline) == \
                gradebook_scores(os.path.join(tmp, "packW"), baseline)
            result["same_scores_pack1_packW"] = same
            result["notes"].append(f"every cell of every student scored the same with 1 and {w} workers: "
                                   f"{'yes' if same else 'NO'}")
        if "memory" not in args.skip:
            say("memory: one sandbox worker and one plain kernel")
            sandbox = sandbox_kernel_peak_mb(base, next(s for s in students if s.endswith("-reference")))
            plain = plain_kernel_peak_mb(base, result["assignments"])
            result["memory"] = {"sandbox": sandbox, "plain": plain,
                                "sandbox_max": max((v for v in sandbox.values() if v), default=None),
                                "plain_max": max((v for v in plain.values() if v), default=None)}

        runs = result["runs"]
        for key, r in runs.items():
            # Per submission, which is the wall-time ratio whenever both runs graded the same class.
            if "floor" in runs:
                r["x_floor"] = r["per_submission"] / runs["floor"]["per_submission"]
            if "plain" in runs:
                r["x_plain"] = r["per_submission"] / runs["plain"]["per_submission"]
        for r in runs.values():
            r["s_per_submission"] = r["per_submission"]
        if "cycle_plain" in runs and "cycleW" in runs:
            runs["cycleW"]["x_plain"] = runs["cycleW"]["per_submission"] / runs["cycle_plain"]["per_submission"]
        if "pack1" in runs and "packW" in runs:
            result["notes"].append(f"{w} workers grade "
                                   f"{runs['pack1']['per_submission'] / runs['packW']['per_submission']:.2f} times "
                                   f"as fast as 1 worker (seconds per submission)")
        mem = result.get("memory") or {}
        result["targets"] = [   # issue 15's goals
            {"what": f"pack with {w} workers / plain sequential nbgrader (seconds per submission)", "limit": 0.1,
             "value": runs.get("packW", {}).get("x_plain")},
            {"what": "pack with 1 worker / floor (seconds per submission)", "limit": 0.3,
             "value": runs.get("pack1", {}).get("x_floor")},
            {"what": f"pack with {w} workers, seconds per submission (200 in 5 minutes)", "limit": 1.5,
             "value": runs.get("packW", {}).get("per_submission")},
            {"what": "peak memory of one sandbox, MB", "limit": 400, "value": mem.get("sandbox_max")},
            {"what": f"whole cycle (grade, feedback, export) with {w} workers / plain sequential nbgrader cycle "
                     "(seconds per submission)", "limit": 0.1, "value": runs.get("cycleW", {}).get("x_plain")},
            {"what": "service burst: median seconds from submission to feedback", "limit": 5,
             "value": result.get("service", {}).get("p50_s")},
            {"what": "service burst: 95th percentile seconds from submission to feedback", "limit": 15,
             "value": result.get("service", {}).get("p95_s")},
        ]
        if "plain" in runs and runs["plain"]["submissions"] < len(subs):
            result["notes"].append(f"plain nbgrader for the whole class, estimated from its sample: "
                                   f"{runs['plain']['per_submission'] * len(subs):.0f} s")
        if "packW" in runs:
            result["notes"].append(f"wall time for the class of {n} on {w} workers: {runs['packW']['wall']:.0f} s "
                                   f"({runs['packW']['per_submission']:.2f} s per submission)")
        for t in result["targets"]:
            t["met"] = None if t["value"] is None else t["value"] <= t["limit"]
        if w > (os.cpu_count() or 1):
            result["notes"].append(f"{w} workers on {os.cpu_count()} cores")
        text = render(result)
        print("\n" + text, flush=True)
        os.makedirs(args.out, exist_ok=True)
        stem = os.path.join(args.out, f"{datetime.datetime.now():%Y%m%d-%H%M%S}-N{n}-W{w}")
        with open(stem + ".json", "w") as fh:
            json.dump(result, fh, indent=1)
        with open(stem + ".md", "w") as fh:
            fh.write(text + "\n")
        say(f"written: {stem}.json and .md")
        return 0
    finally:
        if args.keep:
            say(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
