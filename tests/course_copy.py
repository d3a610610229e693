"""A private copy of the course directory, so tests never touch the repository's own."""
import os
import shutil
import subprocess
import sys
import tempfile

from mle_grading import ASSIGNMENTS
from mle_grading.nbgrader_integration import run as nbgrader_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRST_ASSIGNMENT = next(iter(ASSIGNMENTS))
COURSE_FILES = ("notebooks", "source", "course_config.py", "nbgrader_config.py")


def copy_course(target, with_release=False):
    os.makedirs(target, exist_ok=True)
    for name in COURSE_FILES + (("release",) if with_release else ()):
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(target, name))
        elif os.path.exists(src):
            shutil.copy(src, os.path.join(target, name))
    return target


def fresh_clone(target):
    """What a fresh clone of the repository holds after ./course setup (every file git tracks or
    would commit, copied from the working tree into target, and the set-up's npm packages): the
    course directory as a newcomer gets it."""
    listed = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src) and not os.path.islink(src):   # (deleted, not yet committed: left out)
            os.makedirs(os.path.dirname(os.path.join(target, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(target, rel))
    # What ./course setup adds beside the tracked files (and git ignores): npm's packages, among
    # them the MathJax the feedback pages inline.
    if os.path.isdir(os.path.join(ROOT, ".node")):
        os.symlink(os.path.join(ROOT, ".node"), os.path.join(target, ".node"))
    return target


def nbgrader_env():
    """nbgrader's environment (mle_grading.nbgrader_integration.run), on the copy's own SQLite gradebook."""
    return nbgrader_run.environment(db_url="", quiet=False)


def run_nbgrader(course, *args, check=True, db_url=""):
    """`nbgrader <args>` in a course copy (its SQLite gradebook unless db_url is given)."""
    done = nbgrader_run.run(course, list(args), env=nbgrader_run.environment(db_url=db_url, quiet=False))
    if check and done.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def run_pipeline(course, *args):
    return subprocess.run([sys.executable, "-m", "mle_grading.operations.pipeline", "--course-root", course, *args],
                          env=nbgrader_env(), capture_output=True, text=True)


def scores_by_cell(course, student, db_url=None, assignment=FIRST_ASSIGNMENT):
    """{(notebook, grade_id): (score, max_score)} of one student's submission in the course's gradebook."""
    url = db_url or f"sqlite:///{os.path.join(course, 'gradebook.db')}"
    scores = nbgrader_run.scores_by_cell(url, assignment, student)
    if scores is None:
        raise AssertionError(f"the gradebook has no submission of {assignment} by {student}")
    return scores


# Where tests leave files for people to look at (never inside the repository).
ARTIFACTS = os.environ.get("MLE_GRADING_TEST_ARTIFACTS") or os.path.join(tempfile.gettempdir(),
                                                                         "mle_grading-test-artifacts")
