"""Attacks, broken files and honest variants, graded by a real `nbgrader autograde`.

One class holds every case of tests/corpus/cases.py; the grader is the course's
own configuration (TrustedGrading in course_config.py), with short time limits.
"""
import glob
import json
import os
import socket
import sqlite3

import nbformat
import pytest

from mle_grading.operations.demo_class import fill, solutions

from corpus.cases import ALL, ATTACKS, BROKEN, HONEST
from course_copy import ARTIFACTS, ROOT, copy_course, run_nbgrader, scores_by_cell

PWNED_MARKERS = ("/tmp/mle_shadow_pwned", "/tmp/pwned.txt", "/tmp/pwned")
FAST_LIMITS = """
c.SandboxLimits.cell_timeout = 10.0
c.SandboxLimits.call_timeout = 5.0
"""


def released(course=ROOT):
    return sorted(os.path.basename(p)[:-6] for p in glob.glob(os.path.join(course, "release", "mle_losses", "*.ipynb")))


def companion(notebook):
    """Another notebook the student submits correctly, to see it is still graded."""
    others = [nb for nb in released() if nb != notebook]
    return others[0] if others else None


def build_submission(course, case, release, answers, port):
    folder = os.path.join(course, "submitted", case.student, "mle_losses")
    os.makedirs(folder)
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write("2026-09-01 12:00:00.000000 UTC")
    path = os.path.join(folder, f"{case.notebook}.ipynb")
    if case.raw is not None:
        with open(path, "wb") as fh:
            fh.write(case.raw)
    elif not case.drop_notebook:
        nb = fill(release[case.notebook], dict(answers[case.notebook], **case.answers))
        for source in case.extra_cells:
            nb.cells.append(nbformat.v4.new_code_cell(source))
        if case.mutate:
            case.mutate(nb)
        nbformat.write(nb, path)
    for name, text in case.extra_files.items():
        with open(os.path.join(folder, name), "w") as fh:
            fh.write(text)
    with open(os.path.join(folder, "port.txt"), "w") as fh:
        fh.write(str(port))
    other = companion(case.notebook)
    if other and (case.raw is not None or case.drop_notebook):
        nbformat.write(fill(release[other], answers[other]), os.path.join(folder, f"{other}.ipynb"))


@pytest.fixture(scope="session")
def graded_corpus(tmp_path_factory):
    for marker in PWNED_MARKERS:
        if os.path.exists(marker):
            os.remove(marker)
    course = copy_course(str(tmp_path_factory.mktemp("security")))
    with open(os.path.join(course, "course_config.py"), "a") as fh:
        fh.write(FAST_LIMITS)
    run_nbgrader(course, "generate_assignment", "mle_losses", "--force")
    release = {nb: nbformat.read(os.path.join(course, "release", "mle_losses", f"{nb}.ipynb"), as_version=4)
               for nb in released(course)}
    answers = {nb: solutions(os.path.join(course, "source", "mle_losses"), nb) for nb in released(course)}
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    for case in ALL:
        build_submission(course, case, release, answers, listener.getsockname()[1])
    # A bystander: an honest student graded in the same run as every attack.
    bystander = os.path.join(course, "submitted", "bystander", "mle_losses")
    os.makedirs(bystander)
    for nb in released(course):
        nbformat.write(fill(release[nb], answers[nb]), os.path.join(bystander, f"{nb}.ipynb"))
    proc = run_nbgrader(course, "autograde", "mle_losses", "--force", check=False)
    feedback = run_nbgrader(course, "generate_feedback", "mle_losses", "--force", check=False)
    try:
        listener.accept()
        connected = True
    except BlockingIOError:
        connected = False
    listener.close()
    return {"course": course, "proc": proc, "feedback": feedback, "connected": connected}


def notebook_scores(course, student, notebook):
    return {cell: s for (nb, cell), s in scores_by_cell(course, student).items() if nb == notebook}


def case_verdict(course, case):
    """(attacked cells that earned points, honest cells that lost points, honest cells looked at).

    A case that costs its whole notebook (a broken file, a missing notebook) is
    judged on the honest notebook submitted beside it, so the honest half is never empty.
    """
    scores = notebook_scores(course, case.student, case.notebook)
    zero = set(scores) if case.zero == "ALL" else set(case.zero)
    gained = {c for c in zero if scores[c][0] != 0}
    honest = {(case.notebook, c): v for c, v in scores.items() if c not in zero}
    other = companion(case.notebook)
    if other and (case.raw is not None or case.drop_notebook):
        honest.update({(other, c): v for c, v in notebook_scores(course, case.student, other).items()})
    lost = {key for key, (score, max_score) in honest.items() if score != max_score}
    return gained, lost, set(honest)


