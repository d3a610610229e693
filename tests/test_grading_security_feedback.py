"""What a grader, an instructor or a student opens: figures shown, no script, only the student's files.

One real `nbgrader autograde` and `generate_feedback` of three students:

- reference: the solutions; every figure its notebooks make must be in its feedback;
- scripter: markdown and outputs that carry <script>, event handlers and javascript: links;
- linker:  a notebook that is a symbolic link to the instructor's source notebook (with
  its solutions), links to the gradebook and the source, a hard link, a FIFO, and a
  page of its own named like feedback.

Before this change the linker's linked notebook was read through the link (the
source's, with its solutions), the FIFO made nbgrader's copy of extra files fail the
student's whole assignment, the links' targets were copied into autograded/ and
feedback/, and the scripter's markdown reached the page as live HTML.
"""
import glob
import os
import re

import nbformat
import pytest

from mle_grading.operations.demo_class import fill, solutions

from course_copy import copy_course, run_nbgrader, scores_by_cell

NB1, NB2 = "01_gaussian_mse", "02_bernoulli_bce"
PAYLOAD_MARKDOWN = ("An answer with an equation $\\hat\\sigma^2 = \\frac{1}{n}$.\n\n"
                    "<script>window.MLE_PWNED = 'markdown-script'</script>\n\n"
                    "<img src=\"x\" onerror=\"window.MLE_PWNED = 'onerror'\">\n\n"
                    "[see my notes](javascript:window.MLE_PWNED='link')\n\n"
                    "<a href=\"javascript:window.MLE_PWNED='anchor'\">notes</a>\n")
PAYLOAD_CODE = ("from IPython.display import display, HTML, Javascript\n"
                "display(HTML(\"<script>window.MLE_PWNED = 'html-output'</script><b onmouseover=\\\"x()\\\">b</b>\"))\n"
                "display(Javascript(\"window.MLE_PWNED = 'js-output'\"))\n"
                "print(\"<script>window.MLE_PWNED = 'printed'</script>\")\n")


def released(course):
    return sorted(os.path.basename(p)[:-6] for p in glob.glob(os.path.join(course, "release", "mle_losses", "*.ipynb")))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = copy_course(str(tmp_path_factory.mktemp("security_feedback")))
    run_nbgrader(course, "generate_assignment", "mle_losses", "--force")
    notebooks = released(course)
    source_dir = os.path.join(course, "source", "mle_losses")
    release = {nb: nbformat.read(os.path.join(course, "release", "mle_losses", f"{nb}.ipynb"), as_version=4)
               for nb in notebooks}
    answers = {nb: solutions(source_dir, nb) for nb in notebooks}

    def folder(student):
        path = os.path.join(course, "submitted", student, "mle_losses")
        os.makedirs(path)
        return path

    reference = folder("reference")
    for nb in notebooks:
        nbformat.write(fill(release[nb], answers[nb]), os.path.join(reference, f"{nb}.ipynb"))

    scripter = folder("scripter")
    nb = fill(release[NB1], answers[NB1])
    nb.cells.append(nbformat.v4.new_markdown_cell(PAYLOAD_MARKDOWN))
    nb.cells.append(nbformat.v4.new_code_cell(PAYLOAD_CODE))
    nbformat.write(nb, os.path.join(scripter, f"{NB1}.ipynb"))

    linker = folder("linker")
    os.symlink(os.path.join(source_dir, f"{NB1}.ipynb"), os.path.join(linker, f"{NB1}.ipynb"))
    nbformat.write(fill(release[NB2], answers[NB2]), os.path.join(linker, f"{NB2}.ipynb"))
    os.symlink(os.path.join(course, "gradebook.db"), os.path.join(linker, "gradebook.html"))
    os.symlink(source_dir, os.path.join(linker, "answers"))
    secret = os.path.join(course, "secret-of-another-student.txt")
    with open(secret, "w") as fh:
        fh.write("ANOTHER STUDENT'S WORK")
    os.link(secret, os.path.join(linker, "copied.txt"))
    os.mkfifo(os.path.join(linker, "pipe"))
    with open(os.path.join(linker, "page.html"), "w") as fh:
        fh.write("<script>window.MLE_PWNED = 'own page'</script>")

    autograde = run_nbgrader(course, "autograde", "mle_losses", "--force", check=False)
    feedback = run_nbgrader(course, "generate_feedback", "mle_losses", "--force", check=False)
    return {"course": course, "notebooks": notebooks, "autograde": autograde, "feedback": feedback}


def feedback_page(graded, student, notebook):
    return open(os.path.join(graded["course"], "feedback", student, "mle_losses", f"{notebook}.html")).read()


def figures_made(course, notebook):
    """Figures a notebook shows: the plt.show() calls in its code cells (source notebook)."""
    nb = nbformat.read(os.path.join(course, "source", "mle_losses", f"{notebook}.ipynb"), as_version=4)
    return sum(len(re.findall(r"^\s*plt\.show\(\)", c.source, re.M)) for c in nb.cells if c.cell_type == "code")


def test_autograde_and_feedback_finish(graded):
    assert graded["autograde"].returncode == 0, graded["autograde"].stderr[-3000:]
    assert graded["feedback"].returncode == 0, graded["feedback"].stderr[-3000:]


