"""The instructor's class report (mle_grading.operations.class_report).

Two classes:

- a synthetic one, written straight into a gradebook with nbgrader.api and with
  grading reports beside it, whose every pass, score and message the test chose:
  the statistics are checked against that design, fast;
- a small real one (5 students) graded by a real `nbgrader autograde` with the
  course's sandbox and trusted checks: its report opens in headless Chromium
  (screenshot docs/img/class-report.png), and the numbers the page shows are
  recomputed here from the gradebook and the grading reports.
"""
import csv
import json
import math
import os
import random
import re
import shutil

import numpy as np
import nbformat
import pytest

from mle_grading import ASSIGNMENTS
from mle_grading.operations import class_report
from mle_grading.operations.demo_class import fill, solutions, write_submission
from demo_submissions import all_mistakes

from course_copy import copy_course, run_nbgrader, scores_by_cell
from test_postgres_gradebook import postgres_url  # noqa: F401  (a fixture: a PostgreSQL server of its own)

# -- a synthetic class --------------------------------------------------------

NOTEBOOKS = {"01_first": [("easy", 2.0), ("hard", 3.0), ("everyone", 1.0)],
             "02_second": [("medium", 4.0), ("nobody", 2.0)]}
MESSAGES = {"hard": ["`f` on the demonstration data: this is the sum; the loss is their mean.",
                     "`f` raised NotImplementedError: the answer has not been written yet."],
            "easy": ["`g` returned None: did you forget `return`?"],
            "medium": ["<script>alert('x')</script> the sign is flipped."],
            "nobody": ["`h` is not defined: assign your expression to it.", "`h` returned 0: the sign is flipped."]}


def synthetic_design(n_students=12, seed=3):
    """{student: {(notebook, cell): message or None}}, chosen so every case occurs."""
    rng = random.Random(seed)
    design = {}
    for i in range(n_students):
        student = f"s{i:02d}"
        ability = i / n_students
        row = {}
        for nb, cells in NOTEBOOKS.items():
            for cell, _ in cells:
                if cell == "everyone":
                    passed = True
                elif cell == "nobody":
                    passed = False
                else:
                    passed = rng.random() < {"easy": 0.4, "hard": 0.1, "medium": 0.3}[cell] + ability * 0.5
                row[(nb, cell)] = None if passed else rng.choice(MESSAGES[cell])
        design[student] = row
    return design


def write_synthetic_class(base, design, assignment="mle_losses", problems=None, missing_report=None, db_url=None):
    from nbgrader.api import Gradebook
    db_url = db_url or f"sqlite:///{os.path.join(base, 'gradebook.db')}"
    reports = os.path.join(base, "grading_reports")
    with Gradebook(db_url) as gb:
        gb.add_assignment(assignment)
        for nb, cells in NOTEBOOKS.items():
            gb.add_notebook(nb, assignment)
            for cell, points in cells:
                gb.add_grade_cell(cell, nb, assignment, max_score=points, cell_type="code")
        for student, row in design.items():
            gb.add_student(student)
            gb.add_submission(assignment, student)
            for (nb, cell), message in row.items():
                grade = gb.find_grade(cell, nb, assignment, student)
                grade.auto_score = grade.max_score if message is None else 0.0
            gb.db.commit()
    for student, row in design.items():
        for nb in NOTEBOOKS:
            if missing_report == (student, nb):
                continue
            path = os.path.join(reports, assignment, student, f"{nb}.json")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            report = {"student": student, "assignment": assignment, "notebook": nb,
                      "checks": {cell: msg for (n, cell), msg in row.items() if n == nb},
                      "problems": (problems or {}).get((student, nb), [])}
            with open(path, "w") as fh:
                json.dump(report, fh)
    return db_url, reports


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("synthetic_class"))
    design = synthetic_design()
    problems = {("s03", "02_second"): ["cell 2 of the submission's code ran past its time limit (30 s)"]}
    db_url, reports = write_synthetic_class(base, design, problems=problems, missing_report=("s05", "01_first"))
    # A student whose work was submitted but never reached the gradebook.
    os.makedirs(os.path.join(base, "submitted", "late-lee", "mle_losses"))
    paths = class_report.build_report("mle_losses", db_url, os.path.join(base, "out"), base, reports)
    data = class_report.read_class("mle_losses", db_url, base, reports)
    return {"design": design, "paths": paths, "data": data, "stats": class_report.cell_statistics(data),
            "html": open(paths["html"]).read()}