def test_autograde_finishes_for_the_whole_class(graded_corpus):
    assert graded_corpus["proc"].returncode == 0, graded_corpus["proc"].stderr[-3000:]
    assert graded_corpus["feedback"].returncode == 0, graded_corpus["feedback"].stderr[-3000:]


@pytest.mark.parametrize("case", ATTACKS, ids=lambda c: c.student)
def test_attack_earns_no_points_and_honest_answers_beside_it_keep_theirs(graded_corpus, case):
    gained, lost, kept = case_verdict(graded_corpus["course"], case)
    assert not gained, f"{case.what}: earned points on {gained}"
    assert kept, f"{case.what}: no honest answer beside the attack was graded"
    assert not lost, f"{case.what}: honest answers lost points on {lost}"


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: c.student)
def test_broken_submission_costs_only_what_it_must(graded_corpus, case):
    course = graded_corpus["course"]
    gained, lost, kept = case_verdict(course, case)
    assert kept, f"{case.what}: no honest answer beside the failure was graded"
    assert not gained and not lost, (case.what, gained, lost)
    if case.report:
        report = os.path.join(course, "grading_reports", "mle_losses", case.student, f"{case.notebook}.json")
        assert case.report in " ".join(json.load(open(report))["problems"])


@pytest.mark.parametrize("case", HONEST, ids=lambda c: c.student)
def test_honest_variant_earns_full_marks(graded_corpus, case):
    scores = notebook_scores(graded_corpus["course"], case.student, case.notebook)
    assert scores and all(s == m for s, m in scores.values()), {c: v for c, v in scores.items() if v[0] != v[1]}


def test_bystander_graded_beside_every_attack_keeps_every_point(graded_corpus):
    scores = scores_by_cell(graded_corpus["course"], "bystander")
    assert scores and all(s == m for s, m in scores.values())


def test_tampered_points_do_not_change_the_maximum(graded_corpus):
    scores = scores_by_cell(graded_corpus["course"], "brk-tampered-metadata")
    assert sum(m for _, m in scores.values()) == sum(m for _, m in scores_by_cell(graded_corpus["course"], "bystander").values())


def test_gradebook_is_intact_after_the_attacks(graded_corpus):
    course = graded_corpus["course"]
    con = sqlite3.connect(os.path.join(course, "gradebook.db"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    students = {r[0] for r in con.execute("select id from student")}
    assert students == {c.student for c in ALL} | {"bystander"}
    con.close()
    assert not os.path.exists(os.path.join(course, "pwned.txt"))


def test_no_attack_reached_the_network_or_the_graders_files(graded_corpus):
    assert not graded_corpus["connected"], "a submission connected to the grader's loopback"
    for marker in PWNED_MARKERS:
        assert not os.path.exists(marker), marker


def test_feedback_shows_no_hidden_tests_and_escapes_student_output(graded_corpus):
    pages = glob.glob(os.path.join(graded_corpus["course"], "feedback", "*", "mle_losses", "*.html"))
    assert pages
    for page in pages:
        html = open(page).read()
        assert "run_trusted_check" not in html and "HIDDEN TESTS" not in html
    # hon-warnings-and-prints prints markup: the page shows it as text, never as markup.
    page = os.path.join(graded_corpus["course"], "feedback", "hon-warnings-and-prints", "mle_losses",
                        "01_gaussian_mse.html")
    html = open(page).read()
    assert "markup in printed output" in html
    assert '<b id="student-markup">' not in html
    assert "&lt;b id=" in html


def test_security_summary_figures(graded_corpus):
    """Writes the figures the README's security section quotes."""
    course = graded_corpus["course"]
    attacks_scored = sum(bool(case_verdict(course, c)[0]) for c in ATTACKS)
    failures_hurting_others = sum(bool(case_verdict(course, c)[1]) for c in BROKEN)
    assert all(case_verdict(course, c)[2] for c in ATTACKS + BROKEN)
    honest_lost = sum(not all(s == m for s, m in notebook_scores(course, c.student, c.notebook).values()) for c in HONEST)
    summary = {"attacks tried": len(ATTACKS), "attacks that earned points": attacks_scored,
               "failures tried": len(BROKEN), "failures that cost other grades or stopped the run":
               failures_hurting_others + (graded_corpus["proc"].returncode != 0),
               "honest variants tried": len(HONEST), "honest variants that lost points": honest_lost}
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(os.path.join(ARTIFACTS, "security_summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    print(summary)
    assert attacks_scored == 0 and failures_hurting_others == 0 and honest_lost == 0
