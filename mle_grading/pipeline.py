"""The instructor's whole pipeline in one command, on a demo class.

    python -m mle_grading.pipeline [--workers W]

1. builds source/ from notebooks/<assignment>/*.py and regenerates release/ (nbgrader generate_assignment);
2. builds the demo class in submitted/ (reference, untouched release, known mistakes);
3. autogrades it (nbgrader autograde, with the trusted sandboxed checks of course_config.py);
4. generates feedback and exports grades to reports/grades.csv;
5. prints students by question, saves reports/question_scores.png, and says where things are.

It can be run again without cleaning up. It never deletes a student it did not
create: if submitted/ or the gradebook hold anyone else, it stops and says so.
Exit status: 0 all graded cleanly; 2 graded, but something needs an instructor's
attention (listed); 1 the pipeline itself failed.
"""
import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import time

from . import ASSIGNMENT_ID, NOTEBOOK_IDS
from .demo_class import build_demo_class, roster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = ".demo_class_roster"
SYMBOL_FULL, SYMBOL_ZERO, SYMBOL_PART = "+", ".", "~"


class PipelineError(RuntimeError):
    pass


def say(step, text):
    print(f"[{step}] {text}", flush=True)


def nbgrader_env():
    env = dict(os.environ)
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")  # nbgrader runs `alembic` from PATH
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def nbgrader(args, log_path, progress=None):
    """Run one nbgrader command from the course root, logging everything to log_path."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "nbgrader")] + args
    with open(log_path, "a") as log:
        log.write(f"\n$ {' '.join(args)}\n")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=nbgrader_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log.write(line)
            if progress:
                progress(line)
        code = proc.wait()
    return code


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


def grade_cells_in_order():
    import nbformat
    order = []
    for nb_id in NOTEBOOK_IDS:
        path = os.path.join(ROOT, "source", ASSIGNMENT_ID, f"{nb_id}.ipynb")
        if not os.path.exists(path):
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                order.append((nb_id, meta["grade_id"], float(meta["points"])))
    return order


def collect_scores(db_url, students, questions):
    """{student: {(notebook, grade_id): score or None}}"""
    from nbgrader.api import Gradebook, MissingEntry
    scores = {}
    with Gradebook(db_url) as gb:
        for student in students:
            row = {}
            for nb_id, gid, _ in questions:
                try:
                    grade = gb.find_grade(gid, nb_id, ASSIGNMENT_ID, student)
                    row[(nb_id, gid)] = grade.score if grade.auto_score is not None or grade.manual_score is not None else None
                except MissingEntry:
                    row[(nb_id, gid)] = None
            scores[student] = row
    return scores


def format_table(students, questions, scores):
    notebooks = [nb for nb in NOTEBOOK_IDS if any(q[0] == nb for q in questions)]
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


def save_question_chart(students, questions, scores, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fractions = [sum((scores[s].get((q[0], q[1])) or 0) / q[2] for s in students) / len(students) for q in questions]
    colours = {nb: f"C{i}" for i, nb in enumerate(NOTEBOOK_IDS)}
    fig, ax = plt.subplots(figsize=(max(8, 0.3 * len(questions)), 5))
    ax.bar(range(len(questions)), [100 * f for f in fractions], color=[colours[q[0]] for q in questions])
    ax.set_xticks(range(len(questions)))
    ax.set_xticklabels([q[1] for q in questions], rotation=90, fontsize=7)
    ax.set_ylabel("class mean (% of points)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Each question across the class ({len(students)} submissions)")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=colours[nb], label=nb) for nb in NOTEBOOK_IDS if any(q[0] == nb for q in questions)],
              loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_reports(students):
    problems = []
    for student in students:
        for path in sorted(glob.glob(os.path.join(ROOT, "grading_reports", ASSIGNMENT_ID, student, "*.json"))):
            with open(path) as fh:
                report = json.load(fh)
            for problem in report.get("problems", []):
                problems.append(f"{student}/{report.get('notebook')}: {problem}")
    return problems


def main(argv=None):
    global ROOT
    parser = argparse.ArgumentParser(description="Run the instructor's whole pipeline on the demo class.")
    parser.add_argument("--workers", type=int, default=1, help="grade with this many parallel workers")
    parser.add_argument("--course-root", default=ROOT, help="the course directory (default: this repository)")
    args = parser.parse_args(argv)
    ROOT = os.path.abspath(args.course_root)
    started = time.time()
    reports = os.path.join(ROOT, "reports")
    os.makedirs(reports, exist_ok=True)
    log_path = os.path.join(reports, "pipeline.log")
    open(log_path, "w").close()
    from .nbgrader_plugins import course_db_url
    os.chdir(ROOT)
    db_url = course_db_url()
    try:
        say("1/6", "building source/ from notebooks/<assignment>/*.py and regenerating release/")
        from . import notebook_build
        if notebook_build.main(["--root", ROOT]) != 0:
            raise PipelineError("could not build the source notebooks")
        students = roster()
        reset_demo_state(students, db_url)
        if nbgrader(["generate_assignment", ASSIGNMENT_ID, "--force"], log_path) != 0:
            raise PipelineError(f"nbgrader generate_assignment failed: see {log_path}")

        say("2/6", "building the demo class from the release")
        students = build_demo_class(ROOT)
        with open(os.path.join(ROOT, "submitted", MARKER), "w") as fh:
            fh.write("\n".join(students) + "\n")
        say("2/6", f"{len(students)} submissions: {', '.join(students)}")

        say("3/6", f"autograding with nbgrader autograde ({args.workers} worker{'s' * (args.workers > 1)})")
        grade_started = time.time()
        if args.workers > 1:
            from .parallel import autograde_parallel
            failed = autograde_parallel(ROOT, ASSIGNMENT_ID, students, args.workers, log_path,
                                        progress=lambda s, i, n: say("3/6", f"graded {i}/{n}: {s}"))
        else:
            done = []

            def progress(line):
                if "Autograding" in line and ".ipynb" in line and "INFO" in line:
                    parts = os.path.normpath(line.split("Autograding")[-1].strip()).split(os.sep)
                    student = parts[-3] if len(parts) >= 3 else "?"
                    if student not in done:
                        done.append(student)
                        say("3/6", f"grading {len(done)}/{len(students)}: {student}")
            code = nbgrader(["autograde", ASSIGNMENT_ID, "--force"], log_path, progress)
            failed = [] if code == 0 else ["(nbgrader autograde exited with status %d)" % code]
        say("3/6", f"autograded in {time.time() - grade_started:.1f} s")

        say("4/6", "generating feedback and exporting grades")
        if nbgrader(["generate_feedback", ASSIGNMENT_ID, "--force"], log_path) != 0:
            failed.append("nbgrader generate_feedback reported an error")
        grades_csv = os.path.join(reports, "grades.csv")
        if nbgrader(["export", "--to", grades_csv], log_path) != 0:
            raise PipelineError(f"nbgrader export failed: see {log_path}")
        from .class_report import ReportError, build_report  # the instructor's class report (issue 14)
        try:
            say("4/6", "class report: " + os.path.relpath(build_report(ASSIGNMENT_ID, db_url, reports, ROOT)["html"]))
        except ReportError as exc:
            failed.append(f"the class report could not be built: {exc}")

        say("5/6", "scores of the class, students by question")
        questions = grade_cells_in_order()
        scores = collect_scores(db_url, students, questions)
        table = format_table(students, questions, scores)
        print(table, flush=True)
        with open(os.path.join(reports, "questions.txt"), "w") as fh:
            for nb in NOTEBOOK_IDS:
                numbered = [q for q in questions if q[0] == nb]
                for i, q in enumerate(numbered, 1):
                    fh.write(f"{nb[:2]}:{i % 10}  {q[1]} ({q[2]:g} points)\n")
        with open(os.path.join(reports, "scores_by_question.csv"), "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["student"] + [f"{q[0]}/{q[1]}" for q in questions])
            for s in students:
                writer.writerow([s] + [scores[s].get((q[0], q[1])) for q in questions])
        with open(os.path.join(reports, "summary.txt"), "w") as fh:
            fh.write(table + "\n")
        chart = os.path.join(reports, "question_scores.png")
        save_question_chart(students, questions, scores, chart)

        say("6/6", "what needs attention, and where everything is")
        problems = read_reports(students) + failed
        ungraded = [s for s in students if any(v is None for v in scores[s].values())]
        problems += [f"{s}: some questions have no score (see {log_path})" for s in ungraded]
        for line in problems:
            print(f"  ATTENTION {line}")
        if not problems:
            print("  nothing needs attention: every submission was graded")
        rel = lambda p: os.path.relpath(p, os.getcwd())  # noqa: E731
        print(f"  feedback:   {rel(os.path.join(ROOT, 'feedback'))}/<student>/{ASSIGNMENT_ID}/*.html")
        print(f"  grades:     {rel(grades_csv)}  (per question: {rel(os.path.join(reports, 'scores_by_question.csv'))})")
        print(f"  chart:      {rel(chart)}")
        print(f"  log:        {rel(log_path)}")
        print(f"  done in {time.time() - started:.0f} s")
        return 2 if problems else 0
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
