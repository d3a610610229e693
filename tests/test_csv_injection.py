"""Every CSV the pack writes opens safely in a spreadsheet (OWASP's rule against CSV injection).

Students whose ids, names and emails begin with =, +, -, @, a tab or a carriage
return go through every export: nbgrader's own CSV (the bare `nbgrader export`, with
the course's configuration), Canvas's and Moodle's import files, the pipeline's
scores by question and the class report's two CSVs. No cell of any of them begins
with a formula character, each neutralised cell is one quoted field, and every
grade is still the number it was.
"""
import csv
import os

import pytest

from mle_grading.nbgrader_integration.spreadsheet_safe import FORMULA_START
from mle_grading.operations import class_report
from mle_grading.operations.pipeline import write_scores_by_question

from course_copy import copy_course, run_nbgrader
from test_class_report import NOTEBOOKS as REPORT_NOTEBOOKS, synthetic_design, write_synthetic_class

# Formula-shaped ids (no "/": an id is also a folder name).
HOSTILE_IDS = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' calc'!A0", "-2+3", "@SUM(1+1)*cmd|' calc'!A0",
               "\t=1+1", "\r=1+1", "  =1+1"]
HOSTILE_NAME = '=HYPERLINK("http://evil.example";"click")'
ROSTER_IDS = HOSTILE_IDS[:4]   # a roster's values are read stripped: the last three would be one id
SCORE = {sid: 10.0 + i * 2.5 for i, sid in enumerate(HOSTILE_IDS)}


