"""The one place that runs nbgrader: its executable, its environment, the gradebook URL,
and nbgrader's autograder kept warm inside a process.

The pipeline, the parallel grader, the benchmark and the tests all go through here.
Results are read from the gradebook and from the grading reports that TrustedGrading
writes (grading_reports/<assignment>/<student>/<notebook>.json), never from nbgrader's
log text: the log is kept for people to read.
"""
import contextlib
import glob
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mle_grading import ASSIGNMENTS

DB_URL_ENV = "MLE_GRADING_DB_URL"          # course_config.py reads the gradebook URL from it
SQLITE_BUSY_TIMEOUT = 60                   # seconds a SQLite writer waits for another


# -- the executable and its environment ---------------------------------------------------

def bin_directory():
    """The environment's bin/ (nbgrader runs `alembic` from PATH when it creates a gradebook)."""
    return os.path.dirname(sys.executable)


def executable():
    exe = os.path.join(bin_directory(), "nbgrader")
    if not os.path.exists(exe):
        raise RuntimeError(f"nbgrader is not installed beside {sys.executable}: run ./course setup")
    return exe


def environment(db_url=None, base=None, quiet=True):
    """The environment nbgrader runs in: this environment's bin/ first on PATH, and the gradebook.

    db_url None keeps whatever the caller's environment says (course_config.py then uses
    MLE_GRADING_DB_URL, or the course's SQLite gradebook); "" removes it. quiet hides
    nbgrader's own Python warnings (PYTHONWARNINGS=ignore, unless set); tests that run
    `nbgrader validate` keep warnings as students see them.
    """
    env = dict(os.environ if base is None else base)
    path = env.get("PATH", "")
    if bin_directory() not in path.split(os.pathsep):
        env["PATH"] = bin_directory() + os.pathsep + path
    if quiet:
        env.setdefault("PYTHONWARNINGS", "ignore")
    if db_url == "":
        env.pop(DB_URL_ENV, None)
    elif db_url is not None:
        env[DB_URL_ENV] = db_url
    return env


def run(course_root, args, db_url=None, log_path=None, env=None):
    """Run `nbgrader <args>` from the course root and wait: a subprocess.CompletedProcess
    (returncode, stdout, stderr), its output also appended to log_path if given."""
    proc = subprocess.run([executable(), *args], cwd=course_root, env=env or environment(db_url),
                          capture_output=True, text=True, errors="replace")
    if log_path:
        with open(log_path, "a") as log:
            log.write(f"\n$ nbgrader {' '.join(args)}\n{proc.stdout}{proc.stderr}")
    return proc


# -- the gradebook ---------------------------------------------------------------------------

def gradebook_url(course_root, db_url=None):
    """The gradebook of a course: db_url, else MLE_GRADING_DB_URL, else the course's SQLite file.

    SQLite gets a busy timeout (SQLAlchemy hands `?timeout=` to sqlite3.connect), so that
    one grading worker waits for another's write instead of failing with "database is locked".
    """
    url = db_url or os.environ.get(DB_URL_ENV) or \
        f"sqlite:///{os.path.join(os.path.abspath(course_root), 'gradebook.db')}"
    return with_busy_timeout(url)


def with_busy_timeout(url, seconds=SQLITE_BUSY_TIMEOUT):
    if not url.startswith("sqlite"):
        return url
    base, _, query = url.partition("?")   # (urlsplit would eat the slashes of sqlite:////abs)
    params = dict(parse_qsl(query))
    params.setdefault("timeout", str(seconds))
    return f"{base}?{urlencode(params)}"


def redact(url):
    """The URL without its password, for logs and screens."""
    parts = urlsplit(url)
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
    return url


def gradebook_notebooks(db_url, assignment):
    """The assignment's notebook ids in the gradebook; a clear error if it is not there."""
    from nbgrader.api import Gradebook, MissingEntry
    # course_id "" adds no course row: nbgrader's own runs add the configured one.
    with Gradebook(db_url, course_id="") as gb:
        try:
            return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            raise RuntimeError(f"the gradebook has no assignment {assignment!r}: "
                               f"run `nbgrader generate_assignment {assignment}` first") from None


