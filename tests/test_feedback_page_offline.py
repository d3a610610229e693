"""The feedback page nbgrader writes with the course's configuration: its equations render in a
browser with no network (MathJax inlined), and the grader's diagnosis wraps at the page's edge."""
import os

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from servers import CHROMIUM, CHROMIUM_ARGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIAGNOSIS = ("TestFailed: `gaussian_nll_logvar_grad` with one log-variance per element, shape (6,): d_y_pred is "
             "missing the precision exp(-log_var): the squared error is weighted by it. " * 3)


def _feedback_page(tmp_path):
    """One cell of equations and one failed test cell, exported as generate_feedback does with course_config.py."""
    from nbgrader.converters import GenerateFeedback

    config = PyFileConfigLoader("course_config.py", path=ROOT).load_config()
    feedback = GenerateFeedback(config=config)          # adds nbgrader's own template settings, as the app does
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("The result: $\\ell = \\tfrac12 (\\log 2\\pi + s)$ and\n\n"
                                      "$$ \\frac{\\partial \\ell}{\\partial \\mu} = e^{-s}(\\mu - y). $$"),
        nbformat.v4.new_code_cell("assert True", outputs=[nbformat.v4.new_output(
            "error", ename="TestFailed", evalue=DIAGNOSIS, traceback=[DIAGNOSIS])],
            metadata={"nbgrader": {"grade": True, "grade_id": "a_test", "points": 1, "score": 0,
                                   "solution": False, "locked": True, "schema_version": 3}})])
    exporter = feedback.exporter_class(config=feedback.config)   # the exporter generate_feedback builds
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    page_preprocessors = feedback.preprocessors[feedback.preprocessors.index(CSSHTMLHeaderPreprocessor):]
    for preprocessor in page_preprocessors:           # those after the gradebook's: they make the page
        exporter.register_preprocessor(preprocessor, enabled=True)
    resources = {"nbgrader": {"notebook": "demo", "score": 0, "max_score": 1, "late_penalty": 0}}
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    page = tmp_path / "demo.html"
    page.write_text(html)
    return page


def test_the_feedback_page_renders_its_equations_offline_and_wraps_the_diagnosis(tmp_path):
    from playwright.sync_api import sync_playwright
    page_file = _feedback_page(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 900, "height": 700}, offline=True)
            outside = []
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                          else (outside.append(route.request.url), route.abort()))
            page = context.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_function("document.querySelectorAll('mjx-container svg').length >= 2", timeout=60_000)
            diagnosis = page.locator("pre", has_text="TestFailed").first
            overflow = diagnosis.evaluate("p => p.scrollWidth - p.clientWidth")
            lines = diagnosis.evaluate("p => Math.round(p.getBoundingClientRect().height / "
                                       "parseFloat(getComputedStyle(p).lineHeight))")
        finally:
            browser.close()
    assert outside == []
    assert overflow <= 0 and lines > 1, (overflow, lines)


CODE = '''import numpy as np  # a comment
from math import log

@staticmethod
def nll(y_pred, y, sigma=1.0):
    """The Gaussian NLL."""
    r = (np.asarray(y_pred) - y) ** 2 / (2 * sigma**2)
    print(f"{'loss':>8} {r.mean():8.3e}  done", end="\\n")
    return r.mean() + 0.5 * log(2 * np.pi) if sigma > 0 and y is not None else -1e-3
'''


