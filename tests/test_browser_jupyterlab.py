"""A student's session in JupyterLab, driven in a real (headless) browser.

JupyterLab (the pinned version, with nbgrader's extension) serves a temporary
directory holding the released 01_gaussian_mse notebook, on 127.0.0.1 with a
token. Debian's Chromium, driven by Playwright, does what a student does: runs
the notebook, sees the visible tests fail, types an answer, sees its test pass,
presses nbgrader's Validate button, completes the notebook and sees the figure.

The tests run in order and share one browser page: each is one step of the
session. Screenshots go to $MLE_GRADING_TEST_ARTIFACTS (outside the repository); with
UPDATE_DOCS_IMG=1 the ones the README and docs/jupyterhub.md show are also copied to docs/img/.
"""
import json
import os
import re
import secrets
import shutil
import sys

import nbformat
import pytest

from course_copy import FIRST_ASSIGNMENT

from mle_grading.operations.demo_class import solutions

from servers import (ROOT, free_port, loopback_browser, save_screenshot, server_process, tail,
                     wait_for_http)

import playwright.sync_api  # noqa: F401  (installed by requirements-test.txt: an error, never a skip)
from playwright.sync_api import expect  # noqa: E402

NB_ID = "01_gaussian_mse"
RELEASED = os.path.join(ROOT, "release", FIRST_ASSIGNMENT, f"{NB_ID}.ipynb")
# What a student types: the instructor's solution without nbgrader's solution markers
# (demo_class.solutions leaves a final "### END SOLUTION" that has no newline after it).
ANSWERS = {gid: re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$\n?", "", src, flags=re.M).rstrip()
           for gid, src in solutions(os.path.join(ROOT, "source", FIRST_ASSIGNMENT), NB_ID).items()}
KERNEL_START = 120_000   # ms: first kernel start and imports on a busy 2-core machine
RUN_ALL = 180_000        # ms: the whole notebook
VALIDATE = 240_000       # ms: nbgrader validate executes the whole notebook in a fresh kernel


def cell_index():
    """{grade_id: index of the cell in the notebook}, from the released file."""
    nb = nbformat.read(RELEASED, as_version=4)
    return {c.metadata.get("nbgrader", {}).get("grade_id", f"cell_{i}"): i for i, c in enumerate(nb.cells)}


CELLS = cell_index()
N_CELLS = len(CELLS)
CODE_CELLS = [i for i, c in enumerate(nbformat.read(RELEASED, as_version=4).cells) if c.cell_type == "code"]
FIGURE_CELL = next(i for i, c in enumerate(nbformat.read(RELEASED, as_version=4).cells)
                   if c.cell_type == "code" and "plt.subplots" in c.source)


def write_settings(settings_dir):
    """User settings: render every cell (no windowing), never fetch news or check for updates."""
    for rel, values in {("@jupyterlab", "notebook-extension", "tracker.jupyterlab-settings"): {"windowingMode": "none"},
                        ("@jupyterlab", "apputils-extension", "notification.jupyterlab-settings"):
                            {"fetchNews": "false", "checkForUpdates": False}}.items():
        path = os.path.join(settings_dir, *rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            json.dump(values, fh)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("jupyterlab"))
    home, root, settings = (os.path.join(base, d) for d in ("home", "student", "settings"))
    os.makedirs(os.path.join(root, FIRST_ASSIGNMENT))
    os.makedirs(home)
    shutil.copy(RELEASED, os.path.join(root, FIRST_ASSIGNMENT))
    write_settings(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON", "MPL"))}
    env.update(HOME=home, JUPYTERLAB_SETTINGS_DIR=settings, JUPYTERLAB_WORKSPACES_DIR=os.path.join(base, "ws"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""), PYTHONWARNINGS="ignore")
    port, token = free_port(), secrets.token_hex(16)
    cmd = [os.path.join(os.path.dirname(sys.executable), "jupyter-lab"), "--no-browser", "--allow-root",
           "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = os.path.join(base, "jupyterlab.log")
    with server_process(cmd, env, root, log) as proc:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", 120, proc)
        except Exception:
            raise AssertionError("JupyterLab did not start:\n" + tail(log))
        yield {"origin": f"http://127.0.0.1:{port}", "token": token, "root": root, "log": log}


@pytest.fixture(scope="module")
def page(lab):
    with loopback_browser(lab["origin"]) as browser:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        page.goto(f"{lab['origin']}/lab/tree/{FIRST_ASSIGNMENT}/{NB_ID}.ipynb?token={lab['token']}")
        page.blocked_requests = context.blocked_requests
        yield page


def cell(page, i):
    return page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(i)


def errors_in(page, i):
    return cell(page, i).locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')


def wait_idle(page, timeout):
    """No cell waiting or running ([*]) and the kernel idle."""
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=timeout)
    expect(page.locator(".jp-InputPrompt", has_text="*")).to_have_count(0, timeout=timeout)


def wait_executed(page, i, timeout):
    expect(cell(page, i).locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout)


def run_all(page):
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()


def type_answer(page, grade_id):
    """Replace the answer cell's text with the instructor's solution, typed into the editor."""
    editor = cell(page, CELLS[grade_id]).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(ANSWERS[grade_id])
    expect(editor).to_contain_text(ANSWERS[grade_id].strip().splitlines()[0])


def run_cells(page, first, count):
    """Select cell `first` and press Shift+Enter `count` times (runs it and the cells after it)."""
    cell(page, first).locator(".jp-InputPrompt").click()
    for _ in range(count):
        page.keyboard.press("Shift+Enter")


def validate(page):
    """Press nbgrader's Validate button; return the result dialog's text (the dialog stays open)."""
    page.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    expect(dialog).to_be_visible(timeout=VALIDATE)
    return dialog, dialog.locator("#validation-message").inner_text()


def close_dialog(page):
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)


