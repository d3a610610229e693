"""Helpers for the tests that start real servers (JupyterLab, JupyterHub) and a headless browser.

Everything listens on 127.0.0.1 only, and the browser refuses every request that is
not for the server under test. Servers run in their own process group, so stopping
one also stops what it started (kernels, the proxy, single-user servers).
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from course_copy import ARTIFACTS  # outside the repository

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS_IMG = os.path.join(ROOT, "docs", "img")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless Chromium without any traffic of its own (no updates, no sync, no QUIC probes).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url, timeout, proc=None, ok=(200,)):
    """Poll url until it answers with a status in ok; fail after timeout seconds or if proc exits."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status in ok:
                    return resp.read()
                last = resp.status
        except urllib.error.HTTPError as exc:
            last = exc.code
            if exc.code in ok:
                return exc.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = exc
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s (last: {last})")


@contextlib.contextmanager
def server_process(cmd, env, cwd, log_path):
    """Start cmd in its own process group; always stop the whole group afterwards (bounded waits)."""
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        yield proc
    finally:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            if proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait)
        # Children left in the group (kernels, proxies) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def tail(path, n=4000):
    with contextlib.suppress(OSError):
        return open(path, errors="replace").read()[-n:]
    return ""


class LoopbackBrowser:
    """Debian's Chromium, headless, via Playwright. Playwright starts it with a fresh
    temporary profile (--user-data-dir) of its own; every context it opens may talk
    only to allowed_origin, and remembers what it refused in .blocked_requests."""

    def __init__(self, browser, allowed_origin, viewport):
        self.browser, self.allowed_origin, self.viewport = browser, allowed_origin, viewport

    def new_context(self):
        context = self.browser.new_context(viewport={"width": self.viewport[0], "height": self.viewport[1]},
                                           device_scale_factor=1)
        blocked = []

        def only_loopback(route):
            url = route.request.url
            if url.startswith(self.allowed_origin) or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()
        context.route("**/*", only_loopback)
        context.blocked_requests = blocked
        return context


@contextlib.contextmanager
def loopback_browser(allowed_origin, viewport=(1280, 860)):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield LoopbackBrowser(browser, allowed_origin, viewport)
        finally:
            browser.close()


def save_screenshot(page_or_locator, name, docs=False):
    """Save ARTIFACTS/<name>.png (every run, outside the repository). With docs=True and
    UPDATE_DOCS_IMG=1 also docs/img/<name>.png, the walkthrough's copy: an ordinary test run
    never writes into the repository."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, f"{name}.png")
    page_or_locator.screenshot(path=path)
    docs_copy = os.path.join(DOCS_IMG, f"{name}.png")
    if docs and os.environ.get("UPDATE_DOCS_IMG") == "1":
        os.makedirs(DOCS_IMG, exist_ok=True)
        shutil.copy(path, docs_copy)
    return path
