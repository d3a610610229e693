"""nbgrader's whole exchange workflow, for real, with two students and an instructor.

Everything happens in a temporary directory: a copy of the course, an exchange
directory, and one HOME plus working directory per simulated student. The
instructor's `nbgrader_config.py` loads the course's `course_config.py` and adds
the exchange; each student has only a `~/.jupyter/nbgrader_config.py` naming the
exchange and the course (what a JupyterHub image puts in /etc/jupyter).

Every process runs as root here, so nbgrader would take "root" as every
student's id: students pass `--student` (in production each student is a unix
user or a hub user in a container, and the flag is not needed).

    alice: submits the untouched release first, then her correct answers;
    bob:   submits correct answers first, then a version with one known mistake.

Collect must take the later submission of each, so alice earns every point and
bob loses exactly the cells his mistake fails.

The commands of each phase (release and fetch; first submissions; second
submissions, grading and feedback) run in one Python process,
tests/nbgrader_steps.py, each command with its own HOME and working directory, the
way nbgrader's own test-suite runs them: a fresh nbgrader process costs seconds of
imports, fifteen of them most of this test's time.
"""
import glob
import json
import os
import re
import subprocess
import sys
import time
from html import unescape

import nbformat
import pytest

from course_copy import FIRST_ASSIGNMENT as ASSIGNMENT_ID
from mle_grading.nbgrader_integration.submission_files import kernel_time
from mle_grading.operations.demo_class import fill, solutions
from demo_submissions import all_mistakes

from course_copy import copy_course, nbgrader_env, scores_by_cell

COURSE_ID = "mle_losses_course"
STEPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbgrader_steps.py")
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$\n?", re.M)
MISTAKE = next(m for m in all_mistakes() if m.student == "mse-sum-not-mean")


