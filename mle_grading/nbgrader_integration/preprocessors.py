"""nbgrader preprocessors and hooks that make autograding trustworthy.

`course_config.py` puts `RebuildSubmission` in place of nbgrader's OverwriteCells,
`TrustedGrading` in place of nbgrader's `Execute` in
`Autograde.autograde_preprocessors`, `StripHiddenTests` in front of
`GenerateFeedback.preprocessors`, and `set_aside_unreadable_notebooks` as the
autograder's pre-convert hook. So
these guarantees hold for a bare `nbgrader autograde mle_losses` (and
formgrader's button), not only for the pack's own pipeline.
"""
import functools
import hashlib
import json
import os
import re
import time

import nbformat
from jinja2 import FileSystemLoader
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.exporters.templateexporter import ExtensionTolerantLoader
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from traitlets import Unicode, default

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader import utils

from mle_grading import checks
from mle_grading.nbgrader_integration.feedback_render import CompiledTemplates, describe_images
from mle_grading.nbgrader_integration.gradebook_cells import SaveAutoGradesAtOnce
from mle_grading.nbgrader_integration.submission_files import bound_submission, keep_only_own_files
from mle_grading.sandbox import SandboxSession, SandboxStudent
from mle_grading.sandbox.runner import SandboxLimits, submission_files

HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
HIDDEN_NOTE = "# Hidden tests of this behaviour were run by the grader.\n"
REPORT_DIR_ENV = "MLE_GRADING_REPORT_DIR"


class SaveAutoGradesIfValid(SaveAutoGradesAtOnce):
    """nbgrader's SaveAutoGrades (`gradebook_cells.SaveAutoGradesAtOnce`: one transaction a notebook),
    run only on a notebook that validates against the nbformat schema.

    nbconvert validates the notebook only after the last preprocessor of a pass (course_config.py:
    Exporter.optimistic_validation), so without this check the scores of a notebook the
    preprocessors before this one left invalid would be written before the notebook is refused.
    """

    def preprocess(self, nb, resources):
        try:
            nbformat.validate(nb, relax_add_props=True)
        except nbformat.ValidationError:
            self.log.error("Notebook is invalid before its scores are saved; none are saved")
            raise
        return super().preprocess(nb, resources)


