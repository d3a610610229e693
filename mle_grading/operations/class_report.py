"""What the instructor learns from a graded class: one static HTML page and CSV files.

    python -m mle_grading.operations.class_report <assignment> [--db-url URL] [--out reports/]
                                       [--course-root DIR] [--reports-dir DIR]

Built from the gradebook (nbgrader.api.Gradebook, SQLite or PostgreSQL by URL) and
from the grading reports that `TrustedGrading` writes for every graded notebook
(grading_reports/<assignment>/<student>/<notebook>.json: each test cell's grader
message, None when it passed, and the problems met while grading). It shows

- the score distribution of each notebook and of the assignment: mean, median,
  standard deviation, and the reliability of the test cells as a test (Cronbach's
  alpha), as Moodle's quiz statistics and PrairieLearn's assessment statistics give;
- per test cell: its facility (the class's mean share of its points), the share that
  passed it, how many left it unattempted, and its discrimination (the point-biserial
  correlation of passing the cell with the rest of the score);
- per test cell: the diagnosed mistakes, each grader message with how many students
  got it; an unattempted answer (the release's stub left in place, or the name never
  defined) is counted as unattempted, never as a mistake;
- cells that nobody or everybody passed;
- submissions that could not be graded, and why.

Writes <out>/class_report_<assignment>.html, <out>/class_report_<assignment>_cells.csv
(one row per test cell) and <out>/class_report_<assignment>_mistakes.csv (one row
per cell and message). Exit status 0, or 1 with a message when the assignment is
not in the gradebook.
"""
import argparse
import base64
import glob
import html
import io
import json
import math
import os
import sys
from collections import OrderedDict
from dataclasses import dataclass, field

from mle_grading import ASSIGNMENTS
from mle_grading.nbgrader_integration import spreadsheet_safe

# Below this many graded submissions a correlation says little; the page says so.
FEW_STUDENTS = 10
# A rest-score correlation under this is commonly read as a cell that separates strong
# from weak submissions poorly (item-analysis rule of thumb).
WEAK_DISCRIMINATION = 0.2


# How many of the most frequent diagnoses the page lists first.
TOP_DIAGNOSES = 10
# How a failure without a grader message (no grading report for that notebook) is listed.
NO_MESSAGE = "(failed; no grader message was recorded for this notebook)"


class ReportError(RuntimeError):
    pass


def unattempted(message):
    """A failed check's message says the answer was never written: the release's stub still raises
    NotImplementedError, or the name it had to define is not defined (checks/api.py's wording)."""
    return message is not None and ("raised NotImplementedError" in message or "is not defined" in message)


@dataclass
class Cell:
    notebook: str
    grade_id: str
    points: float


@dataclass
class ClassData:
    """Everything the report shows, as plain data read from the gradebook and the grading reports."""
    assignment: str
    notebooks: list                              # notebook ids in teaching order
    cells: list                                  # [Cell] autograded test cells, in notebook order
    notebook_max: dict                           # {notebook: max points}
    students: list                               # students with a submission in the gradebook
    scores: dict                                 # {student: {(notebook, grade_id): score}}
    notebook_scores: dict                        # {student: {notebook: score}}
    totals: dict                                 # {student: assignment score}
    messages: dict                               # {student: {(notebook, grade_id): message or None}}
    ungraded: list = field(default_factory=list)  # [(student, notebook or "", why)]


@dataclass
class CellStats:
    cell: Cell
    graded: int
    passed: int
    share: float                 # passed / graded (nan when nobody was graded)
    r_total: float               # point-biserial with the total (nan when undefined)
    r_rest: float                # point-biserial with the total without this cell
    mistakes: list               # [(message, [students])], most frequent first (attempted answers only)
    unattempted: int = 0         # failed because the answer was never written
    facility: float = float("nan")   # mean share of the cell's points over the graded students


@dataclass
class ClassStats:
    n: int
    mean: float
    median: float
    sd: float                    # sample standard deviation (n - 1)
    alpha: float                 # Cronbach's alpha of the test cells' scores (nan when undefined)


# -- reading -------------------------------------------------------------------