def scores_by_cell(db_url, assignment, student):
    """{(notebook, grade_id): (score, max_score)} of a student's submission; None if there is none.

    Read in three queries: nbgrader's objects load each grade's cell and its deferred
    max_score lazily, two queries per graded cell.
    """
    from nbgrader.api import Grade, Gradebook, MissingEntry, SubmittedNotebook
    from sqlalchemy.orm import joinedload, selectinload, undefer
    with Gradebook(db_url, course_id="") as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        notebooks = (gb.db.query(SubmittedNotebook).filter(SubmittedNotebook.assignment_id == submission.id)
                     .options(joinedload(SubmittedNotebook.notebook),
                              selectinload(SubmittedNotebook.grades).options(joinedload(Grade.cell),
                                                                             undefer(Grade.max_score))))
        return {(nb.name, grade.name): (grade.score, grade.max_score) for nb in notebooks for grade in nb.grades}


def submission_counts(db_url, assignment):
    """{student: number of submissions of the assignment in the gradebook} (exactly once is 1)."""
    from nbgrader.api import Gradebook, SubmittedAssignment
    with Gradebook(db_url, course_id="") as gb:
        counts = {}
        for sub in gb.db.query(SubmittedAssignment).filter(SubmittedAssignment.assignment.has(name=assignment)):
            counts[sub.student_id] = counts.get(sub.student_id, 0) + 1
        return counts


# -- the course's folders -----------------------------------------------------------------------

def course_assignments(course_root):
    """The course's assignments (mle_grading.ASSIGNMENTS order) that have a source/ folder."""
    return [a for a in ASSIGNMENTS if os.path.isdir(os.path.join(course_root, "source", a))]


def submitted_students(course_root, assignment):
    """Every student nbgrader autograde would see: submitted/<student>/<assignment>/."""
    pattern = os.path.join(glob.escape(os.path.join(course_root, "submitted")), "*", glob.escape(assignment))
    return sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(pattern) if os.path.isdir(p))


def submitted_notebooks(course_root, assignment, student):
    folder = os.path.join(course_root, "submitted", student, assignment)
    return sorted(os.path.basename(p)[:-len(".ipynb")] for p in glob.glob(os.path.join(glob.escape(folder), "*.ipynb")))


def is_autograded(course_root, assignment, student, notebooks):
    """autograded/ holds every notebook of the gradebook's assignment that the student submitted,
    from the same submission (nbgrader copies timestamp.txt along)."""
    submitted = os.path.join(course_root, "submitted", student, assignment)
    graded = os.path.join(course_root, "autograded", student, assignment)
    if not os.path.isdir(graded):
        return False
    for nb in notebooks:
        if os.path.exists(os.path.join(submitted, f"{nb}.ipynb")) and \
                not os.path.exists(os.path.join(graded, f"{nb}.ipynb")):
            return False
    return _read(os.path.join(submitted, "timestamp.txt")) == _read(os.path.join(graded, "timestamp.txt"))


def _read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def report_directory(course_root):
    """Where TrustedGrading writes its reports (course_config.py, or MLE_GRADING_REPORT_DIR)."""
    from mle_grading.nbgrader_integration.preprocessors import REPORT_DIR_ENV
    return os.environ.get(REPORT_DIR_ENV) or os.path.join(course_root, "grading_reports")


def grading_reports(course_root, assignment, student):
    """The JSON reports TrustedGrading wrote for one student's notebooks, by notebook id."""
    folder = os.path.join(report_directory(course_root), assignment, student)
    reports = {}
    for path in sorted(glob.glob(os.path.join(glob.escape(folder), "*.json"))):
        with open(path) as fh:
            report = json.load(fh)
        reports[report.get("notebook") or os.path.basename(path)[:-5]] = report
    return reports


# -- nbgrader's autograder, warm in this process ---------------------------------------------------

@dataclass
class Graded:
    """What grading one student's assignment did (read from the gradebook and the reports)."""
    assignment: str
    student: str
    graded: bool
    why: str = ""                                  # when not graded: what went wrong
    scores: dict = field(default_factory=dict)     # {"notebook/grade_id": score}
    problems: list = field(default_factory=list)   # from the grading reports
    timings: dict = field(default_factory=dict)    # seconds: "grading", per report "notebooks"
    log: str = ""                                  # what nbgrader said, for people


