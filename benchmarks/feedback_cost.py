"""What one student's feedback pages cost a warm grading worker, and, given another checkout, what
they cost with that checkout's code and course_config.py, measured in the same run.

    python -m benchmarks.feedback_cost COURSE [--before OTHER_CHECKOUT] [--students N] [--rounds R]

COURSE is a graded course (`./course demo` leaves one in demo/): its autograded notebooks and
gradebook are copied, with a checkout's course_config.py, into a temporary course per checkout
(COURSE is only read). For each checkout, in turn and R times, a fresh process loads nbgrader's
feedback generator once (`WarmFeedback`, as a Dask worker does), writes the feedback of one
student to warm it up (reported apart), then of N students evenly spread over the class, and
reports each one's CPU time (the process's user + system time around `generate`) and wall time.
OTHER_CHECKOUT is a copy of the repository (with `.node/` for MathJax), e.g.
`git archive main | tar -x -C /tmp/before`. Prints figures; asserts nothing about time.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSIGNMENT = "mle_losses"


def measure(course, students):
    """In this process: warm up on the first student, then time each of the others."""
    import mle_grading
    from mle_grading.nbgrader_integration import run as nbgrader_run
    started = time.process_time()
    warm = nbgrader_run.WarmFeedback(course, nbgrader_run.gradebook_url(course))
    out = {"startup_cpu": time.process_time() - started, "students": [], "code": mle_grading.__file__}
    for i, student in enumerate(students):
        cpu, wall = time.process_time(), time.perf_counter()
        written, why, _ = warm.generate(ASSIGNMENT, student)
        row = {"student": student, "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
               "written": written, "why": why, "warmup": i == 0}
        out["students"].append(row)
    return out


def course_copy(course, code_root, students, target):
    os.makedirs(target)
    for name in ("source", "release", "nbgrader_config.py", "gradebook.db"):
        src = os.path.join(course, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(target, name))
    shutil.copy(os.path.join(code_root, "course_config.py"), os.path.join(target, "course_config.py"))
    for student in students:
        shutil.copytree(os.path.join(course, "autograded", student, ASSIGNMENT),
                        os.path.join(target, "autograded", student, ASSIGNMENT))
    return target


def spread(students, n):
    """n students evenly spread over the class, each once (fewer when the class is smaller)."""
    picked = [students[round(i * (len(students) - 1) / max(n - 1, 1))] for i in range(n)] if n > 1 else students[:1]
    return list(dict.fromkeys(picked))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("course", help="a graded course directory (read only)")
    parser.add_argument("--before", help="another checkout of the repository, measured in turn with this one")
    parser.add_argument("--students", type=int, default=8, help="students timed per round (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per checkout (default 2)")
    parser.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)   # in the child process
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.course, args.measure)))
        return 0

    course = os.path.abspath(args.course)
    graded = sorted(name for name in os.listdir(os.path.join(course, "autograded"))
                    if os.path.isfile(os.path.join(course, "autograded", name, ASSIGNMENT, "01_gaussian_mse.ipynb")))
    chosen = spread(graded, args.students + 1)   # the first one warms the process up
    roots = {"after": ROOT} if not args.before else {"before": os.path.abspath(args.before), "after": ROOT}
    base = tempfile.mkdtemp(prefix="feedback-cost-")
    cpu = {label: [] for label in roots}
    try:
        courses = {label: course_copy(course, root, chosen, os.path.join(base, label)) for label, root in roots.items()}
        for round_ in range(args.rounds):
            for label, root in roots.items():
                env = {**os.environ, "PYTHONPATH": root, "PYTHONDONTWRITEBYTECODE": "1"}
                proc = subprocess.run([sys.executable, os.path.abspath(__file__), courses[label],
                                       "--measure", *chosen], env=env, capture_output=True, text=True, cwd=root)
                if proc.returncode:
                    sys.exit(f"{label}: {proc.stderr[-2000:]}")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                if not result["code"].startswith(os.path.join(root, "")):
                    sys.exit(f"{label}: the grading library came from {result['code']}, not {root}")
                rows = result["students"]
                failed = [f"{r['student']}: {r['why']}" for r in rows if not r["written"]]
                if failed:
                    sys.exit(f"{label}: no feedback for " + "; ".join(failed))
                timed = [r["cpu"] for r in rows if not r["warmup"]]
                cpu[label] += timed
                print(f"round {round_ + 1} {label:6s} ({root}): warm-up student {rows[0]['cpu']:.2f} CPU-s; "
                      f"{len(timed)} students: median {statistics.median(timed):.2f}, min {min(timed):.2f}, "
                      f"max {max(timed):.2f} CPU-s each", flush=True)
        print(f"\nfeedback of one student of {ASSIGNMENT} (4 pages), CPU-s on a warm process, "
              f"{args.rounds} rounds x {args.students} students:")
        for label, values in cpu.items():
            print(f"  {label:6s} median {statistics.median(values):.3f}  mean {statistics.mean(values):.3f}  "
                  f"min {min(values):.3f}")
        if "before" in cpu:
            print(f"  after / before (medians): {statistics.median(cpu['after']) / statistics.median(cpu['before']):.2f}")
        print(f"  load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
