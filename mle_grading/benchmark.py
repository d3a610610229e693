"""The grading benchmark: how fast a class is graded, and where the time goes.

    ./course bench [--students N] [--workers W] [--skip RUN ...] [--keep]

Builds a temporary course with a simulated class of N students (the demo roster
cycled: reference, untouched, then one student per known mistake), then measures,
one after the other on this machine:

- floor: the same submitted notebooks executed with plain nbclient (a fresh
  kernel per notebook, allow_errors, no grading at all);
- plain nbgrader: sequential `nbgrader autograde` with nbgrader's own Execute
  (course_config.py without TrustedGrading: every cell, hidden-test lines
  included, runs in an ordinary kernel, as the instructor);
- pack, 1 worker: sequential `nbgrader autograde` with course_config.py as it is
  (sandboxed submission, trusted checks);
- pack, W workers: `mle_grading.parallel.autograde_parallel`;

and the peak memory of one grading kernel: the sandbox worker of one notebook
(its VmHWM, read from /proc while it is alive, after the notebook's code and all its
checks ran) against an ordinary kernel running the same notebook with its hidden
tests (the source notebook). Where the pack's time goes comes from the per-notebook
timings TrustedGrading saves in grading_reports/.

Prints a table and writes it as JSON and markdown to benchmark_runs/ (gitignored).
A benchmark prints figures; it is not a test with time limits. Other jobs on the
machine change the figures: the load average before and after each run is recorded.
"""
import argparse
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

from . import ASSIGNMENT_ID

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COURSE_FILES = ("notebooks", "source", "release", "course_config.py", "nbgrader_config.py")
RUNS = ("floor", "plain", "pack1", "packW")