def expected_total(row):
    points = {(nb, c): p for nb, cells in NOTEBOOKS.items() for c, p in cells}
    return sum(points[k] for k, m in row.items() if m is None)


def test_pass_share_of_each_cell_is_the_share_of_students_who_earned_all_its_points(synthetic):
    design = synthetic["design"]
    for st in synthetic["stats"]:
        key = (st.cell.notebook, st.cell.grade_id)
        want = sum(row[key] is None for row in design.values())
        assert (st.passed, st.graded) == (want, len(design)), key


def test_discrimination_is_the_correlation_of_passing_with_the_rest_and_the_total(synthetic):
    design = synthetic["design"]
    points = {(nb, c): p for nb, cells in NOTEBOOKS.items() for c, p in cells}
    checked = 0
    for st in synthetic["stats"]:
        key = (st.cell.notebook, st.cell.grade_id)
        passed = np.array([row[key] is None for row in design.values()], float)
        totals = np.array([expected_total(row) for row in design.values()])
        rests = totals - passed * points[key]
        if passed.min() == passed.max():
            assert np.isnan(st.r_rest) and np.isnan(st.r_total), key
            continue
        assert st.r_total == pytest.approx(np.corrcoef(passed, totals)[0, 1], abs=1e-12)
        assert st.r_rest == pytest.approx(np.corrcoef(passed, rests)[0, 1], abs=1e-12)
        assert st.r_rest < st.r_total  # the cell's own points inflate the correlation with the total
        checked += 1
    assert checked == 3  # easy, hard and medium vary by design; everyone and nobody do not


def diagnosed(student, nb, message):
    """What the report must list: s05's report of 01_first is missing (its failures are listed without a
    diagnosis); an unattempted answer is no mistake (None)."""
    if message is None:
        return None
    if (student, nb) == ("s05", "01_first"):
        return class_report.NO_MESSAGE
    return None if class_report.unattempted(message) else message


def test_each_diagnosed_mistake_is_counted_once_per_student_who_got_it(synthetic):
    design = synthetic["design"]
    for st in synthetic["stats"]:
        key = (st.cell.notebook, st.cell.grade_id)
        want = {}
        for student, row in design.items():
            message = diagnosed(student, key[0], row[key])
            if message is not None:
                want.setdefault(message, set()).add(student)
        assert {m: set(who) for m, who in st.mistakes} == want, key
    mistakes = list(csv.DictReader(open(synthetic["paths"]["mistakes_csv"])))
    assert sum(int(r["students"]) for r in mistakes) == sum(
        diagnosed(student, nb, m) is not None for student, row in design.items() for (nb, _), m in row.items())


def test_an_unattempted_answer_is_counted_as_unattempted_not_as_a_mistake(synthetic):
    design = synthetic["design"]
    counted = 0
    for st in synthetic["stats"]:
        key = (st.cell.notebook, st.cell.grade_id)
        want = sum(row[key] is not None and class_report.unattempted(row[key])
                   and (student, key[0]) != ("s05", "01_first") for student, row in design.items())
        assert st.unattempted == want, key
        assert not any(class_report.unattempted(m) for m, _ in st.mistakes), key
        counted += want
    assert counted > 0   # the design has unattempted answers (hard: NotImplementedError; nobody: not defined)
    assert "raised NotImplementedError" not in synthetic["html"].split("id='frequent'")[1]