def test_the_reference_students_feedback_shows_every_figure_of_each_notebook(graded):
    total = 0
    for notebook in graded["notebooks"]:
        images = feedback_page(graded, "reference", notebook).count('src="data:image/png;base64,')
        assert images == figures_made(graded["course"], notebook), notebook
        total += images
    assert total >= 1


def test_the_reference_students_printed_text_is_in_the_autograded_notebook(graded):
    # Every instructor code cell that prints shows its text, as nbgrader would.
    path = os.path.join(graded["course"], "autograded", "reference", "mle_losses", f"{NB1}.ipynb")
    nb = nbformat.read(path, as_version=4)
    printing = [c for c in nb.cells if c.cell_type == "code" and "print(" in c.source
                and not c.metadata.get("nbgrader", {}).get("grade")]
    assert printing and all(any(o.output_type == "stream" for o in c.outputs) for c in printing)


def live_markup(html):
    """Script a browser would run from the page's notebook content (the template's own MathJax aside)."""
    found = []
    found += re.findall(r"<script[^>]*>[^<]*MLE_PWNED", html)
    found += re.findall(r"<a[^>]*href=\"#?javascript", html, re.I)
    found += re.findall(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", html)
    found += re.findall(r"<a[^>]*href=\"javascript:", html, re.I)
    return found


def test_student_script_in_markdown_and_outputs_is_shown_as_text(graded):
    html = feedback_page(graded, "scripter", NB1)
    assert not live_markup(html), live_markup(html)
    assert "MLE_PWNED" in html  # the payload is there, as text
    assert "&lt;script&gt;window.MLE_PWNED = &#x27;printed&#x27;" in html or \
        "&lt;script&gt;window.MLE_PWNED = 'printed'" in html
    assert "\\hat\\sigma^2" in html  # the student's equation still typesets
    assert "\\sigma" in feedback_page(graded, "reference", NB1)


def test_the_autograded_notebook_formgrader_shows_holds_no_student_script(graded):
    path = os.path.join(graded["course"], "autograded", "scripter", "mle_losses", f"{NB1}.ipynb")
    nb = nbformat.read(path, as_version=4)
    student_md = [c for c in nb.cells if c.cell_type == "markdown" and "MLE_PWNED" in c.source]
    assert student_md and not any(live_markup(c.source) or "<script" in c.source for c in student_md)
    assert "&lt;script&gt;" in student_md[0].source  # kept, as text
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert not {"text/html", "application/javascript"} & set(data), output


def test_a_linked_notebook_is_not_graded_and_the_others_are(graded):
    scores = scores_by_cell(graded["course"], "linker")
    nb1 = [s for (nb, _), (s, _m) in scores.items() if nb == NB1]
    nb2 = [(s, m) for (nb, _), (s, m) in scores.items() if nb == NB2]
    assert nb1 and all(s == 0 for s in nb1)
    assert nb2 and all(s == m for s, m in nb2)


def test_nothing_a_submission_links_to_is_copied_into_autograded_or_feedback(graded):
    course = graded["course"]
    for top in ("autograded", "feedback"):
        folder = os.path.join(course, top, "linker", "mle_losses")
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                assert not os.path.islink(path), path
                assert name not in ("gradebook.html", "copied.txt", "pipe", "answers"), path
                if os.path.isfile(path):
                    text = open(path, "rb").read()
                    assert b"ANOTHER STUDENT'S WORK" not in text and b"SQLite format" not in text, path
    # Everything set aside is kept, as it was, in the submission.
    kept = os.listdir(os.path.join(course, "submitted", "linker", "mle_losses", ".set-aside"))
    assert {"gradebook.html", "copied.txt", "pipe", "answers", f"{NB1}.ipynb"} <= set(kept)


def test_feedback_holds_the_notebooks_pages_only(graded):
    for student in ("reference", "scripter", "linker"):
        folder = os.path.join(graded["course"], "feedback", student, "mle_losses")
        names = sorted(os.listdir(folder))
        pages = [n for n in names if n not in ("timestamp.txt", "submission_secret.txt")]
        assert pages and all(n.endswith(".html") and n[:-5] in graded["notebooks"] for n in pages), names


@pytest.mark.parametrize("link", ["javascript:alert(1)", "JavaScript:alert(1)", " jav&#x61;script:alert(1)",
                                  "vbscript:msgbox", "data:text/html;base64,PHNjcmlwdD4="])
def test_markdown_links_with_a_script_scheme_go_nowhere(link):
    from mle_grading.nbgrader_integration.sanitize import neutralise_markdown_links
    for source in (f"[notes]({link})", f"![figure]({link})", f"[notes]: {link}"):
        assert "#unsafe-link-removed" in neutralise_markdown_links(source), source


def test_markdown_links_to_the_web_and_embedded_images_are_kept():
    from mle_grading.nbgrader_integration.sanitize import neutralise_markdown_links
    source = "[docs](https://numpy.org) ![plot](data:image/png;base64,iVBORw0KGgo=) [mail](mailto:a@b.c) [s](#sec)"
    assert neutralise_markdown_links(source) == source
