"""No page that shows student content carries a live script URL: judged in a real browser.

One hostile submission holds a markdown cell for each way of spelling a script link
(a backslash-escaped scheme, a reference-style link, an autolink, HTML <a href>, an
entity-encoded scheme, a tab inside the scheme, data:text/html, vbscript:, an SVG
<a xlink:href>, a <form action>, an <img src>, a non-image attachment, a markdown
output), beside an honest cell with an equation and an https link. It is graded with
the real `nbgrader autograde` and `generate_feedback`; then Debian's Chromium opens its
feedback page, formgrader's view of the submission (a real Jupyter server with the
course's configuration) and the class report, clicks every link, image, button and
form, and listens for a dialog, a console message or a mark left by the payload.
Each page's DOM is also read: every URL in any attribute (href, src, action,
formaction, xlink:href, srcset, style url(), ...) is http(s), mailto, relative, a
fragment, or an image the pack embeds itself.

Before the fix the scheme was checked on the markdown source, before the renderer
removed the backslash or resolved the reference: the feedback page and formgrader's
view held live javascript: links, and a click ran the student's script.
"""
import base64
import contextlib
import html
import os
import re
import secrets
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import nbformat
import pytest

from mle_grading.nbgrader_integration import run as nbgrader_run
from mle_grading.operations import class_report
from mle_grading.operations.demo_class import fill, solutions

from course_copy import copy_course, run_nbgrader
from servers import free_port, loopback_browser, server_process, tail, wait_for_http

NB = "01_gaussian_mse"
STUDENT = "hostile"
PAYLOADS = {
    "backslash-escaped scheme": "[see my derivation](javascript\\:alert('backslash'))",
    "reference-style link": "[see my notes][r]\n\n[r]: javascript:alert('reference')",
    "autolink": "<javascript:alert('autolink')>",
    "HTML anchor": "<a href=\"javascript:alert('anchor')\">notes</a>",
    "entity-encoded scheme": "[entity](java&#115;cript:alert('entity'))",
    "entity-encoded HTML": "<a href=\"java&#x73;cript&colon;alert('entity-html')\">x</a>",
    "tab in the scheme": "<a href=\"java\tscript:alert('tab')\">tab</a>",
    "control character before the scheme": "<a href=\"\x01javascript:alert('control')\">ctl</a>",
    "data:text/html": "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgnZGF0YScpPC9zY3JpcHQ+)",
    "vbscript": "[vb](vbscript:msgbox('vb'))",
    "SVG xlink:href": "<svg width=\"50\" height=\"20\"><a xlink:href=\"javascript:alert('svg')\">"
                      "<text x=\"0\" y=\"15\">svg</text></a></svg>",
    "form action": "<form action=\"javascript:alert('form')\"><button>send</button>"
                   "<button formaction=\"javascript:alert('formaction')\">send2</button></form>",
    "image source": "<img src=javascript:alert('img')>",
    "image onerror": "<img src=x onerror=\"alert('onerror')\">",
    "srcset and style": "<img srcset=\"javascript:alert('srcset') 1x\"><div style=\"background:url(javascript:alert('style'))\">s</div>",
    "non-image attachment": "![att](attachment:evil.html)",
}
HONEST = "An honest answer: $\\hat\\sigma^2 = \\frac{1}{n}\\sum_i (y_i - \\hat y_i)^2$, see [the notes](https://example.org/notes)."
MARKDOWN_OUTPUT = ("from IPython.display import Markdown, display\n"
                   "display(Markdown(\"[output](javascript\\\\:alert('markdown-output'))\"))\n")

# Every attribute of every element, with the element's tag (the DOM as Chromium built it).
ATTRIBUTES_JS = """() => Array.from(document.querySelectorAll('*')).flatMap(el =>
    Array.from(el.attributes).map(a => [el.tagName.toLowerCase(), a.name.toLowerCase(), a.value]))"""
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "data", "cite",
                  "longdesc", "usemap", "codebase", "ping", "lowsrc", "dynsrc", "icon", "manifest", "archive"}
