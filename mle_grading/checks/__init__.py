"""Trusted checks: one per graded test cell, keyed by (notebook id, grade_id).

A check never runs student code itself. It asks a `Student` (`mle_grading.boundary.protocol`)
to call a named function or read a named variable, gets back an `Outcome` holding
plain data, and compares that data with `mle_grading.checks.reference` and with torch,
here, in the trusted process. The same check serves two transports:

- `protocol.InProcessStudent`: the notebook's own namespace, for `nbgrader validate`
  of the instructor's source notebook (the hidden-test line of every test cell);
- `sandbox.SandboxStudent`: a submission running in a sandbox, for `nbgrader autograde`.

A check is `run(student, rng)`: it passes by returning and fails by raising
`CheckFailed` with a message for the student, in the grader's own words. `rng` is
seeded by (course secret, student, assignment, notebook, grade_id, the submission's
code): the same inputs every time one submission is graded, other inputs for every
other student and for every resubmission, none predictable from the release (so
inputs read off one round of feedback are no table of answers for the next). How to write
checks: `mle_grading.checks.api` (one call, one judge) and `.families` (the
checks every graded function gets, from a table).
"""
import hashlib
import hmac
import importlib
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np

from mle_grading.boundary.protocol import InProcessStudent, Outcome, Student, SYMBOLS  # noqa: F401  (the checks' vocabulary)
from mle_grading.boundary.protocol import INNER_FUNCTIONS, inner_functions


class CheckFailed(AssertionError):
    """The submission does not show the behaviour this check grades.

    `hint` is what may be shown before the deadline: it names the mistake, never the
    answer (by default the whole message, for messages that state no answer).
    """

    def __init__(self, message="", hint=None):
        super().__init__(message)
        self.hint = message if hint is None else hint


class Diagnosis(str):
    """A failed check's full diagnosis (the string itself), with `.hint`: the same
    diagnosis without the statement of the answer, for feedback before the deadline."""

    def __new__(cls, full, hint):
        made = super().__new__(cls, full)
        made.hint = hint
        return made

    def __reduce__(self):
        return Diagnosis, (str(self), self.hint)


def naming_the_mistake(message):
    """A recognised mistake's message cut after its first clause: "the sign is flipped: the
    gradient is ..." -> "the sign is flipped." The clauses after a colon or a semicolon say
    what the right answer is; the first one says which step went wrong."""
    first = re.split(r"[:;] ", message, maxsplit=1)[0].rstrip(" .,")
    return first + "."


class ReferenceDisagrees(RuntimeError):
    """The reference and torch disagree on an input: a bug of ours, never the student's."""


# -- the course secret: what makes hidden inputs differ per student ------------

SECRET_ENV = "MLE_GRADING_COURSE_SECRET"
SECRET_FILE_ENV = "MLE_GRADING_COURSE_SECRET_FILE"
# Good enough for the demo class and the tests; a real class sets its own (README).
DEMO_SECRET = "demo class: not a secret, set MLE_GRADING_COURSE_SECRET_FILE for a real course"


def course_secret(path=""):
    """The course secret: the file `path` (or $MLE_GRADING_COURSE_SECRET_FILE), else
    $MLE_GRADING_COURSE_SECRET, else the demo's public one."""
    path = path or os.environ.get(SECRET_FILE_ENV, "")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                secret = fh.read().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the course secret file {path!r}: {exc.strerror}") from None
        if not secret:
            raise ValueError(f"the course secret file {path!r} is empty")
        return secret
    return os.environ.get(SECRET_ENV) or DEMO_SECRET


def submission_digest(sources):
    """A fingerprint of a submission's code cells (a list of sources)."""
    return hashlib.sha256("\0".join(sources).encode("utf-8", "replace")).hexdigest()