def clean_env():
    env = nbgrader_env()
    for key in list(env):
        if key.startswith("JUPYTER") or key.startswith("IPYTHON"):
            env.pop(key)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_steps(base, steps):
    """Run [(cwd, home, args)] in one nbgrader process (tests/nbgrader_steps.py); fail on the first error."""
    path = os.path.join(base, "steps.json")
    with open(path, "w") as fh:
        json.dump([{"cwd": cwd, "home": home, "args": list(args)} for cwd, home, args in steps], fh)
    proc = subprocess.run([sys.executable, STEPS, path], env=clean_env(), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for result in results:
        assert result["code"] == 0, f"nbgrader {' '.join(result['args'])} failed:\n{result['log'][-4000:]}"
    assert len(results) == len(steps)
    return [r["log"] for r in results]


class Student:
    def __init__(self, base, name, exchange):
        self.name = name
        self.home = os.path.join(base, "home", name)
        self.work = os.path.join(self.home, "work")
        os.makedirs(os.path.join(self.home, ".jupyter"))
        os.makedirs(self.work)
        with open(os.path.join(self.home, ".jupyter", "nbgrader_config.py"), "w") as fh:
            fh.write(f"c = get_config()\nc.Exchange.root = {exchange!r}\n"
                     f"c.CourseDirectory.course_id = {COURSE_ID!r}\n")

    def step(self, *args):
        return (self.work, self.home, (*args, "--student", self.name))

    @property
    def assignment(self):
        return os.path.join(self.work, ASSIGNMENT_ID)

    def notebooks(self):
        return sorted(glob.glob(os.path.join(self.assignment, "*.ipynb")))

    def write_answers(self, answers_by_notebook):
        """Edit the fetched copy in place, as the student does in JupyterLab."""
        for path in self.notebooks():
            nb_id = os.path.basename(path)[:-len(".ipynb")]
            nb = nbformat.read(path, as_version=4)
            nbformat.write(fill(nb, answers_by_notebook.get(nb_id, {})), path)

    def cached_submissions(self):
        """The timestamps of this student's submissions, from nbgrader's cache in their HOME."""
        pattern = os.path.join(self.home, ".local", "share", "jupyter", "nbgrader_cache", COURSE_ID,
                               f"{self.name}+{ASSIGNMENT_ID}+*", "timestamp.txt")
        return sorted(open(p).read().strip() for p in glob.glob(pattern))


def course_with_exchange(base):
    """A course copy whose nbgrader_config.py points at a fresh exchange under base; the instructor's home."""
    course = copy_course(os.path.join(base, "course"))
    exchange = os.path.join(base, "exchange")
    os.makedirs(exchange)
    os.chmod(exchange, 0o777)  # nbgrader's documented set-up: writable by every student
    instructor_home = os.path.join(base, "home", "instructor")
    os.makedirs(instructor_home)
    with open(os.path.join(course, "nbgrader_config.py"), "w") as fh:
        fh.write('c = get_config()\nload_subconfig("course_config.py")\n'
                 f"c.Exchange.root = {exchange!r}\n"
                 "# Every simulated student is root here, so the owner check would only warn.\n"
                 "c.CollectApp.check_owner = False\n")
    return course, exchange, instructor_home


@pytest.fixture(scope="module")
def semester(tmp_path_factory):
    """Run the whole workflow once; the tests below look at what it left behind."""
    base = str(tmp_path_factory.mktemp("exchange_workflow"))
    timings = {}
    t0 = time.time()
    course, exchange, instructor_home = course_with_exchange(base)

    def instructor(*args):
        return (course, instructor_home, args)

    alice, bob = (Student(base, name, exchange) for name in ("alice", "bob"))
    logs = run_steps(base, [instructor("generate_assignment", ASSIGNMENT_ID, "--force"),
                            instructor("release_assignment", ASSIGNMENT_ID),
                            alice.step("list"),
                            alice.step("fetch_assignment", ASSIGNMENT_ID),
                            bob.step("fetch_assignment", ASSIGNMENT_ID)])
    listing = logs[2]
    fetched = {os.path.basename(p): nbformat.read(p, as_version=4) for p in alice.notebooks()}
    timings["release and fetch"] = time.time() - t0

    source_dir = os.path.join(course, "source", ASSIGNMENT_ID)
    released = [name[:-len(".ipynb")] for name in sorted(fetched)]
    correct = {nb_id: {gid: SOLUTION_MARKER.sub("", src) for gid, src in solutions(source_dir, nb_id).items()}
               for nb_id in released}
    with_mistake = {nb_id: dict(answers) for nb_id, answers in correct.items()}
    with_mistake[MISTAKE.notebook][MISTAKE.cell] = MISTAKE.source

    t1 = time.time()
    bob.write_answers(correct)
    run_steps(base, [alice.step("submit", ASSIGNMENT_ID),    # alice first: the untouched release
                     bob.step("submit", ASSIGNMENT_ID)])     # bob first: everything right
    alice.write_answers(correct)
    bob.write_answers(with_mistake)
    logs = run_steps(base, [alice.step("submit", ASSIGNMENT_ID),   # alice later: everything right
                            bob.step("submit", ASSIGNMENT_ID),     # bob later: one mistake
                            instructor("collect", ASSIGNMENT_ID),
                            instructor("autograde", ASSIGNMENT_ID, "--force"),
                            instructor("generate_feedback", ASSIGNMENT_ID, "--force"),
                            instructor("release_feedback", ASSIGNMENT_ID),
                            alice.step("fetch_feedback", ASSIGNMENT_ID),
                            bob.step("fetch_feedback", ASSIGNMENT_ID)])
    timings["submit, grade and feedback"] = time.time() - t1
    print("exchange workflow timings (s):", {k: round(v, 1) for k, v in timings.items()})
    return {"course": course, "exchange": exchange, "alice": alice, "bob": bob, "released": released,
            "listing": listing, "fetched": fetched, "logs": logs}


def fetched_feedback(student):
    """{timestamp folder: {notebook_id: html}} of what fetch_feedback put in the student's copy."""
    found = {}
    for path in glob.glob(os.path.join(student.assignment, "feedback", "*", "*.html")):
        stamp = os.path.basename(os.path.dirname(path))
        found.setdefault(stamp, {})[os.path.basename(path)[:-len(".html")]] = open(path).read()
    return found


def text_of(html):
    """What the student reads: the feedback page without its markup (code is split into highlighted spans)."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def total_score(html):
    """The notebook total in nbgrader's feedback header, e.g. 'Score: 25.0 / 25.0'."""
    m = re.search(r"Score: ([0-9.]+) / ([0-9.]+)", html)
    assert m, "no score in the feedback"
    return float(m.group(1)), float(m.group(2))


def test_students_see_the_released_assignment_in_the_exchange(semester):
    assert ASSIGNMENT_ID in semester["listing"] and COURSE_ID in semester["listing"]
    assert "01_gaussian_mse" in semester["released"]
    released = sorted(os.listdir(os.path.join(semester["course"], "release", ASSIGNMENT_ID)))
    assert sorted(semester["fetched"]) == [n for n in released if n.endswith(".ipynb")]
    for nb in semester["fetched"].values():
        text = "\n".join(c.source for c in nb.cells)
        assert "raise NotImplementedError()" in text and "### BEGIN SOLUTION" not in text


def test_each_student_submitted_twice_and_collect_took_the_later_submission(semester):
    course = semester["course"]
    for student in (semester["alice"], semester["bob"]):
        stamps = student.cached_submissions()
        assert len(stamps) == 2, stamps
        inbound = glob.glob(os.path.join(semester["exchange"], COURSE_ID, "inbound", f"{student.name}+*"))
        assert len(inbound) == 2
        collected = open(os.path.join(course, "submitted", student.name, ASSIGNMENT_ID, "timestamp.txt")).read()
        # the kernel's time of the later submission (collect never takes the student's own stamp)
        latest = max(kernel_time(path) for path in inbound)
        assert collected.strip() == latest.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def test_the_correct_student_earns_every_point_of_her_later_submission(semester):
    scores = scores_by_cell(semester["course"], "alice")
    assert {nb for nb, _ in scores} == set(semester["released"])
    assert scores and all(score == max_score for score, max_score in scores.values()), scores


def test_the_student_with_a_mistake_loses_exactly_the_cells_it_fails(semester):
    scores = scores_by_cell(semester["course"], "bob")
    lost = {cell for (nb, cell), (score, max_score) in scores.items() if score != max_score}
    assert lost == set(MISTAKE.fails)
    assert all(scores[(MISTAKE.notebook, cell)][0] == 0 for cell in MISTAKE.fails)


def test_fetched_feedback_is_the_students_own_for_the_submission_that_counted(semester):
    alice, bob = semester["alice"], semester["bob"]
    for student in (alice, bob):
        feedback = fetched_feedback(student)
        # Only the later submission was graded, so only it has feedback to fetch.
        assert len(feedback) == 1, sorted(feedback)
        (stamp, notebooks), = feedback.items()
        assert stamp == student.cached_submissions()[-1]
        assert set(notebooks) == set(semester["released"])
    alice_nb = fetched_feedback(alice).popitem()[1][MISTAKE.notebook]
    bob_nb = fetched_feedback(bob).popitem()[1][MISTAKE.notebook]
    got, out_of = total_score(alice_nb)
    assert got == out_of > 0
    got_bob, out_of_bob = total_score(bob_nb)
    assert out_of_bob == out_of and got_bob < out_of
    # Each sees their own code: bob's summing `mse`, alice's mean.
    assert "np.sum((np.asarray(y_pred)" in text_of(bob_nb)
    assert "np.sum((np.asarray(y_pred)" not in text_of(alice_nb)


def test_feedback_shows_the_diagnostics_and_never_the_hidden_tests(semester):
    alice, bob = semester["alice"], semester["bob"]
    bob_nb = fetched_feedback(bob).popitem()[1][MISTAKE.notebook]
    assert "TestFailed" in bob_nb
    assert "the loss is their mean" in text_of(bob_nb)  # the check names the likely mistake
    assert "TestFailed" not in fetched_feedback(alice).popitem()[1][MISTAKE.notebook]
    for student in (alice, bob):
        for html in fetched_feedback(student).popitem()[1].values():
            assert "HIDDEN TESTS" not in html
            assert "run_trusted_check" not in html


def test_released_feedback_in_the_exchange_is_named_by_secret_hashes_only(semester):
    released = glob.glob(os.path.join(semester["exchange"], COURSE_ID, "feedback", "*.html"))
    assert len(released) == 2 * len(semester["released"])
    for path in released:
        name = os.path.basename(path)
        assert "alice" not in name and "bob" not in name
