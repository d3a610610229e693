"""`nbgrader export` with the course's exporter (mle_grading.nbgrader_integration.lms_export.LmsExport).

A gradebook written with nbgrader.api in a copy of the course holds two
assignments and four students, each a case the export must handle:

    ana: both assignments graded;         ben: only mle_losses submitted;
    cyd: graded, but not in the roster;    dee: in the roster, never graded.

The real `nbgrader export` command (course_config.py's exporter) writes the Canvas
and Moodle files, which are read back by the rules of the import samples in
tests/lms_samples/ (written from Canvas's and Moodle's documentation).
"""
import csv
import os

import pytest

from course_copy import copy_course, run_nbgrader

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lms_samples")
# {assignment: {notebook: {cell: points}}}
LAYOUT = {"mle_losses": {"01_gaussian_mse": {"a": 60.0, "b": 40.0}},
          "mle_beyond": {"01_learned_variance": {"c": 30.0, "d": 20.0}}}
# {(assignment, student): {cell: score}}
SCORES = {("mle_losses", "ana"): {"a": 60.0, "b": 33.5}, ("mle_beyond", "ana"): {"c": 30.0, "d": 0.0},
          ("mle_losses", "ben"): {"a": 0.0, "b": 40.0},
          ("mle_losses", "cyd"): {"a": 60.0, "b": 40.0}, ("mle_beyond", "cyd"): {"c": 10.0, "d": 10.0}}
ROSTER = [
    {"nbgrader_id": "ana", "name": "Alves, Ana", "first_name": "Ana", "last_name": "Alves", "canvas_id": "1001",
     "sis_user_id": "S01", "sis_login_id": "aalves", "section": "A", "email": "ana@example.edu",
     "idnumber": "S01", "username": "aalves"},
    {"nbgrader_id": "ben", "name": "Berg, Ben", "first_name": "Ben", "last_name": "Berg", "canvas_id": "1002",
     "sis_user_id": "S02", "sis_login_id": "bberg", "section": "B", "email": "ben@example.edu",
     "idnumber": "S02", "username": "bberg"},
    {"nbgrader_id": "dee", "name": "Dias, Dee", "first_name": "Dee", "last_name": "Dias", "canvas_id": "1004",
     "sis_user_id": "S04", "sis_login_id": "ddias", "section": "A", "email": "dee@example.edu",
     "idnumber": "S04", "username": "ddias"},
]


def write_gradebook(course):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{os.path.join(course, 'gradebook.db')}") as gb:
        for assignment, notebooks in LAYOUT.items():
            gb.add_assignment(assignment)
            for nb, cells in notebooks.items():
                gb.add_notebook(nb, assignment)
                for cell, points in cells.items():
                    gb.add_grade_cell(cell, nb, assignment, max_score=points, cell_type="code")
        for student in ("ana", "ben", "cyd"):
            gb.add_student(student)
        for (assignment, student), cells in SCORES.items():
            gb.add_submission(assignment, student)
            (nb,) = LAYOUT[assignment]
            for cell, score in cells.items():
                gb.find_grade(cell, nb, assignment, student).auto_score = score
            gb.db.commit()


def write_roster(path, rows, columns=None):
    columns = columns or list(rows[0])
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = copy_course(str(tmp_path_factory.mktemp("lms_export")))
    write_gradebook(course)
    write_roster(os.path.join(course, "roster.csv"), ROSTER)
    return course


def export(course, *args, check=True):
    return run_nbgrader(course, "export", *args, check=check)


def total(assignment, student):
    return sum(SCORES[(assignment, student)].values())


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def canvas(course):
    out = os.path.join(course, "canvas.csv")
    proc = export(course, "--LmsExport.lms=canvas", "--LmsExport.roster=roster.csv", f"--to={out}",
                  "--LmsExport.canvas_assignment_ids={'mle_losses': '555'}")
    return read_rows(out), proc.stdout + proc.stderr, out


@pytest.fixture(scope="module")
def moodle(course):
    out = os.path.join(course, "moodle.csv")
    proc = export(course, "--LmsExport.lms=moodle", "--LmsExport.roster=roster.csv",
                  "--LmsExport.moodle_identifier=email", f"--to={out}")
    return read_rows(out), proc.stdout + proc.stderr, out


def test_canvas_file_has_the_columns_of_canvas_gradebook_import(canvas):
    rows, _, _ = canvas
    sample = read_rows(os.path.join(SAMPLES, "canvas_gradebook_import.csv"))
    assert rows[0][:5] == sample[0][:5]
    assert rows[0][5:] == ["mle_losses (555)", "mle_beyond"]  # without a Canvas id: a new assignment
    assert rows[1][0] == sample[1][0] == "Points Possible"
    assert rows[1][1:5] == sample[1][1:5] == ["", "", "", ""]
    assert [float(x) for x in rows[1][5:]] == [100.0, 50.0]
    assert all(len(r) == len(rows[0]) for r in rows)