class _WarmApp:
    """One of nbgrader's applications, configured once in this process (course_config.py), whose
    converter is then run for one student at a time; the common part of the warm autograder and
    the warm feedback generator."""

    def __init__(self, app_class, course_root, db_url):
        started = time.perf_counter()
        self.course_root = os.path.abspath(course_root)
        self.db_url = db_url
        self.lock = threading.Lock()
        if not os.path.isfile(os.path.join(self.course_root, "nbgrader_config.py")):
            raise RuntimeError(f"{self.course_root} is not a course directory here (no nbgrader_config.py): "
                               "every grading machine must see the course at the same path")
        os.environ.update(environment(db_url))   # course_config.py reads the gradebook from it
        # nbgrader's own SQLAlchemy warnings, hidden as PYTHONWARNINGS=ignore hides them for the command.
        import warnings
        from sqlalchemy.exc import SAWarning
        warnings.filterwarnings("ignore", category=SAWarning)
        os.chdir(self.course_root)               # nbgrader reads nbgrader_config.py from here
        app = app_class()
        app.initialize([])                        # never the worker's own sys.argv
        for handler in list(app.log.handlers):    # the log goes to each student's result instead
            app.log.removeHandler(handler)
        app.log.propagate = False
        app.coursedir.db_url = db_url
        self.app = app
        self.startup_seconds = time.perf_counter() - started

    def run_converter(self, converter_class, assignment, student, stopped, failure=lambda converter: None):
        """Run a fresh converter of `converter_class` for one student, `force` on.

        Returns (the converter, why it failed or "", what nbgrader said); never raises for a
        bad submission. `stopped` says why when nbgrader gave up and `failure(converter)` knows
        nothing more. The caller holds `self.lock`."""
        from nbgrader.converters import NbGraderException
        os.chdir(self.course_root)
        text = io.StringIO()
        handler = logging.StreamHandler(text)
        handler.setFormatter(logging.Formatter("[%(name)s | %(levelname)s] %(message)s"))
        self.app.log.addHandler(handler)
        self.app.log.setLevel(logging.INFO)
        coursedir = self.app.coursedir
        coursedir.assignment_id = assignment
        coursedir.student_id = glob.escape(student)   # nbgrader globs it
        converter = converter_class(coursedir=coursedir, parent=self.app)
        converter.force = True
        why = ""
        try:
            with contextlib.redirect_stdout(text):    # the course's hooks print too
                converter.start()
        except NbGraderException:
            why = failure(converter) or stopped
        except Exception as exc:  # noqa: BLE001  (one student's failure, reported, never raised)
            why = failure(converter) or f"{type(exc).__name__}: {str(exc)[:300]}"
        finally:
            self.app.log.removeHandler(handler)
            coursedir.student_id = "*"
        return converter, why, text.getvalue()


class WarmAutograder(_WarmApp):
    """nbgrader's own AutogradeApp, configured once (course_config.py), grading one student at a time.

    Starting `nbgrader autograde` costs seconds (nbgrader, torch and the checks are imported,
    the configuration loaded); here that is paid once per process, and each student is graded
    by a fresh `Autograde` converter, exactly the object `nbgrader autograde` builds, with
    `CourseDirectory.student_id` set to that student and `force` on: grading a student
    again replaces their submission in the gradebook (one row per assignment and student),
    so a task run twice counts once.

    The app is a traitlets Application; nbgrader's tests run each command with
    `NbGraderApp.instance()` and `reset()`. Here it is created directly (no singleton is
    registered, so nothing else in the process can pick it up), one per course and gradebook,
    and used by one thread at a time (a lock).
    """

    def __init__(self, course_root, db_url):
        from nbgrader.apps.autogradeapp import AutogradeApp
        super().__init__(AutogradeApp, course_root, db_url)

    def grade(self, assignment, student):
        """Grade one student's assignment from scratch; never raises for a bad submission."""
        with self.lock:
            started = time.perf_counter()
            converter, why, log = self.run_converter(_RecordingAutograde, assignment, student,
                                                     "nbgrader could not grade this submission",
                                                     failure=lambda c: c.failure)
            if not why and not converter.processed:
                why = "nbgrader skipped this student (CourseDirectory.student_id_exclude?)"
            result = self.read_result(assignment, student, why)
            result.timings["grading"] = time.perf_counter() - started
            result.log = log
            return result

    def read_result(self, assignment, student, why=""):
        """Graded means: nbgrader finished without error, wrote autograded/, and the gradebook has it."""
        scores = scores_by_cell(self.db_url, assignment, student)
        if not why:
            notebooks = gradebook_notebooks(self.db_url, assignment)
            if scores is None:
                why = "the gradebook holds no submission after grading"
            elif not is_autograded(self.course_root, assignment, student, notebooks):
                why = "nbgrader did not write every autograded notebook"
        reports = grading_reports(self.course_root, assignment, student)
        problems = [f"{nb}: {p}" for nb, r in reports.items() for p in r.get("problems", [])]
        return Graded(assignment, student, graded=not why, why=why,
                      scores={f"{nb}/{cell}": s for (nb, cell), (s, _) in (scores or {}).items()},
                      problems=problems,
                      timings={"notebooks": {nb: r.get("timings", {}) for nb, r in reports.items()}})