PLAIN_CONFIG = '''

# --- benchmark variant: nbgrader's own autograde, without the pack's TrustedGrading ---
# Every cell of the rebuilt notebook, hidden-test lines included, runs in an ordinary
# kernel (as the instructor, in the course directory): what a plain nbgrader set-up does.
from nbgrader.preprocessors import DeduplicateIds, Execute, OverwriteCells  # noqa: E402
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
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")  # alembic
    env.setdefault("PYTHONWARNINGS", "ignore")
    for key in ("MLE_GRADING_DB_URL", "MLE_GRADING_REPORT_DIR"):
        env.pop(key, None)
    return env


def nbgrader_exe():
    exe = os.path.join(os.path.dirname(sys.executable), "nbgrader")
    return exe if os.path.exists(exe) else "nbgrader"


def run_nbgrader(course, args, log_path, on_line=None):
    with open(log_path, "a") as log:
        log.write(f"\n$ nbgrader {' '.join(args)}\n")
        proc = subprocess.Popen([nbgrader_exe(), *args], cwd=course, env=clean_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in proc.stdout:
            log.write(line)
            if on_line:
                on_line(line)
        return proc.wait()


# -- the simulated class ---------------------------------------------------------------

def build_course(base, n_students, log_path):
    """A course with the assignment generated and n_students submissions; returns the students."""
    from .demo_class import build_demo_class
    os.makedirs(base)
    for name in COURSE_FILES:
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(base, name), ignore=shutil.ignore_patterns("__pycache__"))
        elif os.path.exists(src):
            shutil.copy(src, os.path.join(base, name))
    if run_nbgrader(base, ["generate_assignment", ASSIGNMENT_ID, "--force"], log_path) != 0:
        raise SystemExit(f"nbgrader generate_assignment failed: see {log_path}")
    roster = build_demo_class(base)
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


def submission_notebooks(course, student):
    return sorted(glob.glob(os.path.join(course, "submitted", student, ASSIGNMENT_ID, "*.ipynb")))


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
    env_backup = {k: os.environ.pop(k, None) for k in ("MLE_GRADING_DB_URL", "MLE_GRADING_REPORT_DIR")}
    started = time.perf_counter()
    count = 0
    try:
        for student in students:
            for path in submission_notebooks(course, student):
                nb = nbformat.read(path, as_version=4)
                NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                               resources={"metadata": {"path": os.path.dirname(path)}}
                               ).execute(stderr=subprocess.DEVNULL)
                count += 1
            counter.tick()
    finally:
        for k, v in env_backup.items():
            if v is not None:
                os.environ[k] = v
    return time.perf_counter() - started, count


def run_sequential(course, students, label):
    counter = Counter(len(students), label)
    log_path = os.path.join(course, "autograde.log")
    started = time.perf_counter()
    code = run_nbgrader(course, ["autograde", ASSIGNMENT_ID, "--force"], log_path,
                        lambda line: counter.tick() if "Setting destination file permissions" in line else None)
    wall = time.perf_counter() - started
    if code != 0:
        say(f"  {label}: nbgrader autograde exited with status {code} (see {log_path})")
    return wall


def run_parallel(course, students, workers):
    from .parallel import autograde_parallel
    counter = Counter(len(students), f"pack, {workers} workers")
    log_path = os.path.join(course, "autograde.log")
    open(log_path, "w").close()
    db_url = f"sqlite:///{os.path.join(course, 'gradebook.db')}"
    started = time.perf_counter()
    failed = autograde_parallel(course, ASSIGNMENT_ID, students, workers, log_path,
                                progress=lambda s, i, n: counter.tick(), db_url=db_url)
    wall = time.perf_counter() - started
    for line in failed:
        say(f"  not graded: {line}")
    return wall, failed


def pack_breakdown(course, wall, workers):
    """Seconds per notebook: sandbox start, student code, checks, nbgrader bookkeeping."""
    sums = {"start": 0.0, "cells": 0.0, "calls": 0.0, "total": 0.0}
    count = 0
    for path in glob.glob(os.path.join(course, "grading_reports", ASSIGNMENT_ID, "*", "*.json")):
        with open(path) as fh:
            timings = json.load(fh).get("timings") or {}
        if not timings:
            continue
        count += 1
        for key in sums:
            sums[key] += float(timings.get(key, 0.0))
    if not count:
        return None
    per = {k: v / count for k, v in sums.items()}
    return {
        "notebooks": count,
        "sandbox_start": per["start"],
        "student_code": per["cells"],          # the worker's start-up imports and the notebook's cells
        "checks": per["total"] - per["start"] - per["cells"],   # trusted checks, their calls included
        "student_calls_in_checks": per["calls"],
        "trusted_grading": per["total"],
        # Everything else the run spent per notebook: nbgrader's own work (reading, sanitizing,
        # gradebook writes, writing autograded/), its start-up, and (W > 1) idle workers at the end.
        "nbgrader_bookkeeping": workers * wall / count - per["total"],
        "wall_per_notebook_per_worker": workers * wall / count,
    }


def gradebook_scores(course, students):
    from nbgrader.api import Gradebook, MissingEntry
    out = {}
    with Gradebook(f"sqlite:///{os.path.join(course, 'gradebook.db')}", course_id="") as gb:
        for student in students:
            try:
                submission = gb.find_submission(ASSIGNMENT_ID, student)
            except MissingEntry:
                out[student] = None
                continue
            out[student] = {f"{nb.name}/{g.name}": g.score for nb in submission.notebooks for g in nb.grades}
    return out


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
    from . import checks
    from .nbgrader_plugins import student_cells
    from .sandbox import SandboxSession, SandboxStudent
    from .sandbox.runner import Limits
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
            workers = [p for p in descendants(session.proc.pid) if _is_worker(p)]
            peaks[nb_id] = max(vm_hwm_mb(p) for p in workers) if workers else None
        finally:
            session.close()
    return peaks


def _is_worker(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"worker.py" in fh.read()
    except OSError:
        return False


def plain_kernel_peak_mb(course):
    """Peak RSS of an ordinary kernel running each source notebook (solutions and hidden tests)."""
    import nbformat
    from nbclient import NotebookClient
    peaks = {}
    for path in sorted(glob.glob(os.path.join(course, "source", ASSIGNMENT_ID, "*.ipynb"))):
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
    lines = [f"Grading benchmark: {n} submissions x {result['notebooks_per_submission']} notebooks, "
             f"{w} workers, {result['cores']} cores, {result['date']}",
             f"command: {result['command']}", ""]
    lines.append("| run | wall (s) | s / submission | x floor | x plain nbgrader | load avg before/after |")
    lines.append("|---|---:|---:|---:|---:|---|")
    names = {"floor": "floor: plain nbclient, no grading", "plain": "plain nbgrader autograde, sequential",
             "pack1": "pack, 1 worker (nbgrader autograde)", "packW": f"pack, {w} workers (mle_grading.parallel)"}
    for key in RUNS:
        r = runs.get(key)
        if not r:
            continue
        lines.append(f"| {names[key]} | {fmt(r['wall'], 1)} | {fmt(r['per_submission'])} | "
                     f"{fmt(r.get('x_floor'))} | {fmt(r.get('x_plain'))} | "
                     f"{fmt(r['load_before'], 1)} / {fmt(r['load_after'], 1)} |")
    lines.append("")
    for key in ("pack1", "packW"):
        b = runs.get(key, {}).get("breakdown")
        if not b:
            continue
        label = "1 worker" if key == "pack1" else f"{w} workers"
        lines.append(f"Where the pack's time goes ({label}), seconds per notebook "
                     f"({b['notebooks']} notebooks): sandbox start {b['sandbox_start']:.3f}; "
                     f"student code (worker start-up imports and the notebook's cells) {b['student_code']:.2f}; "
                     f"trusted checks {b['checks']:.2f} (of which calls into student code "
                     f"{b['student_calls_in_checks']:.2f}); nbgrader bookkeeping {b['nbgrader_bookkeeping']:.2f} "
                     f"(= {'workers x ' if key == 'packW' else ''}wall / notebooks {b['wall_per_notebook_per_worker']:.2f}"
                     f" - TrustedGrading {b['trusted_grading']:.2f})")
    mem = result.get("memory")
    if mem:
        lines.append("")
        lines.append(f"Peak memory of one grading kernel (VmHWM, MB, max over the notebooks): sandbox worker "
                     f"{fmt(mem['sandbox_max'], 0)} {json.dumps({k: round(v) for k, v in mem['sandbox'].items() if v})}; "
                     f"plain nbgrader kernel {fmt(mem['plain_max'], 0)} "
                     f"{json.dumps({k: round(v) for k, v in mem['plain'].items() if v})}")
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
    parser.add_argument("--workers", type=int, default=2, help="workers of the parallel run (default 2)")
    parser.add_argument("--skip", action="append", default=[], choices=RUNS + ("memory",),
                        help="leave a run out (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course directories")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmark_runs"), help="where to write the results")
    args = parser.parse_args(argv)
    n, w = args.students, args.workers
    tmp = tempfile.mkdtemp(prefix="mle-bench-")
    log_path = os.path.join(tmp, "setup.log")
    command = f"./course bench --students {n} --workers {w}" + "".join(f" --skip {s}" for s in args.skip)
    result = {"students": n, "workers": w, "cores": os.cpu_count(), "command": command,
              "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
              "runs": {}, "notes": []}
    try:
        import nbgrader
        result["nbgrader"] = nbgrader.__version__
        say(f"building a course with {n} simulated submissions in {tmp}")
        base = os.path.join(tmp, "base")
        students = build_course(base, n, log_path)
        per_sub = len(submission_notebooks(base, students[0]))
        result["notebooks_per_submission"] = per_sub

        def record(key, wall, **extra):
            result["runs"][key] = dict(wall=wall, per_submission=wall / n, per_notebook=wall / (n * per_sub),
                                       load_before=extra.pop("load_before"), load_after=loadavg(), **extra)
            say(f"{key}: {wall:.1f} s, {wall / n:.2f} s per submission")

        if "floor" not in args.skip:
            say("floor: executing the submitted notebooks with plain nbclient (no grading)")
            load = loadavg()
            wall, _ = run_floor(base, students)
            record("floor", wall, load_before=load)
        if "plain" not in args.skip:
            say("plain nbgrader: sequential nbgrader autograde with nbgrader's Execute")
            course = variant(base, os.path.join(tmp, "plain"), plain=True)
            load = loadavg()
            wall = run_sequential(course, students, "plain nbgrader")
            record("plain", wall, load_before=load)
        if "pack1" not in args.skip:
            say("pack, 1 worker: sequential nbgrader autograde with course_config.py")
            course = variant(base, os.path.join(tmp, "pack1"))
            load = loadavg()
            wall = run_sequential(course, students, "pack, 1 worker")
            record("pack1", wall, load_before=load, breakdown=pack_breakdown(course, wall, 1))
        if "packW" not in args.skip:
            say(f"pack, {w} workers: mle_grading.parallel")
            course = variant(base, os.path.join(tmp, "packW"))
            load = loadavg()
            wall, failed = run_parallel(course, students, w)
            record("packW", wall, load_before=load, breakdown=pack_breakdown(course, wall, w), failed=failed)
        if "pack1" in result["runs"] and "packW" in result["runs"]:
            same = gradebook_scores(os.path.join(tmp, "pack1"), students) == \
                gradebook_scores(os.path.join(tmp, "packW"), students)
            result["same_scores_pack1_packW"] = same
            result["notes"].append(f"every cell of every student scored the same with 1 and {w} workers: "
                                   f"{'yes' if same else 'NO'}")
        if "memory" not in args.skip:
            say("memory: one sandbox worker and one plain kernel")
            sandbox = sandbox_kernel_peak_mb(base, next(s for s in students if s.endswith("-reference")))
            plain = plain_kernel_peak_mb(base)
            result["memory"] = {"sandbox": sandbox, "plain": plain,
                                "sandbox_max": max((v for v in sandbox.values() if v), default=None),
                                "plain_max": max((v for v in plain.values() if v), default=None)}

        runs = result["runs"]
        for key, r in runs.items():
            if "floor" in runs:
                r["x_floor"] = r["wall"] / runs["floor"]["wall"]
            if "plain" in runs:
                r["x_plain"] = r["wall"] / runs["plain"]["wall"]
        if "pack1" in runs and "packW" in runs:
            result["notes"].append(f"{w} workers grade {runs['pack1']['wall'] / runs['packW']['wall']:.2f} times "
                                   f"as fast as 1 worker")
        mem = result.get("memory") or {}
        result["targets"] = [
            {"what": f"pack with {w} workers / plain sequential nbgrader (wall)", "limit": 0.6,
             "value": runs.get("packW", {}).get("x_plain")},
            {"what": "pack with 1 worker / floor (seconds per submission)", "limit": 1.3,
             "value": runs.get("pack1", {}).get("x_floor")},
            {"what": "peak memory of one sandbox worker, MB", "limit": 400, "value": mem.get("sandbox_max")},
        ]
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
