"""The instructor's whole pipeline in one command, on a demo class.

    python -m mle_grading.operations.pipeline [--workers W | --scheduler tls://HOST:PORT [--tls-…]]

The demo class never mixes with the instructor's own gradebook and folders: it is built
and graded in a course directory of its own, demo/ (gitignored), made from the course's
notebooks/ and configuration, with its own SQLite gradebook (MLE_GRADING_DB_URL, the
instructor's gradebook, is not used; --db-url gives the demo another one).
For every assignment of the course that has a notebooks/ folder:
1. builds demo/source/ from notebooks/<assignment>/*.py and generates demo/release/ (nbgrader generate_assignment);
2. builds the demo class in demo/submitted/ (reference, untouched release, known mistakes);
3. autogrades it on Dask (nbgrader's autograder, warm in each worker, with the trusted
   sandboxed checks of course_config.py: mle_grading.operations.parallel);
4. generates feedback and exports grades to demo/reports/grades.csv;
5. prints students by question, saves demo/reports/question_scores.png, and says where things are.

It can be run again without cleaning up. It never deletes a student it did not
create: if demo/submitted/ or its gradebook hold anyone else, it stops and says so.
--update-examples copies the graded notebooks of the few COMMITTED_STUDENTS into the
course's examples/autograded/ (the example of graded work the repository keeps).
Exit status: 0 all graded cleanly; 2 graded, but something needs an instructor's
attention (listed); 1 the pipeline itself failed.
"""
import argparse
import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import time

from mle_grading import ASSIGNMENTS
from mle_grading.nbgrader_integration import run as nbgrader_run
from mle_grading.nbgrader_integration import spreadsheet_safe
from mle_grading.operations.demo_class import COMMITTED_STUDENTS, build_demo_class, roster

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the course directory
DEMO_FOLDER = "demo"                       # the demo's own course directory, inside the course's
EXAMPLES = os.path.join("examples", "autograded")   # the committed example of graded work
# What the demo course is made of: the course's notebook texts and its nbgrader configuration.
DEMO_COURSE_FILES = ("notebooks", "course_config.py", "nbgrader_config.py")
MARKER = ".demo_class_roster"
SYMBOL_FULL, SYMBOL_ZERO, SYMBOL_PART = "+", ".", "~"


class PipelineError(RuntimeError):
    pass


# The course's own folders that the demo must never write (it has its own copies in demo/).
COURSE_STATE = ("submitted", "autograded", "feedback", "release", "reports", "grading_reports", "gradebook.db")
# In the demo folder: the commit a completed run graded and what it printed, so that the test
# suite, run right after `./course demo` on the same commit (as CI does), reads that run
# instead of grading the whole demo class a second time.
RUN_RECORD = "completed_run.json"
_printed = []


def tell(text=""):
    print(text, flush=True)
    _printed.append(text)


def say(step, text):
    tell(f"[{step}] {text}")