def test_the_class_statistics_are_median_sd_and_cronbachs_alpha_of_the_cells(synthetic):
    design = synthetic["design"]
    points = {(nb, c): p for nb, cells in NOTEBOOKS.items() for c, p in cells}
    items = np.array([[points[k] if row[k] is None else 0.0 for k in points] for row in design.values()])
    totals = items.sum(axis=1)
    k = items.shape[1]
    alpha = k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / totals.var(ddof=1))
    summary = class_report.class_statistics(synthetic["data"])
    assert summary.median == pytest.approx(np.median(totals))
    assert summary.sd == pytest.approx(totals.std(ddof=1))
    assert summary.alpha == pytest.approx(alpha)
    page = synthetic["html"]
    assert f"<td class='num alpha'>{alpha:.2f}</td>" in page and f"<td class='num median'>{np.median(totals):.2f}" in page
    for st in synthetic["stats"]:
        key = (st.cell.notebook, st.cell.grade_id)
        assert st.facility == pytest.approx(items[:, list(points).index(key)].mean() / points[key])


def test_cronbachs_alpha_is_one_for_parallel_items_and_undefined_without_variance():
    assert class_report.cronbach_alpha([[0, 1, 2, 3], [0, 1, 2, 3]]) == pytest.approx(1.0)
    assert math.isnan(class_report.cronbach_alpha([[1, 1, 1], [2, 2, 2]]))
    assert math.isnan(class_report.cronbach_alpha([[0, 1, 2]]))


def test_the_most_frequent_diagnoses_come_first_with_their_counts(synthetic):
    design = synthetic["design"]
    counts = {}
    for student, row in design.items():
        for (nb, cell), message in row.items():
            if diagnosed(student, nb, message) not in (None, class_report.NO_MESSAGE):
                counts[(f"{nb}/{cell}", message)] = counts.get((f"{nb}/{cell}", message), 0) + 1
    table = synthetic["html"].split("id='frequent'")[1].split("</table>")[0]
    shown = [int(n) for n in re.findall(r"<td class='num count'>(\d+)</td>", table)]
    assert shown == sorted(counts.values(), reverse=True)[:class_report.TOP_DIAGNOSES]


def test_cells_nobody_or_everybody_passed_are_named(synthetic):
    page = synthetic["html"]
    nobody_part = page.split("Nobody passed")[1].split("</p>")[0]
    everybody_part = page.split("Everybody passed")[1].split("</p>")[0]
    assert "02_second/nobody" in nobody_part and "01_first/hard" not in nobody_part
    assert "01_first/everyone" in everybody_part and "02_second/nobody" not in everybody_part


def test_ungraded_work_is_listed_with_the_reason(synthetic):
    ungraded = synthetic["data"].ungraded
    reasons = {(s, nb): why for s, nb, why in ungraded}
    assert "time limit" in reasons[("s03", "02_second")]
    assert "no grading report" in reasons[("s05", "01_first")]
    assert "no entry in the gradebook" in reasons[("late-lee", "")]
    assert len(ungraded) == 3


def test_grader_messages_are_shown_as_text_never_as_markup(synthetic):
    page = synthetic["html"]
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; the sign is flipped." in page


def test_the_cells_csv_has_one_row_per_test_cell_with_its_figures(synthetic):
    rows = list(csv.DictReader(open(synthetic["paths"]["cells_csv"])))
    assert [(r["notebook"], r["grade_id"]) for r in rows] == [
        (nb, c) for nb, cells in NOTEBOOKS.items() for c in sorted(c for c, _ in cells)]  # no source: by name
    for r, st in zip(rows, synthetic["stats"]):
        assert int(r["passed"]) == st.passed and float(r["pass_share"]) == pytest.approx(st.share, abs=1e-4)


def test_any_assignment_of_the_course_gets_a_report(tmp_path):
    db_url, reports = write_synthetic_class(str(tmp_path), synthetic_design(5, seed=9), assignment="mle_beyond")
    paths = class_report.build_report("mle_beyond", db_url, str(tmp_path / "out"), str(tmp_path), reports)
    assert "Class report: mle_beyond" in open(paths["html"]).read()


def test_an_assignment_missing_from_the_gradebook_is_a_clear_error(tmp_path, capsys):
    db_url, _ = write_synthetic_class(str(tmp_path), synthetic_design(3))
    code = class_report.main(["mle_beyond", "--db-url", db_url, "--course-root", str(tmp_path),
                              "--out", str(tmp_path / "out")])
    assert code == 1
    err = capsys.readouterr().err
    assert "no assignment 'mle_beyond'" in err and "mle_losses" in err
    assert not os.path.exists(tmp_path / "out")