def test_the_released_notebook_opens_with_a_running_kernel_and_a_validate_button(page):
    expect(page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")).to_have_count(N_CELLS)
    expect(page.locator(".jp-NotebookPanel-toolbar .jp-KernelName")).to_have_text(re.compile("Python 3"),
                                                                                    timeout=KERNEL_START)
    wait_idle(page, KERNEL_START)
    expect(page.locator(".jp-NotebookPanel-toolbar .validate-button")).to_have_text("Validate")
    expect(page.get_by_role("menuitem", name="Nbgrader", exact=True)).to_be_visible()


def test_running_the_untouched_release_shows_the_not_implemented_error(page):
    run_all(page)
    first_answer = min(CELLS[g] for g in ANSWERS)
    expect(errors_in(page, first_answer)).to_contain_text("NotImplementedError", timeout=RUN_ALL)
    wait_idle(page, RUN_ALL)
    # The cells before the first answer ran; running stopped at the error.
    assert all(re.match(r"\[\d+\]", cell(page, i).locator(".jp-InputPrompt").inner_text())
               for i in CODE_CELLS if i < first_answer)
    cell(page, first_answer).scroll_into_view_if_needed()
    save_screenshot(page, "lab-untouched-release-error", docs=True)


def test_the_visible_mse_test_fails_before_the_answer_is_written(page):
    answer, test = CELLS["mse_answer"], CELLS["mse_seed_value"]
    assert test == answer + 1
    run_cells(page, answer, 2)
    expect(errors_in(page, test)).to_contain_text("NotImplementedError", timeout=RUN_ALL)
    wait_idle(page, RUN_ALL)
    cell(page, answer).scroll_into_view_if_needed()
    save_screenshot(page, "lab-visible-test-fails")


def test_typing_the_mse_answer_makes_its_visible_test_pass(page):
    answer, test = CELLS["mse_answer"], CELLS["mse_seed_value"]
    before = cell(page, test).locator(".jp-InputPrompt").inner_text()
    type_answer(page, "mse_answer")
    run_cells(page, answer, 2)
    expect(cell(page, test).locator(".jp-InputPrompt")).not_to_have_text(before, timeout=RUN_ALL)
    wait_executed(page, test, RUN_ALL)
    wait_idle(page, RUN_ALL)
    expect(errors_in(page, answer)).to_have_count(0)
    expect(errors_in(page, test)).to_have_count(0)
    cell(page, answer).scroll_into_view_if_needed()
    save_screenshot(page, "lab-visible-test-passes", docs=True)


def test_validate_lists_the_unanswered_tests_but_not_the_answered_one(page):
    dialog, text = validate(page)
    save_screenshot(page, "lab-validate-failures", docs=True)
    close_dialog(page)
    assert "The following cell failed:" in text
    assert "NotImplementedError" in text
    assert "gaussian_nll(" in text and "laplace_nll(" in text
    assert "mse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])" not in text  # the mse test now passes
    assert "Success!" not in text


def test_the_completed_notebook_runs_cleanly_and_draws_its_figure(page):
    for grade_id in ANSWERS:
        if grade_id != "mse_answer":
            type_answer(page, grade_id)
    run_all(page)
    wait_executed(page, CODE_CELLS[-1], RUN_ALL)
    wait_idle(page, RUN_ALL)
    for i in CODE_CELLS:
        expect(errors_in(page, i)).to_have_count(0)
    figure = cell(page, FIGURE_CELL).locator(".jp-OutputArea-output img")
    expect(figure).to_have_count(1)
    assert figure.get_attribute("src").startswith("data:image/png;base64,")
    width = figure.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 300, width   # the image decoded in the browser: it was drawn, not just sent
    cell(page, FIGURE_CELL).scroll_into_view_if_needed()
    save_screenshot(cell(page, FIGURE_CELL), "lab-figure", docs=True)


def test_validate_passes_and_the_typed_answers_were_saved(page, lab):
    dialog, text = validate(page)
    save_screenshot(page, "lab-validate-success", docs=True)
    close_dialog(page)
    assert "Success! Your notebook passes all the tests." in text
    saved = nbformat.read(os.path.join(lab["root"], FIRST_ASSIGNMENT, f"{NB_ID}.ipynb"), as_version=4)
    for grade_id, source in ANSWERS.items():
        assert saved.cells[CELLS[grade_id]].source.strip() == source.strip(), grade_id


def test_the_browser_made_no_request_outside_the_server(page):
    assert page.blocked_requests == []
