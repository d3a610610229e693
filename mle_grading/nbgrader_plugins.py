"""nbgrader preprocessors and hooks that make autograding trustworthy.

`course_config.py` puts `TrustedGrading` in place of nbgrader's `Execute` in
`Autograde.autograde_preprocessors`, `StripHiddenTests` in front of
`GenerateFeedback.preprocessors`, and `skip_unreadable_notebooks` /
`zero_unreadable_notebooks` as the converters' pre- and post-convert hooks. So
these guarantees hold for a bare `nbgrader autograde mle_losses` (and
formgrader's button), not only for the pack's own pipeline.
"""
import json
import os
import re
import time

import nbformat
from nbformat.v4 import new_output
from traitlets import Float, Integer, Unicode

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader import utils

from . import checks
from .sandbox import SandboxSession, SandboxStudent
from .sandbox.runner import Limits

def course_db_url():
    """The gradebook: PostgreSQL for large classes via MLE_GRADING_DB_URL, else SQLite in the course root."""
    return os.environ.get("MLE_GRADING_DB_URL") or f"sqlite:///{os.path.abspath('gradebook.db')}"


HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
HIDDEN_NOTE = "# Hidden tests of this behaviour were run by the grader.\n"
REPORT_DIR_ENV = "MLE_GRADING_REPORT_DIR"


def student_cells(nb):
    """The code a submission consists of: every code cell that is not a test cell."""
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not utils.is_grade(c)]


class TrustedGrading(NbGraderPreprocessor):
    """Grade a notebook by trusted checks against its code running in a sandbox.

    Replaces `Execute`. The submission's own cells run in a bubblewrap sandbox;
    each test cell's outcome is decided here, by the check registered for its
    grade_id, and written as the cell's output (an error output for a failure,
    which nbgrader's SaveAutoGrades scores 0).
    """

    cell_timeout = Float(30.0, help="Seconds one submission cell may run.").tag(config=True)
    call_timeout = Float(10.0, help="Seconds one call of a student function may run.").tag(config=True)
    memory_limit = Integer(3_000_000_000, help="Address-space limit of the sandbox, bytes.").tag(config=True)
    process_limit = Integer(64, help="Processes the sandbox may hold.").tag(config=True)
    notebook_budget = Float(300.0, help="Seconds all checks of one notebook may spend in student code.").tag(config=True)
    report_directory = Unicode("grading_reports", help="Where one JSON report per graded notebook goes.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        notebook_id, student_id = info["notebook"], info["student"]
        assignment_id = info["assignment"]
        directory = resources.get("metadata", {}).get("path")
        started = time.perf_counter()
        cells = student_cells(nb)
        limits = Limits(memory_bytes=self.memory_limit, processes=self.process_limit,
                        cell_timeout=self.cell_timeout, call_timeout=self.call_timeout)
        session = SandboxSession([c.source for _, c in cells], directory, limits)
        report = {"student": student_id, "assignment": assignment_id, "notebook": notebook_id,
                  "checks": {}, "problems": []}
        try:
            try:
                session.start()
            except Exception as exc:  # the worker could not even finish its cells
                report["problems"].append(f"the notebook's code could not be run: {exc}")
                self.log.warning("%s/%s: the notebook's code could not be run: %s", student_id, notebook_id, exc)
            student = SandboxStudent(session, self.notebook_budget)
            for cell in nb.cells:
                if not utils.is_grade(cell):
                    continue
                grade_id = cell.metadata.nbgrader.get("grade_id")
                chk = checks.find(notebook_id, grade_id)
                if chk is None:
                    message = f"no trusted check is registered for test cell {grade_id!r}"
                    self.log.error("%s/%s: %s", student_id, notebook_id, message)
                    report["problems"].append(message)
                elif session.proc is None and session.restarts >= limits.max_restarts:
                    message = "the notebook's code could not be run, so this test could not pass"
                else:
                    message = checks.run_check(chk, student)
                cell.outputs = [_passed(chk) if message is None else _failed(message)]
                # The test was decided here; its hidden part never needs to be shown again.
                cell.source = HIDDEN_BLOCK.sub(HIDDEN_NOTE, cell.source)
                cell.execution_count = None
                report["checks"][grade_id] = message
        finally:
            session.close()
        for index, (_, cell) in enumerate(cells):
            cell.outputs = _cell_outputs(session.cell_reports.get(index))
        for index, why in session.skip.items():
            report["problems"].append(f"cell {index + 1} of the submission's code {why}")
        report["timings"] = dict(session.timings, total=time.perf_counter() - started)
        self._save_report(report)
        return nb, resources

    def _save_report(self, report):
        folder = os.environ.get(REPORT_DIR_ENV) or self.report_directory
        path = os.path.join(folder, report["assignment"], report["student"], f"{report['notebook']}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            json.dump(report, fh, indent=1)


def _passed(chk):
    return new_output("stream", name="stdout", text=f"Passed: {chk.behaviour}\n")


def _failed(message):
    return new_output("error", ename="TestFailed", evalue=message, traceback=[f"TestFailed: {message}"])


def _cell_outputs(report):
    """The submission's own printed output, as plain text only (never HTML from student code)."""
    if not report:
        return []
    outputs = []
    if report.get("stdout"):
        outputs.append(new_output("stream", name="stdout", text=report["stdout"]))
    if report.get("error"):
        outputs.append(new_output("stream", name="stdout", text=f"[this cell raised] {report['error']}\n"))
    return outputs


class StripHiddenTests(NbGraderPreprocessor):
    """Replace hidden tests with a note, so feedback never shows them."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "### BEGIN HIDDEN TESTS" in cell.source:
            cell.source = HIDDEN_BLOCK.sub(HIDDEN_NOTE, cell.source)
        return cell, resources


# -- hooks: one unreadable notebook must not cost the student's other notebooks --

UNREADABLE = {}


def _unreadable_reason(path):
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    return None


def skip_unreadable_notebooks(assignment, student, notebooks):
    """pre_convert_hook: drop notebooks that are not valid, so the others are graded."""
    for path in list(notebooks):
        reason = _unreadable_reason(path)
        if reason:
            notebooks.remove(path)
            nb_id = os.path.splitext(os.path.basename(path))[0]
            UNREADABLE[(assignment, student, nb_id)] = reason
            print(f"[mle_grading] {student}/{nb_id}: not a valid notebook, scored 0 ({reason}); "
                  f"the submitted file is kept as it was", flush=True)


def zero_unreadable_notebooks(assignment, student, notebooks):
    """post_convert_hook: record 0 points for the notebooks that were skipped."""
    from nbgrader.api import Gradebook
    pending = [(k, v) for k, v in UNREADABLE.items() if k[0] == assignment and k[1] == student]
    if not pending:
        return
    with Gradebook(course_db_url()) as gb:
        for (assignment_id, student_id, nb_id), reason in pending:
            submission = gb.find_submission_notebook(nb_id, assignment_id, student_id)
            for grade in submission.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
            gb.db.commit()
            report = {"student": student_id, "assignment": assignment_id, "notebook": nb_id,
                      "checks": {}, "problems": [f"not a valid notebook file: {reason}"]}
            TrustedGrading()._save_report(report)
            del UNREADABLE[(assignment_id, student_id, nb_id)]
