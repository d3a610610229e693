"""Grades into the learning management system: an nbgrader export plugin.

course_config.py makes it the exporter of `nbgrader export`. By default it writes
nbgrader's own CSV (its columns and rows). Every file is spreadsheet-safe
(`spreadsheet_safe`): a text cell that begins with =, +, -, @, a tab or a return is
written behind a single quote; grades stay numbers. An id the LMS matches a student
on that begins so is left out (a changed id would not match) and listed in
`<to>.problems.txt`. With a roster it writes the CSV that an LMS's
gradebook import reads:

    nbgrader export --LmsExport.lms=canvas --LmsExport.roster=roster.csv --to canvas.csv
    nbgrader export --LmsExport.lms=moodle --LmsExport.roster=roster.csv --to moodle.csv

- Canvas (Grades > Import): the columns "Student", "ID", "SIS User ID", "SIS Login ID",
  "Section", then one column per assignment, "<assignment> (<Canvas assignment id>)"
  when `LmsExport.canvas_assignment_ids` names it (else the bare name, which Canvas
  imports as a new assignment); the second row, "Points Possible", holds each
  assignment's maximum.
- Moodle (Grades > Import > CSV file): "First name", "Last name", "ID number",
  "Email address", "Username", then one column per assignment named by its grade
  item; at import, map "Identify user by" from the column named by
  `LmsExport.moodle_identifier` (ID number by default) and each assignment column to
  its grade item (whose maximum grade must be the assignment's maximum).

The roster is whatever the instructor has, read by `read_roster`:

- nothing (`LmsExport.roster` unset): nbgrader's own student table, as `nbgrader db
  student import students.csv` (columns id, first_name, last_name, email,
  lms_user_id) or `nbgrader db student add` fill it; each student's `lms_user_id` is
  their Canvas user id ("ID") or Moodle ID number (`LmsExport.lms_user_id_column`);
- the raw gradebook export of Canvas (Grades > Export) or Moodle (Grades > Export >
  Plain text file), as downloaded: the column `LmsExport.roster_id_column` holds
  each student's nbgrader id (by default Canvas's "SIS Login ID", Moodle's
  "Username"); Canvas's "Points Possible" row and Test Student are skipped;
- a course roster CSV with a header row: `nbgrader_id` (required) and any of `name`
  ("Last, First" as Canvas shows it), `first_name`, `last_name`, `canvas_id`,
  `sis_user_id`, `sis_login_id`, `section`, `email`, `idnumber`, `username`.

A file it cannot read stops the export with one line saying what is wrong.

Points are out of the assignment's maximum, after nbgrader's late penalty. A grade
cell is left empty, never 0, when the student has no graded submission (an empty
cell changes nothing on import). Every student missing from the roster, the
gradebook or an assignment is reported: logged, and listed in `<to>.problems.txt`.
"""
import csv
import os

from nbgrader.api import MissingEntry
from nbgrader.plugins import CsvExportPlugin
from traitlets import Dict, Enum, Unicode

from mle_grading import ASSIGNMENTS
from mle_grading.nbgrader_integration import spreadsheet_safe

ROSTER_COLUMNS = ("nbgrader_id", "name", "first_name", "last_name", "canvas_id", "sis_user_id",
                  "sis_login_id", "section", "email", "idnumber", "username")
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTITY = ("First name", "Last name", "ID number", "Email address", "Username")
MOODLE_IDENTIFIER_COLUMN = {"idnumber": "ID number", "email": "Email address", "username": "Username"}
CANVAS_MATCHED = ("canvas_id", "sis_user_id", "sis_login_id")
# nbgrader's own CSV (nbgrader.plugins.CsvExportPlugin), its columns in its order
NBGRADER_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score")


# The identity columns of the LMSs' own gradebook exports -> the roster's columns.
CANVAS_EXPORT = {"Student": "name", "ID": "canvas_id", "SIS User ID": "sis_user_id",
                 "SIS Login ID": "sis_login_id", "Section": "section"}