def _source_cell_order(course_root, assignment, notebook):
    """grade_ids of a source notebook in cell order, or [] when the source is not at hand."""
    path = os.path.join(course_root, "source", assignment, f"{notebook}.ipynb")
    if not os.path.exists(path):
        return []
    import nbformat
    nb = nbformat.read(path, as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")]


def read_class(assignment, db_url, course_root, reports_dir):
    """Read one assignment's gradebook entries and grading reports into ClassData."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(db_url) as gb:
        try:
            entry = gb.find_assignment(assignment)
        except MissingEntry:
            known = sorted(a.name for a in gb.assignments)
            raise ReportError(f"the gradebook at {db_url} has no assignment {assignment!r} "
                              f"(it has: {', '.join(known) or 'none'}); run nbgrader autograde first")
        in_gradebook = [nb.name for nb in entry.notebooks]
        taught = [nb for nb in ASSIGNMENTS.get(assignment, ()) if nb in in_gradebook]
        notebooks = taught + sorted(nb for nb in in_gradebook if nb not in taught)
        cells, notebook_max = [], {}
        for nb in notebooks:
            source = gb.find_notebook(nb, assignment)
            notebook_max[nb] = float(source.max_score)
            # Autograded tests are the code grade cells; markdown grade cells are graded by hand.
            tests = {c.name: c for c in source.grade_cells if c.cell_type == "code"}
            order = [g for g in _source_cell_order(course_root, assignment, nb) if g in tests]
            order += sorted(g for g in tests if g not in order)
            cells += [Cell(nb, g, float(tests[g].max_score)) for g in order]

        students, scores, notebook_scores, totals, ungraded = [], {}, {}, {}, []
        for submission in sorted(entry.submissions, key=lambda s: s.student.id):
            student = submission.student.id
            students.append(student)
            scores[student], notebook_scores[student] = {}, {}
            for snb in submission.notebooks:
                notebook_scores[student][snb.name] = float(snb.score)
                never_graded = False
                for grade in snb.grades:
                    scores[student][(snb.name, grade.name)] = float(grade.score)
                    if grade.cell_type == "code" and grade.auto_score is None and grade.manual_score is None:
                        never_graded = True
                if never_graded:
                    ungraded.append((student, snb.name, "the gradebook holds no autograded score for it "
                                                        "(autograde did not finish this notebook)"))
            totals[student] = float(submission.score)

    messages = {}
    for student in students:
        messages[student] = {}
        for nb in notebooks:
            path = os.path.join(reports_dir, assignment, student, f"{nb}.json")
            if not os.path.exists(path):
                ungraded.append((student, nb, "no grading report: it was not graded by the trusted checks"))
                continue
            try:
                with open(path) as fh:
                    report = json.load(fh)
            except (OSError, ValueError) as exc:
                ungraded.append((student, nb, f"its grading report could not be read ({exc})"))
                continue
            for grade_id, message in report.get("checks", {}).items():
                messages[student][(nb, grade_id)] = message
            for problem in report.get("problems", []):
                ungraded.append((student, nb, problem))

    # Work that was submitted but never reached the gradebook (autograde failed for the whole student).
    for folder in sorted(glob.glob(os.path.join(course_root, "submitted", "*", assignment))):
        student = os.path.basename(os.path.dirname(folder))
        if student not in scores:
            ungraded.append((student, "", "submitted, but it has no entry in the gradebook "
                                          "(autograde failed or has not been run for this student)"))
    return ClassData(assignment, notebooks, cells, notebook_max, students, scores, notebook_scores,
                     totals, messages, ungraded)


# -- statistics ----------------------------------------------------------------

def median(values):
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return float("nan")
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def sample_variance(values):
    n = len(values)
    if n < 2:
        return float("nan")
    mean = sum(values) / n
    return sum((v - mean) ** 2 for v in values) / (n - 1)


def cronbach_alpha(items):
    """Cronbach's alpha of a test: items is one list of scores per item, over the same students.
    alpha = k / (k - 1) * (1 - sum of the items' variances / variance of the totals); nan when
    there are fewer than two items or students, or the totals do not vary."""
    k = len(items)
    if k < 2 or len(items[0]) < 2:
        return float("nan")
    totals = [sum(column) for column in zip(*items)]
    total_var = sample_variance(totals)
    if not total_var:
        return float("nan")
    return k / (k - 1) * (1 - sum(sample_variance(item) for item in items) / total_var)


def class_statistics(data):
    totals = [data.totals[s] for s in data.students]
    graded = [s for s in data.students if all((c.notebook, c.grade_id) in data.scores[s] for c in data.cells)]
    items = [[data.scores[s][(c.notebook, c.grade_id)] for s in graded] for c in data.cells]
    return ClassStats(len(totals), sum(totals) / len(totals) if totals else float("nan"), median(totals),
                      math.sqrt(sample_variance(totals)) if len(totals) > 1 else float("nan"),
                      cronbach_alpha(items) if graded else float("nan"))

def point_biserial(passed, values):
    """Pearson correlation of a 0/1 variable with a score; nan when either does not vary."""
    n = len(passed)
    if n < 2 or len(set(passed)) < 2 or len(set(values)) < 2:
        return float("nan")
    mean_p = sum(passed) / n
    mean_v = sum(values) / n
    cov = sum((p - mean_p) * (v - mean_v) for p, v in zip(passed, values))
    var_p = sum((p - mean_p) ** 2 for p in passed)
    var_v = sum((v - mean_v) ** 2 for v in values)
    return cov / math.sqrt(var_p * var_v)


def cell_statistics(data):
    """CellStats per test cell. A cell passes when it earned all its points."""
    stats = []
    for cell in data.cells:
        key = (cell.notebook, cell.grade_id)
        graded = [s for s in data.students if key in data.scores[s]]
        passed = [1 if data.scores[s][key] >= cell.points else 0 for s in graded]
        totals = [data.totals[s] for s in graded]
        rests = [data.totals[s] - data.scores[s][key] for s in graded]
        by_message = OrderedDict()
        not_attempted = 0
        for s, ok in zip(graded, passed):
            if ok:  # the gradebook decides (an instructor's manual score overrides the check)
                continue
            message = data.messages.get(s, {}).get(key)
            if unattempted(message):
                not_attempted += 1
                continue
            message = NO_MESSAGE if message is None else " ".join(str(message).split())
            by_message.setdefault(message, []).append(s)
        mistakes = sorted(by_message.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        facility = (sum(data.scores[s][key] for s in graded) / (len(graded) * cell.points)
                    if graded and cell.points else float("nan"))
        stats.append(CellStats(cell, len(graded), sum(passed),
                               sum(passed) / len(graded) if graded else float("nan"),
                               point_biserial(passed, totals), point_biserial(passed, rests), mistakes,
                               not_attempted, facility))
    return stats


# -- plots ---------------------------------------------------------------------

def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _colours(data):
    return {nb: f"C{i}" for i, nb in enumerate(data.notebooks)}


def plot_score_distributions(data):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [(nb, [data.notebook_scores[s].get(nb, 0.0) for s in data.students], data.notebook_max[nb])
              for nb in data.notebooks]
    panels.append(("whole assignment", [data.totals[s] for s in data.students], sum(data.notebook_max.values())))
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    colours = _colours(data)
    for ax, (name, values, top) in zip(axes.flat, panels):
        bins = min(20, max(5, int(top)))
        ax.hist(values, bins=bins, range=(0, top), color=colours.get(name, "0.4"), label="students")
        if values:
            mean = sum(values) / len(values)
            ax.axvline(mean, color="k", linestyle="--", label=f"mean {mean:.1f}")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(f"score (out of {top:g})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"Score distribution per notebook, {len(data.students)} submissions of {data.assignment}")
    fig.tight_layout()
    return _png(fig)


def plot_pass_shares(data, stats):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    colours = _colours(data)
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.22 * len(stats) + 1.2)))
    labels = [f"{st.cell.notebook[:2]} {st.cell.grade_id}" for st in stats]
    shares = [100 * st.share if not math.isnan(st.share) else 0 for st in stats]
    ax.barh(range(len(stats)), shares, color=[colours[st.cell.notebook] for st in stats])
    ax.set_yticks(range(len(stats)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who passed the cell (%)")
    ax.set_ylabel("test cell (notebook number, grade_id)")
    ax.set_title("Share of the class that passed each test cell")
    ax.legend(handles=[Patch(color=colours[nb], label=nb) for nb in data.notebooks], fontsize=7,
              loc="lower right")
    fig.tight_layout()
    return _png(fig)


def plot_discrimination(data, stats):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    colours = _colours(data)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for nb in data.notebooks:
        points = [(100 * st.share, st.r_rest) for st in stats
                  if st.cell.notebook == nb and not math.isnan(st.r_rest)]
        if points:
            ax.scatter([p[0] for p in points], [p[1] for p in points], color=colours[nb], label=nb)
    ax.axhline(WEAK_DISCRIMINATION, color="0.5", linestyle=":", label=f"r = {WEAK_DISCRIMINATION} (weak below)")
    ax.set_xlim(-2, 102)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("students who passed the cell (%)")
    ax.set_ylabel("discrimination: r(pass, rest of score)")
    ax.set_title("Which cells separate strong from weak submissions")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return _png(fig)


# -- writing -------------------------------------------------------------------

def _fmt(x, digits=2):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _csv_number(x, digits=4):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), digits)


def write_csvs(data, stats, out_dir):
    cells_path = os.path.join(out_dir, f"class_report_{data.assignment}_cells.csv")
    with open(cells_path, "w", newline="") as fh:
        w = spreadsheet_safe.writer(fh)  # student ids: never a live formula
        w.writerow(["notebook", "grade_id", "points", "graded", "passed", "pass_share",
                    "r_pass_total", "r_pass_rest", "distinct_mistakes", "unattempted", "facility"])
        for st in stats:
            # Numbers as numbers: a negative correlation is a number, never a neutralised text.
            w.writerow([st.cell.notebook, st.cell.grade_id, float(st.cell.points), st.graded, st.passed,
                        _csv_number(st.share), _csv_number(st.r_total), _csv_number(st.r_rest), len(st.mistakes),
                        st.unattempted, _csv_number(st.facility)])
    mistakes_path = os.path.join(out_dir, f"class_report_{data.assignment}_mistakes.csv")
    with open(mistakes_path, "w", newline="") as fh:
        w = spreadsheet_safe.writer(fh)  # student ids: never a live formula
        w.writerow(["notebook", "grade_id", "students", "message", "who"])
        for st in stats:
            for message, who in st.mistakes:
                w.writerow([st.cell.notebook, st.cell.grade_id, len(who), message, " ".join(who)])
    return cells_path, mistakes_path


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 0.9em; } img { max-width: 100%; }
.weak { background: #fff3cd; } .none { background: #f8d7da; } .all { background: #d4edda; }
details summary { cursor: pointer; white-space: nowrap; }
"""


def render_html(data, stats, figures, summary=None):
    e = html.escape
    n = len(data.students)
    total_max = sum(data.notebook_max.values())
    summary = summary or class_statistics(data)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>Class report: {e(data.assignment)}</title><style>{STYLE}</style></head><body>",
             f"<h1>Class report: {e(data.assignment)}</h1>",
             f"<p id='summary'><span id='n-students'>{n}</span> graded submissions, "
             f"{len(data.cells)} test cells in {len(data.notebooks)} notebooks; "
             f"mean score {_fmt(summary.mean, 1)} / {total_max:g}.</p>",
             "<table id='class-stats'><tr><th>submissions</th><th>mean</th><th>median</th>"
             "<th>standard deviation</th><th>Cronbach's alpha</th></tr>"
             f"<tr><td class='num'>{summary.n}</td><td class='num mean'>{_fmt(summary.mean)}</td>"
             f"<td class='num median'>{_fmt(summary.median)}</td><td class='num sd'>{_fmt(summary.sd)}</td>"
             f"<td class='num alpha'>{_fmt(summary.alpha)}</td></tr></table>",
             "<p class='note'>Out of the assignment's points. Cronbach's alpha is the reliability of the test "
             "cells taken as one test (from 0 to 1; 0.7 and above is usually read as consistent); "
             "the standard deviation is the sample's (n - 1).</p>"]
    if n < FEW_STUDENTS:
        parts.append(f"<p class='note'>With fewer than {FEW_STUDENTS} submissions the discrimination "
                     "figures are noisy: read them as hints.</p>")

    parts.append("<h2>Score distribution</h2>")
    parts.append(f"<img alt='histograms of the score of each notebook' src='data:image/png;base64,{figures['dist']}'>")
    parts.append("<table><tr><th>notebook</th><th>max</th><th>mean</th><th>median</th><th>sd</th><th>min</th>"
                 "<th>max reached</th></tr>")
    for nb in data.notebooks + [None]:
        values = ([data.notebook_scores[s].get(nb, 0.0) for s in data.students] if nb
                  else [data.totals[s] for s in data.students])
        top = data.notebook_max[nb] if nb else total_max
        if values:
            sd = math.sqrt(sample_variance(values)) if len(values) > 1 else float("nan")
            parts.append(f"<tr><td>{e(nb or 'whole assignment')}</td><td class='num'>{top:g}</td>"
                         f"<td class='num'>{_fmt(sum(values) / len(values), 1)}</td>"
                         f"<td class='num'>{_fmt(median(values), 1)}</td><td class='num'>{_fmt(sd, 1)}</td>"
                         f"<td class='num'>{min(values):g}</td><td class='num'>{max(values):g}</td></tr>")
    parts.append("</table>")

    nobody = [st for st in stats if st.graded and st.passed == 0]
    everybody = [st for st in stats if st.graded and st.passed == st.graded]
    parts.append("<h2>Cells that nobody or everybody passed</h2>")
    parts.append("<p>Nobody passed (a hard cell, a misleading statement, or a check that is wrong): ")
    parts.append(", ".join(f"<code>{e(st.cell.notebook)}/{e(st.cell.grade_id)}</code>" for st in nobody) or "none")
    parts.append(f"</p><p id='everybody'>Everybody passed ({len(everybody)} cells; they tell the grade "
                 "nothing about who understood what): ")
    parts.append(", ".join(f"<code>{e(st.cell.notebook)}/{e(st.cell.grade_id)}</code>" for st in everybody)
                 or "none")
    parts.append("</p>")

    parts.append("<h2>Each test cell: who passed, and how well it separates the class</h2>")
    parts.append(f"<img alt='share of the class that passed each test cell' "
                 f"src='data:image/png;base64,{figures['shares']}'>")
    parts.append(f"<img alt='discrimination against pass share' src='data:image/png;base64,{figures['disc']}'>")
    parts.append("<p class='note'>Facility is the class's mean share of the cell's points (Moodle's "
                 "facility index). Unattempted: the answer was never written (the release's stub left in "
                 "place, or the name never defined); these are not counted as mistakes. Discrimination is the "
                 "point-biserial correlation of passing the cell "
                 "(1 or 0) with the score on the rest of the assignment (r rest) and with the whole score "
                 "(r total, which the cell's own points inflate). It is undefined (–) when everybody or "
                 f"nobody passed. Highlighted: r rest below {WEAK_DISCRIMINATION}.</p>")
    parts.append("<table id='cells'><tr><th>notebook</th><th>test cell</th><th>points</th><th>passed</th>"
                 "<th>share</th><th>facility</th><th>unattempted</th><th>r rest</th><th>r total</th>"
                 "<th>mistakes diagnosed</th></tr>")
    for st in stats:
        css = ("none" if st.graded and st.passed == 0 else "all" if st.graded and st.passed == st.graded
               else "weak" if not math.isnan(st.r_rest) and st.r_rest < WEAK_DISCRIMINATION else "")
        parts.append(f"<tr class='{css}' data-cell='{e(st.cell.notebook)}/{e(st.cell.grade_id)}'>"
                     f"<td>{e(st.cell.notebook)}</td><td><code>{e(st.cell.grade_id)}</code></td>"
                     f"<td class='num'>{st.cell.points:g}</td>"
                     f"<td class='num passed'>{st.passed}/{st.graded}</td>"
                     f"<td class='num share'>{_fmt(100 * st.share, 0)}%</td>"
                     f"<td class='num facility'>{_fmt(st.facility)}</td>"
                     f"<td class='num unattempted'>{st.unattempted}</td>"
                     f"<td class='num'>{_fmt(st.r_rest)}</td><td class='num'>{_fmt(st.r_total)}</td>"
                     f"<td class='num'>{len(st.mistakes)}</td></tr>")
    parts.append("</table>")

    ranked = sorted(((len(who), st.cell, message) for st in stats for message, who in st.mistakes
                     if message != NO_MESSAGE), key=lambda t: (-t[0], t[1].notebook, t[1].grade_id, t[2]))
    parts.append("<h2>The most frequent diagnoses</h2>")
    if ranked:
        parts.append("<table id='frequent'><tr><th>students</th><th>test cell</th><th>message</th></tr>")
        for count, cell, message in ranked[:TOP_DIAGNOSES]:
            parts.append(f"<tr><td class='num count'>{count}</td><td><code>{e(cell.notebook)}/{e(cell.grade_id)}"
                         f"</code></td><td class='message'>{e(message)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p id='frequent'>No diagnosis: no test cell failed.</p>")

    parts.append("<h2>Diagnosed mistakes, per test cell</h2>")
    parts.append("<p class='note'>Each failed cell's grader message, as the student read it, with how "
                 "many students got that message (unattempted answers left out); open a cell to see them.</p>")
    failing = [st for st in stats if st.mistakes]
    if not failing:
        parts.append("<p>No test cell failed.</p>")
    for st in failing:
        failed = sum(len(who) for _, who in st.mistakes)
        parts.append(f"<details class='cell-mistakes'><summary><code>{e(st.cell.notebook)}/{e(st.cell.grade_id)}"
                     f"</code>: {failed} of {st.graded} failed with {len(st.mistakes)} distinct "
                     f"message{'s' * (len(st.mistakes) != 1)}</summary>")
        parts.append(f"<table class='mistakes' data-cell='{e(st.cell.notebook)}/{e(st.cell.grade_id)}'>"
                     "<tr><th>students</th><th>message</th><th>who</th></tr>")
        for message, who in st.mistakes:
            parts.append(f"<tr><td class='num count'>{len(who)}</td><td class='message'>{e(message)}</td>"
                         f"<td><details><summary>{len(who)} student{'s' * (len(who) != 1)}</summary>"
                         f"{e(', '.join(who))}</details></td></tr>")
        parts.append("</table></details>")

    parts.append("<h2>Submissions that could not be graded</h2>")
    if data.ungraded:
        parts.append("<table id='ungraded'><tr><th>student</th><th>notebook</th><th>why</th></tr>")
        for student, nb, why in data.ungraded:
            parts.append(f"<tr><td>{e(student)}</td><td>{e(nb)}</td><td>{e(why)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p id='ungraded'>None: every submitted notebook was graded.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def build_report(assignment, db_url, out_dir, course_root=".", reports_dir=None):
    """Read, compute, plot and write; returns {"html": path, "cells_csv": path, "mistakes_csv": path}."""
    course_root = os.path.abspath(course_root)
    reports_dir = reports_dir or os.path.join(course_root, "grading_reports")
    data = read_class(assignment, db_url, course_root, reports_dir)
    if not data.students:
        raise ReportError(f"no submission of {assignment!r} is in the gradebook yet")
    stats = cell_statistics(data)
    summary = class_statistics(data)
    figures = {"dist": plot_score_distributions(data), "shares": plot_pass_shares(data, stats),
               "disc": plot_discrimination(data, stats)}
    os.makedirs(out_dir, exist_ok=True)
    page = os.path.join(out_dir, f"class_report_{assignment}.html")
    with open(page, "w", encoding="utf-8") as fh:
        fh.write(render_html(data, stats, figures, summary))
    cells_csv, mistakes_csv = write_csvs(data, stats, out_dir)
    return {"html": page, "cells_csv": cells_csv, "mistakes_csv": mistakes_csv}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the instructor's class report of one graded assignment.")
    parser.add_argument("assignment", help=f"the assignment (the course has: {', '.join(ASSIGNMENTS)})")
    parser.add_argument("--db-url", help="the gradebook (default: MLE_GRADING_DB_URL or the course's gradebook.db)")
    parser.add_argument("--out", default="reports", help="folder for the HTML page and CSV files (default: reports/)")
    parser.add_argument("--course-root", default=".", help="the course directory (default: the current one)")
    parser.add_argument("--reports-dir", help="the grading reports (default: <course root>/grading_reports)")
    args = parser.parse_args(argv)
    root = os.path.abspath(args.course_root)
    db_url = (args.db_url or os.environ.get("MLE_GRADING_DB_URL")
              or f"sqlite:///{os.path.join(root, 'gradebook.db')}")
    if db_url.startswith("sqlite:///") and not os.path.exists(db_url[len("sqlite:///"):]):
        print(f"error: no gradebook at {db_url[len('sqlite:///'):]} (grade the class first, or pass --db-url)",
              file=sys.stderr)
        return 1
    try:
        paths = build_report(args.assignment, db_url, args.out, root, args.reports_dir)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"class report: {paths['html']}\n  per cell:  {paths['cells_csv']}\n  mistakes:  {paths['mistakes_csv']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