def test_canvas_file_has_one_row_per_roster_student_with_points_out_of_the_maximum(canvas):
    rows, _, _ = canvas
    students = {r[1]: r for r in rows[2:]}  # by Canvas ID
    assert sorted(students) == ["1001", "1002", "1004"]
    ana, ben, dee = students["1001"], students["1002"], students["1004"]
    assert ana[:5] == ["Alves, Ana", "1001", "S01", "aalves", "A"]
    assert [float(x) for x in ana[5:]] == [total("mle_losses", "ana"), total("mle_beyond", "ana")] == [93.5, 30.0]
    assert float(ben[5]) == 40.0
    assert ben[6] == "" and dee[5:] == ["", ""]  # no submission: left empty, never 0
    for row in rows[2:]:
        for grade, top in zip(row[5:], rows[1][5:]):
            assert grade == "" or 0 <= float(grade) <= float(top)


def test_students_missing_from_roster_or_gradebook_are_reported(canvas):
    rows, log, out = canvas
    assert not any("cyd" in cell for row in rows for cell in row)
    problems = open(out + ".problems.txt").read()
    assert "cyd: in the gradebook but not in the roster" in problems
    assert "dee: in the roster but not in the gradebook" in problems
    assert "ben: no submission of mle_beyond" in problems
    assert len(problems.strip().splitlines()) == 3
    assert "cyd: in the gradebook but not in the roster" in log


def test_moodle_file_has_the_columns_of_moodle_grade_import(moodle):
    rows, _, _ = moodle
    sample = read_rows(os.path.join(SAMPLES, "moodle_grade_import.csv"))
    assert rows[0][:5] == sample[0][:5]
    assert rows[0][5:] == ["mle_losses", "mle_beyond"]
    assert len(rows) == 1 + len(ROSTER)  # no points row: Moodle's grade item holds the maximum


def test_moodle_file_identifies_each_student_by_the_chosen_field_with_their_points(moodle):
    rows, _, out = moodle
    header = rows[0]
    by_email = {r[header.index("Email address")]: dict(zip(header, r)) for r in rows[1:]}
    assert sorted(by_email) == ["ana@example.edu", "ben@example.edu", "dee@example.edu"]
    assert float(by_email["ana@example.edu"]["mle_losses"]) == total("mle_losses", "ana")
    assert float(by_email["ben@example.edu"]["mle_losses"]) == total("mle_losses", "ben")
    assert by_email["ben@example.edu"]["mle_beyond"] == "" and by_email["dee@example.edu"]["mle_losses"] == ""
    assert "cyd" in open(out + ".problems.txt").read()


def test_a_student_without_the_identifier_moodle_needs_is_reported_not_exported(course, tmp_path):
    roster = [dict(r) for r in ROSTER]
    roster[1]["idnumber"] = ""
    path = write_roster(str(tmp_path / "roster.csv"), roster)
    out = str(tmp_path / "moodle.csv")
    export(course, "--LmsExport.lms=moodle", f"--LmsExport.roster={path}", f"--to={out}")
    ids = [r[2] for r in read_rows(out)[1:]]
    assert ids == ["S01", "S04"]
    assert "ben: the roster has no idnumber" in open(out + ".problems.txt").read()


def test_the_default_export_is_still_nbgraders_own_csv(course):
    out = os.path.join(course, "grades.csv")
    export(course, f"--to={out}")
    rows = read_rows(out)
    assert rows[0][:4] == ["assignment", "duedate", "timestamp", "student_id"]
    assert len(rows) == 1 + len(LAYOUT) * 3


@pytest.mark.parametrize("header, why", [(["student", "email"], "a column 'nbgrader_id'"),
                                          (["nbgrader_id", "canvas"], "unknown column(s) canvas")])
def test_a_malformed_roster_stops_the_export_with_what_is_wrong(course, tmp_path, header, why):
    path = str(tmp_path / "roster.csv")
    with open(path, "w") as fh:
        fh.write(",".join(header) + "\nana,x\n")
    out = str(tmp_path / "canvas.csv")
    proc = export(course, "--LmsExport.lms=canvas", f"--LmsExport.roster={path}", f"--to={out}", check=False)
    assert proc.returncode != 0
    assert why in proc.stdout + proc.stderr
    assert not os.path.exists(out)


def test_a_roster_naming_a_student_twice_is_refused(course, tmp_path):
    path = write_roster(str(tmp_path / "roster.csv"), ROSTER + [ROSTER[0]])
    proc = export(course, "--LmsExport.lms=canvas", f"--LmsExport.roster={path}",
                  f"--to={tmp_path / 'c.csv'}", check=False)
    assert proc.returncode != 0 and "'ana' appears twice" in proc.stdout + proc.stderr


# --- the roster from what instructors have: the LMS's own export, nbgrader's student table ---