def rng_for(secret, student_id, assignment, notebook, grade_id, submission=""):
    """The generator of one check's hidden inputs for one submission of one student."""
    key = "\0".join(str(part) for part in (student_id, assignment, notebook, grade_id, submission))
    digest = hmac.new(secret.encode("utf-8"), key.encode("utf-8"), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


# -- the registry -------------------------------------------------------------

@dataclass
class Check:
    notebook: str
    grade_id: str
    behaviour: str
    run: object           # run(student, rng)


REGISTRY = {}
# The check modules, one per notebook (assignment mle_losses first); a module named
# here that cannot be imported is an error, never a smaller registry.
CHECK_MODULES = ("gaussian_mse", "bernoulli_bce", "categorical_ce", "gradients",
                 "learned_variance", "soft_targets", "softmax_regression")


def check(notebook, grade_id, behaviour):
    """Register the decorated `run(student, rng)` as the trusted check of one test cell."""
    def register(fn):
        key = (notebook, grade_id)
        if key in REGISTRY:
            raise RuntimeError(f"two checks for {key}")
        REGISTRY[key] = Check(notebook, grade_id, behaviour, fn)
        return fn
    return register


def load_all():
    for name in CHECK_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return REGISTRY


def find(notebook, grade_id):
    load_all()
    return REGISTRY.get((notebook, grade_id))


def find_by_grade_id(grade_id):
    load_all()
    matches = [c for (nb, gid), c in REGISTRY.items() if gid == grade_id]
    if len(matches) != 1:
        raise KeyError(f"no unique check for grade_id {grade_id!r}")
    return matches[0]


def run_check(chk, student, student_id="", assignment="", secret=None, submission=()):
    """Run one check; return None if it passed, else the message for the student
    (a `Diagnosis`: the full message, with `.hint` for feedback before the deadline).

    Inputs are drawn for (`student_id`, `assignment`, `submission`: the code cells'
    sources) under the course secret (`course_secret()` unless given). `ReferenceDisagrees` (a RuntimeError: the
    reference and torch disagree) is a bug of ours and propagates; any other exception a check meets on
    what a submission returned fails that check only.
    """
    rng = rng_for(course_secret() if secret is None else secret, student_id, assignment, chk.notebook,
                  chk.grade_id, submission_digest(list(submission)))
    calls = _RecordingStudent(student)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            chk.run(calls, rng)
    except CheckFailed as exc:
        message = str(exc) or f"{chk.behaviour}: failed"
        hint = exc.hint or message
        function = calls.last_with_trusted_inner
        unanswered = "is not defined" in message or "NotImplementedError" in message
        note = inner_note(function) if function and not unanswered else ""
        return Diagnosis(message + note, hint + note)
    except ReferenceDisagrees:
        raise
    except Exception:  # noqa: BLE001 - an odd result costs this check, never the assignment
        return f"{chk.behaviour}: the result could not be judged (an unexpected shape or type)."
    return None


# -- one mistake costs once: where the mistake lies ---------------------------------

class _RecordingStudent(Student):
    """Passes every request on, and remembers the last function called with trusted inner functions bound.

    The note after a failure names the function the check really called, not one guessed from the
    grade_id (`gaussian_nll_logvar_value` starts with `gaussian_nll_` but never calls it)."""

    def __init__(self, student):
        self._student = student
        self.last_with_trusted_inner = None

    def call(self, function, *args, trusted_inner=None, **kwargs):
        if inner_functions(function, trusted_inner):
            self.last_with_trusted_inner = function
        return self._student.call(function, *args, trusted_inner=trusted_inner, **kwargs)

    def variable(self, name):
        return self._student.variable(name)

    def __getattr__(self, name):     # anything else a transport offers
        return getattr(self._student, name)


def inner_note(function):
    """Said after a failed check of an outer function: its inner functions were trusted ones."""
    inner = INNER_FUNCTIONS.get(function)
    if not inner:
        return ""
    names = ", ".join(f"`{n}`" for n in inner)
    return (f" (Checked with trusted versions of {names} in place of any of yours that `{function}` calls, "
            f"so this mistake is in `{function}` itself.)")