def inputs_identity(course_root):
    """The commit whose files a run in course_root reads, or None when that is not certain: not a
    git clone, or its working tree differs from the commit (a change, or a file git would add)."""
    def git(*args):
        return subprocess.run(["git", "-C", course_root, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        # A course copied into some other clone is not that clone's commit.
        if os.path.realpath(git("rev-parse", "--show-toplevel")) != os.path.realpath(course_root):
            return None
        head, changed = git("rev-parse", "HEAD"), git("status", "--porcelain")
    except (OSError, subprocess.CalledProcessError):
        return None
    return None if changed else head


def completed_run(course_root):
    """The record of the last `./course demo` in course_root if it graded exactly the files of the
    course's current commit, on the demo's own SQLite gradebook, and ended cleanly; else None."""
    path = os.path.join(course_root, DEMO_FOLDER, RUN_RECORD)
    try:
        with open(path) as fh:
            record = json.load(fh)
    except (OSError, ValueError):
        return None
    commit = inputs_identity(course_root)
    # Workers of another cluster may run other code; another gradebook is not the demo's.
    if commit is None or record.get("commit") != commit or record.get("returncode") != 0 \
            or not record.get("own_sqlite_gradebook") or not record.get("local_cluster"):
        return None
    return record


def write_run_record(course_root, commit, returncode, own_sqlite_gradebook, local_cluster, state_before):
    # A run during which the course's files changed graded no one commit.
    if commit is not None and inputs_identity(course_root) != commit:
        commit = None
    record = {"commit": commit, "returncode": returncode, "own_sqlite_gradebook": own_sqlite_gradebook,
              "local_cluster": local_cluster, "course_state_before": state_before,
              "stdout": "\n".join(_printed) + "\n"}
    with open(os.path.join(ROOT, RUN_RECORD), "w") as fh:
        json.dump(record, fh, indent=1)


def nbgrader(args, log_path):
    """Run one nbgrader command from the course root, logging everything to log_path."""
    return nbgrader_run.run(ROOT, args, log_path=log_path).returncode


def previous_roster():
    path = os.path.join(ROOT, "submitted", MARKER)
    if os.path.exists(path):
        return set(open(path).read().split())
    return set()


def gradebook_students(db_url):
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        return {s.id for s in gb.students}


def reset_demo_state(students, db_url):
    """Remove what an earlier demo run made, refusing to touch anyone else's work."""
    known = set(students) | previous_roster()
    submitted = os.path.join(ROOT, "submitted")
    strangers = sorted(d for d in (os.listdir(submitted) if os.path.isdir(submitted) else [])
                       if not d.startswith(".") and d not in known)
    db_file = os.path.join(ROOT, "gradebook.db")
    if db_url.startswith("sqlite") and os.path.exists(db_file):
        strangers += sorted(gradebook_students(db_url) - known - set(strangers))
    if strangers:
        raise PipelineError(
            f"this course directory holds work of students who are not in the demo class: {strangers[:10]}. "
            "The demo never deletes real work: run it in a fresh clone, or move that work away.")
    for folder in ("submitted", "autograded", "feedback"):
        for student in known:
            path = os.path.join(ROOT, folder, student)
            if os.path.isdir(path):
                shutil.rmtree(path)
    for path in (db_file, os.path.join(ROOT, "grading_reports")):
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def prepare_demo_course(course_root, demo_root):
    """Make demo_root a course directory of its own: fresh copies of the course's notebook
    texts and configuration (source/ and release/ are then built there, never in the course)."""
    if os.path.abspath(demo_root) == os.path.abspath(course_root):
        raise PipelineError("the demo runs in a directory of its own, not in the course directory itself")
    os.makedirs(demo_root, exist_ok=True)
    for name in DEMO_COURSE_FILES:
        src, dst = os.path.join(course_root, name), os.path.join(demo_root, name)
        if not os.path.exists(src):
            raise PipelineError(f"the course directory {course_root} has no {name}")
        if os.path.isdir(dst):
            shutil.rmtree(dst)
        if os.path.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy(src, dst)
    for name in ("source", "release"):   # rebuilt from notebooks/ each run
        if os.path.isdir(os.path.join(demo_root, name)):
            shutil.rmtree(os.path.join(demo_root, name))


def update_examples(course_root, demo_root):
    """Copy the COMMITTED_STUDENTS' graded notebooks into the course's examples/autograded/."""
    target = os.path.join(course_root, EXAMPLES)
    if os.path.isdir(target):
        shutil.rmtree(target)
    for student in COMMITTED_STUDENTS:
        shutil.copytree(os.path.join(demo_root, "autograded", student), os.path.join(target, student))
    return target


def grade_cells_in_order(assignment):
    """[(notebook, grade_id, points)] of an assignment's source notebooks, in teaching order."""
    import nbformat
    order = []
    for nb_id in ASSIGNMENTS[assignment]:
        path = os.path.join(ROOT, "source", assignment, f"{nb_id}.ipynb")
        if not os.path.exists(path):
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                order.append((nb_id, meta["grade_id"], float(meta["points"])))
    return order


def collect_scores(db_url, assignment, students, questions):
    """{student: {(notebook, grade_id): score or None}}"""
    from nbgrader.api import Gradebook, MissingEntry
    scores = {}
    with Gradebook(db_url) as gb:
        for student in students:
            row = {}
            for nb_id, gid, _ in questions:
                try:
                    grade = gb.find_grade(gid, nb_id, assignment, student)
                    row[(nb_id, gid)] = grade.score if grade.auto_score is not None or grade.manual_score is not None else None
                except MissingEntry:
                    row[(nb_id, gid)] = None
            scores[student] = row
    return scores


def format_table(assignment, students, questions, scores):
    notebooks = [nb for nb in ASSIGNMENTS[assignment] if any(q[0] == nb for q in questions)]
    width = max(len(s) for s in students) + 2
    lines = []
    header = "student".ljust(width) + "  ".join(
        f"{nb[:2]}:" + "".join(str((i % 10)) for i in range(1, 1 + sum(q[0] == nb for q in questions)))
        for nb in notebooks) + "   score"
    lines.append(header)
    lines.append("-" * len(header))
    total_max = sum(q[2] for q in questions)
    for student in students:
        groups = []
        total = 0.0
        for nb in notebooks:
            marks = ""
            for q in questions:
                if q[0] != nb:
                    continue
                s = scores[student].get((nb, q[1]))
                total += s or 0.0
                marks += SYMBOL_FULL if s == q[2] else (SYMBOL_ZERO if not s else SYMBOL_PART)
            groups.append("   " + marks)
        lines.append(student.ljust(width) + "  ".join(groups) + f"   {total:5.1f}/{total_max:.0f}")
    lines.append(f"({SYMBOL_FULL} full marks, {SYMBOL_ZERO} no marks, {SYMBOL_PART} part; "
                 "question numbers per notebook are listed in reports/questions.txt)")
    return "\n".join(lines)


def write_scores_by_question(path, graded, students):
    """reports/scores_by_question.csv: a row per student, a column per question; scores stay numbers."""
    with open(path, "w", newline="") as fh:
        writer = spreadsheet_safe.writer(fh)  # student ids: never a live formula
        columns = [(a, q) for a, (_, questions, _) in graded.items() for q in questions]
        writer.writerow(["student"] + [f"{a}/{q[0]}/{q[1]}" for a, q in columns])
        for s in students:
            writer.writerow([s] + [graded[a][2][s].get((q[0], q[1])) if s in graded[a][2] else None
                                   for a, q in columns])


def save_question_chart(classes, path):
    """One bar per question of every assignment: the class mean, as a share of its points.

    classes: {assignment: (students, questions, scores)}.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    bars = []   # (label, colour key, fraction)
    for assignment, (students, questions, scores) in classes.items():
        for nb, gid, points in questions:
            mean = sum((scores[s].get((nb, gid)) or 0) / points for s in students) / max(1, len(students))
            bars.append((gid, f"{assignment}/{nb}", mean))
    keys = list(dict.fromkeys(key for _, key, _ in bars))
    colours = {key: f"C{i % 10}" for i, key in enumerate(keys)}
    fig, ax = plt.subplots(figsize=(max(8, 0.3 * len(bars)), 5))
    ax.bar(range(len(bars)), [100 * f for _, _, f in bars], color=[colours[k] for _, k, _ in bars])
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels([label for label, _, _ in bars], rotation=90, fontsize=7)
    ax.set_xlabel("question (test cell), in notebook order")
    ax.set_ylabel("class mean (% of points)")
    ax.set_ylim(0, 100)
    sizes = ", ".join(f"{a}: {len(c[0])} submissions" for a, c in classes.items())
    ax.set_title(f"Each question across the class ({sizes})")
    ax.legend(handles=[Patch(color=colours[k], label=k) for k in keys], loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_reports(assignment, students):
    problems = []
    for student in students:
        for path in sorted(glob.glob(os.path.join(ROOT, "grading_reports", assignment, student, "*.json"))):
            with open(path) as fh:
                report = json.load(fh)
            for problem in report.get("problems", []):
                problems.append(f"{assignment}/{student}/{report.get('notebook')}: {problem}")
    return problems


def main(argv=None):
    global ROOT
    parser = argparse.ArgumentParser(description="Run the instructor's whole pipeline on the demo class.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="grade on a local Dask cluster of this many workers (default: one per core)")
    where.add_argument("--scheduler", default=None, metavar="tls://HOST:PORT",
                       help="grade on the Dask cluster of this scheduler")
    from mle_grading.operations.parallel import add_security_arguments, security_from_arguments
    add_security_arguments(parser)
    parser.add_argument("--course-root", default=ROOT, help="the course directory (default: this repository)")
    parser.add_argument("--demo-root", default=None,
                        help=f"where the demo course is built and graded (default: COURSE_ROOT/{DEMO_FOLDER})")
    parser.add_argument("--db-url", default=None,
                        help="the demo's gradebook (default: the SQLite gradebook.db of the demo course)")
    parser.add_argument("--update-examples", action="store_true",
                        help=f"afterwards, copy the graded notebooks of {len(COMMITTED_STUDENTS)} demo students "
                             f"into COURSE_ROOT/{EXAMPLES} (the committed example)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    security = security_from_arguments(parser, args)
    course_root = os.path.abspath(args.course_root)
    ROOT = os.path.abspath(args.demo_root or os.path.join(course_root, DEMO_FOLDER))
    commit = inputs_identity(course_root)
    state_before = [name for name in COURSE_STATE if os.path.exists(os.path.join(course_root, name))]
    _printed.clear()
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(ROOT, RUN_RECORD))   # a run that does not complete leaves none
    try:
        prepare_demo_course(course_root, ROOT)
    except (PipelineError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    started = time.time()
    reports = os.path.join(ROOT, "reports")
    os.makedirs(reports, exist_ok=True)
    log_path = os.path.join(reports, "pipeline.log")
    open(log_path, "w").close()
    os.chdir(ROOT)
    # The demo's own gradebook, never the instructor's: every nbgrader run and local Dask
    # worker inherits it (and alembic on PATH).
    db_url = nbgrader_run.gradebook_url(ROOT, args.db_url or f"sqlite:///{os.path.join(ROOT, 'gradebook.db')}")
    os.environ.update(nbgrader_run.environment(db_url=db_url))
    try:
        say("1/6", f"building the demo course in {os.path.relpath(ROOT, course_root)}/: source/ from "
                   "notebooks/<assignment>/*.py, release/ by nbgrader generate_assignment")
        from mle_grading.operations import notebook_build
        if notebook_build.main(["--root", ROOT]) != 0:
            raise PipelineError("could not build the source notebooks")
        assignments = nbgrader_run.course_assignments(ROOT)
        if not assignments:
            raise PipelineError("the course has no source/<assignment>/ folder")
        students = []   # the demo class: one roster across assignments, in order
        for assignment in assignments:
            students += [s for s in roster(assignment) if s not in students]
        reset_demo_state(students, db_url)
        for assignment in assignments:
            if nbgrader(["generate_assignment", assignment, "--force"], log_path) != 0:
                raise PipelineError(f"nbgrader generate_assignment {assignment} failed: see {log_path}")

        say("2/6", "building the demo class from the release")
        for assignment in assignments:
            build_demo_class(ROOT, assignment)
        with open(os.path.join(ROOT, "submitted", MARKER), "w") as fh:
            fh.write("\n".join(students) + "\n")
        classes = {}
        for assignment in assignments:
            present = set(nbgrader_run.submitted_students(ROOT, assignment))
            classes[assignment] = [s for s in students if s in present]
            say("2/6", f"{assignment}: {len(classes[assignment])} submissions: {', '.join(classes[assignment])}")

        from mle_grading.operations.parallel import dask_client, dashboard_address, failure_lines, grade_class
        grade_started = time.time()
        with dask_client(args.scheduler, args.workers, security) as client:
            workers = len(client.scheduler_info(n_workers=-1)["workers"])
            say("3/6", f"autograding {', '.join(assignments)} and writing feedback with nbgrader's autograder and "
                       f"feedback generator on {workers} Dask worker{'s' * (workers > 1)} "
                       f"(dashboard: {dashboard_address(client) or 'not available'})")
            results = grade_class(ROOT, assignments, client, students=classes, force=True, db_url=db_url,
                                  log_path=log_path, feedback=True)
        failed = failure_lines(results)
        say("3/6", f"autograded, with feedback, in {time.time() - grade_started:.1f} s")

        say("4/6", "exporting grades")
        grades_csv = os.path.join(reports, "grades.csv")
        if nbgrader(["export", "--to", grades_csv], log_path) != 0:
            raise PipelineError(f"nbgrader export failed: see {log_path}")
        from mle_grading.operations.class_report import ReportError, build_report  # the instructor's class report (issue 14)
        for assignment in assignments:
            try:
                say("4/6", "class report: " + os.path.relpath(build_report(assignment, db_url, reports, ROOT)["html"]))
            except ReportError as exc:
                failed.append(f"the class report of {assignment} could not be built: {exc}")

        say("5/6", "scores of the class, students by question")
        graded = {}
        for assignment in assignments:
            questions = grade_cells_in_order(assignment)
            scores = collect_scores(db_url, assignment, classes[assignment], questions)
            graded[assignment] = (classes[assignment], questions, scores)
        tables = []
        for assignment, (members, questions, scores) in graded.items():
            if members:
                tables.append(f"{assignment}\n" + format_table(assignment, members, questions, scores))
        tell("\n\n".join(tables))
        with open(os.path.join(reports, "questions.txt"), "w") as fh:
            for assignment, (_, questions, _) in graded.items():
                for nb in ASSIGNMENTS[assignment]:
                    numbered = [q for q in questions if q[0] == nb]
                    for i, q in enumerate(numbered, 1):
                        fh.write(f"{assignment} {nb[:2]}:{i % 10}  {q[1]} ({q[2]:g} points)\n")
        write_scores_by_question(os.path.join(reports, "scores_by_question.csv"), graded, students)
        with open(os.path.join(reports, "summary.txt"), "w") as fh:
            fh.write("\n\n".join(tables) + "\n")
        chart = os.path.join(reports, "question_scores.png")
        save_question_chart({a: c for a, c in graded.items() if c[0]}, chart)

        say("6/6", "what needs attention, and where everything is")
        problems = failed[:]
        for assignment, (members, _, scores) in graded.items():
            problems += read_reports(assignment, members)
            ungraded = [s for s in members if any(v is None for v in scores[s].values())]
            problems += [f"{assignment}/{s}: some questions have no score (see {log_path})" for s in ungraded]
        for line in problems:
            tell(f"  ATTENTION {line}")
        if not problems:
            tell("  nothing needs attention: every submission was graded")
        rel = lambda p: os.path.relpath(p, os.getcwd())  # noqa: E731
        tell(f"  feedback:   {rel(os.path.join(ROOT, 'feedback'))}/<student>/<assignment>/*.html")
        tell(f"  grades:     {rel(grades_csv)}  (per question: {rel(os.path.join(reports, 'scores_by_question.csv'))})")
        tell(f"  chart:      {rel(chart)}")
        tell(f"  log:        {rel(log_path)}")
        if args.update_examples:
            tell(f"  examples:   {rel(update_examples(course_root, ROOT))} (the committed graded examples, updated)")
        tell(f"  done in {time.time() - started:.0f} s")
        returncode = 2 if problems else 0
        write_run_record(course_root, commit, returncode, args.db_url is None, args.scheduler is None, state_before)
        return returncode
    except (PipelineError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