CANVAS_EXPORT_ROWS = [  # Canvas's Grades > Export, as downloaded (login = the hub user name)
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Homework 1 (123456)", "Current Score"],
    ["    Points Possible", "", "", "", "", "100", "(read only)"],
    ["Alves, Ana", "1001", "S01", "ana", "A", "", ""],
    ["Berg, Ben", "1002", "S02", "ben", "B", "", ""],
    ["Dias, Dee", "1004", "S04", "dee", "A", "", ""],
    ["Student, Test", "9999", "", "", "A", "", ""],
]
MOODLE_EXPORT_HEADER = ["First name", "Last name", "ID number", "Institution", "Department", "Email address"]


def write_rows(path, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return str(path)


def assert_one_clear_line(proc, why):
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert why in text and "Traceback" not in text, text[-2000:]


def test_a_raw_canvas_gradebook_export_is_a_roster(course, tmp_path):
    path = write_rows(tmp_path / "2026-12-01T0900_Grades-MLE.csv", CANVAS_EXPORT_ROWS)
    out = str(tmp_path / "canvas.csv")
    export(course, "--LmsExport.lms=canvas", f"--LmsExport.roster={path}", f"--to={out}")
    rows = {r[0]: r for r in read_rows(out)[2:]}
    assert set(rows) == {"Alves, Ana", "Berg, Ben", "Dias, Dee"}     # not Canvas's test student
    assert rows["Alves, Ana"][1:5] == ["1001", "S01", "ana", "A"]
    assert rows["Alves, Ana"][5:] == [f"{total('mle_losses', 'ana'):g}", f"{total('mle_beyond', 'ana'):g}"]


def test_a_raw_moodle_grade_export_is_a_roster_by_the_column_named(course, tmp_path):
    rows = [MOODLE_EXPORT_HEADER + ["Username", "Assignment: MLE losses (Real)", "Last downloaded from this course"],
            ["Ana", "Alves", "S01", "", "", "ana@example.edu", "ana", "-", "1764000000"],
            ["Ben", "Berg", "S02", "", "", "ben@example.edu", "ben", "-", "1764000000"]]
    path = write_rows(tmp_path / "moodle_export.csv", rows)
    out = str(tmp_path / "moodle.csv")
    export(course, "--LmsExport.lms=moodle", f"--LmsExport.roster={path}", f"--to={out}")
    written = {r[0]: r for r in read_rows(out)[1:]}
    assert written["Ana"][:5] == ["Ana", "Alves", "S01", "ana@example.edu", "ana"]
    assert written["Ana"][5] == f"{total('mle_losses', 'ana'):g}"


def test_a_moodle_export_without_the_id_column_says_which_option_names_one(course, tmp_path):
    path = write_rows(tmp_path / "moodle_export.csv", [MOODLE_EXPORT_HEADER, ["Ana", "Alves", "S01", "", "", "a@x"]])
    proc = export(course, "--LmsExport.lms=moodle", f"--LmsExport.roster={path}", f"--to={tmp_path / 'm.csv'}",
                  check=False)
    assert_one_clear_line(proc, "no column 'Username' to take nbgrader ids from; name one with "
                                "--LmsExport.roster_id_column")


@pytest.mark.parametrize("content, why", [
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe", "not a UTF-8 CSV file"),
    (b"", "the file is empty"),
    (b"Name,Grade\nAna,3\n", "neither a course roster"),
    (b'Student,ID,SIS User ID,SIS Login ID,Section\n"Alves, Ana",1001,S01,,A\n', "empty 'SIS Login ID'"),
])
def test_a_roster_it_cannot_read_is_one_clear_line_not_a_traceback(course, tmp_path, content, why):
    path = tmp_path / "roster.csv"
    path.write_bytes(content)
    proc = export(course, "--LmsExport.lms=canvas", f"--LmsExport.roster={path}", f"--to={tmp_path / 'c.csv'}",
                  check=False)
    assert_one_clear_line(proc, why)


def test_without_a_roster_nbgraders_student_table_is_the_roster(tmp_path):
    """`nbgrader db student import` (nbgrader's own roster, with lms_user_id) is all the export needs."""
    course = copy_course(str(tmp_path / "course"))
    write_gradebook(course)
    students = write_rows(tmp_path / "students.csv", [["id", "first_name", "last_name", "email", "lms_user_id"],
                                                      ["ana", "Ana", "Alves", "ana@example.edu", "1001"],
                                                      ["ben", "Ben", "Berg", "ben@example.edu", "1002"],
                                                      ["cyd", "Cyd", "Cruz", "cyd@example.edu", ""]])
    run_nbgrader(course, "db", "student", "import", students)
    out = os.path.join(course, "canvas.csv")
    export(course, "--LmsExport.lms=canvas", f"--to={out}")
    rows = {r[0]: r for r in read_rows(out)[2:]}
    assert rows["Alves, Ana"][1] == "1001" and rows["Berg, Ben"][1] == "1002"
    assert rows["Alves, Ana"][5] == f"{total('mle_losses', 'ana'):g}"
    assert "cyd: the roster has no canvas_id" in open(f"{out}.problems.txt").read()