def _code_page(highlight_by_nbconvert=False, exporters=1):
    """A page of one code cell, by the feedback exporter; or with nbconvert's own highlight_code filter.
    Its highlighting CSS is the one the exporter's template adds (the classic template's
    CSSHTMLHeaderPreprocessor, Pygments' default style), as in every feedback page."""
    from nbgrader.converters import GenerateFeedback

    config = PyFileConfigLoader("course_config.py", path=ROOT).load_config()
    if highlight_by_nbconvert:
        config.CourseFeedbackExporter.filters = {name: f for name, f in config.CourseFeedbackExporter.filters.items()
                                                 if name != "highlight_code"}
    feedback = GenerateFeedback(config=config)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CODE, id="the-code")],
                                  metadata={"language_info": {"name": "python"}})
    pages = []
    for _ in range(exporters):   # one exporter per student, as nbgrader makes them
        exporter = feedback.exporter_class(config=feedback.config)
        pages.append(exporter.from_notebook_node(nb, resources={"nbgrader": {
            "notebook": "demo", "score": 0, "max_score": 1, "late_penalty": 0}})[0])
    return pages


def test_code_looks_as_nbconvert_highlights_it_with_fewer_spans():
    """The feedback exporter's highlight_code leaves out only spans that change nothing on the page:
    the page is nbconvert's with those spans taken out, and each one it leaves out has no rule in the
    page's CSS, or holds only whitespace under a rule that sets only its colour."""
    import re

    first, second = _code_page(exporters=2)
    assert first == second            # the next student's exporter (compiled templates reused): the same page
    (plain,) = _code_page(highlight_by_nbconvert=True)
    code = re.compile(r'<div class=" ?highlight hl-python"><pre>.*?</pre></div>', re.S)   # nbconvert writes " highlight"
    ours, theirs = code.search(first).group(0), code.search(plain).group(0)
    span = re.compile(r'<span class="([^"]+)">([^<]*)</span>')
    assert len(span.findall(ours)) < 0.7 * len(span.findall(theirs))
    rules = {}
    for cls, rule in re.findall(r"\.highlight \.([a-z0-9]+) \{([^}]*)\}", first):
        rules.setdefault(cls, []).append(rule)
    assert rules.get("k"), "the page carries the highlighting style sheet"
    left_out = []

    def unless_invisible(match):
        cls, value = match.groups()
        colour_only = all(re.fullmatch(r"\s*color: [^;]+;?\s*", rule) for rule in rules.get(cls, []))
        if cls not in rules or not value.strip() and colour_only:
            left_out.append(cls)
            return value
        return match.group(0)
    assert span.sub(unless_invisible, theirs) == ours
    assert {"n", "p"} <= set(left_out)
    assert first.replace(ours, "") == plain.replace(theirs, "")     # the rest of the page is the same


def test_only_the_courses_own_cells_are_kept_in_the_feedback_caches():
    """A student's answer is seen once: caching it would only grow a long-lived worker."""
    from mle_grading.nbgrader_integration import feedback_render, sanitize

    context = {"nb": {"metadata": {"language_info": {"name": "python", "pygments_lexer": "ipython3"}}}}
    answer = {"nbgrader": {"solution": True, "grade_id": "a"}}
    given = {"nbgrader": {"locked": True, "grade_id": "g"}}
    before = feedback_render._cached_highlighted.cache_info().currsize
    feedback_render.course_highlight_code(context, "x = 1  # a student's answer", metadata=answer)
    assert feedback_render._cached_highlighted.cache_info().currsize == before
    feedback_render.course_highlight_code(context, "x = 2  # the course's cell", metadata=given)
    assert feedback_render._cached_highlighted.cache_info().currsize == before + 1

    before = sanitize._clean_markdown.cache_info().currsize
    sanitize.safe_markdown2html({"cell": {"metadata": answer}}, "my *own* derivation")
    assert sanitize._clean_markdown.cache_info().currsize == before
    sanitize.safe_markdown2html({"cell": {"metadata": given}}, "the course's *text*")
    assert sanitize._clean_markdown.cache_info().currsize == before + 1


PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def _pages_both_ways(nb):
    """(the feedback exporter's page, the page of HTMLExporter's own conversion by the same exporter)."""
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import GenerateFeedback

    config = PyFileConfigLoader("course_config.py", path=ROOT).load_config()
    feedback = GenerateFeedback(config=config)
    exporter = feedback.exporter_class(config=feedback.config)
    for preprocessor in feedback.preprocessors[feedback.preprocessors.index(CSSHTMLHeaderPreprocessor):]:
        exporter.register_preprocessor(preprocessor, enabled=True)

    def resources():
        return {"nbgrader": {"notebook": "demo", "score": 1, "max_score": 2, "late_penalty": 0}}
    return (exporter.from_notebook_node(nb, resources=resources())[0],
            HTMLExporter.from_notebook_node(exporter, nb, resources=resources())[0])


@pytest.mark.parametrize("graded", ["mle_losses/04_gradients", "mle_beyond/01_learned_variance"])
def test_a_graded_notebooks_page_is_the_tree_nbconverts_html_exporter_makes(graded):
    """The feedback exporter skips HTMLExporter's closing BeautifulSoup pass (about 0.15 s a page):
    its page parses to exactly the tree that pass makes, each figure given nbconvert's alt text."""
    from bs4 import BeautifulSoup
    from mle_grading.nbgrader_integration.feedback_render import NO_DESCRIPTION

    nb = nbformat.read(os.path.join(ROOT, "examples", "autograded", "reference", f"{graded}.ipynb"), as_version=4)
    for cell in nb.cells:   # what the gradebook would add (GradesFromGradebook)
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("grade") or grading.get("solution"):
            grading.update(score=grading.get("points", 0), comment="well done")
    figures = sum("image/png" in output.get("data", {}) for cell in nb.cells for output in cell.get("outputs", []))
    assert figures > 0
    ours, theirs = _pages_both_ways(nb)
    assert ours.count(f'alt="{NO_DESCRIPTION}"') == figures
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs


def test_images_written_by_a_student_get_the_same_descriptions_as_nbconvert_gives_them():
    from bs4 import BeautifulSoup

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("![my plot](plot.png) and <img src='plot.png'> and <IMG SRC=\"b.png\"/>\n\n"
                                      "<img src=\"c.png\" alt=\"described\"> <img\nsrc=\"d.png\"\n>"),
        nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": PNG, "text/plain": "<Figure>"})])],
        metadata={"language_info": {"name": "python"}})
    ours, theirs = _pages_both_ways(nb)
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs
    images = BeautifulSoup(ours, features="html.parser").find_all("img")
    assert len(images) >= 5 and all(image.has_attr("alt") for image in images)


RAW_IMAGES = {
    "self-closing": '<p><img src="a.png"/></p>',
    "an unquoted value ending in a slash": "<img src=foo/>",
    "upper case, with an ALT": '<IMG SRC="b.png"><IMG SRC="c.png" ALT="described">',
    "several on a line": '<img src="a.png"><img src="b.png" width=10><img src="c.png" alt="">',
    "a tag over several lines, CRLF": '<p>x</p>\r\n<img\r\n src="d.png"\r\n width="3"\r\n>\r\n<img src="e.png">',
    "a slash for a space": "<img/src=x.png>",
    "inside a script or a comment": '<script>var s = "<img src=x>";</script><!-- <img src=y> --><img src="z.png">',
}


@pytest.mark.parametrize("case", sorted(RAW_IMAGES))
def test_describing_images_gives_the_tree_of_nbconverts_pass_on_any_html(case):
    """describe_images against the rule of HTMLExporter's own pass (nbconvert/exporters/html.py)."""
    from bs4 import BeautifulSoup
    from mle_grading.nbgrader_integration.feedback_render import NO_DESCRIPTION, describe_images

    html = RAW_IMAGES[case]
    soup = BeautifulSoup(html, features="html.parser")
    missing = soup.select("img:not([alt])")
    for element in missing:
        element.attrs["alt"] = NO_DESCRIPTION
    assert missing
    assert str(BeautifulSoup(describe_images(html), features="html.parser")) == str(soup)