# Everything a click may activate, clicked with an event (SVG links have no .click()).
CLICKABLE = "a, area, [href], [xlink\\:href], button, input, img, svg *, form"
CLICK_JS = """([selector, i]) => {
    const el = document.querySelectorAll(selector)[i];
    if (!el) return;
    el.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window}));
    if (el.tagName === 'FORM' && el.requestSubmit) { try { el.requestSubmit(); } catch (e) {} }
}"""


def allowed(tag, name, value):
    """The property, stated on its own: http(s), mailto, relative, fragment, or an embedded image of the pack."""
    url = re.sub(r"[\x00-\x20]", "", html.unescape(value))
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    if not scheme:
        return True
    if scheme.group(1).lower() in ("http", "https", "mailto"):
        return True
    return tag == "img" and name == "src" and bool(re.match(r"data:image/(png|jpeg|gif);base64,", url, re.I))


def unsafe_attributes(attributes):
    bad = []
    for tag, name, value in attributes:
        if name in URL_ATTRIBUTES or name.endswith("href"):
            urls = [value]
        elif name == "srcset":
            urls = [part.strip().split(" ")[0] for part in value.split(",") if part.strip()]
        elif name == "style":
            urls = re.findall(r"url\(\s*['\"]?([^'\")]*)", value, re.I)
        else:
            continue
        bad += [(tag, name, u) for u in urls if not allowed(tag, name if name != "srcset" else "src", u)]
    return bad