class WarmFeedback(_WarmApp):
    """nbgrader's own GenerateFeedbackApp, configured once (course_config.py), one student at a time.

    The feedback half of the cycle, kept warm the way `WarmAutograder` keeps grading warm:
    each student gets a fresh `GenerateFeedback` converter, the object `nbgrader
    generate_feedback` builds, with `CourseDirectory.student_id` set to that student and
    `force` on, so a task run twice writes the same pages once.
    """

    def __init__(self, course_root, db_url):
        from nbgrader.apps.generatefeedbackapp import GenerateFeedbackApp
        super().__init__(GenerateFeedbackApp, course_root, db_url)

    def generate(self, assignment, student):
        """Write one student's feedback pages; returns (written, why not, nbgrader's log). Never raises."""
        from nbgrader.converters import GenerateFeedback
        with self.lock:
            _, why, log = self.run_converter(GenerateFeedback, assignment, student,
                                             "nbgrader could not generate this student's feedback")
            if not why:
                graded = glob.glob(os.path.join(glob.escape(os.path.join(self.course_root, "autograded", student,
                                                                         assignment)), "*.ipynb"))
                folder = os.path.join(self.course_root, "feedback", student, assignment)
                missing = [os.path.basename(p)[:-len(".ipynb")] for p in graded
                           if not os.path.isfile(os.path.join(folder, os.path.basename(p)[:-len(".ipynb")] + ".html"))]
                if missing:
                    why = f"no feedback page was written for {', '.join(sorted(missing))}"
            return not why, why, log


def _recording(method):
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if self.failure is None:
                where = f" ({os.path.basename(args[0])})" if method.__name__ == "convert_single_notebook" else ""
                self.failure = f"{type(exc).__name__}{where}: {str(exc)[:300]}"
            raise
    wrapper.__name__ = method.__name__
    return wrapper


def _recording_autograde_class():
    from nbgrader.converters import Autograde

    class RecordingAutograde(Autograde):
        """nbgrader's Autograde (configured as `Autograde` in course_config.py), which also keeps the
        first exception that stopped a student (nbgrader only logs its traceback) and whether the
        student was processed at all."""
        failure = None
        processed = False

        def init_destination(self, assignment_id, student_id):
            self.processed = Autograde.init_destination(self, assignment_id, student_id)
            return self.processed

        init_destination = _recording(init_destination)
        init_assignment = _recording(Autograde.init_assignment)
        convert_single_notebook = _recording(Autograde.convert_single_notebook)
        set_permissions = _recording(Autograde.set_permissions)
        run_pre_convert_hook = _recording(Autograde.run_pre_convert_hook)
        run_post_convert_hook = _recording(Autograde.run_post_convert_hook)

    return RecordingAutograde


class _LazyClass:
    """Import nbgrader only when a student is graded (the CLI's --help stays instant)."""
    _cls = None

    def __call__(self, *args, **kwargs):
        if _LazyClass._cls is None:
            _LazyClass._cls = _recording_autograde_class()
        return _LazyClass._cls(*args, **kwargs)


_RecordingAutograde = _LazyClass()