def test_a_postgresql_gradebook_gives_the_same_report_as_sqlite(tmp_path, postgres_url):  # noqa: F811
    design = synthetic_design(8, seed=5)
    figures = {}
    for name, url in (("sqlite", None), ("postgresql", postgres_url)):
        base = str(tmp_path / name)
        os.makedirs(base)
        db_url, reports = write_synthetic_class(base, design, db_url=url)
        paths = class_report.build_report("mle_losses", db_url, os.path.join(base, "out"), base, reports)
        figures[name] = open(paths["cells_csv"]).read(), open(paths["mistakes_csv"]).read()
    assert figures["postgresql"] == figures["sqlite"]
    assert figures["sqlite"][0].count("\n") == 1 + sum(len(c) for c in NOTEBOOKS.values())


def test_point_biserial_is_undefined_when_nothing_varies():
    assert np.isnan(class_report.point_biserial([1, 1, 1], [3, 4, 5]))
    assert np.isnan(class_report.point_biserial([0, 1, 0], [2, 2, 2]))
    assert class_report.point_biserial([0, 1], [1, 5]) == pytest.approx(1.0)


# -- a small real class, graded by nbgrader autograde --------------------------

REAL_MISTAKES = ("gauss-constant-dropped", "gauss-missing-half", "bce-sum-not-mean")