def live_formulas(path):
    """The cells of a CSV that a spreadsheet would read as formulas."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return [cell for row in rows for cell in row
            if cell.lstrip(" ")[:1] in FORMULA_START and cell.strip() and not is_number(cell)]


def is_number(cell):
    """A plain number (-12.5) is a value to a spreadsheet, not a formula."""
    try:
        float(cell)
    except ValueError:
        return False
    return not cell[:1].isspace()


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def assert_safe(path, expected_neutralised):
    assert live_formulas(path) == [], live_formulas(path)
    text = open(path, newline="", encoding="utf-8").read()
    for value in expected_neutralised:   # written behind a ' and as one quoted field
        assert '"\'' + value.replace('"', '""') + '"' in text, value


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from nbgrader.api import Gradebook
    course = copy_course(str(tmp_path_factory.mktemp("csv_injection")))
    with Gradebook(f"sqlite:///{os.path.join(course, 'gradebook.db')}") as gb:
        gb.add_assignment("mle_losses")
        gb.add_notebook("01_gaussian_mse", "mle_losses")
        gb.add_grade_cell("a", "01_gaussian_mse", "mle_losses", max_score=60.0, cell_type="code")
        for sid in HOSTILE_IDS:
            gb.add_student(sid, first_name=HOSTILE_NAME, last_name="-Smith", email="@evil.example")
            gb.add_submission("mle_losses", sid)
            gb.find_grade("a", "01_gaussian_mse", "mle_losses", sid).auto_score = SCORE[sid]
            gb.db.commit()
    with open(os.path.join(course, "roster.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["nbgrader_id", "name", "first_name", "last_name", "canvas_id", "sis_user_id",
                         "sis_login_id", "section", "email", "idnumber", "username"])
        for i, sid in enumerate(ROSTER_IDS):
            writer.writerow([sid, HOSTILE_NAME, HOSTILE_NAME, "-Smith", str(2000 + i), f"S{i}", "+login", "=A1",
                             "@evil.example", f"N{i}", "-user"])
    return course


def test_nbgraders_own_export_writes_no_live_formula_and_keeps_the_scores(course):
    out = os.path.join(course, "grades.csv")
    run_nbgrader(course, "export", f"--to={out}")   # the bare command: course_config.py's exporter
    assert_safe(out, HOSTILE_IDS[:4] + [HOSTILE_NAME, "-Smith", "@evil.example"])
    rows = rows_of(out)
    header = rows[0]
    assert header[:4] == ["assignment", "duedate", "timestamp", "student_id"]
    scores = {row[header.index("student_id")]: float(row[header.index("score")]) for row in rows[1:]}
    assert scores == {"'" + sid: SCORE[sid] for sid in HOSTILE_IDS}


def test_the_canvas_file_writes_no_live_formula_keeps_grades_and_the_ids_canvas_matches(course):
    out = os.path.join(course, "canvas.csv")
    run_nbgrader(course, "export", "--LmsExport.lms=canvas", "--LmsExport.roster=roster.csv", f"--to={out}")
    assert_safe(out, [HOSTILE_NAME, "=A1"])
    rows = rows_of(out)
    by_canvas_id = {row[1]: row for row in rows[2:]}
    for i, sid in enumerate(ROSTER_IDS):
        row = by_canvas_id[str(2000 + i)]
        assert row[2] == f"S{i}" and row[3] == ""   # the formula-shaped login is left out, never altered
        assert float(row[5]) == SCORE[sid]
    assert "sis_login_id begins with" in open(out + ".problems.txt").read()


def test_the_moodle_file_writes_no_live_formula_and_leaves_out_a_formula_shaped_identifier(course):
    out = os.path.join(course, "moodle.csv")
    run_nbgrader(course, "export", "--LmsExport.lms=moodle", "--LmsExport.roster=roster.csv", f"--to={out}")
    assert_safe(out, [HOSTILE_NAME, "-Smith", "@evil.example", "-user"])
    rows = rows_of(out)
    assert {row[2]: float(row[5]) for row in rows[1:]} == {f"N{i}": SCORE[sid] for i, sid in enumerate(ROSTER_IDS)}
    # Identified by username, which is formula-shaped for everyone: nobody exported, everyone listed.
    out2 = os.path.join(course, "moodle_by_username.csv")
    run_nbgrader(course, "export", "--LmsExport.lms=moodle", "--LmsExport.roster=roster.csv",
                 "--LmsExport.moodle_identifier=username", f"--to={out2}")
    assert len(rows_of(out2)) == 1
    problems = open(out2 + ".problems.txt").read()
    assert problems.count("username begins with") == len(ROSTER_IDS)


def test_the_pipelines_scores_by_question_write_no_live_formula_and_scores_stay_numbers(tmp_path):
    questions = [("01_gaussian_mse", "a", 60.0)]
    graded = {"mle_losses": (HOSTILE_IDS, questions, {sid: {("01_gaussian_mse", "a"): -SCORE[sid]}
                                                      for sid in HOSTILE_IDS})}
    out = str(tmp_path / "scores_by_question.csv")
    write_scores_by_question(out, graded, HOSTILE_IDS)
    assert_safe(out, HOSTILE_IDS[:4])
    # Even a negative number stays a number: never prefixed, never quoted.
    assert {row[0]: float(row[1]) for row in rows_of(out)[1:]} == {"'" + sid: -SCORE[sid] for sid in HOSTILE_IDS}


def test_the_class_reports_csvs_write_no_live_formula(tmp_path):
    design = synthetic_design(n_students=len(HOSTILE_IDS))
    design = {sid: row for sid, row in zip(HOSTILE_IDS, design.values())}
    db_url, reports = write_synthetic_class(str(tmp_path), design)
    paths = class_report.build_report("mle_losses", db_url, str(tmp_path / "out"), str(tmp_path), reports)
    for key in ("cells_csv", "mistakes_csv"):
        assert live_formulas(paths[key]) == [], (key, live_formulas(paths[key]))
    cells = list(csv.DictReader(open(paths["cells_csv"], newline="")))
    assert len(cells) == sum(len(c) for c in REPORT_NOTEBOOKS.values())
    assert all(float(row["points"]) > 0 for row in cells)
    for row in cells:   # the figures are numbers (a negative correlation too), or the mark for none
        assert row["r_pass_total"] == "–" or -1 <= float(row["r_pass_total"]) <= 1
