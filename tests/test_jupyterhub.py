"""The course's JupyterHub configuration, running: an instructor and a student on one hub.

jupyterhub/jupyterhub_config.py starts in its "local-test" profile on 127.0.0.1
(DummyAuthenticator, SimpleLocalProcessSpawner, configurable-http-proxy from npm),
with a temporary copy of the course as the instructor's course directory and a
temporary nbgrader exchange. In a headless browser the instructor logs in and
releases the assignment from the formgrader; a student logs in, finds it in the
Assignments list, fetches it and submits. The tests then look at what the hub,
the exchange and the servers' processes show.

The tests run in order and share the hub.
"""
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import time
import urllib.request

import pytest


from course_copy import FIRST_ASSIGNMENT, copy_course
from servers import (ROOT, free_port, loopback_browser, save_screenshot, server_process, tail,
                     wait_for_http)

import playwright.sync_api  # noqa: F401  (installed by requirements-test.txt: an error, never a skip)
import jupyterhub  # noqa: F401
from playwright.sync_api import expect  # noqa: E402

COURSE_ID = "mle_losses_course"
HUB_CONFIG = os.path.join(ROOT, "jupyterhub", "jupyterhub_config.py")
NODE_BIN = os.path.join(ROOT, ".node", "node_modules", ".bin")
SPAWN = 240_000   # ms: hub spawn of a single-user server on a busy 2-core machine


def chp_available():
    return os.path.exists(os.path.join(NODE_BIN, "configurable-http-proxy")) or shutil.which("configurable-http-proxy")


def hub_api(hub, path, method="GET"):
    req = urllib.request.Request(f"{hub['origin']}/hub/api{path}", method=method,
                                 headers={"Authorization": f"token {hub['token']}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
        return json.loads(body) if body else None


def alive(pid):
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_by_pid(pid, group=False):
    """Stop a process this test caused to be started (a user server, the proxy) by its id."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not alive(pid):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            (os.killpg if group else os.kill)(pid, sig)
        deadline = time.time() + 5
        while time.time() < deadline and alive(pid):
            time.sleep(0.1)


@contextlib.contextmanager
def running_hub(base, **extra_env):
    """jupyterhub_config.py's local-test profile on 127.0.0.1 in base (a course copy, an exchange,
    homes), with extra_env added to its MLE_* settings; every process it started is stopped after."""
    if not chp_available():
        pytest.fail("configurable-http-proxy is missing: run scripts/setup_extras.sh")
    course = copy_course(os.path.join(base, "course"))
    # The instructor's server runs from the course's own environment (`./course setup`'s .venv).
    os.symlink(sys.prefix, os.path.join(course, ".venv"))
    exchange, state, homes = (os.path.join(base, d) for d in ("exchange", "state", "homes"))
    for d in (exchange, state, homes):
        os.makedirs(d)
    os.chmod(exchange, 0o777)
    port, hub_port, proxy_api_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON", "MLE_"))}
    env.update(
        PATH=os.pathsep.join([os.path.dirname(sys.executable), NODE_BIN, env.get("PATH", "")]),
        MLE_HUB_PROFILE="local-test", MLE_HUB_BIND_URL=f"http://127.0.0.1:{port}",
        MLE_HUB_HUB_PORT=str(hub_port), MLE_HUB_PROXY_API_PORT=str(proxy_api_port),
        MLE_HUB_STATE_DIR=state, MLE_HUB_HOMES=homes, MLE_EXCHANGE_ROOT=exchange,
        MLE_COURSE_ROOT=course, MLE_INSTRUCTORS="instructor", MLE_HUB_TEST_TOKEN=token, **extra_env)
    log = os.path.join(base, "jupyterhub.log")
    cmd = [os.path.join(os.path.dirname(sys.executable), "jupyterhub"), "-f", HUB_CONFIG]
    info = {"origin": f"http://127.0.0.1:{port}", "token": token, "course": course, "exchange": exchange,
            "homes": homes, "ports": (port, hub_port, proxy_api_port), "log": log}
    pids = []
    with server_process(cmd, env, state, log) as proc:
        try:
            try:
                wait_for_http(f"{info['origin']}/hub/api", 120, proc)
            except Exception:
                raise AssertionError("JupyterHub did not start:\n" + tail(log))
            proxy_pid_file = os.path.join(state, "jupyterhub-proxy.pid")
            if os.path.exists(proxy_pid_file):
                pids.append((int(open(proxy_pid_file).read().strip()), False))
            info["pids"] = pids
            yield info
        finally:
            # Stop the user servers through the hub first, then make sure every process is gone.
            with contextlib.suppress(Exception):
                for user in hub_api(info, "/users"):
                    for server in user.get("servers", {}).values():
                        pid = server.get("state", {}).get("pid")
                        if pid:
                            pids.append((pid, True))
                    if user.get("servers"):
                        with contextlib.suppress(Exception):
                            hub_api(info, f"/users/{user['name']}/server", method="DELETE")
    for pid, group in pids:
        stop_by_pid(pid, group)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(str(tmp_path_factory.mktemp("jupyterhub"))) as info:
        yield info


@pytest.fixture(scope="module")
def browser(hub):
    with loopback_browser(hub["origin"]) as browser:
        yield browser


def log_in(browser, hub, name):
    """Log in through the hub's login form; return the page once the user's JupyterLab has loaded."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{hub['origin']}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", "any password works with DummyAuthenticator")
    if name == "alice":
        save_screenshot(page, "hub-login", docs=True)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=SPAWN)
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=SPAWN)
    return page