def submission_fingerprint(nb, directory, limits):
    """What fresh hidden inputs are drawn for: every cell of this notebook and every file the
    sandbox shows beside it (a notebook by its cells' text, so that regrading reproduces it).
    A resubmission that changes only a markdown cell or a data file still meets new inputs."""
    parts = [c.source for c in nb.cells]
    for name, path in submission_files(directory, limits).items():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as fh:
                data = fh.read(limits.submission_file_bytes + 1)
        except OSError:
            continue
        if name.endswith(".ipynb"):
            try:
                data = "\0".join(str(c.get("source", "")) for c in json.loads(data).get("cells", [])).encode()
            except (ValueError, AttributeError, TypeError):
                pass
        parts.append(name + "\0" + hashlib.sha256(data).hexdigest())
    return parts


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

    # Every limit of the sandbox is a trait of SandboxLimits (c.SandboxLimits.* in course_config.py).
    report_directory = Unicode("grading_reports", help="Where one JSON report per graded notebook goes.").tag(config=True)
    course_secret_file = Unicode("", help="File holding the course secret that seeds each student's hidden inputs "
                                          "(else $MLE_GRADING_COURSE_SECRET_FILE or $MLE_GRADING_COURSE_SECRET; "
                                          "the demo's public secret if none is set). Keep it outside the "
                                          "repository.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        notebook_id, student_id = info["notebook"], info["student"]
        assignment_id = info["assignment"]
        directory = resources.get("metadata", {}).get("path")
        started = time.perf_counter()
        cells = student_cells(nb)
        limits = SandboxLimits(parent=self)
        session = SandboxSession([c.source for _, c in cells], directory, limits)
        report = {"student": student_id, "assignment": assignment_id, "notebook": notebook_id,
                  "checks": {}, "hints": {}, "problems": []}
        if (student_id, notebook_id) in UNREADABLE:
            report["problems"].append(f"not a valid notebook file: {UNREADABLE.pop((student_id, notebook_id))}")
        try:
            try:
                session.start()
            except Exception as exc:  # the worker could not even finish its cells
                report["problems"].append(f"the notebook's code could not be run: {exc}")
                self.log.warning("%s/%s: the notebook's code could not be run: %s", student_id, notebook_id, exc)
            student = SandboxStudent(session)
            # Once, before any test cell's hidden part is replaced below: every check draws from the
            # submission as it came in.
            secret = checks.course_secret(self.course_secret_file)
            fingerprint = submission_fingerprint(nb, directory, limits)
            for cell in nb.cells:
                if not utils.is_grade(cell):
                    continue
                grade_id = cell.metadata.nbgrader.get("grade_id")
                chk = checks.find(notebook_id, grade_id)
                if chk is None:
                    message = f"no trusted check is registered for test cell {grade_id!r}"
                    self.log.error("%s/%s: %s", student_id, notebook_id, message)
                    report["problems"].append(message)
                elif session.out_of_time:
                    message = "the notebook's code used up its time budget, so this test could not be run"
                elif session.proc is None and session.restarts >= limits.max_restarts:
                    message = "the notebook's code could not be run, so this test could not pass"
                else:
                    message = checks.run_check(chk, student, student_id=student_id, assignment=assignment_id,
                                               secret=secret, submission=fingerprint)
                cell.outputs = [_passed(chk) if message is None else _failed(message)]
                # The test was decided here; its hidden part never needs to be shown again.
                cell.source = HIDDEN_BLOCK.sub(HIDDEN_NOTE, cell.source)
                cell.execution_count = None
                report["checks"][grade_id] = message
                # What feedback before the deadline may show: the mistake named, not the answer.
                report["hints"][grade_id] = getattr(message, "hint", message)
        finally:
            session.close()
        for index, (_, cell) in enumerate(cells):
            cell.outputs = _cell_outputs(session.cell_reports.get(index))
        for index, why in session.skip.items():
            report["problems"].append(f"cell {index + 1} of the submission's code {why}")
        report["timings"] = dict(session.timings, total=time.perf_counter() - started)
        _note_limits(nb, report, student_id)   # after grading: the checks saw the notebook as submitted
        self._save_report(report)
        return nb, resources

    def _save_report(self, report):
        folder = os.environ.get(REPORT_DIR_ENV) or self.report_directory
        path = os.path.join(folder, report["assignment"], report["student"], f"{report['notebook']}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            json.dump(report, fh, indent=1)


def _new_output(output_type, **fields):
    """nbformat's new_output without its schema check of each output (some 70 per notebook,
    about 1 ms each); tests/test_grading_outputs.py shows both build the same outputs."""
    if output_type == "display_data":
        fields.setdefault("metadata", {})
    return nbformat.from_dict(dict(output_type=output_type, **fields))


def _passed(chk):
    return _new_output("stream", name="stdout", text=f"Passed: {chk.behaviour}\n")


def _failed(message):
    return _new_output("error", ename="TestFailed", evalue=message, traceback=[f"TestFailed: {message}"])


def _cell_outputs(report):
    """The submission's own outputs as plain nbgrader shows them: printed text and PNG figures.

    Only plain text and PNG images ever come back from the sandbox (validated in
    SandboxSession), so no HTML or script written by student code reaches a page.
    """
    if not report:
        return []
    outputs = []
    for item in report.get("outputs", ()):
        if item["type"] == "stream":
            outputs.append(_new_output("stream", name="stdout", text=item["text"]))
        elif item["type"] == "image/png":
            outputs.append(_new_output("display_data", data={"image/png": item["data"],
                                                            "text/plain": "<Figure>"}))
        elif item["type"] == "text/plain":
            outputs.append(_new_output("display_data", data={"text/plain": item["text"]}))
    if not report.get("outputs") and report.get("stdout"):
        outputs.append(_new_output("stream", name="stdout", text=report["stdout"]))
    if report.get("error"):
        outputs.append(_new_output("stream", name="stdout", text=f"[this cell raised] {report['error']}\n"))
    return outputs


class StripHiddenTests(NbGraderPreprocessor):
    """Replace hidden tests with a note, so feedback never shows them."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "### BEGIN HIDDEN TESTS" in cell.source:
            cell.source = HIDDEN_BLOCK.sub(HIDDEN_NOTE, cell.source)
        return cell, resources


# -- hook: one unreadable notebook must not cost the student's other notebooks --

UNREADABLE = {}
PLACEHOLDER_KEY = "mle_grading_unreadable"


def _unreadable_reason(path):
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    return nb.metadata.get(PLACEHOLDER_KEY)  # a placeholder written by an earlier run


def _student_of(path):
    # nbgrader passes the student *pattern* to hooks; the path says who it is:
    # .../submitted/<student>/<assignment>/<notebook>.ipynb
    return os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))


# Notes of what was over the submission limits (submission_files.bound_submission), per student:
# shown at the top of every notebook's feedback, and once in the grading reports.
LIMIT_NOTES = {}


def _note_limits(nb, report, student_id):
    notes = LIMIT_NOTES.get(student_id)
    if not notes:
        return
    if not notes.reported:
        report["problems"].extend(notes)
        notes.reported = True
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        "**Note from the grader:** part of this submission was not graded:\n\n"
        + "\n".join(f"- {note}" for note in notes)))


class _Notes(list):
    reported = False


def _limits():
    """The course's SandboxLimits: the running nbgrader app's configuration, else the course's files."""
    from traitlets.config import Application
    from mle_grading.sandbox.runner import configured_limits
    if Application.initialized():
        return SandboxLimits(config=Application.instance().config)
    if os.path.exists("nbgrader_config.py"):   # a warm autograder (run.py) works in the course root
        stamps = tuple(os.stat(n).st_mtime if os.path.exists(n) else None
                       for n in ("nbgrader_config.py", "course_config.py"))
        key = (os.getcwd(), stamps)
        if key not in _LIMITS_READ:
            _LIMITS_READ.clear()
            _LIMITS_READ[key] = configured_limits(os.getcwd())
        return _LIMITS_READ[key]
    return SandboxLimits()


_LIMITS_READ = {}


def set_aside_unreadable_notebooks(assignment, student, notebooks):
    """pre_convert_hook: keep an unreadable notebook beside a readable placeholder.

    nbgrader stops grading a student's whole assignment when one file is not a
    valid notebook. The file as submitted is renamed (never deleted or
    overwritten) and a valid placeholder that says why takes its place, so the
    student's other notebooks are graded and this one scores 0.
    """
    not_own, over_limit = {}, {}
    limits = _limits()
    for submission in sorted({os.path.dirname(os.path.abspath(p)) for p in notebooks}):
        # First of all: nothing a submission links to is read (submission_files.py).
        moved = keep_only_own_files(submission, log=lambda m: print(f"[mle_grading] {m}", flush=True))
        not_own.update({os.path.join(submission, name): why for name, why in moved.items()})
        # Then what is over the limits is moved aside, by its size and cell count, before nbgrader reads it.
        notes, set_aside = bound_submission(submission, limits, log=lambda m: print(f"[mle_grading] {m}", flush=True))
        LIMIT_NOTES[_student_of(os.path.join(submission, "x.ipynb"))] = _Notes(notes)
        over_limit.update({os.path.join(submission, name): why for name, why in set_aside.items()})
    for path in notebooks:
        path = os.path.abspath(path)
        if path in over_limit:
            _write_placeholder(path, over_limit[path])
            continue
        if not os.path.lexists(path):
            why = not_own.get(path) or next((w for p, w in not_own.items() if path.startswith(p + os.sep)),
                                            "not found")
            _write_placeholder(path, f"the submitted notebook was {why}, not the student's own file; "
                                     "it was set aside and not read")
            UNREADABLE[(_student_of(path), os.path.splitext(os.path.basename(path))[0])] = \
                f"{why}: set aside, not read"
            continue
        reason = _unreadable_reason(path)
        if not reason:
            continue
        who = _student_of(path)
        nb_id = os.path.splitext(os.path.basename(path))[0]
        UNREADABLE[(who, nb_id)] = reason
        try:
            if nbformat.read(path, as_version=4).metadata.get(PLACEHOLDER_KEY):
                continue  # already set aside by an earlier run
        except Exception:
            pass
        kept = f"{path}.unreadable"
        n = 1
        while os.path.exists(kept):
            n += 1
            kept = f"{path}.unreadable-{n}"
        os.rename(path, kept)
        _write_placeholder(path, f"{reason}. The file as submitted is kept as `{os.path.basename(kept)}`.")
        print(f"[mle_grading] {who}/{nb_id}: not a valid notebook, scored 0 ({reason}); "
              f"the submitted file is kept as {kept}", flush=True)


def _write_placeholder(path, reason):
    placeholder = nbformat.v4.new_notebook()
    placeholder.metadata[PLACEHOLDER_KEY] = reason
    placeholder.cells.append(nbformat.v4.new_markdown_cell(
        f"**This notebook could not be read when it was graded**, so it scores 0.\n\nReason: {reason}"))
    nbformat.write(placeholder, path)


def feedback_pages_only(assignment, student, notebooks):
    """post_convert_hook of generate_feedback: feedback/ holds the notebooks' pages and nothing else.

    nbgrader copies every other file of a submission into feedback/, and
    release_feedback publishes every *.html there; a student's own `page.html`
    would be released as feedback. These are copies (autograded/ keeps the files).
    """
    # release_feedback reads these two to name the released pages; they are nbgrader's own copies, kept.
    pages = {os.path.splitext(os.path.basename(p))[0] + ".html" for p in notebooks} | {"timestamp.txt", "submission_secret.txt"}
    for folder in {_feedback_folder(p) for p in notebooks}:
        for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
            for name in filenames:
                path = os.path.join(dirpath, name)
                if dirpath != folder or name not in pages or os.path.islink(path):
                    os.remove(path)
                    print(f"[mle_grading] {path}: not a feedback page, removed from feedback/", flush=True)
            for name in dirnames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    os.remove(path)
                elif not os.listdir(path):
                    os.rmdir(path)


def _feedback_folder(notebook_path):
    # .../autograded/<student>/<assignment>/<nb>.ipynb -> .../feedback/<student>/<assignment>
    assignment_dir = os.path.dirname(os.path.abspath(notebook_path))
    student_dir = os.path.dirname(assignment_dir)
    course = os.path.dirname(os.path.dirname(student_dir))
    return os.path.join(course, "feedback", os.path.basename(student_dir), os.path.basename(assignment_dir))


class RebuildSubmission(NbGraderPreprocessor):
    """Rebuild a submission around the gradebook's cells, whatever the student did to them.

    Replaces nbgrader's OverwriteCells and DeduplicateIds, which stop with an
    exception on some tampered notebooks (a cell posing as a test, a test cell's
    flags edited), costing the student's whole assignment. Here every locked and
    test cell comes from the gradebook, in the source notebook's order; each answer
    cell is the student's cell of that grade_id (or the release's stub if it is
    gone); any other student cell is kept, as plain code, after the cell it
    followed. Nothing in the student's metadata can change what is graded or how
    many points it is worth.
    """

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            source = {c.name: (c.cell_type, c.locked, c.source, c.checksum) for c in notebook.source_cells}
            points = {c.name: float(c.max_score) for c in notebook.grade_cells}
            answers = {c.name for c in notebook.solution_cells}
        order = self._canonical_order(info["assignment"], info["notebook"], source)
        student_answers, extras_after = {}, {None: []}
        last = None
        for cell in nb.cells:
            name = self._grade_id(cell)
            if name in answers and name not in student_answers:
                student_answers[name] = cell
                last = name
            elif name in source:
                last = name  # a locked or test cell: the gradebook's copy is used
            else:
                extras_after.setdefault(last, []).append(self._plain(cell))
        cells = list(extras_after.get(None, []))
        for name in order:
            cell_type, locked, text, checksum = source[name]
            cell = self._new_cell(cell_type, text)
            if name in answers:
                # The student's own answer; if it is gone, nothing (not the stub, which
                # would undo an answer the student moved to another cell).
                mine = student_answers.get(name)
                same_type = mine is not None and mine.get("cell_type") == cell_type
                cell.source = _text(mine.get("source", "")) if same_type else ""
            meta = {"grade": name in points, "grade_id": name, "locked": bool(locked),
                    "schema_version": 3, "solution": name in answers, "task": False, "checksum": checksum}
            if name in points:
                meta["points"] = points[name]
            cell.metadata = {"nbgrader": meta}
            if locked:
                cell.metadata.update(deletable=False, editable=False)
            cells.append(cell)
            cells.extend(extras_after.get(name, []))
        for index, cell in enumerate(cells):
            cell["id"] = f"cell-{index:04d}"
        nb.cells = cells
        nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                      "name": "python3"}, "language_info": {"name": "python"}}
        nb.nbformat, nb.nbformat_minor = 4, 5
        return nb, resources

    @staticmethod
    def _grade_id(cell):
        meta = cell.get("metadata")
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        name = nbg.get("grade_id") if isinstance(nbg, dict) else None
        return name if isinstance(name, str) else None

    @staticmethod
    def _new_cell(cell_type, text):
        """nbformat's new_code_cell / new_markdown_cell without their schema check of each cell
        (about 0.4 ms each, by jsonschema); the ids are set when the notebook is assembled."""
        if cell_type == "code":
            return nbformat.from_dict({"id": "", "cell_type": "code", "metadata": {}, "execution_count": None,
                                       "source": text, "outputs": []})
        return nbformat.from_dict({"id": "", "cell_type": "markdown", "source": text, "metadata": {}})

    def _plain(self, cell):
        text = _text(cell.get("source", ""))
        if cell.get("cell_type") == "code":
            return self._new_cell("code", text)
        return self._new_cell("markdown", text)

    @staticmethod
    def _canonical_order(assignment, notebook_id, source):
        path = os.path.join(os.getcwd(), "source", assignment, f"{notebook_id}.ipynb")
        order = []
        for name in _source_grade_ids(path):
            if name in source and name not in order:
                order.append(name)
        order += sorted(n for n in source if n not in order)
        return order