def write_small_class(course, mistake_students):
    """reference, untouched and the named mistake students, from the course's release; returns the notebooks."""
    source, release = (os.path.join(course, d, "mle_losses") for d in ("source", "release"))
    notebooks = sorted(f[:-6] for f in os.listdir(release) if f.endswith(".ipynb"))
    released = {nb: nbformat.read(os.path.join(release, f"{nb}.ipynb"), as_version=4) for nb in notebooks}
    answers = {nb: solutions(source, nb) for nb in notebooks}
    write_submission(course, "reference", {nb: fill(released[nb], answers[nb]) for nb in notebooks}, "mle_losses")
    write_submission(course, "untouched", {nb: nbformat.from_dict(released[nb]) for nb in notebooks}, "mle_losses")
    for m in all_mistakes():
        if m.student in mistake_students:
            chosen = {nb: dict(a) for nb, a in answers.items()}
            chosen[m.notebook][m.cell] = m.source
            write_submission(course, m.student, {nb: fill(released[nb], chosen[nb]) for nb in notebooks},
                             "mle_losses")
    return notebooks, answers, released


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = copy_course(str(tmp_path_factory.mktemp("class_report_course")))
    run_nbgrader(course, "generate_assignment", "mle_losses", "--force")
    notebooks, answers, released = write_small_class(course, REAL_MISTAKES)
    mistakes = [m for m in all_mistakes() if m.student in REAL_MISTAKES]
    # One more student's first notebook is a truncated file: it cannot be graded, and the report says so.
    folder = write_submission(course, "truncated-file", {nb: fill(released[nb], answers[nb]) for nb in notebooks},
                              "mle_losses")
    path = os.path.join(folder, f"{notebooks[0]}.ipynb")
    text = open(path).read()
    open(path, "w").write(text[:len(text) // 2])
    run_nbgrader(course, "autograde", "mle_losses", "--force")
    proc = class_report.main(["mle_losses", "--course-root", course, "--out", os.path.join(course, "reports")])
    assert proc == 0
    return {"course": course, "notebooks": notebooks, "mistakes": mistakes,
            "students": ["reference", "untouched", *REAL_MISTAKES, "truncated-file"],
            "html": os.path.join(course, "reports", "class_report_mle_losses.html")}


@pytest.fixture(scope="module")
def file_browser():
    """One browser for the module: Playwright's synchronous API runs one instance per thread, and a
    module fixture's stays open until the module's last test has run."""
    import playwright.sync_api  # noqa: F401
    from servers import loopback_browser
    with loopback_browser("file://", viewport=(1280, 1000)) as browser:
        yield browser


@pytest.fixture(scope="module")
def report_page(graded_class, file_browser):
    from servers import ARTIFACTS, save_screenshot
    context = file_browser.new_context()
    page = context.new_page()
    page.goto("file://" + graded_class["html"])
    save_screenshot(page, "class-report", docs=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "class-report-full-page.png"), full_page=True)
    yield page, context.blocked_requests
    context.close()


def page_cells(page):
    """{notebook/grade_id: (passed, graded)} as the page shows them."""
    shown = {}
    for row in page.query_selector_all("#cells tr[data-cell]"):
        passed, graded = row.query_selector("td.passed").inner_text().split("/")
        shown[row.get_attribute("data-cell")] = (int(passed), int(graded))
    return shown


def page_mistakes(page):
    """{(notebook/grade_id, message): count} as the page shows them (each cell's table is folded in a
    <details> the reader opens: its text, not its rendering)."""
    shown = {}
    for table in page.query_selector_all("table.mistakes"):
        cell = table.get_attribute("data-cell")
        for row in table.query_selector_all("tr"):
            message = row.query_selector("td.message")
            if message:
                shown[(cell, message.text_content())] = int(row.query_selector("td.count").text_content())
    return shown


def test_a_cells_folded_mistakes_open_with_one_click(report_page):
    page, _ = report_page
    folded = page.query_selector("details.cell-mistakes")
    assert folded and not folded.query_selector("table.mistakes").is_visible()
    folded.query_selector("summary").click()
    assert folded.query_selector("table.mistakes").is_visible()


def test_the_report_opens_in_a_browser_with_its_figures_and_asks_for_nothing_else(report_page):
    page, blocked = report_page
    assert page.title() == "Class report: mle_losses"
    images = page.query_selector_all("img")
    assert len(images) == 3
    assert all(page.evaluate("img => img.complete && img.naturalWidth > 300", img) for img in images)
    assert blocked == []


def test_pass_shares_on_the_page_are_those_of_the_gradebook(report_page, graded_class):
    page, _ = report_page
    course = graded_class["course"]
    by_student = {s: scores_by_cell(course, s) for s in graded_class["students"]}
    want = {}
    for scores in by_student.values():
        for (nb, cell), (score, max_score) in scores.items():
            passed, graded = want.get(f"{nb}/{cell}", (0, 0))
            want[f"{nb}/{cell}"] = (passed + (score == max_score), graded + 1)
    assert page_cells(page) == want
    in_source_order = [f"{nb}/{c.metadata['nbgrader']['grade_id']}" for nb in graded_class["notebooks"]
                       for c in nbformat.read(os.path.join(course, "source", "mle_losses", f"{nb}.ipynb"), 4).cells
                       if c.metadata.get("nbgrader", {}).get("grade")]
    assert list(page_cells(page)) == in_source_order
    assert page.inner_text("#n-students") == str(len(graded_class["students"]))
    # What the class was built to do: a cell is failed by the untouched release, by the mistakes
    # that must fail it, and (in the first notebook) by the truncated file; passed by everyone else.
    first = graded_class["notebooks"][0]
    for key, (passed, graded) in page_cells(page).items():
        nb, cell = key.split("/")
        failing = 1 + (nb == first) + sum(m.notebook == nb and cell in m.fails for m in graded_class["mistakes"])
        assert passed == graded - failing, key


def test_mistake_counts_on_the_page_are_those_of_the_grading_reports(report_page, graded_class):
    page, _ = report_page
    course = graded_class["course"]
    want = {}
    for student in graded_class["students"]:
        for nb in graded_class["notebooks"]:
            report = json.load(open(os.path.join(course, "grading_reports", "mle_losses", student, f"{nb}.json")))
            for cell, message in report["checks"].items():
                if message is not None and not class_report.unattempted(message):
                    key = (f"{nb}/{cell}", " ".join(message.split()))
                    want[key] = want.get(key, 0) + 1
    assert page_mistakes(page) == want
    # Each mistake student's diagnosis of each cell their mistake fails is on the page.
    shown = page_mistakes(page)
    for m in graded_class["mistakes"]:
        report = json.load(open(os.path.join(course, "grading_reports", "mle_losses", m.student, f"{m.notebook}.json")))
        for cell in m.fails:
            assert report["checks"][cell] is not None
            assert shown[(f"{m.notebook}/{cell}", " ".join(report["checks"][cell].split()))] >= 1


def test_the_truncated_notebook_is_listed_as_ungraded_with_why(report_page, graded_class):
    page, _ = report_page
    rows = [r.inner_text() for r in page.query_selector_all("#ungraded tr")][1:]
    assert len(rows) == 1, rows
    assert "truncated-file" in rows[0] and graded_class["notebooks"][0] in rows[0]
    assert "not a valid notebook file" in rows[0]


def test_the_demo_pipeline_builds_the_class_report_after_the_export(tmp_path, monkeypatch, capsys):
    """mle_grading.operations.pipeline (./course demo) run for real, on three students instead of the whole demo class."""
    from mle_grading.operations import pipeline
    course = copy_course(str(tmp_path / "course"))
    for folder in ("source", "notebooks"):   # a course of the one assignment this small class submits
        for assignment in ASSIGNMENTS:
            if assignment != "mle_losses":
                shutil.rmtree(os.path.join(course, folder, assignment))
    students = ["reference", "untouched", "mse-sum-not-mean"]
    monkeypatch.chdir(tmp_path)          # the pipeline changes directory; this puts it back afterwards
    monkeypatch.delenv("MLE_GRADING_DB_URL", raising=False)
    monkeypatch.setattr(pipeline, "roster", lambda assignment: students)
    monkeypatch.setattr(pipeline, "build_demo_class",
                        lambda root, assignment: (write_small_class(root, students[2:]), students)[1])
    monkeypatch.setattr(pipeline, "ROOT", course)
    assert pipeline.main(["--course-root", course]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "[4/6] class report: " in out
    page = open(os.path.join(course, "demo", "reports", "class_report_mle_losses.html")).read()
    assert "<span id='n-students'>3</span>" in page
    assert "this is the sum of squared residuals" in page  # mse-sum-not-mean's diagnosis


def demo_sized_class(n_students=110, cells_per_notebook=(14, 10, 15, 23)):
    """A class the size of the demo's: every student fails a few cells, each with its own message, and
    one student leaves every answer unwritten."""
    notebooks = [f"0{i + 1}_nb" for i in range(len(cells_per_notebook))]
    cells = [class_report.Cell(nb, f"{nb}_cell_{j:02d}", 1.0 + (j % 3))
             for nb, count in zip(notebooks, cells_per_notebook) for j in range(count)]
    students = [f"student-{i:03d}" for i in range(n_students)]
    scores, messages, nb_scores, totals = {}, {}, {}, {}
    for i, student in enumerate(students):
        scores[student], messages[student] = {}, {}
        for j, cell in enumerate(cells):
            key = (cell.notebook, cell.grade_id)
            if i == 1:
                message = f"`f{j}` raised NotImplementedError: the answer has not been written yet."
            elif (i * 7 + j * 3) % 23 == 0:
                message = f"`f{j}` on inputs of shape (7,): mistake number {i % 4} of this cell, described."
            else:
                message = None
            scores[student][key] = 0.0 if message else cell.points
            messages[student][key] = message
        nb_scores[student] = {nb: sum(v for (n, _), v in scores[student].items() if n == nb) for nb in notebooks}
        totals[student] = sum(scores[student].values())
    notebook_max = {nb: sum(c.points for c in cells if c.notebook == nb) for nb in notebooks}
    return class_report.ClassData("mle_losses", notebooks, cells, notebook_max, students, scores, nb_scores,
                                  totals, messages)


def test_a_demo_sized_report_reads_without_scrolling_past_9000_pixels(tmp_path, file_browser):
    from servers import ARTIFACTS
    data = demo_sized_class()
    stats = class_report.cell_statistics(data)
    figures = {"dist": class_report.plot_score_distributions(data),
               "shares": class_report.plot_pass_shares(data, stats),
               "disc": class_report.plot_discrimination(data, stats)}
    page_path = tmp_path / "class_report_mle_losses.html"
    page_path.write_text(class_report.render_html(data, stats, figures), encoding="utf-8")
    context = file_browser.new_context()
    page = context.new_page()
    page.goto(f"file://{page_path}")
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "class-report-demo-sized-full-page.png"), full_page=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert page.inner_text("#n-students") == "110"
    context.close()
    assert height <= 9000, height