MOODLE_EXPORT = {"First name": "first_name", "Last name": "last_name", "ID number": "idnumber",
                 "Email address": "email", "Username": "username"}
DEFAULT_ID_COLUMN = {"canvas": "SIS Login ID", "moodle": "Username"}
CANVAS_SKIPPED = ("Points Possible", "Student, Test", "Manual Posting")   # rows that are no student


class RosterError(ValueError):
    pass


def _read_csv(path):
    """(header, rows) of a CSV file, or a RosterError saying in one line why it cannot be read."""
    if not os.path.exists(path):
        raise RosterError(f"no roster file at {path}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not a UTF-8 CSV file (a spreadsheet? export or save it as CSV, UTF-8)") from None
    except (OSError, csv.Error) as exc:
        raise RosterError(f"{path}: cannot be read as CSV ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise RosterError(f"{path}: the file is empty")
    return [h.strip() for h in rows[0]], rows[1:]


def read_roster(path, lms="canvas", id_column=""):
    """{nbgrader_id: {column: value}} from a roster file (a course roster, or Canvas's or Moodle's
    raw gradebook export); a RosterError with one clear line for a file it cannot read."""
    header, rows = _read_csv(path)
    if "nbgrader_id" in header:
        return _course_roster(path, header, rows)
    if {"Student", "ID", "SIS Login ID"} <= set(header):
        return _lms_export_roster(path, header, rows, CANVAS_EXPORT, id_column or DEFAULT_ID_COLUMN["canvas"],
                                  "Canvas")
    if {"First name", "Last name", "Email address"} <= set(header):
        return _lms_export_roster(path, header, rows, MOODLE_EXPORT, id_column or DEFAULT_ID_COLUMN["moodle"],
                                  "Moodle")
    raise RosterError(f"{path}: neither a course roster (a column 'nbgrader_id') nor a gradebook export of Canvas "
                      f"(Student, ID, SIS Login ID) or Moodle (First name, Last name, Email address); "
                      f"its columns: {', '.join(header[:8])}")


def _lms_export_roster(path, header, rows, columns, id_column, lms_name):
    if id_column not in header:
        raise RosterError(f"{path}: this {lms_name} export has no column {id_column!r} to take nbgrader ids from; "
                          f"name one with --LmsExport.roster_id_column (its columns: {', '.join(header[:8])})")
    at = {name: header.index(name) for name in header}
    roster = {}
    for line, row in enumerate(rows, start=2):
        row = row + [""] * (len(header) - len(row))
        first = row[0].strip()
        if lms_name == "Canvas" and (first in CANVAS_SKIPPED or first.startswith("Points Possible")):
            continue
        sid = row[at[id_column]].strip()
        if not sid:
            raise RosterError(f"{path}, line {line}: empty {id_column!r} for {first or 'a student'}")
        if sid in roster:
            raise RosterError(f"{path}, line {line}: {id_column} {sid!r} appears twice")
        ids = dict.fromkeys(ROSTER_COLUMNS, "")
        ids["nbgrader_id"] = sid
        for name, column in columns.items():
            if name in at:
                ids[column] = row[at[name]].strip()
        roster[sid] = ids
    return roster


def roster_from_gradebook(gradebook, lms_user_id_column):
    """{nbgrader_id: ids} from nbgrader's student table (`nbgrader db student import`)."""
    roster = {}
    for student in gradebook.students:
        ids = dict.fromkeys(ROSTER_COLUMNS, "")
        ids.update(nbgrader_id=student.id, first_name=student.first_name or "", last_name=student.last_name or "",
                   email=student.email or "")
        ids["name"] = ", ".join(filter(None, (ids["last_name"], ids["first_name"])))
        ids[lms_user_id_column] = student.lms_user_id or ""
        roster[student.id] = ids
    return roster


def _course_roster(path, header, rows):
    unknown = [h for h in header if h not in ROSTER_COLUMNS]
    if unknown:
        raise RosterError(f"{path}: unknown column(s) {', '.join(unknown)}; "
                          f"known columns: {', '.join(ROSTER_COLUMNS)}")
    roster = {}
    for line, cells in enumerate(rows, start=2):
        row = {k: v.strip() for k, v in zip(header, cells) if k}
        sid = row.get("nbgrader_id", "")
        if not sid:
            raise RosterError(f"{path}, line {line}: empty nbgrader_id")
        if sid in roster:
            raise RosterError(f"{path}, line {line}: nbgrader_id {sid!r} appears twice")
        roster[sid] = {c: row.get(c, "") for c in ROSTER_COLUMNS}
    return roster


def _points(x):
    return spreadsheet_safe.number(x)


class LmsExport(CsvExportPlugin):
    """nbgrader's CSV by default; Canvas's or Moodle's gradebook import CSV with a roster."""

    lms = Enum(["nbgrader", "canvas", "moodle"], default_value="nbgrader",
               help="Which CSV to write: nbgrader's own, Canvas's gradebook import, or Moodle's grade import."
               ).tag(config=True)
    roster = Unicode("", help="CSV mapping nbgrader ids to LMS ids (column nbgrader_id, then the LMS's ids).").tag(
        config=True)
    canvas_assignment_ids = Dict(
        {}, help="{nbgrader assignment: Canvas assignment id}, so that each column updates that assignment.").tag(
        config=True)
    moodle_identifier = Enum(list(MOODLE_IDENTIFIER_COLUMN), default_value="idnumber",
                             help="The roster column Moodle identifies users by (it must be filled for everyone)."
                             ).tag(config=True)
    roster_id_column = Unicode(
        "", help="In a raw Canvas or Moodle gradebook export used as the roster, the column holding each "
                 "student's nbgrader id (default: Canvas's 'SIS Login ID', Moodle's 'Username').").tag(config=True)
    lms_user_id_column = Enum(
        ["canvas_id", "sis_user_id", "sis_login_id", "idnumber", "email", "username"], default_value=None,
        allow_none=True, help="Without a roster, what nbgrader's Student.lms_user_id is: by default the "
                              "Canvas user id (canvas_id) or the Moodle ID number (idnumber).").tag(config=True)

    def export(self, gradebook):
        if self.lms == "nbgrader":
            return self._export_nbgrader(gradebook)
        try:
            self._export(gradebook)
        except RosterError as exc:   # one line, not a traceback; the exit status says it failed
            self.log.error("%s", exc)
            raise SystemExit(1) from None

    def _export(self, gradebook):
        if self.roster:
            roster = read_roster(self.roster, self.lms, self.roster_id_column)
        else:   # nbgrader's own student table
            roster = roster_from_gradebook(gradebook, self.lms_user_id_column or
                                           ("canvas_id" if self.lms == "canvas" else "idnumber"))
        dest = self.to or f"grades_{self.lms}.csv"
        assignments = self._assignments(gradebook)
        in_gradebook = {s.id for s in gradebook.students}
        wanted = [str(s) for s in self.student] or sorted(set(roster) | in_gradebook)
        problems, rows = [], []
        for sid in wanted:
            if sid not in roster:
                problems.append(f"{sid}: in the gradebook but not in the roster {self.roster}: not exported")
                continue
            if sid not in in_gradebook:
                problems.append(f"{sid}: in the roster but not in the gradebook: exported with empty grades")
            ids = dict(roster[sid])
            for column in self._matched_columns():
                if spreadsheet_safe.is_formula(ids[column]):
                    # Written safely it would carry a leading ', which the LMS would not match: left out.
                    problems.append(f"{sid}: the roster's {column} begins with =, +, -, @, a tab or a return: "
                                    f"left out of the file (a spreadsheet-safe copy would not match in {self.lms})")
                    ids[column] = ""
            missing_id = self._missing_identifier(ids)
            if missing_id:
                problems.append(f"{sid}: the roster has no {missing_id} for this student: not exported")
                continue
            grades = []
            for a in assignments:
                score = self._score(gradebook, a.name, sid) if sid in in_gradebook else None
                if score is None and sid in in_gradebook:
                    problems.append(f"{sid}: no submission of {a.name} in the gradebook: its grade is left empty")
                grades.append("" if score is None else _points(score))
            rows.append((ids, grades))
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            writer = spreadsheet_safe.writer(fh)
            if self.lms == "canvas":
                writer.writerow([*CANVAS_IDENTITY, *[self._canvas_column(a.name) for a in assignments]])
                writer.writerow(["Points Possible", "", "", "", "", *[_points(a.max_score) for a in assignments]])
                for ids, grades in rows:
                    writer.writerow([ids["name"] or " ".join(filter(None, (ids["first_name"], ids["last_name"]))),
                                     ids["canvas_id"], ids["sis_user_id"], ids["sis_login_id"], ids["section"],
                                     *grades])
            else:
                writer.writerow([*MOODLE_IDENTITY, *[a.name for a in assignments]])
                for ids, grades in rows:
                    writer.writerow([ids["first_name"], ids["last_name"], ids["idnumber"], ids["email"],
                                     ids["username"], *grades])
        self.log.info("Wrote %s grades of %d students (%s) to %s", self.lms, len(rows),
                      ", ".join(a.name for a in assignments), dest)
        problems_path = f"{dest}.problems.txt"
        if problems:
            with open(problems_path, "w") as fh:
                fh.write("\n".join(problems) + "\n")
            for line in problems:
                self.log.warning(line)
            self.log.warning("%d student(s) need attention before the import: listed in %s",
                             len(problems), problems_path)
        elif os.path.exists(problems_path):
            os.remove(problems_path)  # an old list would describe an earlier export

    def _export_nbgrader(self, gradebook):
        """nbgrader's own CSV, the same columns and rows, written spreadsheet-safe (and properly quoted)."""
        dest = self.to or "grades.csv"
        students = [str(s) for s in self.student]
        assignments = [str(a) for a in self.assignment]
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            writer = spreadsheet_safe.writer(fh)
            writer.writerow(NBGRADER_COLUMNS)
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    try:
                        submission = gradebook.find_submission(assignment.name, student.id)
                    except MissingEntry:   # as nbgrader: no submission scores 0
                        timestamp, raw, penalty = None, 0.0, 0.0
                    else:
                        timestamp, raw = submission.timestamp, submission.score
                        penalty = submission.late_submission_penalty or 0.0
                    writer.writerow([assignment.name, assignment.duedate, timestamp, student.id, student.last_name,
                                     student.first_name, student.email, raw, penalty, max(0.0, raw - penalty),
                                     assignment.max_score])

    def _matched_columns(self):
        return CANVAS_MATCHED if self.lms == "canvas" else (self.moodle_identifier,)

    def _assignments(self, gradebook):
        present = {a.name: a for a in gradebook.assignments}
        if self.assignment:
            unknown = [str(a) for a in self.assignment if str(a) not in present]
            if unknown:
                raise RosterError(f"no assignment {', '.join(unknown)} in the gradebook")
            names = [str(a) for a in self.assignment]
        else:
            names = [a for a in ASSIGNMENTS if a in present] + sorted(a for a in present if a not in ASSIGNMENTS)
        return [present[n] for n in names]

    def _canvas_column(self, name):
        canvas_id = self.canvas_assignment_ids.get(name)
        return f"{name} ({canvas_id})" if canvas_id else name

    def _missing_identifier(self, ids):
        if self.lms == "canvas":
            if not (ids["canvas_id"] or ids["sis_user_id"] or ids["sis_login_id"]):
                return "canvas_id, sis_user_id or sis_login_id"
        elif not ids[self.moodle_identifier]:
            return self.moodle_identifier
        return ""

    @staticmethod
    def _score(gradebook, assignment, student):
        """Points after the late penalty, or None when there is no submission."""
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        return max(0.0, submission.score - (submission.late_submission_penalty or 0.0))