def _source_grade_ids(path):
    """The grade_ids of the instructor's source notebook, in its order (none if there is no such file)."""
    try:
        stat = os.stat(path)
    except OSError:
        return ()
    # The change time too: any write sets it, and no copy tool can carry an old one over.
    return _grade_ids_of_version(path, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@functools.lru_cache(maxsize=64)
def _grade_ids_of_version(path, *version):
    """Read once per version of the file in a warm grader (the same for every student of a class)."""
    return tuple(cell.metadata.get("nbgrader", {}).get("grade_id")
                 for cell in nbformat.read(path, as_version=4).cells)


def _text(source):
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return str(source)


# -- feedback pages: equations without a network ---------------------------------

# npm's mathjax package, which ./course setup installs into the course's .node/ (never copied
# into the repository); c.InlineMathJax.mathjax_file points elsewhere.
MATHJAX_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            ".node", "node_modules", "mathjax", "es5", "tex-svg-full.js")
FEEDBACK_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "feedback_templates")


class CourseFeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter for generate_feedback alone (c.GenerateFeedback.exporter_class), so
    that the course's feedback template (MathJax inlined, diagnoses that wrap) is configured for the
    feedback pages only: formgrader's exporter keeps nbgrader's own formgrade template.

    nbgrader makes one per student; its templates are compiled once per process
    (`feedback_render.CompiledTemplates`, found first, where nbconvert's own loader would find them)."""

    @default("extra_loaders")
    def _compiled_once(self):
        return [CompiledTemplates(lambda: ExtensionTolerantLoader(FileSystemLoader(self.template_paths),
                                                                  self.template_extension))]

    def from_notebook_node(self, nb, resources=None, **kw):
        """HTMLExporter's conversion (its two filters, then the template), with its closing
        BeautifulSoup pass (about 0.15 s a page) replaced by `feedback_render.describe_images`."""
        language = nb.metadata.get("language_info", {})
        self.register_filter("highlight_code", self.filters.get("highlight_code", Highlight2HTML(
            pygments_lexer=language.get("pygments_lexer", language.get("name")), parent=self)))
        # The notebook's widget state (HTMLExporter hands over the preprocessed copy's; the feedback's
        # preprocessors leave it alone, and the sandbox never outputs a widget).
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(notebook_metadata={"": nb.metadata}, parent=self))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return describe_images(html, self.log), resources


@functools.lru_cache(maxsize=4)
def _script_text(path):
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ValueError(f"the feedback pages' MathJax {path!r} cannot be read ({exc.strerror}): "
                         "run ./course setup, which installs npm's mathjax into .node/") from None
    if "</script" in text.lower():      # it would end the <script> element it is inlined in
        raise ValueError(f"the feedback pages' MathJax {path!r} contains '</script' and cannot be inlined")
    return text


class InlineMathJax(NbGraderPreprocessor):
    """Give the feedback template MathJax's source to inline (`resources['course_mathjax']`).

    nbgrader's feedback template loads MathJax from a CDN, so a page opened without a
    network showed its equations as raw TeX. The course's template (feedback_templates/
    course_feedback) inlines MathJax 3 with SVG output, which needs no further file."""

    mathjax_file = Unicode(MATHJAX_FILE, help="MathJax's single-file TeX-to-SVG build (npm mathjax, es5/tex-svg-full.js)"
                           ).tag(config=True)

    def preprocess(self, nb, resources):
        resources["course_mathjax"] = _script_text(self.mathjax_file)
        return nb, resources
