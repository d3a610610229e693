"""A private copy of the course directory, so tests never touch the repository's own."""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def nbgrader_env():
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("MLE_GRADING_DB_URL", None)
    return env


def run_nbgrader(course, *args, check=True):
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"), *args], cwd=course,
                          env=nbgrader_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def run_pipeline(course, *args):
    return subprocess.run([sys.executable, "-m", "mle_grading.pipeline", "--course-root", course, *args],
                          env=nbgrader_env(), capture_output=True, text=True)


def scores_by_cell(course, student, db_url=None):
    from nbgrader.api import Gradebook
    url = db_url or f"sqlite:///{os.path.join(course, 'gradebook.db')}"
    out = {}
    with Gradebook(url) as gb:
        submission = gb.find_submission("mle_losses", student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                out[(nb.name, grade.name)] = (grade.score, grade.max_score)
    return out


# Where tests leave files for people to look at (never inside the repository).
ARTIFACTS = os.environ.get("MLE_GRADING_TEST_ARTIFACTS") or os.path.join(tempfile.gettempdir(),
                                                                         "mle_grading-test-artifacts")