def hostile_notebook(course):
    release = nbformat.read(os.path.join(course, "release", "mle_losses", f"{NB}.ipynb"), as_version=4)
    nb = fill(release, solutions(os.path.join(course, "source", "mle_losses"), NB))
    nb.cells.append(nbformat.v4.new_markdown_cell(HONEST))
    for name, payload in PAYLOADS.items():
        cell = nbformat.v4.new_markdown_cell(f"**{name}**: {payload}")
        if name == "non-image attachment":
            cell.attachments = {"evil.html": {"text/html": base64.b64encode(
                b"<script>alert('attachment')</script>").decode()}}
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_code_cell(MARKDOWN_OUTPUT))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = copy_course(str(tmp_path_factory.mktemp("hostile_links")))
    run_nbgrader(course, "generate_assignment", "mle_losses", "--force")
    folder = os.path.join(course, "submitted", STUDENT, "mle_losses")
    os.makedirs(folder)
    nbformat.write(hostile_notebook(course), os.path.join(folder, f"{NB}.ipynb"))
    run_nbgrader(course, "autograde", "mle_losses", "--force", f"--student={STUDENT}")
    run_nbgrader(course, "generate_feedback", "mle_losses", "--force", f"--student={STUDENT}")
    report = class_report.build_report("mle_losses", f"sqlite:///{os.path.join(course, 'gradebook.db')}",
                                       os.path.join(course, "reports"), course)["html"]
    return {"course": course, "report": report,
            "feedback": os.path.join(course, "feedback", STUDENT, "mle_losses", f"{NB}.html")}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def static_server(directory):
    """The course folder over HTTP on loopback, as a student's or instructor's browser would get a page."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=directory))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def formgrader(graded):
    course = graded["course"]
    env = nbgrader_run.environment(db_url="", quiet=True)
    env = {k: v for k, v in env.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env["HOME"] = os.path.join(course, ".home")
    os.makedirs(env["HOME"], exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    cmd = [os.path.join(os.path.dirname(sys.executable), "jupyter-server"), "--no-browser", "--allow-root",
           "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}"]
    log = os.path.join(course, "formgrader.log")
    with server_process(cmd, env, course, log) as proc:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", 120, proc)
        except Exception:
            raise AssertionError("the Jupyter server did not start:\n" + tail(log))
        from nbgrader.api import Gradebook
        with Gradebook(f"sqlite:///{os.path.join(course, 'gradebook.db')}") as gb:
            submission = gb.find_submission_notebook(NB, "mle_losses", STUDENT).id
        yield {"origin": f"http://127.0.0.1:{port}", "token": token, "log": log,
               "url": f"http://127.0.0.1:{port}/formgrader/submissions/{submission}/?token={token}"}


def open_page(page, url, ready):
    for attempt in range(3):   # a click's navigation may still be under way: it interrupts a goto
        try:
            page.goto(url)
            page.wait_for_selector(ready)
            return
        except Exception:
            if attempt == 2:
                raise
            page.wait_for_timeout(500)


def click_everything(browser, url, ready, token=None):
    """Open url, click every clickable element (reloading after any navigation); what ran, and the attributes."""
    ran = []
    context = browser.new_context()
    if token:   # the formgrader's own requests (grades, comments) are authenticated too
        context.set_extra_http_headers({"Authorization": f"token {token}"})
    page = context.new_page()
    page.on("dialog", lambda d: (ran.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("console", lambda m: ran.append(f"console: {m.text}") if "PWNED" in m.text else None)
    open_page(page, url, ready)
    attributes = page.evaluate(ATTRIBUTES_JS)
    count = page.evaluate("s => document.querySelectorAll(s).length", CLICKABLE)
    for i in range(count):
        if page.url.split("#")[0] != url.split("#")[0]:
            open_page(page, url, ready)
        with contextlib.suppress(Exception):   # a click that navigates away destroys the context: fine
            page.evaluate(CLICK_JS, [CLICKABLE, i])
            page.wait_for_timeout(150)
    context.close()
    return ran, attributes, count


@pytest.fixture(scope="module")
def pages(graded, formgrader):
    visited = {}
    with static_server(graded["course"]) as origin:
        feedback_url = f"{origin}/" + os.path.relpath(graded["feedback"], graded["course"])
        report_url = f"{origin}/" + os.path.relpath(graded["report"], graded["course"])
        with loopback_browser(origin) as browser:
            visited["feedback"] = click_everything(browser, feedback_url, "body")
            visited["class report"] = click_everything(browser, report_url, "body")
        with loopback_browser(formgrader["origin"]) as browser:
            visited["formgrader"] = click_everything(browser, formgrader["url"], "#notebook, body",
                                                   token=formgrader["token"])
    return visited


def test_the_hostile_submission_was_graded_and_its_pages_exist(graded):
    assert os.path.exists(graded["feedback"]) and os.path.exists(graded["report"])


@pytest.mark.parametrize("name", ["feedback", "formgrader", "class report"])
def test_clicking_everything_on_a_page_of_student_content_runs_no_script(pages, name):
    ran, _, count = pages[name]
    assert count >= (len(PAYLOADS) if name != "class report" else 1)
    assert ran == [], ran


@pytest.mark.parametrize("name", ["feedback", "formgrader", "class report"])
def test_every_url_in_every_attribute_of_the_rendered_page_is_http_mailto_relative_or_an_own_image(pages, name):
    _, attributes, _ = pages[name]
    assert unsafe_attributes(attributes) == []


def test_the_student_content_is_still_there_and_the_honest_cell_still_renders(pages, graded):
    text = open(graded["feedback"]).read()
    assert "\\hat\\sigma^2" in text and 'href="https://example.org/notes"' in text
    _, attributes, _ = pages["formgrader"]
    assert ("a", "href", "https://example.org/notes") in [tuple(a) for a in attributes]
    assert "backslash" in text and "svg" in text   # the hostile cells are shown, as text


def test_the_feedback_file_itself_has_no_unsafe_url(graded):
    from mle_grading.nbgrader_integration.sanitize import unsafe_urls
    assert unsafe_urls(open(graded["feedback"]).read()) == []


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_each_hostile_form_renders_clean_through_the_exporters_filter_and_its_cell_is_shown_as_text(name):
    from mle_grading.nbgrader_integration.sanitize import clean_rendered, render_markdown, unsafe_markdown, unsafe_urls
    payload = PAYLOADS[name]
    attachments = {"evil.html": {"text/html": "PHNjcmlwdD4="}} if name == "non-image attachment" else None
    if attachments is None:
        cleaned = clean_rendered(render_markdown(payload))
        assert unsafe_urls(cleaned) == [] and "onerror=" not in cleaned
    if name != "image onerror":   # no URL in it: bleach removes the handler, the cell keeps its markdown
        assert unsafe_markdown(payload, attachments)


def test_an_honest_cell_is_not_taken_for_a_hostile_one():
    from mle_grading.nbgrader_integration.sanitize import unsafe_markdown
    assert not unsafe_markdown(HONEST)
    assert not unsafe_markdown("I wrote it in JavaScript first; the data: 3 points, see <https://example.org>.")