def xsrf(page, name):
    """The single-user server's _xsrf cookie: jupyter_server wants it echoed on POSTs made with cookies."""
    for cookie in page.context.cookies():
        if cookie["name"] == "_xsrf" and cookie["path"].startswith(f"/user/{name}"):
            return cookie["value"]
    raise AssertionError(f"no _xsrf cookie for /user/{name}/")


def post(page, hub, name, path, form=None):
    resp = page.request.post(f"{hub['origin']}/user/{name}{path}", form=form,
                             headers={"X-XSRFToken": xsrf(page, name)}, timeout=180_000)
    assert resp.ok, (path, resp.status, resp.text()[:2000])
    return resp.json()


@pytest.fixture(scope="module")
def instructor(browser, hub):
    page = log_in(browser, hub, "instructor")
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def student(browser, hub):
    page = log_in(browser, hub, "alice")
    yield page
    page.context.close()


def listening_addresses(ports):
    """{port: {local address}} of listening TCP sockets, from /proc/net/tcp and tcp6."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in open(table).read().splitlines()[1:]:
                fields = line.split()
                addr, port = fields[1].split(":")
                if fields[3] == "0A" and int(port, 16) in ports:   # 0A: LISTEN
                    found.setdefault(int(port, 16), set()).add(addr)
    return found


def load_hub_config(**env):
    """jupyterhub_config.py as JupyterHub loads it, with the given MLE_* environment."""
    from traitlets.config.loader import PyFileConfigLoader
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("MLE_")}
    os.environ.update(env)
    try:
        return PyFileConfigLoader(os.path.basename(HUB_CONFIG), os.path.dirname(HUB_CONFIG)).load_config()
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update(saved)


def test_the_production_profile_uses_unix_accounts_and_sets_limits_and_culling():
    from types import SimpleNamespace
    c = load_hub_config(MLE_COURSE_ROOT="/home/instructor/mle_losses", MLE_INSTRUCTORS="prof,ta")
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.JupyterHub.spawner_class == "localprocess"
    assert c.Authenticator.admin_users == {"prof", "ta"} and c.Authenticator.allow_all is True
    assert c.Spawner.mem_limit == "2G" and c.Spawner.cpu_limit == 1.0
    args, environment = c.Spawner.args.get_value([]), c.Spawner.environment.get_value({})
    assert "--MappingKernelManager.cull_idle_timeout=1800" in args
    assert "--ServerApp.shutdown_no_activity_timeout=3600" in args
    assert "--allow-root" not in args
    assert environment["MLE_EXCHANGE_ROOT"] == "/srv/nbgrader/exchange"
    hook = c.Spawner.pre_spawn_hook

    def spawn(name):
        spawner = SimpleNamespace(user=SimpleNamespace(name=name), environment=environment,
                                  notebook_dir="", mem_limit="2G", cpu_limit=1.0)
        hook(spawner)
        return spawner
    student, teacher = spawn("alice"), spawn("ta")
    assert student.environment["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0].endswith("students")
    assert "MLE_COURSE_ROOT" not in student.environment and student.mem_limit == "2G"
    assert teacher.environment["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0].endswith("instructors")
    assert teacher.notebook_dir == "/home/instructor/mle_losses" and teacher.mem_limit is None
    assert "JUPYTER_CONFIG_PATH" not in environment   # the hook never edits the shared dict


def test_the_tljh_profile_adds_only_the_course_and_leaves_the_hub_to_tljh():
    c = load_hub_config(MLE_HUB_PROFILE="tljh", MLE_COURSE_ROOT="/home/jupyter-prof/mle_losses")
    for section, key in (("JupyterHub", "authenticator_class"), ("JupyterHub", "spawner_class"),
                         ("JupyterHub", "bind_url"), ("Spawner", "cmd"), ("Spawner", "mem_limit"),
                         ("Authenticator", "allow_all")):
        assert key not in c[section], (section, key)
    assert callable(c.Spawner.pre_spawn_hook)
    assert "--MappingKernelManager.cull_idle_timeout=1800" in c.Spawner.args.get_value([])


def test_a_roster_restricts_who_may_log_in():
    c = load_hub_config(MLE_STUDENTS="alice,bob", MLE_INSTRUCTORS="prof")
    assert c.Authenticator.allowed_users == {"alice", "bob", "prof"}
    assert "allow_all" not in c.Authenticator


def test_the_hub_and_its_proxy_listen_on_loopback_only(hub):
    with urllib.request.urlopen(f"{hub['origin']}/hub/login", timeout=30) as resp:
        assert resp.status == 200 and b"username_input" in resp.read()
    found = listening_addresses(set(hub["ports"]))
    assert set(found) == set(hub["ports"]), found
    loopback = {"0100007F", "00000000000000000000000001000000"}   # 127.0.0.1 and ::1
    assert all(addrs <= loopback for addrs in found.values()), found


def test_the_instructor_releases_the_assignment_from_the_formgrader(hub, instructor):
    status = post(instructor, hub, "instructor", f"/formgrader/api/assignment/{FIRST_ASSIGNMENT}/assign")
    assert status["success"], status.get("error") or status
    status = post(instructor, hub, "instructor", f"/formgrader/api/assignment/{FIRST_ASSIGNMENT}/release")
    assert status["success"], status.get("error") or status
    released = os.path.join(hub["exchange"], COURSE_ID, "outbound", FIRST_ASSIGNMENT)
    assert "01_gaussian_mse.ipynb" in os.listdir(released)
    instructor.goto(f"{hub['origin']}/user/instructor/formgrader/manage_assignments")
    row = instructor.locator("tr", has_text=FIRST_ASSIGNMENT)
    expect(row).to_be_visible()
    save_screenshot(instructor, "hub-formgrader-assignments", docs=True)


def test_a_student_finds_the_released_assignment_and_fetches_it(hub, student):
    listed = student.request.get(f"{hub['origin']}/user/alice/assignments?course_id={COURSE_ID}").json()
    assert listed["success"], listed
    released = [a for a in listed["value"] if a["assignment_id"] == FIRST_ASSIGNMENT]
    assert released and released[0]["status"] == "released", listed
    # In JupyterLab: Nbgrader > Assignment List, then the Fetch button of the released assignment.
    student.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    student.get_by_role("menuitem", name="Assignment List").click()
    released_list = student.locator("#released_assignments_list")
    expect(released_list).to_contain_text(FIRST_ASSIGNMENT, timeout=60_000)
    save_screenshot(student, "hub-student-released", docs=True)
    released_list.get_by_role("button", name="Fetch").click()
    expect(student.locator("#fetched_assignments_list")).to_contain_text(FIRST_ASSIGNMENT, timeout=60_000)
    contents = student.request.get(f"{hub['origin']}/user/alice/api/contents/{FIRST_ASSIGNMENT}").json()
    names = {item["name"] for item in contents["content"]}
    assert "01_gaussian_mse.ipynb" in names, names
    notebook = student.request.get(
        f"{hub['origin']}/user/alice/api/contents/{FIRST_ASSIGNMENT}/01_gaussian_mse.ipynb").json()
    assert any("raise NotImplementedError()" in "".join(c["source"]) for c in notebook["content"]["cells"])
    student.locator("#fetched_assignments_list").get_by_text(FIRST_ASSIGNMENT).first.click()   # list its notebooks
    expect(student.locator("#fetched_assignments_list")).to_contain_text("01_gaussian_mse")
    save_screenshot(student, "hub-student-fetched", docs=True)


def test_a_students_submission_is_filed_under_their_hub_name(hub, student):
    result = post(student, hub, "alice", "/assignments/submit", {"course_id": COURSE_ID,
                                                                 "assignment_id": FIRST_ASSIGNMENT})
    assert result.get("success", True), result
    inbound = os.listdir(os.path.join(hub["exchange"], COURSE_ID, "inbound"))
    # Every server runs as root here: without the students' config the id would be "root".
    assert inbound and all(name.startswith(f"alice+{FIRST_ASSIGNMENT}+") for name in inbound), inbound


def test_students_have_no_formgrader_and_the_instructor_has_one(hub, student, instructor):
    assert student.request.get(f"{hub['origin']}/user/alice/formgrader").status == 404
    assert instructor.request.get(f"{hub['origin']}/user/instructor/formgrader").status == 200
    page_config = student.locator("#jupyter-config-data").text_content()
    disabled = json.loads(page_config).get("disabledExtensions", [])
    assert "@jupyter/nbgrader:formgrader" in disabled and "@jupyter/nbgrader:create-assignment" in disabled


def test_the_students_jupyterlab_never_asks_about_news_or_updates(hub, student):
    page_config = json.loads(student.locator("#jupyter-config-data").text_content())
    assert page_config["news"]["disabled"] is True
    expect(student.get_by_text("official Jupyter news")).to_have_count(0)


def test_student_servers_carry_the_resource_limits_and_the_instructors_runs_from_the_course_environment(hub, student, instructor):
    def server_pid(name):
        return hub_api(hub, f"/users/{name}")["servers"][""]["state"]["pid"]

    def server_environ(name):
        raw = open(f"/proc/{server_pid(name)}/environ", "rb").read().split(b"\0")
        return dict(item.decode().split("=", 1) for item in raw if b"=" in item)

    def server_cmdline(name):
        return open(f"/proc/{server_pid(name)}/cmdline", "rb").read().decode().split("\0")

    alice = server_environ("alice")
    assert alice["JUPYTERHUB_USER"] == "alice"
    assert int(alice["MEM_LIMIT"]) == 2 * 1024 ** 3
    assert float(alice["CPU_LIMIT"]) == 1.0
    assert alice["HOME"] == os.path.join(hub["homes"], "alice")
    teacher = server_environ("instructor")
    assert "MEM_LIMIT" not in teacher and "CPU_LIMIT" not in teacher
    assert teacher["MLE_COURSE_ROOT"] == hub["course"]
    assert "MLE_COURSE_ROOT" not in alice
    # The instructor's server runs from the course's environment, the students' from the hub's.
    assert os.path.join(hub["course"], ".venv", "bin", "jupyterhub-singleuser") in server_cmdline("instructor")
    assert os.path.join(os.path.dirname(sys.executable), "jupyterhub-singleuser") in server_cmdline("alice")


def test_the_browsers_made_no_request_outside_the_hub(student, instructor):
    assert student.context.blocked_requests == []
    assert instructor.context.blocked_requests == []
